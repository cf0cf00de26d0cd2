"""Talking to PostgreSQL for a rotation: TLS-first connections with hard timeouts, and role
changes that send only SCRAM verifiers.

Every libpq failure becomes a ``TargetError`` subclass whose message names ``host:port`` and
the role; libpq never echoes passwords, and statements are never included (an ALTER ROLE
statement carries a verifier).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
from psycopg2 import sql

from lambdas.rotation import (
    InvalidSecretError,
    SecretFields,
    TargetAuthenticationError,
    TargetError,
    TargetUnreachableError,
    record_call,
)
from lambdas.targets.scram import scram_sha256_verifier
from lambdas.targets.tls import TlsSettings, tls_settings

ENGINES = ("postgres", "aurora-postgresql")
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1
CONNECT_TIMEOUT_S = 3  # libpq applies it to the whole connection attempt, TLS handshake included
STATEMENT_TIMEOUT_MS = 5000
DEFAULT_PORT = 5432  # AWS's RDS secret JSON: "port" is optional, 5432 when absent
AUTH_FAILED = "28P01"
INVALID_AUTHORIZATION = "28000"
INSUFFICIENT_PRIVILEGE = "42501"


class PostgresRoleMissingError(TargetError):
    """The role the secret names does not exist on the server."""


class PostgresPrivilegeError(TargetError):
    """The admin role lacks a privilege the rotation needs (CREATEROLE, or ADMIN OPTION on 16+)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # the server's own words (SQLSTATE 42501), when it refused a statement


@dataclass(frozen=True)
class PostgresEndpoint:
    """Where and how to connect, from a secret's fields; TLS (``tls``) unless ``"ssl": false``."""

    host: str
    port: int
    dbname: str
    tls: TlsSettings | None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_secret(cls, fields: SecretFields) -> PostgresEndpoint:
        engine = fields.values.get("engine", "postgres")
        if engine not in ENGINES:
            raise InvalidSecretError(
                fields.secret_id, fields.stage, "engine", f"must be one of {', '.join(ENGINES)}, got {engine!r}"
            )
        return cls(
            host=fields.require_str("host"),
            port=fields.optional_port("port") or DEFAULT_PORT,
            dbname=fields.optional_str("dbname") or "postgres",
            tls=tls_settings(fields),
        )

    def connection_options(self) -> dict[str, Any]:
        """libpq options: verified TLS against an explicit CA file (never ``sslrootcert=system``,
        which psycopg2-binary's OpenSSL cannot resolve; never a plaintext fallback) or, if the
        secret says ``"ssl": false``, none at all."""
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 2,
            "tcp_user_timeout": STATEMENT_TIMEOUT_MS,
            "application_name": "secret-rotation",
        }
        if self.tls is not None:
            options.update(sslmode=self.tls.mode, sslrootcert=self.tls.ca_path)
        else:
            options["sslmode"] = "disable"
        return options


def require_role_name(fields: SecretFields, field: str = "username", max_bytes: int = MAX_IDENTIFIER_BYTES) -> str:
    """A role name PostgreSQL can hold without truncating it (any characters: it is always quoted)."""
    name = fields.require_str(field)
    if len(name.encode("utf-8")) > max_bytes:
        raise InvalidSecretError(
            fields.secret_id, fields.stage, field, f"must be at most {max_bytes} bytes (PostgreSQL's identifier limit)"
        )
    return name


def _classify(exc: psycopg2.Error, endpoint: PostgresEndpoint, user: str) -> TargetError:
    code = getattr(exc, "pgcode", None)
    # libpq's message (never a password): first line says what failed, later lines add hints.
    text = " ".join(line.strip() for line in str(exc).strip().splitlines()) or type(exc).__name__
    where = f"PostgreSQL at {endpoint.address}"
    if code in (AUTH_FAILED, INVALID_AUTHORIZATION) or "password authentication failed" in text:
        return TargetAuthenticationError(f"{where} rejected the credentials of role {user!r}")
    if "timeout expired" in text or "timed out" in text:
        return TargetUnreachableError(f"{where} did not answer within {CONNECT_TIMEOUT_S} s")
    if "Connection refused" in text or "could not connect" in text or "No route to host" in text:
        return TargetUnreachableError(f"{where} refused the connection ({text})")
    if "SSL" in text or "certificate" in text:
        verified = (
            f"; verified {endpoint.tls.mode} against {endpoint.tls.ca_path} (from {endpoint.tls.source})"
            if endpoint.tls is not None
            else ""
        )
        return TargetError(f"{where}: TLS connection failed ({text}{verified})")
    return TargetError(f"{where}: connecting as role {user!r} failed ({text})")


def connect(endpoint: PostgresEndpoint, user: str, password: str) -> Any:
    """An autocommit connection as ``user``; raises a ``TargetError`` naming host and port."""
    try:
        record_call("postgres.connect")
        connection = psycopg2.connect(user=user, password=password, **endpoint.connection_options())
    except psycopg2.Error as exc:
        raise _classify(exc, endpoint, user) from None
    connection.autocommit = True
    return connection


def try_connect(endpoint: PostgresEndpoint, user: str, password: str) -> Any | None:
    """Like ``connect``, but None when the server rejects the credentials (other failures raise)."""
    try:
        return connect(endpoint, user, password)
    except TargetAuthenticationError:
        return None


def run(
    connection: Any, endpoint: PostgresEndpoint, point: str, statement: sql.Composable | str, params: Any = None
) -> list[tuple[Any, ...]]:
    """Execute one statement, recorded as call point ``postgres.<point>``; errors name the
    operation and SQLSTATE, never the statement."""
    try:
        record_call(f"postgres.{point}")
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []
    except psycopg2.Error as exc:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) or type(exc).__name__
        code = getattr(exc, "pgcode", None)
        if code == INSUFFICIENT_PRIVILEGE:  # the server's reason names roles and attributes, never values
            reason = ": ".join(part for part in (primary, getattr(diag, "message_detail", None)) if part)
            raise PostgresPrivilegeError(
                f"PostgreSQL at {endpoint.address}: {point} failed (SQLSTATE {code}: {reason})", reason=reason
            ) from None
        raise TargetError(f"PostgreSQL at {endpoint.address}: {point} failed (SQLSTATE {code}: {primary})") from None


@contextlib.contextmanager
def transaction(connection: Any, endpoint: PostgresEndpoint) -> Iterator[None]:
    """The block's statements take effect together or not at all: role changes are
    transactional, so a refusal or fault half-way leaves the server exactly as it was."""
    run(connection, endpoint, "begin", "BEGIN")
    try:
        yield
    except BaseException:
        record_call("postgres.rollback")
        # A broken connection discards the transaction itself, so a failed ROLLBACK changes nothing.
        with contextlib.suppress(psycopg2.Error), connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
        raise
    run(connection, endpoint, "commit", "COMMIT")


def set_password(connection: Any, endpoint: PostgresEndpoint, role: str, password: str) -> None:
    """``ALTER ROLE <role> PASSWORD '<SCRAM verifier>'``: the password never leaves us."""
    statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(scram_sha256_verifier(password))
    )
    run(connection, endpoint, "alter_role_password", statement)


def check_login(endpoint: PostgresEndpoint, user: str, password: str) -> None:
    """Log in and run a query; raises a ``TargetError`` if either fails."""
    connection = connect(endpoint, user, password)
    try:
        run(connection, endpoint, "select_1", "SELECT 1")
    finally:
        connection.close()
