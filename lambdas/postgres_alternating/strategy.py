"""PostgreSQL, alternating users: each rotation changes the twin that is NOT current.

AWSPREVIOUS is the other role, untouched until the next rotation, so clients holding it keep
working. The admin secret named by ``masterarn`` (CREATEROLE, not superuser; on PostgreSQL 16+
also ADMIN OPTION on ``<name>``) creates ``<name>_clone`` on first use; see
``lambdas/targets/postgres_roles.py`` for the ownership model and the privilege rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdas.rotation import InvalidSecretError, RotationStrategy, SecretDict, SecretFields, StepContext
from lambdas.targets import postgres, postgres_roles
from lambdas.targets.passwords import DEFAULT_POLICY, PasswordPolicy


@dataclass(frozen=True)
class PostgresAlternatingUsersStrategy(RotationStrategy):
    """Rotate ``name`` and ``name_clone`` in turn, through the admin secret."""

    kind = "postgres_alternating"
    passwords: PasswordPolicy = DEFAULT_POLICY

    @classmethod
    def from_env(cls) -> PostgresAlternatingUsersStrategy:
        return cls(passwords=PasswordPolicy.from_env())

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        postgres.PostgresEndpoint.from_secret(current)
        username = postgres_roles.require_alternating_username(current)
        current.require_str("password")
        current.require_str("masterarn")
        return {
            **current.values,
            "username": postgres_roles.twin_role(username),
            "password": self.passwords.generate(),
        }

    def set_secret(self, context: StepContext) -> None:
        pending = context.pending()
        endpoint = postgres.PostgresEndpoint.from_secret(pending)
        role = postgres_roles.require_alternating_username(pending)
        password = pending.require_str("password")
        masterarn = pending.require_str("masterarn")
        current_role = context.current().require_str("username")
        if postgres_roles.base_role(current_role) != postgres_roles.base_role(role) or current_role == role:
            raise InvalidSecretError(
                context.secret_id, "AWSPENDING", "username", f"must be the twin of AWSCURRENT's role {current_role!r}"
            )
        already = postgres.try_connect(endpoint, role, password)
        if already is not None:  # a retry: the password, set last, is in place
            already.close()
            return
        admin = context.other_secret(masterarn)
        admin_user = admin.require_str("username")
        connection = postgres.connect(endpoint, admin_user, admin.require_str("password"))
        try:
            postgres_roles.require_role_admin(connection, endpoint, admin_user)
            postgres_roles.rotate_twin(connection, endpoint, admin_user, role, password)
        finally:
            connection.close()

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        endpoint = postgres.PostgresEndpoint.from_secret(pending)
        postgres.check_login(
            endpoint, postgres_roles.require_alternating_username(pending), pending.require_str("password")
        )
