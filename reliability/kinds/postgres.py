"""PostgreSQL harnesses: "authenticates" is a real login; orphans are extra roles.

The fault sweeps and the soak run on one major, ``RELIABILITY_MAJOR``: the newest RDS runs
(18). Retry and fault handling do not differ between majors, and the rotation behaviour
itself is tested on all four (tests/rotation/test_postgres_*.py); 16+ is where the admin's
privileges differ (ADMIN OPTION), and the newest major is where RDS is heading.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2

from lambdas.postgres_alternating.handler import lambda_handler as alternating_handler
from lambdas.postgres_single.handler import lambda_handler as single_handler
from local_servers.postgres import PostgresServer
from local_servers.postgres_installs import SUPPORTED_MAJORS
from reliability.consumers import Consumer, PostgresConsumer
from reliability.harness import FaultMode, KindHarness

RELIABILITY_MAJOR = max(SUPPORTED_MAJORS)


class PostgresHarness(KindHarness):
    """Both modes on one server; each secret gets its own role."""

    def __init__(self, server: PostgresServer, *, alternating: bool) -> None:
        self.server = server
        self.alternating = alternating
        self.kind = "postgres_alternating" if alternating else "postgres_single"
        self.handler = alternating_handler if alternating else single_handler
        self.previous_stays_valid = alternating
        self.current_valid_mid_rotation = alternating
        self._roles: dict[str, str] = {}

    def create_secret(self, client: Any, name: str) -> str:
        role = f"rel_{secrets.token_hex(4)}"
        password, admin_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.server.create_role(role, password)
        self.server.create_role(f"{role}_admin", admin_password, createrole=True)
        self.server.grant_rotation_rights(f"{role}_admin", role)
        admin_arn = client.create_secret(
            Name=f"{name}/admin", SecretString=json.dumps({"username": f"{role}_admin", "password": admin_password})
        )["ARN"]
        value = {"engine": "postgres", "host": self.server.host, "port": self.server.port,
                 "dbname": self.server.dbname, "ssl": False, "username": role, "password": password,
                 "masterarn": admin_arn}  # fmt: skip
        arn = str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
        self._roles[arn] = role
        return arn

    def authenticates(self, client: Any, secret_arn: str, value: dict[str, Any]) -> bool:
        try:
            self.server.connect(value["username"], value["password"]).close()
        except psycopg2.OperationalError:
            return False
        return True

    def client_request(self, client: Any, secret_arn: str) -> None:
        value = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
        connection = self.server.connect(value["username"], value["password"])
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connection.close()

    def consumer(self, cache: Any, secret_arn: str) -> Consumer:
        return PostgresConsumer(cache, secret_arn)

    def orphans(self, client: Any, secret_arn: str) -> list[str]:
        problems = super().orphans(client, secret_arn)
        role = self._roles[secret_arn]
        expected = {role, f"{role}_admin"} | ({f"{role}_clone"} if self.alternating else set())
        found = {
            row[0]
            for row in self.server.execute_as_admin("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{role}%",))
        }
        problems += [f"unexpected role {name!r}" for name in sorted(found - expected)]
        return problems

    def log_paths(self) -> list[str]:
        return [str(self.server.log_path)]

    def fault(self, point: str, mode: FaultMode) -> Exception:
        if point.startswith("postgres."):
            text = "timeout expired" if mode == "timeout" else "server closed the connection unexpectedly"
            return psycopg2.OperationalError(text)
        return super().fault(point, mode)

    def names_failure(self, point: str, message: str) -> bool:
        if point.startswith("postgres."):
            return f"{self.server.host}:{self.server.port}" in message
        return super().names_failure(point, message)


@contextmanager
def postgres_harness(*, alternating: bool) -> Iterator[KindHarness]:
    with PostgresServer(major=RELIABILITY_MAJOR) as server:
        yield PostgresHarness(server, alternating=alternating)
