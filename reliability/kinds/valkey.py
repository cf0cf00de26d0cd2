"""Valkey harnesses: "authenticates" is a real AUTH on every node; orphans are extra passwords."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import redis

from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_servers.elasticache import ElastiCacheEmulation, elasticache_emulation, fast_polling
from local_servers.valkey import ValkeyServer
from reliability.consumers import Consumer, ValkeyConsumer
from reliability.harness import FaultMode, KindHarness


class _ValkeyHarness(KindHarness):
    nodes: tuple[ValkeyServer, ...]
    _users: dict[str, str]

    def authenticates(self, client: Any, secret_arn: str, value: dict[str, Any]) -> bool:
        return all(node.authenticates(value["username"], value["password"]) for node in self.nodes)

    def client_request(self, client: Any, secret_arn: str) -> None:
        value = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
        for node in self.nodes:
            connection = node.client(value["username"], value["password"])
            try:
                connection.ping()
            finally:
                connection.close()

    def consumer(self, cache: Any, secret_arn: str) -> Consumer:
        return ValkeyConsumer(cache, secret_arn, [(node.host, node.port) for node in self.nodes], auth_token=False)

    def orphans(self, client: Any, secret_arn: str) -> list[str]:
        problems = super().orphans(client, secret_arn)
        user = self._users[secret_arn]
        for node in self.nodes:
            count = len(node.passwords_of(user))
            if count != 2:
                problems.append(f"user {user!r} holds {count} passwords on node {node.port}, expected 2")
        return problems

    def log_paths(self) -> list[str]:
        return [str(node.log_path) for node in self.nodes]

    def fault(self, point: str, mode: FaultMode) -> Exception:
        if point.startswith("valkey."):
            return redis.exceptions.TimeoutError("Timeout reading from socket") if mode == "timeout" else (
                redis.exceptions.ConnectionError("Connection reset by peer")
            )  # fmt: skip
        return super().fault(point, mode)

    def names_failure(self, point: str, message: str) -> bool:
        if point.startswith("valkey."):
            return any(f"{node.host}:{node.port}" in message for node in self.nodes)
        return super().names_failure(point, message)


class ValkeyAclHarness(_ValkeyHarness):
    kind = "valkey_acl"
    handler = staticmethod(acl_handler)

    def __init__(self, nodes: tuple[ValkeyServer, ...]) -> None:
        self.nodes = nodes
        self._users = {}

    def create_secret(self, client: Any, name: str) -> str:
        user, password = f"rel_{secrets.token_hex(4)}", secrets.token_hex(16)
        for node in self.nodes:
            node.create_user(user, password)
        first = self.nodes[0]
        admin_arn = client.create_secret(
            Name=f"{name}/admin",
            SecretString=json.dumps({"username": first.admin_username, "password": first.admin_password}),
        )["ARN"]
        value = {"host": first.host, "port": first.port, "username": user, "password": password, "masterarn": admin_arn,
                 "ssl": False, "nodes": [f"{node.host}:{node.port}" for node in self.nodes]}  # fmt: skip
        arn = str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
        self._users[arn] = user
        return arn


class ElastiCacheUserHarness(_ValkeyHarness):
    kind = "elasticache_user"
    handler = staticmethod(user_handler)

    def __init__(self, node: ValkeyServer, emulation: ElastiCacheEmulation) -> None:
        self.nodes = (node,)
        self.emulation = emulation
        self._users = {}

    def create_secret(self, client: Any, name: str) -> str:
        import boto3

        user_id, user, password = f"rel-{secrets.token_hex(4)}", f"rel_{secrets.token_hex(4)}", secrets.token_hex(16)
        arn = boto3.client("elasticache").create_user(
            UserId=user_id, UserName=user, Engine="redis", Passwords=[password], AccessString="on ~* +@all"
        )["ARN"]
        self.emulation.bind_user(user_id, [self.nodes[0]])  # the node's ACL user is the UserName, not the id
        node = self.nodes[0]
        value = {
            "user_arn": arn,
            "username": user,
            "password": password,
            "host": node.host,
            "port": node.port,
            "ssl": False,
        }
        secret_arn = str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
        self._users[secret_arn] = user
        return secret_arn


class ElastiCacheAuthTokenHarness(_ValkeyHarness):
    """Each secret gets its own replication group bound to its own node: an AUTH token is the
    node's ``default`` user password, so groups cannot share a node."""

    kind = "elasticache_auth_token"
    handler = staticmethod(token_handler)

    def __init__(self, emulation: ElastiCacheEmulation, servers: ExitStack) -> None:
        self.emulation = emulation
        self._servers = servers
        self._nodes_by_secret: dict[str, ValkeyServer] = {}
        self._users = {}
        self.nodes = ()

    def create_secret(self, client: Any, name: str) -> str:
        import boto3
        from moto.elasticache.models import elasticache_backends

        token = secrets.token_hex(16)
        node = self._servers.enter_context(ValkeyServer(default_password=token))
        group_id = f"rel-{secrets.token_hex(4)}"
        boto3.client("elasticache").create_replication_group(
            ReplicationGroupId=group_id, ReplicationGroupDescription="reliability", Engine="redis",
            TransitEncryptionEnabled=True, AuthToken=token, CacheNodeType="cache.t4g.micro",
        )  # fmt: skip
        account = boto3.client("sts").get_caller_identity()["Account"]
        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self.emulation.bind_group(group_id, [node], token, backend=elasticache_backends[account][region])
        value = {"auth_token": token, "replication_group_id": group_id, "host": node.host, "port": node.port,
                 "ssl": False}  # fmt: skip
        secret_arn = str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
        self._nodes_by_secret[secret_arn] = node
        self._users[secret_arn] = "default"
        self.nodes = (node,)  # the node of the newest secret: what client_request and faults name
        return secret_arn

    @property
    def servers(self) -> list[ValkeyServer]:
        """Every node started so far (one per secret), e.g. to scan their logs."""
        return list(self._nodes_by_secret.values())

    def log_paths(self) -> list[str]:
        return [str(node.log_path) for node in self.servers]

    def authenticates(self, client: Any, secret_arn: str, value: dict[str, Any]) -> bool:
        return self._nodes_by_secret[secret_arn].authenticates("default", value["auth_token"])

    def client_request(self, client: Any, secret_arn: str) -> None:
        value = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
        connection = self._nodes_by_secret[secret_arn].client(None, value["auth_token"])
        try:
            connection.ping()
        finally:
            connection.close()

    def consumer(self, cache: Any, secret_arn: str) -> Consumer:
        node = self._nodes_by_secret[secret_arn]
        return ValkeyConsumer(cache, secret_arn, [(node.host, node.port)], auth_token=True)

    def orphans(self, client: Any, secret_arn: str) -> list[str]:
        problems = KindHarness.orphans(self, client, secret_arn)
        count = len(self._nodes_by_secret[secret_arn].passwords_of("default"))
        if count != 2:  # ROTATE keeps exactly two tokens: AWSCURRENT and AWSPREVIOUS
            problems.append(f"the group's node holds {count} tokens, expected 2")
        return problems


@contextmanager
def valkey_acl_harness() -> Iterator[KindHarness]:
    password = secrets.token_urlsafe(24)
    with ValkeyServer(admin_password=password) as a, ValkeyServer(admin_password=password) as b:
        yield ValkeyAclHarness((a, b))


@contextmanager
def elasticache_user_harness() -> Iterator[KindHarness]:
    """Needs moto active (mock_aws or local_aws) around it."""
    with fast_polling(), elasticache_emulation() as emulation, ValkeyServer() as node:
        yield ElastiCacheUserHarness(node, emulation)


@contextmanager
def elasticache_auth_token_harness() -> Iterator[KindHarness]:
    """Needs moto active (mock_aws or local_aws) around it; starts one node per secret."""
    with fast_polling(), elasticache_emulation() as emulation, ExitStack() as servers:
        yield ElastiCacheAuthTokenHarness(emulation, servers)
