"""Alternating users: the twin role and the ownership model that makes the twins equivalent.

Model: ``name_clone`` is a member of ``name`` (INHERIT) and logs in with ``role = name`` as
its default, so every session of either twin acts as ``name``. Objects the original owns,
objects created later by either twin and everything granted to ``name`` are usable by both,
and nothing ever needs to be re-granted. Only the admin (CREATEROLE, not superuser) changes
roles; passwords are set last, so a retry after any fault re-runs every statement safely.
"""

from __future__ import annotations

from typing import Any

from psycopg2 import sql

from lambdas.rotation import InvalidSecretError, SecretFields
from lambdas.targets.postgres import (
    MAX_IDENTIFIER_BYTES,
    PostgresEndpoint,
    PostgresPrivilegeError,
    PostgresRoleMissingError,
    require_role_name,
    run,
)

CLONE_SUFFIX = "_clone"
MAX_BASE_BYTES = MAX_IDENTIFIER_BYTES - len(CLONE_SUFFIX)  # 57


def base_role(name: str) -> str:
    """``app`` for ``app`` and for ``app_clone``."""
    return name[: -len(CLONE_SUFFIX)] if name.endswith(CLONE_SUFFIX) else name


def twin_role(name: str) -> str:
    """The role a rotation changes when ``name`` is current: ``app`` <-> ``app_clone``."""
    return base_role(name) if name.endswith(CLONE_SUFFIX) else name + CLONE_SUFFIX


def require_alternating_username(fields: SecretFields) -> str:
    """The username, whose base name must leave room for ``_clone`` within 63 bytes."""
    name = require_role_name(fields)
    if len(base_role(name).encode("utf-8")) > MAX_BASE_BYTES:
        raise InvalidSecretError(
            fields.secret_id,
            fields.stage,
            "username",
            f"base name must be at most {MAX_BASE_BYTES} bytes so that '{CLONE_SUFFIX}' fits in 63",
        )
    return name


def require_role_admin(connection: Any, endpoint: PostgresEndpoint, admin: str) -> None:
    """The admin must be able to create and alter roles."""
    rows = run(
        connection,
        endpoint,
        "check_admin",
        "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user",
    )
    if not rows or not rows[0][0]:
        raise PostgresPrivilegeError(
            f"PostgreSQL at {endpoint.address}: admin role {admin!r} lacks CREATEROLE, needed to manage the twin role"
        )


def role_exists(connection: Any, endpoint: PostgresEndpoint, name: str) -> bool:
    return bool(run(connection, endpoint, "find_role", "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))


def ensure_twins(connection: Any, endpoint: PostgresEndpoint, base: str) -> None:
    """Make ``base_clone`` exist as a member of ``base`` that acts as ``base`` by default."""
    if not role_exists(connection, endpoint, base):
        raise PostgresRoleMissingError(
            f"PostgreSQL at {endpoint.address}: role {base!r} does not exist; create it before the first rotation"
        )
    clone = base + CLONE_SUFFIX
    if not role_exists(connection, endpoint, clone):
        run(connection, endpoint, "create_role", sql.SQL("CREATE ROLE {} LOGIN INHERIT").format(sql.Identifier(clone)))
    member = run(
        connection,
        endpoint,
        "check_membership",
        "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
        "WHERE r.rolname = %s AND u.rolname = %s",
        (base, clone),
    )
    if not member:
        run(
            connection,
            endpoint,
            "grant_membership",
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(base), sql.Identifier(clone)),
        )
    run(
        connection,
        endpoint,
        "set_default_role",
        sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(clone), sql.Literal(base)),
    )
