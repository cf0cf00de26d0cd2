"""Valkey: a two-node self-managed ACL user, and an ElastiCache AUTH token (emulated control
plane, real Valkey node), showing which values authenticate after each rotation."""

from __future__ import annotations

import json
import secrets
from typing import Any

import boto3
from moto.elasticache.models import elasticache_backends

from demo.console import heading, step_durations, table, verdict
from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_rotation import RotationDriver
from local_servers.elasticache import elasticache_emulation
from local_servers.valkey import ValkeyServer

ROTATIONS = 3


def _stage(client: Any, arn: str, stage: str) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]))


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
        history = [first]
        ok = True
        driver = RotationDriver(acl_handler)
        for rotation in range(1, ROTATIONS + 1):
            report = driver.rotate(arn)
            history.append(_stage(client, arn, "AWSCURRENT")["password"])
            rows = []
            for label, password, expected in (
                ("AWSCURRENT", history[-1], True),
                ("AWSPREVIOUS", history[-2], True),
                ("two rotations back", history[-3] if len(history) >= 3 else None, False),
            ):
                if password is None:
                    continue
                results = [node.authenticates("demo_app", password) for node in (a, b)]
                ok &= all(result == expected for result in results)
                rows.append((label, verdict(results[0]), verdict(results[1])))
            print(
                f"\nrotation {rotation}: {report.secretsmanager_calls} Secrets Manager calls | {step_durations(report)}"
            )
            print(table(("value", f"node {a.port}", f"node {b.port}"), rows))
        return ok


def _auth_token(client: Any) -> bool:
    print("\nElastiCache AUTH token (ModifyReplicationGroup, strategy ROTATE; API emulated, node real)")
    first = secrets.token_hex(16)
    elasticache = boto3.client("elasticache")
    with elasticache_emulation() as emulation, ValkeyServer(default_password=first) as node:
        elasticache.create_replication_group(
            ReplicationGroupId="demo-cache", ReplicationGroupDescription="demo", Engine="redis",
            TransitEncryptionEnabled=True, AuthToken=first,
        )  # fmt: skip
        backend = elasticache_backends["123456789012"][elasticache.meta.region_name]
        emulation.bind_group("demo-cache", [node], first, backend=backend)
        arn = client.create_secret(
            Name="demo/local/valkey/token",
            SecretString=json.dumps({"auth_token": first, "replication_group_id": "demo-cache",
                                     "host": node.host, "port": node.port, "ssl": False}),
        )["ARN"]  # fmt: skip
        history = [first]
        ok = True
        driver = RotationDriver(token_handler)
        for rotation in range(1, ROTATIONS + 1):
            report = driver.rotate(arn)
            history.append(_stage(client, arn, "AWSCURRENT")["auth_token"])
            rows = []
            for label, value, expected in (
                ("AWSCURRENT", history[-1], True),
                ("AWSPREVIOUS", history[-2], True),
                ("two rotations back", history[-3] if len(history) >= 3 else None, False),
            ):
                if value is None:
                    continue
                works = node.authenticates("default", value)
                ok &= works == expected
                rows.append((label, verdict(works)))
            print(
                f"\nrotation {rotation}: {report.secretsmanager_calls} Secrets Manager calls | {step_durations(report)}"
            )
            print(table(("token", "AUTH"), rows))
        return ok


def run() -> bool:
    heading("Valkey (lambdas.valkey_acl, lambdas.elasticache_auth_token) — real valkey-server 8.1")
    client = boto3.client("secretsmanager")
    return _acl_user(client) & _auth_token(client)
