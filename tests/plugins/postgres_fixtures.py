"""PostgreSQL fixtures: real servers on loopback (one per session and mode), fresh roles and
secrets per test, the server log watched by the leak guard."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_servers.postgres import PostgresServer
from tests.plugins.leak_guard import LeakGuard

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Plaintext PostgreSQL (scram-sha-256, log_statement=all) for the whole session."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_tls_server() -> Iterator[PostgresServer]:
    """PostgreSQL that accepts only TLS connections (hostssl; plaintext is rejected)."""
    with PostgresServer(tls_only=True) as server:
        yield server


@dataclass
class PostgresTarget:
    """One test's role, admin and secrets on a server."""

    server: PostgresServer
    client: Any
    role: str
    password: str
    admin_arn: str
    admin_user: str

    def secret_value(self, **overrides: Any) -> dict[str, Any]:
        value: dict[str, Any] = {
            "engine": "postgres",
            "host": self.server.host,
            "port": self.server.port,
            "username": self.role,
            "password": self.password,
            "dbname": self.server.dbname,
            "masterarn": self.admin_arn,
        }
        if self.server.tls:
            value["ssl_ca"] = str(self.server.ca_path)
        else:
            value["ssl"] = False
        value.update(overrides)
        return {key: item for key, item in value.items() if item is not None}

    def create_secret(self, name: str | None = None, **overrides: Any) -> str:
        name = name or f"app/test/postgres/{self.role}"
        return str(self.client.create_secret(Name=name, SecretString=json.dumps(self.secret_value(**overrides)))["ARN"])

    def logs_in(self, value: dict[str, Any]) -> bool:
        """Whether a secret value's username/password logs in right now."""
        try:
            self.server.connect(value["username"], value["password"]).close()
        except Exception:
            return False
        return True


def make_target(
    server: PostgresServer, client: Any, leak_guard: LeakGuard, *, createrole: bool = True
) -> PostgresTarget:
    number = next(_names)
    role, admin = f"app{number}", f"rotation_admin{number}"
    password, admin_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    server.create_role(role, password)
    server.create_role(admin, admin_password, createrole=createrole)
    server.execute_as_admin(f'GRANT CREATE ON SCHEMA public TO "{role}"')
    admin_arn = client.create_secret(
        Name=f"app/test/postgres/admin{number}",
        SecretString=json.dumps({"engine": "postgres", "username": admin, "password": admin_password}),
    )["ARN"]
    leak_guard.watch_file(server.log_path)
    leak_guard.register(server.admin_password, "PostgreSQL setup superuser password")
    return PostgresTarget(server, client, role, password, admin_arn, admin)


@pytest.fixture
def pg(postgres_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard) -> PostgresTarget:
    """A fresh role (with CREATE on schema public) and a CREATEROLE admin with its secret."""
    return make_target(postgres_server, secretsmanager, leak_guard)


@pytest.fixture
def pg_tls(postgres_tls_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard) -> PostgresTarget:
    """Like ``pg``, on the TLS-only server."""
    return make_target(postgres_tls_server, secretsmanager, leak_guard)
