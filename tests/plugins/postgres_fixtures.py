"""PostgreSQL fixtures: real servers on loopback (one per session, major and mode), fresh roles
and secrets per test, the server log watched by the leak guard.

The major-version matrix (RDS runs PostgreSQL 15 to 18): ``pg_major`` gives each test a role
on every supported major, so the rotation behaviour tests (tests/rotation/test_postgres_*.py)
run four times; ``pg`` stays on the default server (Debian's 15) for what does not depend on
the server's version (secret validation, timeouts, the consumer library); the fault sweeps
and the soak run on ``RELIABILITY_MAJOR`` (reliability/kinds/postgres.py). Each admin is made
exactly as docs/postgres.md tells users to: CREATEROLE, and on 16+ ADMIN OPTION on the role.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_servers.postgres import PostgresServer
from local_servers.postgres_installs import SUPPORTED_MAJORS, find_install
from tests.plugins.leak_guard import LeakGuard

_names = itertools.count(1)


class PostgresFleet:
    """One plaintext server per major, started on first use and stopped at the session's end."""

    def __init__(self) -> None:
        self._servers: dict[int, PostgresServer] = {}

    def server(self, major: int | None = None) -> PostgresServer:
        wanted = find_install(major).major
        if wanted not in self._servers:
            self._servers[wanted] = PostgresServer(major=wanted).start()
        return self._servers[wanted]

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()


@pytest.fixture(scope="session")
def postgres_fleet() -> Iterator[PostgresFleet]:
    fleet = PostgresFleet()
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="session")
def postgres_server(postgres_fleet: PostgresFleet) -> PostgresServer:
    """Plaintext PostgreSQL of the default major (scram-sha-256, log_statement=all) for the whole session."""
    return postgres_fleet.server()


@pytest.fixture(params=SUPPORTED_MAJORS, ids=[f"pg{major}" for major in SUPPORTED_MAJORS])
def postgres_major_server(request: pytest.FixtureRequest, postgres_fleet: PostgresFleet) -> PostgresServer:
    """Plaintext PostgreSQL of each supported major in turn (the test runs once per major)."""
    return postgres_fleet.server(int(request.param))


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

    def role_state(self) -> dict[str, list[tuple[Any, ...]]]:
        """Everything a rotation could change on the server for this target's role, its twin and
        its admin: existence and attributes, password verifiers (as digests), memberships with
        their options, and per-role settings. Equal before and after means nothing changed."""
        names = [self.role, f"{self.role}_clone", self.admin_user]
        run = self.server.execute_as_admin
        return {
            "roles": run(
                "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcanlogin, rolvaliduntil, "
                "md5(coalesce(rolpassword, '')) FROM pg_authid WHERE rolname = ANY(%s) ORDER BY rolname",
                (names,),
            ),
            "memberships": run(
                "SELECT r.rolname, m.rolname, a.admin_option FROM pg_auth_members a "
                "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
                "WHERE r.rolname = ANY(%s) OR m.rolname = ANY(%s) ORDER BY 1, 2",
                (names, names),
            ),
            "settings": run(
                "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "WHERE r.rolname = ANY(%s) ORDER BY 1",
                (names,),
            ),
        }

    def run_configuration_test(self, handler: Any, secret_arn: str) -> str:
        """What Secrets Manager does when rotation is turned on without rotating now: stage a
        temporary AWSPENDING holding a copy of AWSCURRENT, invoke testSecret alone, remove the
        label. Returns the temporary version's id; raises whatever testSecret raises."""
        current = self.client.get_secret_value(SecretId=secret_arn, VersionStage="AWSCURRENT")["SecretString"]
        version = str(
            self.client.put_secret_value(SecretId=secret_arn, SecretString=current, VersionStages=["AWSPENDING"])[
                "VersionId"
            ]
        )
        try:
            handler({"SecretId": secret_arn, "ClientRequestToken": version, "Step": "testSecret"}, None)
        finally:
            self.client.update_secret_version_stage(
                SecretId=secret_arn, VersionStage="AWSPENDING", RemoveFromVersionId=version
            )
        return version

    def logs_in(self, value: dict[str, Any]) -> bool:
        """Whether a secret value's username/password logs in right now."""
        try:
            self.server.connect(value["username"], value["password"]).close()
        except Exception:
            return False
        return True


def make_target(
    server: PostgresServer, client: Any, leak_guard: LeakGuard, *, createrole: bool = True, admin_option: bool = True
) -> PostgresTarget:
    """A role with CREATE on schema public and its rotation admin: CREATEROLE (unless
    ``createrole=False``) and, on 16+, ADMIN OPTION on the role (unless ``admin_option=False``)."""
    number = next(_names)
    role, admin = f"app{number}", f"rotation_admin{number}"
    password, admin_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    server.create_role(role, password)
    server.create_role(admin, admin_password, createrole=createrole)
    if admin_option:
        server.grant_rotation_rights(admin, role)
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
    """A fresh role and its rotation admin (with its secret) on the default server."""
    return make_target(postgres_server, secretsmanager, leak_guard)


@pytest.fixture
def pg_major(postgres_major_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard) -> PostgresTarget:
    """Like ``pg``, once on every supported major (15 to 18)."""
    return make_target(postgres_major_server, secretsmanager, leak_guard)


@pytest.fixture
def pg_tls(postgres_tls_server: PostgresServer, secretsmanager: Any, leak_guard: LeakGuard) -> PostgresTarget:
    """Like ``pg``, on the TLS-only server."""
    return make_target(postgres_tls_server, secretsmanager, leak_guard)
