"""Valkey fixtures: two real nodes on loopback for the session (one with an ACL file), a
fresh ACL user and secrets per test, both logs watched by the leak guard."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_servers.valkey import ValkeyServer
from tests.plugins.leak_guard import LeakGuard

_users = itertools.count(1)


@pytest.fixture(scope="session")
def valkey_nodes() -> Iterator[tuple[ValkeyServer, ValkeyServer]]:
    """Two independent nodes (ACLs are per node); the first persists ACLs to a file."""
    admin_password = secrets.token_urlsafe(24)  # one admin secret serves every node, as in production
    with (
        ValkeyServer(acl_file=True, admin_password=admin_password) as first,
        ValkeyServer(admin_password=admin_password) as second,
    ):
        yield first, second


@dataclass
class ValkeyTarget:
    """One test's ACL user on every node, with its admin secret."""

    nodes: tuple[ValkeyServer, ...]
    client: Any
    user: str
    password: str
    admin_arn: str

    def secret_value(self, **overrides: Any) -> dict[str, Any]:
        first = self.nodes[0]
        value: dict[str, Any] = {
            "host": first.host,
            "port": first.port,
            "username": self.user,
            "password": self.password,
            "masterarn": self.admin_arn,
            "ssl": False,
            "nodes": [f"{node.host}:{node.port}" for node in self.nodes],
        }
        value.update(overrides)
        return {key: item for key, item in value.items() if item is not None}

    def create_secret(self, name: str | None = None, **overrides: Any) -> str:
        name = name or f"app/test/valkey/{self.user}"
        return str(self.client.create_secret(Name=name, SecretString=json.dumps(self.secret_value(**overrides)))["ARN"])

    def authenticates_everywhere(self, value: dict[str, Any]) -> bool:
        return all(node.authenticates(value["username"], value["password"]) for node in self.nodes)

    def rejected_everywhere(self, value: dict[str, Any]) -> bool:
        return not any(node.authenticates(value["username"], value["password"]) for node in self.nodes)


def make_valkey_target(nodes: tuple[ValkeyServer, ...], client: Any, leak_guard: LeakGuard) -> ValkeyTarget:
    user, password = f"app{next(_users)}", secrets.token_urlsafe(24)
    for node in nodes:
        node.create_user(user, password)
        leak_guard.watch_file(node.log_path)
        leak_guard.register(node.admin_password, "Valkey admin password")
    first = nodes[0]
    admin_arn = client.create_secret(
        Name=f"app/test/valkey/admin-{user}",
        SecretString=json.dumps({"username": first.admin_username, "password": first.admin_password}),
    )["ARN"]
    return ValkeyTarget(nodes, client, user, password, admin_arn)


@pytest.fixture
def vk(valkey_nodes: tuple[ValkeyServer, ValkeyServer], secretsmanager: Any, leak_guard: LeakGuard) -> ValkeyTarget:
    return make_valkey_target(valkey_nodes, secretsmanager, leak_guard)
