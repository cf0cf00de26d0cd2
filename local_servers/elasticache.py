"""Emulated ElastiCache control plane, as strict as the service, whose changes land on real Valkey nodes.

moto 5.2.5 has no ``ModifyUser``, ignores ``AuthToken``/``AuthTokenUpdateStrategy`` of
``ModifyReplicationGroup``, applies every change at once and checks few parameters.
``ElastiCacheEmulation`` wraps moto's ElastiCache (in process: ``mock_aws`` and ``local_aws()``
alike) so that, for the operations the rotation functions use, it behaves like the service
(each rule, its AWS source and its test: docs/aws-rules.md, "ElastiCache"):

- parameters are checked against botocore's service model (``elasticache_params``);
- AUTH tokens must be 16-128 letters, digits and ``! & # $ ^ < > -`` and need
  ``TransitEncryptionEnabled``; RBAC passwords are 1-2, each 16-128 printable characters
  without whitespace or ``, " / @``;
- ``ModifyUser`` / ``ModifyReplicationGroup`` are refused with ``InvalidUserState`` /
  ``InvalidReplicationGroupState`` while the user / group is ``modifying``;
- an accepted modify keeps the resource ``modifying`` for ``modifying_describes`` describes
  (short in wall time, several calls: the functions' waits run for real) and only then lands
  on the bound nodes. What is effective *during* ``modifying`` is not documented; the
  stricter reading is taken: nothing new is, the old passwords/tokens still are;
- ``ROTATE`` adds the new token and keeps the newest current one (at most two), ``SET``
  (allowed only after a ``ROTATE``) keeps only the new one; without ``ApplyImmediately``
  the token waits for a maintenance window that never comes here.

Landed changes are applied to the bound real Valkey nodes: RBAC passwords become the
passwords of the ACL user named by the user's **UserName** (not its UserId), AUTH tokens the
``default`` user's. ``lose_next_response`` lets a modify land and then fails the response the
way a read timeout does, so botocore retries it. Tests that use this say so; the rotation
functions run unmodified against it.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ReadTimeoutError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.elasticache.exceptions import (
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    PasswordTooShort,
    UserNotFound,
)
from moto.elasticache.models import ElastiCacheBackend, elasticache_backends
from moto.elasticache.responses import ElastiCacheResponse

from local_servers.elasticache_params import validate_request
from local_servers.valkey import ValkeyServer

# How many describes see a modified resource still "modifying" (the next one sees it land).
DEFAULT_MODIFYING_DESCRIBES = 4
# For the functions under test: ELASTICACHE_POLL_SECONDS so that the several describes of a
# modify take milliseconds, not the production default of seconds.
FAST_POLL_SECONDS = "0.01"

# AUTH token (CreateReplicationGroup / ModifyReplicationGroup AuthToken, auth.html).
_AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>\-]{16,128}")
# RBAC password (CreateUser / ModifyUser Passwords): 16-128 printable ASCII, stricter reading
# of the character rule: no whitespace, none of , " / @.
_RBAC_PASSWORD = re.compile(r"[!-~]{16,128}")
_RBAC_FORBIDDEN = set(',"/@')


class InvalidUserState(ElastiCacheException):
    code = "InvalidUserState"


class InvalidReplicationGroupState(ElastiCacheException):
    code = "InvalidReplicationGroupState"


def _hashes(passwords: list[str]) -> list[str]:
    return ["#" + hashlib.sha256(password.encode()).hexdigest() for password in passwords]


def _set_passwords(nodes: list[ValkeyServer], user: str, passwords: list[str]) -> None:
    for node in nodes:
        admin = node.admin()
        try:
            admin.execute_command("ACL", "SETUSER", user, "on", "resetpass", *_hashes(passwords))
        finally:
            admin.close()


def _check_rbac_passwords(passwords: list[str]) -> None:
    if len(passwords) > 2:
        raise InvalidParameterValueException("A user can have at most two passwords.")
    if any(not 16 <= len(password) <= 128 for password in passwords):
        raise PasswordTooShort  # moto's message: "Passwords length must be between 16-128 characters."
    if any(not _RBAC_PASSWORD.fullmatch(password) or set(password) & _RBAC_FORBIDDEN for password in passwords):
        raise InvalidParameterValueException("Passwords contain characters that are not allowed.")


def _check_auth_token(token: str) -> None:
    if not _AUTH_TOKEN.fullmatch(token):
        raise InvalidParameterValueException("Invalid AuthToken provided.")


def _backend(region: str | None = None) -> ElastiCacheBackend:
    return elasticache_backends[DEFAULT_ACCOUNT_ID][region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")]


@dataclass
class _Modification:
    """A change ElastiCache accepted and is applying: it lands after ``describes_left`` describes
    (``None``: never, e.g. a resource stuck ``modifying``)."""

    land: Callable[[], None]
    describes_left: int | None


@dataclass
class ElastiCacheEmulation:
    """The emulation's state: bindings to real nodes, changes in flight, and what it saw."""

    modifying_describes: int = DEFAULT_MODIFYING_DESCRIBES
    user_nodes: dict[str, list[ValkeyServer]] = field(default_factory=dict)
    group_nodes: dict[str, list[ValkeyServer]] = field(default_factory=dict)
    group_tokens: dict[str, list[str]] = field(default_factory=dict)
    in_flight: dict[str, _Modification] = field(default_factory=dict)
    modify_calls: dict[str, int] = field(default_factory=dict)  # accepted modifies per resource key
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (operation, error code)
    _lose: set[str] = field(default_factory=set)
    _rotated: set[str] = field(default_factory=set)  # groups whose last token change was ROTATE
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- what tests and fixtures set up ------------------------------------------------------
    def bind_user(self, user_id: str, nodes: list[ValkeyServer], region: str | None = None) -> None:
        """Bind user ``user_id`` to ``nodes``: each gets the ACL user named by its **UserName**,
        with the user's current passwords (what ElastiCache does for the user's groups)."""
        user = _backend(region).users[user_id]
        self.user_nodes[user_id] = nodes
        for node in nodes:
            node.create_user(user.name, *user.passwords)

    def bind_group(
        self,
        group_id: str,
        nodes: list[ValkeyServer],
        token: str | None,
        backend: Any = None,
        region: str | None = None,
    ) -> None:
        """Bind a group to its nodes (whose ``default`` user holds ``token``). The group's token is
        dated an hour back: a group exists long before its first rotation, and a same-second
        date would be ambiguous against a secret version's CreatedDate."""
        self.group_nodes[group_id] = nodes
        self.group_tokens[group_id] = [token] if token else []
        group = (backend or _backend(region)).replication_groups[group_id]
        group.auth_token_last_modified_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)

    def begin_other_change(self, kind: str, resource_id: str, describes: int | None, region: str | None = None) -> None:
        """Put the user (``kind="user"``) or group (``"group"``) in ``modifying`` as if someone
        else changed it: it lands (with no effect) after ``describes`` describes, or never (None)."""
        obj = (
            _backend(region).users[resource_id] if kind == "user" else _backend(region).replication_groups[resource_id]
        )
        with self._lock:
            obj.status = "modifying"
            self.in_flight[f"{kind}:{resource_id}"] = _Modification(land=lambda: None, describes_left=describes)

    def lose_next_response(self, operation: str) -> None:
        """The next accepted ``operation`` (``ModifyUser``, ``ModifyReplicationGroup``) lands,
        then its response is lost: the client sees a read timeout and botocore retries."""
        self._lose.add(operation)

    def accepted(self, kind: str, resource_id: str) -> int:
        """How many modifies of the resource ElastiCache accepted."""
        return self.modify_calls.get(f"{kind}:{resource_id}", 0)

    # --- the state machine --------------------------------------------------------------------
    def _start(self, key: str, obj: Any, land: Callable[[], None], done: str) -> None:
        def landing() -> None:
            land()
            obj.status = done

        obj.status = "modifying"
        self.in_flight[key] = _Modification(land=landing, describes_left=self.modifying_describes)
        self.modify_calls[key] = self.modify_calls.get(key, 0) + 1

    def settle(self, key: str, obj: Any, done: str) -> None:
        """One describe of a resource: a change in flight counts down, then lands."""
        with self._lock:
            change = self.in_flight.get(key)
            if change is None or change.describes_left is None:
                return
            if change.describes_left > 0:
                change.describes_left -= 1
                return
            del self.in_flight[key]
            change.land()
            obj.status = done

    def _refuse(self, operation: str, error: ElastiCacheException) -> ElastiCacheException:
        self.refusals.append((operation, error.code))
        return error

    def _maybe_lose(self, operation: str) -> None:
        if operation in self._lose:
            self._lose.discard(operation)
            raise ReadTimeoutError(endpoint_url=f"https://elasticache.amazonaws.com/{operation}")

    # --- the emulated operations --------------------------------------------------------------
    def create_user(self, response: Any, original: Callable[[Any], Any]) -> Any:
        params = response._get_params()
        passwords = list(params.get("Passwords") or params.get("AuthenticationMode", {}).get("Passwords") or [])
        _check_rbac_passwords(passwords)
        return original(response)

    def modify_user(self, response: Any) -> Any:
        params = response._get_params()
        user_id = params["UserId"]
        backend = response.elasticache_backend
        if user_id not in backend.users:
            raise UserNotFound(user_id)
        user = backend.users[user_id]
        passwords = list(params.get("Passwords") or [])
        _check_rbac_passwords(passwords)
        with self._lock:
            if user.status != "active":
                raise self._refuse("ModifyUser", InvalidUserState(f"User {user_id} has status {user.status}."))

            def land() -> None:
                if passwords:
                    user.passwords = passwords
                    user.authentication_type = "password"
                    _set_passwords(self.user_nodes.get(user_id, []), user.name, passwords)
                if params.get("AccessString"):
                    user.access_string = params["AccessString"]

            self._start(f"user:{user_id}", user, land, "active")
        self._maybe_lose("ModifyUser")
        return ActionResult(user)

    def create_replication_group(self, response: Any, original: Callable[[Any], Any]) -> Any:
        token = response._get_param("AuthToken")
        if token is not None:
            _check_auth_token(token)
            if not response._get_bool_param("TransitEncryptionEnabled"):
                raise InvalidParameterCombinationException("AuthToken requires TransitEncryptionEnabled.")
        return original(response)

    def modify_replication_group(self, response: Any, original: Callable[[Any], Any]) -> Any:
        group_id = response._get_param("ReplicationGroupId")
        token = response._get_param("AuthToken")
        strategy = response._get_param("AuthTokenUpdateStrategy")
        group = response.elasticache_backend.replication_groups.get(group_id)
        if group is None:
            return original(response)  # moto's ReplicationGroupNotFoundFault
        if token is not None:
            _check_auth_token(token)
            strategy = strategy or "ROTATE"  # the documented default
            if not group.transit_encryption_enabled:
                raise InvalidParameterCombinationException("AuthToken requires TransitEncryptionEnabled.")
            if strategy == "DELETE":
                raise InvalidParameterCombinationException("AuthTokenUpdateStrategy DELETE takes no AuthToken.")
            if strategy == "SET" and group_id not in self._rotated:
                raise InvalidParameterValueException("AuthTokenUpdateStrategy SET is allowed only after ROTATE.")
        elif strategy in ("SET", "ROTATE"):
            raise InvalidParameterCombinationException(f"AuthTokenUpdateStrategy {strategy} requires an AuthToken.")
        with self._lock:
            if group.status != "available":
                error = InvalidReplicationGroupState(f"Replication group {group_id} is not in available state.")
                raise self._refuse("ModifyReplicationGroup", error)
            result = original(response)
            if token is not None and response._get_bool_param("ApplyImmediately"):
                self._start(f"group:{group_id}", group, lambda: self._land_token(group, token, strategy), "available")
        self._maybe_lose("ModifyReplicationGroup")
        return result

    def _land_token(self, group: Any, token: str, strategy: str) -> None:
        group_id = group.replication_group_id
        tokens = self.group_tokens.setdefault(group_id, [])
        tokens[:] = [*tokens[-1:], token] if strategy == "ROTATE" else [token]
        _set_passwords(self.group_nodes.get(group_id, []), "default", tokens)
        group.auth_token_enabled = True
        group.auth_token_last_modified_date = datetime.now(UTC).replace(tzinfo=None)
        if strategy == "ROTATE":
            self._rotated.add(group_id)
        else:
            self._rotated.discard(group_id)

    def describe_users(self, response: Any, original: Callable[[Any], Any]) -> Any:
        user_id = response._get_param("UserId")
        if user_id and user_id in response.elasticache_backend.users:
            self.settle(f"user:{user_id}", response.elasticache_backend.users[user_id], "active")
        return original(response)

    def describe_replication_groups(self, response: Any, original: Callable[[Any], Any]) -> Any:
        group_id = response._get_param("ReplicationGroupId")
        if group_id and group_id in response.elasticache_backend.replication_groups:
            self.settle(f"group:{group_id}", response.elasticache_backend.replication_groups[group_id], "available")
        return original(response)


_OPERATIONS = {
    "create_user": "CreateUser",
    "modify_user": "ModifyUser",
    "describe_users": "DescribeUsers",
    "create_replication_group": "CreateReplicationGroup",
    "modify_replication_group": "ModifyReplicationGroup",
    "describe_replication_groups": "DescribeReplicationGroups",
}


def _handler(emulation: ElastiCacheEmulation, method: str, original: Callable[[Any], Any] | None) -> Any:
    operation = _OPERATIONS[method]
    emulated = getattr(emulation, method)

    def handle(response: Any) -> Any:
        validate_request(operation, response.querystring, response._get_params())
        return emulated(response) if original is None else emulated(response, original)

    return handle


@contextmanager
def elasticache_emulation(modifying_describes: int = DEFAULT_MODIFYING_DESCRIBES) -> Iterator[ElastiCacheEmulation]:
    """Install the emulation into moto's ElastiCache for the duration of the block."""
    emulation = ElastiCacheEmulation(modifying_describes=modifying_describes)
    originals = {method: ElastiCacheResponse.__dict__.get(method) for method in _OPERATIONS}
    for method, original in originals.items():
        setattr(ElastiCacheResponse, method, _handler(emulation, method, original))
    try:
        yield emulation
    finally:
        for method, original in originals.items():
            if original is None:
                delattr(ElastiCacheResponse, method)
            else:
                setattr(ElastiCacheResponse, method, original)


@contextmanager
def fast_polling() -> Iterator[None]:
    """Point the functions' ``ELASTICACHE_POLL_SECONDS`` at ``FAST_POLL_SECONDS`` for the block
    (the demo, benchmarks and harnesses: several describes per modify, milliseconds apart)."""
    saved = os.environ.get("ELASTICACHE_POLL_SECONDS")
    os.environ["ELASTICACHE_POLL_SECONDS"] = FAST_POLL_SECONDS
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("ELASTICACHE_POLL_SECONDS", None)
        else:
            os.environ["ELASTICACHE_POLL_SECONDS"] = saved
