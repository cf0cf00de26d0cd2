"""Valkey: a two-node self-managed ACL user, an ElastiCache RBAC user and an ElastiCache AUTH
token (emulated control plane as strict as the service, real Valkey nodes), showing which
values authenticate after each rotation."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from demo.console import heading, step_durations, table, verdict
from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_rotation import RotationDriver, RotationReport
from local_servers.elasticache import ElastiCacheEmulation, elasticache_emulation, fast_polling
from local_servers.valkey import ValkeyServer

ROTATIONS = 3
Handler = Callable[[dict[str, Any], Any], Any]


def _stage(client: Any, arn: str, stage: str) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]))


def _elasticache_calls(report: RotationReport) -> str:
    calls = sum(
        count for step in report.steps for point, count in step.api_calls.items() if point.startswith("elasticache.")
    )
    return f" | {calls} ElastiCache calls" if calls else ""


def _rotations(
    client: Any, arn: str, handler: Handler, field: str, columns: Sequence[str], works: Callable[[str], list[bool]]
) -> bool:
    """Rotate ``ROTATIONS`` times; after each, show which values ``works`` on every column's node."""
    history = [_stage(client, arn, "AWSCURRENT")[field]]
    ok = True
    driver = RotationDriver(handler)
    for rotation in range(1, ROTATIONS + 1):
        report = driver.rotate(arn)
        history.append(_stage(client, arn, "AWSCURRENT")[field])
        rows = []
        for label, value, expected in (
            ("AWSCURRENT", history[-1], True),
            ("AWSPREVIOUS", history[-2], True),
            ("two rotations back", history[-3] if len(history) >= 3 else None, False),
        ):
            if value is None:
                continue
            results = works(value)
            ok &= all(result == expected for result in results)
            rows.append((label, *(verdict(result) for result in results)))
        print(
            f"\nrotation {rotation}: {report.secretsmanager_calls} Secrets Manager calls{_elasticache_calls(report)}"
            f" | {step_durations(report)}"
        )
        print(table(("value", *columns), rows))
    return ok


def _acl_user(client: Any) -> bool:
    print("\nself-managed ACL user 'demo_app' on two nodes (ACLs are not replicated: every node is changed)")
    admin_password = secrets.token_urlsafe(24)
    with (
        ValkeyServer(acl_file=True, admin_password=admin_password) as a,
        ValkeyServer(admin_password=admin_password) as b,
    ):
        first = secrets.token_urlsafe(24)
        for node in (a, b):
            node.create_user("demo_app", first)
        admin_arn = client.create_secret(
            Name="demo/local/valkey/admin",
            SecretString=json.dumps({"username": a.admin_username, "password": admin_password}),
        )["ARN"]
        arn = client.create_secret(
            Name="demo/local/valkey/app",
            SecretString=json.dumps({"host": a.host, "port": a.port, "username": "demo_app", "password": first,
                                     "masterarn": admin_arn, "ssl": False,
                                     "nodes": [f"{a.host}:{a.port}", f"{b.host}:{b.port}"]}),
        )["ARN"]  # fmt: skip
        works = lambda password: [node.authenticates("demo_app", password) for node in (a, b)]  # noqa: E731
        return _rotations(client, arn, acl_handler, "password", (f"node {a.port}", f"node {b.port}"), works)


def _rbac_user(client: Any, emulation: ElastiCacheEmulation) -> bool:
    print(
        "\nElastiCache RBAC user id 'demo-user', UserName 'demo_user' (ModifyUser with two passwords; "
        f"each change 'modifying' for {emulation.modifying_describes} describes)"
    )
    first = secrets.token_hex(16)
    user_arn = boto3.client("elasticache").create_user(
        UserId="demo-user", UserName="demo_user", Engine="redis", Passwords=[first], AccessString="on ~* +@all"
    )["ARN"]
    with ValkeyServer() as node:
        emulation.bind_user("demo-user", [node])
        arn = client.create_secret(
            Name="demo/local/valkey/rbac-user",
            SecretString=json.dumps({"user_arn": user_arn, "username": "demo_user", "password": first,
                                     "host": node.host, "port": node.port, "ssl": False}),
        )["ARN"]  # fmt: skip
        works = lambda password: [node.authenticates("demo_user", password)]  # noqa: E731
        return _rotations(client, arn, user_handler, "password", ("AUTH demo_user",), works)


def _auth_token(client: Any, emulation: ElastiCacheEmulation) -> bool:
    print(
        "\nElastiCache AUTH token (ModifyReplicationGroup, strategy ROTATE; "
        f"each change 'modifying' for {emulation.modifying_describes} describes)"
    )
    first = secrets.token_hex(16)
    with ValkeyServer(default_password=first) as node:
        boto3.client("elasticache").create_replication_group(
            ReplicationGroupId="demo-cache", ReplicationGroupDescription="demo", Engine="redis",
            TransitEncryptionEnabled=True, AuthToken=first,
        )  # fmt: skip
        emulation.bind_group("demo-cache", [node], first)
        arn = client.create_secret(
            Name="demo/local/valkey/token",
            SecretString=json.dumps({"auth_token": first, "replication_group_id": "demo-cache",
                                     "host": node.host, "port": node.port, "ssl": False}),
        )["ARN"]  # fmt: skip
        works = lambda value: [node.authenticates("default", value)]  # noqa: E731
        return _rotations(client, arn, token_handler, "auth_token", ("AUTH",), works)


def run() -> bool:
    heading(
        "Valkey (lambdas.valkey_acl, lambdas.elasticache_user, lambdas.elasticache_auth_token) — real valkey-server 8.1"
    )
    client = boto3.client("secretsmanager")
    ok = _acl_user(client)
    # ElastiCache takes minutes per change; the emulation takes describes, polled every few ms.
    with fast_polling(), elasticache_emulation() as emulation:
        ok &= _rbac_user(client, emulation)
        ok &= _auth_token(client, emulation)
    return ok
