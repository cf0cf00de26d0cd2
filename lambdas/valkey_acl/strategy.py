"""Self-managed Valkey/Redis ACL users: the user holds two passwords, current and pending.

setSecret adds AWSPENDING and removes every password but AWSCURRENT and AWSPENDING on every
node (ACLs are not replicated); after finishSecret AWSCURRENT and AWSPREVIOUS authenticate,
and the value from two rotations back stops working at the next setSecret.

``ACL SETUSER`` changes memory only. Each node's change is written where the node reads its
users at start (``ACL SAVE`` with an ACL file, ``CONFIG REWRITE`` with a configuration file);
a node with neither would forget the new password at its next restart, so setSecret checks
every node first and changes none when one cannot keep the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lambdas.rotation import InvalidSecretError, RotationStrategy, SecretDict, SecretFields, StepContext
from lambdas.targets import valkey
from lambdas.targets.passwords import DEFAULT_POLICY, PasswordPolicy


@dataclass(frozen=True)
class ValkeyAclStrategy(RotationStrategy):
    """ACL SETUSER through the admin secret named by ``masterarn``."""

    kind = "valkey_acl"
    passwords: PasswordPolicy = DEFAULT_POLICY

    @classmethod
    def from_env(cls) -> ValkeyAclStrategy:
        return cls(passwords=PasswordPolicy.from_env())

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        valkey.nodes_from_secret(current)
        current.require_str("host")  # consumers connect to host (port 6379 if absent), whatever nodes says
        current.require_str("username")
        current.require_str("password")
        current.require_str("masterarn")
        return {**current.values, "password": self.passwords.generate()}

    def set_secret(self, context: StepContext) -> None:
        pending, current = context.pending(), context.current()
        user = pending.require_str("username")
        if current.require_str("username") != user:
            raise InvalidSecretError(context.secret_id, "AWSPENDING", "username", "must equal AWSCURRENT's username")
        keep = [current.require_str("password"), pending.require_str("password")]
        admin = context.other_secret(pending.require_str("masterarn"))
        admin_user, admin_password = admin.require_str("username"), admin.require_str("password")
        opened: list[Any] = []
        try:
            plan: list[tuple[valkey.ValkeyNode, Any, valkey.AclPersistence]] = []
            for node in valkey.nodes_from_secret(pending):  # every node checked before any is changed
                connection = valkey.client(node, admin_user, admin_password)
                opened.append(connection)
                valkey.user_password_hashes(connection, node, admin_user, user)
                plan.append((node, connection, valkey.acl_persistence(connection, node, admin_user)))
            for node, connection, how in plan:
                valkey.keep_only(connection, node, admin_user, user, keep=keep, add=keep[1])
                valkey.persist_acl(connection, node, admin_user, how)
        finally:
            for connection in opened:
                connection.close()

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        for node in valkey.nodes_from_secret(pending):
            valkey.check_login(node, pending.require_str("username"), pending.require_str("password"))
