"""ElastiCache RBAC users: ``ModifyUser`` with two passwords, current and pending.

The secret is AWS-compatible (``user_arn``, ``username``, ``password``). Unlike AWS's
function, testSecret really authenticates with AWSPENDING when the secret carries ``host``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdas.rotation import PendingSecretTestFailedError, RotationStrategy, SecretDict, SecretFields, StepContext
from lambdas.targets import elasticache, valkey
from lambdas.targets.passwords import PasswordPolicy
from lambdas.targets.tls import tls_settings


def endpoint_node(fields: SecretFields) -> valkey.ValkeyNode | None:
    """The node to authenticate against, when the secret names one (``port`` defaults to 6379)."""
    host = fields.optional_str("host")
    if host is None:
        return None
    port = fields.optional_port("port") or 6379
    return valkey.ValkeyNode.at(host, port, tls_settings(fields))


@dataclass(frozen=True)
class ElastiCacheUserStrategy(RotationStrategy):
    kind = "elasticache_user"
    passwords: PasswordPolicy = elasticache.PASSWORD_POLICY

    @classmethod
    def from_env(cls) -> ElastiCacheUserStrategy:
        return cls(
            passwords=PasswordPolicy.from_env(
                max_length=elasticache.MAX_PASSWORD_LENGTH, forbidden=elasticache.FORBIDDEN
            )
        )

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        elasticache.user_id_from_arn(current)
        current.require_str("username")
        elasticache.require_elasticache_password(current, "password")
        endpoint_node(current)
        return {**current.values, "password": self.passwords.generate()}

    def set_secret(self, context: StepContext) -> None:
        pending, current = context.pending(), context.current()
        user_id = elasticache.user_id_from_arn(pending)
        passwords = [
            elasticache.require_elasticache_password(current, "password"),
            elasticache.require_elasticache_password(pending, "password"),
        ]
        elasticache.describe_user(user_id)
        elasticache.set_user_passwords(user_id, passwords)
        elasticache.wait_for(lambda: elasticache.describe_user(user_id), "Status", "active", f"user {user_id!r}")

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        node = endpoint_node(pending)
        if node is not None:
            valkey.check_login(node, pending.require_str("username"), pending.require_str("password"))
            return
        user_id = elasticache.user_id_from_arn(pending)
        user = elasticache.describe_user(user_id)
        count = user.get("Authentication", {}).get("PasswordCount")
        if user.get("Status") != "active" or count != 2:
            raise PendingSecretTestFailedError(
                f"ElastiCache user {user_id!r} is {user.get('Status')!r} with {count} passwords; "
                "expected active with 2 (AWSCURRENT and AWSPENDING)"
            )
