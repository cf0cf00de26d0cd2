"""PostgreSQL, single user: the secret's own role changes its own password.

Between setSecret and finishSecret only AWSPENDING logs in, and after the rotation
AWSPREVIOUS does not: clients must refresh. Use alternating users where that is not
acceptable (docs/postgres.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdas.rotation import (
    InvalidSecretError,
    RotationStrategy,
    SecretDict,
    SecretFields,
    StepContext,
    TargetAuthenticationError,
)
from lambdas.targets import postgres
from lambdas.targets.passwords import DEFAULT_POLICY, PasswordPolicy


@dataclass(frozen=True)
class PostgresSingleUserStrategy(RotationStrategy):
    """ALTER ROLE <username> PASSWORD, logged in as that role."""

    kind = "postgres_single"
    passwords: PasswordPolicy = DEFAULT_POLICY

    @classmethod
    def from_env(cls) -> PostgresSingleUserStrategy:
        return cls(passwords=PasswordPolicy.from_env())

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        postgres.PostgresEndpoint.from_secret(current)
        postgres.require_role_name(current)
        current.require_str("password")
        return {**current.values, "password": self.passwords.generate()}

    def set_secret(self, context: StepContext) -> None:
        pending = context.pending()
        endpoint = postgres.PostgresEndpoint.from_secret(pending)
        role = postgres.require_role_name(pending)
        new_password = pending.require_str("password")
        current = context.current()
        if current.require_str("username") != role:
            raise InvalidSecretError(
                context.secret_id, "AWSPENDING", "username", "must equal AWSCURRENT's username in single-user mode"
            )
        # Log in as the role itself: AWSCURRENT first; AWSPENDING means a retry (already set);
        # AWSPREVIOUS covers a half-finished earlier rotation.
        connection = postgres.try_connect(endpoint, role, current.require_str("password"))
        if connection is None:
            already = postgres.try_connect(endpoint, role, new_password)
            if already is not None:
                already.close()
                return
            previous = context.previous()
            if previous is not None:
                connection = postgres.try_connect(endpoint, role, previous.require_str("password"))
        if connection is None:
            raise TargetAuthenticationError(
                f"PostgreSQL at {endpoint.address}: none of AWSCURRENT, AWSPENDING, AWSPREVIOUS "
                f"logs in as role {role!r}"
            )
        try:
            postgres.set_password(connection, endpoint, role, new_password)
        finally:
            connection.close()

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        endpoint = postgres.PostgresEndpoint.from_secret(pending)
        postgres.check_login(endpoint, postgres.require_role_name(pending), pending.require_str("password"))
