"""Valkey kinds: Secrets Manager and ElastiCache calls and wall time per rotation, failing fast
on a blackholed node.

The ElastiCache control plane is emulated as strictly as the service (local_servers/elasticache.py):
each modify stays ``modifying`` for ``DEFAULT_MODIFYING_DESCRIBES`` describes, and the functions
poll every ``FAST_POLL_SECONDS`` (``ELASTICACHE_POLL_SECONDS``; production default 5 s), so the
wall times here are the functions' own work, not ElastiCache's minutes."""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws
from moto.elasticache.models import elasticache_backends

from bench.common import Row, SuiteResult, cold_import_ms, expected_failures, median, percentile, rotate_many
from lambdas.elasticache_auth_token.handler import lambda_handler as token_handler
from lambdas.elasticache_user.handler import lambda_handler as user_handler
from lambdas.rotation import TargetUnreachableError
from lambdas.valkey_acl.handler import lambda_handler as acl_handler
from local_rotation import RotationDriver, stage_empty_pending_version
from local_servers.blackhole import BlackholeListener
from local_servers.elasticache import DEFAULT_MODIFYING_DESCRIBES, elasticache_emulation, fast_polling
from local_servers.valkey import ValkeyServer


def _elasticache_calls(step: Any) -> int:
    return sum(count for point, count in step.api_calls.items() if point.startswith("elasticache."))


def _rows(kind: str, run: Any, note: str) -> list[Row]:
    first = run.reports[0]
    per_step = ", ".join(f"{step.step} {step.secretsmanager_calls}" for step in first.steps)
    rows = [
        Row(f"{kind}: Secrets Manager calls per rotation", max(run.secretsmanager_calls), "calls", per_step),
        Row(f"{kind}: full rotation wall time, median", round(median(run.wall_ms), 1), "ms", note),
        Row(f"{kind}: full rotation wall time, p95", round(percentile(run.wall_ms, 0.95), 1), "ms", ""),
    ]
    if kind.startswith("elasticache"):
        calls = max(sum(_elasticache_calls(step) for step in report.steps) for report in run.reports)
        detail = ", ".join(
            f"{name.split('.', 1)[1]} {count}"
            for name, count in sorted(sum((step.api_calls for step in first.steps), Counter()).items())
            if name.startswith("elasticache.")
        )
        note = f"{detail}; {DEFAULT_MODIFYING_DESCRIBES} describes see each modify still modifying"
        rows.insert(1, Row(f"{kind}: ElastiCache calls per rotation", calls, "calls", note))
    return rows


def run(quick: bool) -> SuiteResult:
    rotations = 3 if quick else 30
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = SuiteResult(title="Valkey (lambdas.valkey_acl, lambdas.elasticache_user, lambdas.elasticache_auth_token)")
    admin_password = secrets.token_urlsafe(24)
    with (
        mock_aws(),
        fast_polling(),
        elasticache_emulation() as emulation,
        ValkeyServer(admin_password=admin_password) as a,
        ValkeyServer(admin_password=admin_password) as b,
    ):
        client, elasticache = boto3.client("secretsmanager"), boto3.client("elasticache")
        password = secrets.token_hex(16)
        for node in (a, b):
            node.create_user("bench_app", password)
        admin_arn = client.create_secret(
            Name="bench/valkey/admin",
            SecretString=json.dumps({"username": a.admin_username, "password": admin_password}),
        )["ARN"]
        nodes = [f"{a.host}:{a.port}", f"{b.host}:{b.port}"]
        acl_value = {"host": a.host, "port": a.port, "username": "bench_app", "password": password,
                     "masterarn": admin_arn, "ssl": False, "nodes": nodes}  # fmt: skip
        arn = client.create_secret(Name="bench/valkey/acl", SecretString=json.dumps(acl_value))["ARN"]
        result.rows += _rows("valkey_acl", rotate_many(RotationDriver(acl_handler), arn, rotations), "2 real nodes")

        user_arn = elasticache.create_user(
            UserId="bench-user", UserName="bench_user", Engine="redis", Passwords=[password], AccessString="on ~* +@all"
        )["ARN"]
        emulation.bind_user("bench-user", [a])  # the node's ACL user "bench_user" is the UserName
        arn = client.create_secret(
            Name="bench/valkey/user",
            SecretString=json.dumps({"user_arn": user_arn, "username": "bench_user", "password": password,
                                     "host": a.host, "port": a.port, "ssl": False}),
        )["ARN"]  # fmt: skip
        result.rows += _rows(
            "elasticache_user", rotate_many(RotationDriver(user_handler), arn, rotations),
            "API emulated (modifying over several describes), real node; includes the waits",
        )  # fmt: skip

        elasticache.create_replication_group(
            ReplicationGroupId="bench-cache", ReplicationGroupDescription="bench", Engine="redis",
            TransitEncryptionEnabled=True, AuthToken=password,
        )  # fmt: skip
        b.create_user("default", password)
        emulation.bind_group("bench-cache", [b], password, backend=elasticache_backends["123456789012"]["us-east-1"])
        arn = client.create_secret(
            Name="bench/valkey/token",
            SecretString=json.dumps({"auth_token": password, "replication_group_id": "bench-cache",
                                     "host": b.host, "port": b.port, "ssl": False}),
        )["ARN"]  # fmt: skip
        result.rows += _rows(
            "elasticache_auth_token", rotate_many(RotationDriver(token_handler), arn, rotations),
            "API emulated (modifying over several describes), real node; includes the waits",
        )  # fmt: skip

        with expected_failures(), BlackholeListener() as blackhole:
            arn = client.create_secret(
                Name="bench/valkey/blackhole",
                SecretString=json.dumps({**acl_value, "nodes": [f"127.0.0.1:{blackhole.port}"]}),
            )["ARN"]
            token = str(uuid.uuid4())
            stage_empty_pending_version(arn, token)
            acl_handler({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}, None)
            started = time.perf_counter()
            try:
                acl_handler({"SecretId": arn, "ClientRequestToken": token, "Step": "setSecret"}, None)
            except TargetUnreachableError:
                failed_after = time.perf_counter() - started
        result.rows.append(
            Row("valkey_acl: setSecret against a blackholed node fails after", round(failed_after, 2), "s",
                "listener accepts and never answers; limit 5 s")
        )  # fmt: skip
    imports = 2 if quick else 10
    for kind in ("valkey_acl", "elasticache_user", "elasticache_auth_token"):
        import_ms = cold_import_ms(f"lambdas.{kind}.handler", imports)
        result.rows.append(
            Row(f"{kind}: handler cold import, median", round(median(import_ms), 1), "ms",
                f"fresh interpreter x{imports}, contract limit 1000 ms")
        )  # fmt: skip
    return result
