"""ElastiCache RBAC users: ``ModifyUser`` with two passwords, current and pending.

The secret is AWS-compatible (``user_arn``, ``username``, ``password``); ``username`` is the
user's UserName (what AUTH sends), which may differ from the UserId in ``user_arn``. Unlike
AWS's function, testSecret really authenticates with AWSPENDING when the secret carries
``host``. ModifyUser is asynchronous and refused while the user is ``modifying``: setSecret
waits for ``active`` before and after it, within one budget (``elasticache_waits``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lambdas.rotation import (
    PendingSecretTestFailedError,
    RotationStrategy,
    SecretDict,
    SecretFields,
    StepContext,
    TargetAuthenticationError,
)
from lambdas.targets import elasticache, valkey
from lambdas.targets.elasticache_waits import WaitSettings
from lambdas.targets.passwords import PasswordPolicy
from lambdas.targets.tls import tls_settings


def endpoint_node(fields: SecretFields) -> valkey.ValkeyNode | None:
    """The node to authenticate against, when the secret names one (``port`` defaults to 6379)."""
    host = fields.optional_str("host")
    if host is None:
        return None
    port = fields.optional_port("port") or 6379
    return valkey.ValkeyNode.at(host, port, tls_settings(fields))


def authenticates(node: valkey.ValkeyNode, username: str | None, password: str) -> bool:
    """A real AUTH with ``password``: False when the node rejects it (other failures raise)."""
    try:
        valkey.check_login(node, username, password)
    except TargetAuthenticationError:
        return False
    return True


@dataclass(frozen=True)
class ElastiCacheUserStrategy(RotationStrategy):
    kind = "elasticache_user"
    passwords: PasswordPolicy = elasticache.RBAC_PASSWORD_POLICY
    waits: WaitSettings = field(default_factory=WaitSettings)

    @classmethod
    def from_env(cls) -> ElastiCacheUserStrategy:
        passwords = PasswordPolicy.from_env(rule=elasticache.RBAC_PASSWORD_RULE)
        return cls(passwords=passwords, waits=WaitSettings.from_env())

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        elasticache.user_id_from_arn(current)
        current.require_str("username")
        elasticache.require_password(current, "password", elasticache.RBAC_PASSWORD_RULE)
        endpoint_node(current)
        return {**current.values, "password": self.passwords.generate()}

    def set_secret(self, context: StepContext) -> None:
        pending, current = context.pending(), context.current()
        user_id = elasticache.user_id_from_arn(pending)
        rule = elasticache.RBAC_PASSWORD_RULE
        passwords = [
            elasticache.require_password(current, "password", rule),
            elasticache.require_password(pending, "password", rule),
        ]
        budget = self.waits.start(context.lambda_context)
        user = elasticache.describe_user(user_id)
        elasticache.check_user(pending, user)
        elasticache.wait_for_user(user_id, budget, "before_modify", first=user)
        node = endpoint_node(pending)
        username = pending.require_str("username")
        if node is not None and authenticates(node, username, passwords[1]):
            return  # a retried setSecret: ElastiCache already applied this rotation's passwords
        try:
            elasticache.set_user_passwords(user_id, passwords)
        except elasticache.ElastiCacheApiError as exc:
            if exc.code != elasticache.USER_STATE_FAULT:
                raise
            # The user turned "modifying" under us: another change, or our own ModifyUser that
            # landed although its response was lost (botocore retried it). Wait it out; the same
            # ModifyUser again is harmless (it sets the same two passwords).
            elasticache.wait_for_user(user_id, budget, "after_modify")
            if node is None or not authenticates(node, username, passwords[1]):
                elasticache.set_user_passwords(user_id, passwords)
        elasticache.wait_for_user(user_id, budget, "after_modify")

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        user_id = elasticache.user_id_from_arn(pending)
        node = endpoint_node(pending)
        if node is not None:
            elasticache.check_user(pending, elasticache.describe_user(user_id))
            valkey.check_login(node, pending.require_str("username"), pending.require_str("password"))
            return
        # No endpoint: the API state is all there is. A real rotation expects both passwords;
        # the configuration test (AWSPENDING a copy of AWSCURRENT) only the one it holds.
        user = elasticache.wait_for_user(user_id, self.waits.start(context.lambda_context), "test")
        elasticache.check_user(pending, user)
        rule = elasticache.RBAC_PASSWORD_RULE
        distinct = {
            elasticache.require_password(context.current(), "password", rule),
            elasticache.require_password(pending, "password", rule),
        }
        count = user.get("Authentication", {}).get("PasswordCount") or 0
        if count < len(distinct):
            raise PendingSecretTestFailedError(
                f"ElastiCache user {user_id!r} is active with {count} password(s); expected at least "
                f"{len(distinct)} (AWSCURRENT and AWSPENDING): setSecret has not applied AWSPENDING"
            )
