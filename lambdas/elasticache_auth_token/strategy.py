"""ElastiCache AUTH tokens: ``ModifyReplicationGroup`` with ``AuthTokenUpdateStrategy=ROTATE``.

ROTATE adds the new token and keeps the current one, so both are valid until the next
rotation. ElastiCache keeps at most two tokens: a second ROTATE for the same rotation would
drop AWSCURRENT. So setSecret waits for the group to be ``available``, then checks whether
this rotation's token is already in place (it authenticates, or the group's token changed
after the pending version was created) and sends ROTATE at most once per invocation: when
ElastiCache refuses it because the group is ``modifying`` (e.g. botocore retried a ROTATE
whose response was lost, and the first one landed), the step waits and checks again instead
of rotating a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lambdas.elasticache_user.strategy import authenticates, endpoint_node
from lambdas.rotation import PendingSecretTestFailedError, RotationStrategy, SecretDict, SecretFields, StepContext
from lambdas.targets import elasticache, valkey
from lambdas.targets.elasticache_waits import WaitSettings
from lambdas.targets.passwords import PasswordPolicy


def _require_tls_group(group_id: str, group: dict[str, Any]) -> None:
    if not group.get("TransitEncryptionEnabled"):
        raise elasticache.ElastiCacheStateError(
            f"ElastiCache replication group {group_id!r} has TransitEncryptionEnabled false: "
            "AUTH tokens require in-transit encryption"
        )


@dataclass(frozen=True)
class ElastiCacheAuthTokenStrategy(RotationStrategy):
    kind = "elasticache_auth_token"
    passwords: PasswordPolicy = elasticache.AUTH_TOKEN_POLICY
    waits: WaitSettings = field(default_factory=WaitSettings)

    @classmethod
    def from_env(cls) -> ElastiCacheAuthTokenStrategy:
        return cls(passwords=PasswordPolicy.from_env(rule=elasticache.AUTH_TOKEN_RULE), waits=WaitSettings.from_env())

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        current.require_str("replication_group_id")
        elasticache.require_password(current, "auth_token", elasticache.AUTH_TOKEN_RULE)
        endpoint_node(current)
        return {**current.values, "auth_token": self.passwords.generate()}

    def _already_rotated(self, pending: SecretFields, group: dict[str, Any], context: StepContext) -> bool:
        """Whether this rotation's token is in place (asked only while the group is available)."""
        node = endpoint_node(pending)
        if node is not None:
            return authenticates(node, None, pending.require_str("auth_token"))
        version = context.store.version(context.token)
        return elasticache.token_changed_since(group, version.created if version else None)

    def set_secret(self, context: StepContext) -> None:
        pending = context.pending()
        group_id = pending.require_str("replication_group_id")
        token = elasticache.require_password(pending, "auth_token", elasticache.AUTH_TOKEN_RULE)
        budget = self.waits.start(context.lambda_context)
        group = elasticache.describe_group(group_id)
        _require_tls_group(group_id, group)
        group = elasticache.wait_for_group(group_id, budget, "before_modify", first=group)
        if self._already_rotated(pending, group, context):
            return
        try:
            elasticache.rotate_auth_token(group_id, token)
        except elasticache.ElastiCacheApiError as exc:
            if exc.code != elasticache.GROUP_STATE_FAULT:
                raise
            group = elasticache.wait_for_group(group_id, budget, "after_modify")
            if self._already_rotated(pending, group, context):
                return  # our ROTATE landed; its response was lost and botocore's retry was refused
            raise elasticache.ElastiCacheStateError(
                f"ElastiCache replication group {group_id!r} was modifying when ROTATE was sent and AWSPENDING "
                "has not taken effect since; not rotating twice in one step (a second ROTATE could drop "
                "AWSCURRENT). The retried setSecret rotates once the group is available"
            ) from None
        elasticache.wait_for_group(group_id, budget, "after_modify")

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        node = endpoint_node(pending)
        if node is not None:
            valkey.check_login(node, None, pending.require_str("auth_token"))
            return
        group_id = pending.require_str("replication_group_id")
        group = elasticache.wait_for_group(group_id, self.waits.start(context.lambda_context), "test")
        if not group.get("AuthTokenEnabled"):
            raise PendingSecretTestFailedError(
                f"ElastiCache replication group {group_id!r} has AuthTokenEnabled false; expected AUTH enabled"
            )
        pending_token = elasticache.require_password(pending, "auth_token", elasticache.AUTH_TOKEN_RULE)
        if pending_token == context.current().require_str("auth_token"):
            return  # the configuration test: AWSPENDING is a copy of AWSCURRENT, already in place
        version = context.store.version(context.token)
        if not elasticache.token_changed_since(group, version.created if version else None):
            raise PendingSecretTestFailedError(
                f"ElastiCache replication group {group_id!r}: its AUTH token was last modified before AWSPENDING "
                "was created; expected setSecret's ROTATE to have taken effect"
            )
