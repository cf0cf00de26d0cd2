"""ElastiCache AUTH tokens: ``ModifyReplicationGroup`` with ``AuthTokenUpdateStrategy=ROTATE``.

ROTATE adds the new token and keeps the current one, so both are valid until the next
rotation. ElastiCache keeps at most two tokens: a second ROTATE for the same rotation would
drop AWSCURRENT, so setSecret first checks whether this rotation's token is already in place
(it authenticates, or the group's token changed after the pending version was created).
"""

from __future__ import annotations

from dataclasses import dataclass

from lambdas.elasticache_user.strategy import endpoint_node
from lambdas.rotation import (
    PendingSecretTestFailedError,
    RotationStrategy,
    SecretDict,
    SecretFields,
    StepContext,
    TargetAuthenticationError,
)
from lambdas.targets import elasticache, valkey
from lambdas.targets.passwords import PasswordPolicy


@dataclass(frozen=True)
class ElastiCacheAuthTokenStrategy(RotationStrategy):
    kind = "elasticache_auth_token"
    passwords: PasswordPolicy = elasticache.PASSWORD_POLICY

    @classmethod
    def from_env(cls) -> ElastiCacheAuthTokenStrategy:
        return cls(
            passwords=PasswordPolicy.from_env(
                max_length=elasticache.MAX_PASSWORD_LENGTH, forbidden=elasticache.FORBIDDEN
            )
        )

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        current.require_str("replication_group_id")
        elasticache.require_elasticache_password(current, "auth_token")
        endpoint_node(current)
        return {**current.values, "auth_token": self.passwords.generate()}

    def _already_rotated(self, pending: SecretFields, group: dict[str, object], context: StepContext) -> bool:
        node = endpoint_node(pending)
        if node is not None:
            try:
                valkey.check_login(node, None, pending.require_str("auth_token"))
            except TargetAuthenticationError:
                return False
            return True
        version = context.store.version(context.token)
        return elasticache.token_changed_since(group, version.created if version else None)

    def set_secret(self, context: StepContext) -> None:
        pending = context.pending()
        group_id = pending.require_str("replication_group_id")
        token = elasticache.require_elasticache_password(pending, "auth_token")
        group = elasticache.describe_group(group_id)
        if not group.get("TransitEncryptionEnabled"):
            raise elasticache.ElastiCacheStateError(
                f"ElastiCache replication group {group_id!r} has TransitEncryptionEnabled false: "
                "AUTH tokens require in-transit encryption"
            )
        if self._already_rotated(pending, group, context):
            return
        elasticache.rotate_auth_token(group_id, token)
        describe = lambda: elasticache.describe_group(group_id)  # noqa: E731 - a one-line poll
        elasticache.wait_for(describe, "Status", "available", f"replication group {group_id!r}")

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        node = endpoint_node(pending)
        if node is not None:
            valkey.check_login(node, None, pending.require_str("auth_token"))
            return
        group_id = pending.require_str("replication_group_id")
        group = elasticache.describe_group(group_id)
        if group.get("Status") != "available" or not group.get("AuthTokenEnabled"):
            raise PendingSecretTestFailedError(
                f"ElastiCache replication group {group_id!r} is {group.get('Status')!r}, "
                f"AuthTokenEnabled={group.get('AuthTokenEnabled')}; expected available with AUTH enabled"
            )
