"""Alternating users: the twin role and the ownership model that makes the twins equivalent.

Model: ``name_clone`` is a member of ``name`` (INHERIT) and logs in with ``role = name`` as
its default, so every session of either twin acts as ``name``. Objects the original owns,
objects created later by either twin and everything granted to ``name`` are usable by both,
and nothing ever needs to be re-granted. Only the admin (CREATEROLE, not superuser) changes
roles, all in one transaction with the password last: a refusal or fault anywhere leaves the
server unchanged, and the retry runs every statement again.

PostgreSQL 16 and later: CREATEROLE no longer lets the admin alter a role or grant
membership in it unless the admin holds ADMIN OPTION on that role
(https://www.postgresql.org/docs/16/release-16.html, "Restrict the privileges of CREATEROLE";
https://www.postgresql.org/docs/16/sql-alterrole.html). A role the admin creates (the clone)
is granted back to it WITH ADMIN OPTION automatically; the original role was created by
someone else, so it needs ``GRANT name TO admin WITH ADMIN OPTION``. The server is the judge:
whatever it refuses is rolled back and reported with the GRANT that fixes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
    set_password,
    transaction,
)

ADMIN_OPTION_SINCE_VERSION_NUM = 160000
# Least privilege: the admin may alter and grant the role, without inheriting its privileges or
# being able to SET ROLE to it (the options a CREATEROLE creator gets automatically on 16+).
ADMIN_OPTION_GRANT = "GRANT {role} TO {admin} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"

CLONE_SUFFIX = "_clone"
MAX_BASE_BYTES = MAX_IDENTIFIER_BYTES - len(CLONE_SUFFIX)  # 57


class PostgresAdminOptionError(PostgresPrivilegeError):
    """PostgreSQL 16+ refused to let the admin change a role it holds no ADMIN OPTION on."""

    def __init__(self, message: str, roles: list[str]) -> None:
        super().__init__(message)
        self.roles = roles


class _RoleChangeRefusedError(Exception):
    """Internal: the server refused a statement that changes ``role`` (SQLSTATE 42501)."""

    def __init__(self, role: str, refusal: PostgresPrivilegeError) -> None:
        super().__init__(role)
        self.role = role
        self.refusal = refusal


@contextlib.contextmanager
def _changing(role: str) -> Iterator[None]:
    """The block alters or grants ``role``: a refusal is reported as about ``role``."""
    try:
        yield
    except PostgresPrivilegeError as refusal:
        raise _RoleChangeRefusedError(role, refusal) from None


def base_role(name: str) -> str:
    """``app`` for ``app`` and for ``app_clone``."""
    return name[: -len(CLONE_SUFFIX)] if name.endswith(CLONE_SUFFIX) else name


def twin_role(name: str) -> str:
    """The role a rotation changes when ``name`` is current: ``app`` <-> ``app_clone``."""
    return base_role(name) if name.endswith(CLONE_SUFFIX) else name + CLONE_SUFFIX


def alternating_name_problem(name: str) -> str | None:
    """Why ``name`` cannot alternate with a twin, or None. The CDK config asks the same at synth."""
    base = base_role(name)
    if not base:  # "_clone" alternates with "", a name PostgreSQL refuses
        return f"must have a base name before '{CLONE_SUFFIX}': its twin would be the empty role name"
    if len(base.encode("utf-8")) > MAX_BASE_BYTES:
        return f"base name must be at most {MAX_BASE_BYTES} bytes so that '{CLONE_SUFFIX}' fits in 63"
    return None


def require_alternating_username(fields: SecretFields) -> str:
    """The username, whose base name must be non-empty and leave room for ``_clone`` within 63 bytes."""
    name = require_role_name(fields)
    problem = alternating_name_problem(name)
    if problem is not None:
        raise InvalidSecretError(fields.secret_id, fields.stage, "username", problem)
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
        grant = sql.SQL("GRANT {} TO {}").format(sql.Identifier(base), sql.Identifier(clone))
        with _changing(base):
            run(connection, endpoint, "grant_membership", grant)
    default_role = sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(clone), sql.Literal(base))
    with _changing(clone):
        run(connection, endpoint, "set_default_role", default_role)


def rotate_twin(connection: Any, endpoint: PostgresEndpoint, admin: str, role: str, password: str) -> None:
    """In one transaction: the twins exist and are linked, then ``role`` gets ``password``.

    If the server refuses a change (PostgreSQL 16+ without ADMIN OPTION), everything is rolled
    back and ``PostgresAdminOptionError`` names the roles and the GRANT statements that fix it.
    """
    base = base_role(role)
    try:
        with transaction(connection, endpoint):
            ensure_twins(connection, endpoint, base)
            with _changing(role):
                set_password(connection, endpoint, role, password)
    except _RoleChangeRefusedError as refused:
        raise refusal_error(connection, endpoint, admin, refused, [base, base + CLONE_SUFFIX]) from None


def refusal_error(
    connection: Any, endpoint: PostgresEndpoint, admin: str, refused: _RoleChangeRefusedError, twins: list[str]
) -> PostgresPrivilegeError:
    """The error for a refused role change (after the rollback): on 16+, which twins lack ADMIN
    OPTION and the GRANT statements that fix it; otherwise the server's own reason."""
    rows = run(
        connection,
        endpoint,
        "check_admin_option",
        "SELECT current_setting('server_version_num')::int, array(SELECT rolname::text FROM pg_roles "
        "WHERE rolname = ANY(%s) AND NOT pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION'))",
        (twins,),
    )
    version_num, without = rows[0]
    lacking = [name for name in twins if name in without]
    if version_num < ADMIN_OPTION_SINCE_VERSION_NUM or refused.role not in lacking:
        return PostgresPrivilegeError(
            f"PostgreSQL at {endpoint.address}: admin role {admin!r} may not change role {refused.role!r} "
            f"({refused.refusal.reason}); nothing was changed",
            reason=refused.refusal.reason,
        )
    grants = "; ".join(
        ADMIN_OPTION_GRANT.format(
            role=sql.Identifier(name).as_string(connection), admin=sql.Identifier(admin).as_string(connection)
        )
        for name in lacking
    )
    return PostgresAdminOptionError(
        f"PostgreSQL at {endpoint.address}: admin role {admin!r} may not change role {refused.role!r}: since "
        f"PostgreSQL 16, CREATEROLE alone no longer allows altering or granting a role, the admin needs "
        f"ADMIN OPTION on {' and '.join(repr(name) for name in lacking)}. Nothing was changed. Fix, as a "
        f"superuser or a role that holds ADMIN OPTION on it (on RDS: the master user, if it created the role): "
        f"{grants};",
        lacking,
    )
