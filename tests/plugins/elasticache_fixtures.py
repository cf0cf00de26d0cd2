"""ElastiCache fixtures: moto's ElastiCache made as strict as the service by the emulation
(local_servers/elasticache.py: ModifyUser, AUTH-token ModifyReplicationGroup, the modifying
state, parameter rules), its changes landing on a real Valkey node. The functions poll every
``FAST_POLL_SECONDS`` here, so the several describes of each modify take milliseconds."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
import pytest

from local_servers.elasticache import FAST_POLL_SECONDS, ElastiCacheEmulation, elasticache_emulation
from local_servers.valkey import ValkeyServer
from tests.plugins.leak_guard import LeakGuard

_ids = itertools.count(1)


def token() -> str:
    """A value both ElastiCache rules accept (AUTH token and RBAC password): 32 hex digits."""
    return secrets.token_hex(16)


def until_settled(describe: Any, done: str = "active", limit: int = 100) -> dict[str, Any]:
    """Describe (``describe()`` returns the user or group) until its Status is ``done``: the
    emulation lands a change after a number of describes, not after a time."""
    for _ in range(limit):
        state: dict[str, Any] = describe()
        if state["Status"] == done:
            return state
    raise AssertionError(f"still {state['Status']!r} after {limit} describes")


@pytest.fixture
def emulation(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[ElastiCacheEmulation]:
    monkeypatch.setenv("ELASTICACHE_POLL_SECONDS", FAST_POLL_SECONDS)
    with elasticache_emulation() as installed:
        yield installed


@pytest.fixture
def elasticache(aws: None) -> Any:
    return boto3.client("elasticache", region_name="us-east-1")


@dataclass
class _ElastiCacheTarget:
    """A user or replication group bound to a real node, described the same way for both."""

    node: ValkeyServer
    client: Any
    # How tests and error messages name the resource and its states.
    kind: ClassVar[str]  # the emulation's key: "user" / "group"
    noun: ClassVar[str]
    settled: ClassVar[str]
    modify: ClassVar[str]
    state_fault: ClassVar[str]  # what the modify is refused with while modifying
    field: ClassVar[str]  # the secret field the rotation changes

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    @property
    def acl_user(self) -> str:
        raise NotImplementedError

    @property
    def current(self) -> str:
        raise NotImplementedError

    def works(self, value: str) -> bool:
        """A real AUTH on the node with ``value``."""
        return self.node.authenticates(self.acl_user, value)

    def _secret(self, value: dict[str, Any], overrides: dict[str, Any]) -> str:
        value = {**value, "host": self.node.host, "port": self.node.port, "ssl": False, **overrides}
        value = {key: item for key, item in value.items() if item is not None}
        name = f"app/test/elasticache/{self.resource_id}"
        return str(self.client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


@dataclass
class RbacUser(_ElastiCacheTarget):
    user_id: str
    username: str
    user_arn: str
    password: str
    kind = "user"
    noun = "user"
    settled = "active"
    modify = "ModifyUser"
    state_fault = "InvalidUserState"
    field = "password"

    resource_id = property(lambda self: self.user_id)
    acl_user = property(lambda self: self.username)
    current = property(lambda self: self.password)

    def create_secret(self, **overrides: Any) -> str:
        return self._secret({"user_arn": self.user_arn, "username": self.username, "password": self.password},
                            overrides)  # fmt: skip


@dataclass
class AuthTokenGroup(_ElastiCacheTarget):
    group_id: str
    token: str
    kind = "group"
    noun = "replication group"
    settled = "available"
    modify = "ModifyReplicationGroup"
    state_fault = "InvalidReplicationGroupState"
    field = "auth_token"

    resource_id = property(lambda self: self.group_id)
    acl_user = property(lambda self: "default")
    current = property(lambda self: self.token)

    def create_secret(self, **overrides: Any) -> str:
        return self._secret({"auth_token": self.token, "replication_group_id": self.group_id}, overrides)


ElastiCacheTarget = RbacUser | AuthTokenGroup


@pytest.fixture(params=["rbac_user", "auth_group"])
def elasticache_target(request: pytest.FixtureRequest) -> ElastiCacheTarget:
    """Each ElastiCache kind's resource in turn: an RBAC user, then an AUTH-token group."""
    target: ElastiCacheTarget = request.getfixturevalue(request.param)
    return target


@pytest.fixture(scope="session")
def elasticache_node() -> Iterator[ValkeyServer]:
    with ValkeyServer() as node:
        yield node


@pytest.fixture
def rbac_user(
    elasticache_node: ValkeyServer,
    emulation: ElastiCacheEmulation,
    elasticache: Any,
    secretsmanager: Any,
    leak_guard: LeakGuard,
) -> RbacUser:
    number = next(_ids)
    user_id, username, password = f"app-user-{number}", f"appuser{number}", token()
    arn = elasticache.create_user(
        UserId=user_id, UserName=username, Engine="redis", Passwords=[password], AccessString="on ~* +@all"
    )["ARN"]
    emulation.bind_user(user_id, [elasticache_node])  # the node's ACL user is the UserName
    leak_guard.watch_file(elasticache_node.log_path)
    return RbacUser(elasticache_node, secretsmanager, user_id, username, arn, password)


@pytest.fixture
def auth_group(
    emulation: ElastiCacheEmulation, elasticache: Any, secretsmanager: Any, leak_guard: LeakGuard
) -> Iterator[AuthTokenGroup]:
    initial = token()
    with ValkeyServer(default_password=initial) as node:
        group_id = f"app-cache-{next(_ids)}"
        elasticache.create_replication_group(
            ReplicationGroupId=group_id, ReplicationGroupDescription="test", Engine="redis",
            TransitEncryptionEnabled=True, AuthToken=initial, CacheNodeType="cache.t4g.micro",
        )  # fmt: skip
        from moto.elasticache.models import elasticache_backends

        emulation.bind_group(group_id, [node], initial, backend=elasticache_backends["123456789012"]["us-east-1"])
        leak_guard.watch_file(node.log_path)
        yield AuthTokenGroup(node, secretsmanager, group_id, initial)
