"""Emulated ElastiCache control plane whose changes land on real Valkey nodes.

moto 5.2.5 has no ``ModifyUser`` and ignores ``AuthToken``/``AuthTokenUpdateStrategy`` of
``ModifyReplicationGroup``. ``ElastiCacheEmulation`` adds both to moto's ElastiCache
(in-process: ``mock_aws`` and ``local_aws()`` alike), following the API reference
(ModifyUser: ``Passwords`` holds at most two passwords of 16-128 characters; the user is
``modifying`` and then ``active``. ModifyReplicationGroup: ``AuthTokenUpdateStrategy`` is
``SET``, ``ROTATE`` or ``DELETE``; ``ROTATE`` adds the new token and keeps the current one;
AUTH needs ``TransitEncryptionEnabled``; the group is ``modifying`` and then ``available``),
and applies the effect to the Valkey nodes bound to the user or group:
RBAC passwords become the ACL user's passwords, AUTH tokens the ``default`` user's.
Tests that use it say so; the rotation functions run unmodified against it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local_servers.valkey import ValkeyServer

# How many Describe calls see "modifying" before the change is "active"/"available": the
# functions' bounded waits are exercised for real.
DESCRIBES_WHILE_MODIFYING = 2


def _hashes(passwords: list[str]) -> list[str]:
    return ["#" + hashlib.sha256(password.encode()).hexdigest() for password in passwords]


def _set_passwords(nodes: list[ValkeyServer], user: str, passwords: list[str]) -> None:
    for node in nodes:
        admin = node.admin()
        try:
            admin.execute_command("ACL", "SETUSER", user, "on", "resetpass", *_hashes(passwords))
        finally:
            admin.close()


@dataclass
class ElastiCacheEmulation:
    """Bindings of ElastiCache users and replication groups to real Valkey nodes."""

    user_nodes: dict[str, list[ValkeyServer]] = field(default_factory=dict)
    group_nodes: dict[str, list[ValkeyServer]] = field(default_factory=dict)
    group_tokens: dict[str, list[str]] = field(default_factory=dict)
    countdown: dict[str, int] = field(default_factory=dict)
    modify_calls: dict[str, int] = field(default_factory=dict)

    def bind_user(self, user_id: str, nodes: list[ValkeyServer]) -> None:
        self.user_nodes[user_id] = nodes

    def bind_group(self, group_id: str, nodes: list[ValkeyServer], token: str | None, backend: Any = None) -> None:
        """Bind a group to its nodes. With ``backend``, the group's token is dated an hour back:
        a group exists long before its first rotation (and moto dates secret versions to the
        second only, so a same-second date would be ambiguous)."""
        self.group_nodes[group_id] = nodes
        self.group_tokens[group_id] = [token] if token else []
        if backend is not None:
            group = backend.replication_groups[group_id]
            group.auth_token_last_modified_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)

    # --- the emulated API calls -------------------------------------------------------------
    def modify_user(self, response: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.elasticache.exceptions import InvalidParameterValueException, UserNotFound

        params = response._get_params()
        user_id = params.get("UserId")
        backend = response.elasticache_backend
        if user_id not in backend.users:
            raise UserNotFound(user_id)
        user = backend.users[user_id]
        passwords = params.get("Passwords") or []
        if len(passwords) > 2 or any(not 16 <= len(p) <= 128 for p in passwords):
            raise InvalidParameterValueException("Passwords: at most two passwords of 16 to 128 characters")
        if passwords:
            user.passwords = list(passwords)
            user.authentication_type = "password"
            _set_passwords(self.user_nodes.get(user_id, []), user.name, passwords)
        if params.get("AccessString"):
            user.access_string = params["AccessString"]
        user.status = "modifying"
        self.countdown[f"user:{user_id}"] = DESCRIBES_WHILE_MODIFYING
        self.modify_calls[f"user:{user_id}"] = self.modify_calls.get(f"user:{user_id}", 0) + 1
        return ActionResult(user)

    def modify_replication_group(self, response: Any, original: Any) -> Any:
        from moto.elasticache.exceptions import InvalidParameterCombinationException, InvalidParameterValueException

        group_id = response._get_param("ReplicationGroupId")
        token = response._get_param("AuthToken")
        strategy = response._get_param("AuthTokenUpdateStrategy") or "ROTATE"
        result = original(response)
        if token is None:
            return result
        group = response.elasticache_backend.replication_groups[group_id]
        if not group.transit_encryption_enabled:
            raise InvalidParameterCombinationException("AuthToken requires TransitEncryptionEnabled")
        if strategy not in ("SET", "ROTATE"):
            raise InvalidParameterValueException(
                f"AuthTokenUpdateStrategy {strategy} is not SET or ROTATE with a token"
            )
        tokens = self.group_tokens.setdefault(group_id, [])
        tokens[:] = [*tokens[-1:], token] if strategy == "ROTATE" else [token]
        _set_passwords(self.group_nodes.get(group_id, []), "default", tokens)
        group.auth_token_enabled = True
        group.auth_token_last_modified_date = datetime.now(UTC).replace(tzinfo=None)
        group.status = "modifying"
        self.countdown[f"group:{group_id}"] = DESCRIBES_WHILE_MODIFYING
        self.modify_calls[f"group:{group_id}"] = self.modify_calls.get(f"group:{group_id}", 0) + 1
        return result

    def settle(self, key: str, obj: Any, done: str) -> None:
        """One Describe call: a modifying resource counts down, then reports ``done``."""
        remaining = self.countdown.get(key, 0)
        if remaining > 0:
            self.countdown[key] = remaining - 1
            if remaining - 1 == 0:
                obj.status = done


@contextmanager
def elasticache_emulation() -> Iterator[ElastiCacheEmulation]:
    """Install the emulation into moto's ElastiCache for the duration of the block."""
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    emulation = ElastiCacheEmulation()
    original_modify_group = ElastiCacheResponse.modify_replication_group
    original_describe_users = ElastiCacheBackend.describe_users
    original_describe_groups = ElastiCacheBackend.describe_replication_groups

    def describe_users(backend: Any, user_id: str | None) -> Any:
        users = original_describe_users(backend, user_id)
        for user in users:
            emulation.settle(f"user:{user.id}", user, "active")
        return users

    def describe_groups(backend: Any, replication_group_id: str | None) -> Any:
        groups = original_describe_groups(backend, replication_group_id)
        for group in groups:
            emulation.settle(f"group:{group.replication_group_id}", group, "available")
        return groups

    ElastiCacheResponse.modify_user = lambda self: emulation.modify_user(self)  # type: ignore[attr-defined]
    ElastiCacheResponse.modify_replication_group = (  # type: ignore[method-assign]
        lambda self: emulation.modify_replication_group(self, original_modify_group)
    )
    ElastiCacheBackend.describe_users = describe_users  # type: ignore[method-assign,assignment]
    ElastiCacheBackend.describe_replication_groups = describe_groups  # type: ignore[method-assign,assignment]
    try:
        yield emulation
    finally:
        del ElastiCacheResponse.modify_user  # type: ignore[attr-defined]
        ElastiCacheResponse.modify_replication_group = original_modify_group  # type: ignore[method-assign]
        ElastiCacheBackend.describe_users = original_describe_users  # type: ignore[method-assign]
        ElastiCacheBackend.describe_replication_groups = original_describe_groups  # type: ignore[method-assign]
