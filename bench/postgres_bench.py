"""PostgreSQL rotation per mode: Secrets Manager calls, wall time, failing fast on a blackholed host."""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from typing import Any

import boto3
from moto import mock_aws

from bench.common import Row, SuiteResult, cold_import_ms, expected_failures, median, percentile, rotate_many
from lambdas.postgres_alternating.handler import lambda_handler as alternating
from lambdas.postgres_single.handler import lambda_handler as single
from lambdas.rotation import TargetUnreachableError
from local_rotation import RotationDriver, stage_empty_pending_version
from local_rotation.driver import Handler
from local_servers.blackhole import BlackholeListener
from local_servers.postgres import PostgresServer

AWS_SAMPLE_CALLS = 14


def _fail_time_s(client: Any, handler: Handler, value: dict[str, Any], runs: int) -> list[float]:
    """setSecret against a listener that accepts and never answers: seconds until it fails."""
    timings = []
    with expected_failures(), BlackholeListener() as blackhole:
        for _ in range(runs):
            arn = client.create_secret(
                Name=f"bench/postgres/blackhole-{uuid.uuid4().hex[:8]}",
                SecretString=json.dumps({**value, "port": blackhole.port}),
            )["ARN"]
            token = str(uuid.uuid4())
            stage_empty_pending_version(arn, token)
            handler({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}, None)
            started = time.perf_counter()
            try:
                handler({"SecretId": arn, "ClientRequestToken": token, "Step": "setSecret"}, None)
            except TargetUnreachableError:
                timings.append(time.perf_counter() - started)
    return timings


def run(quick: bool) -> SuiteResult:
    rotations, imports, fail_runs = (3, 2, 1) if quick else (30, 10, 3)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = SuiteResult(title="PostgreSQL (lambdas.postgres_alternating, lambdas.postgres_single), TLS verify-full")
    with mock_aws(), PostgresServer(tls_only=True) as server:
        client = boto3.client("secretsmanager")
        admin_password = secrets.token_urlsafe(24)
        server.create_role("bench_admin", admin_password, createrole=True)
        admin_arn = client.create_secret(
            Name="bench/postgres/admin",
            SecretString=json.dumps({"username": "bench_admin", "password": admin_password}),
        )["ARN"]
        for mode, handler, module in (
            ("alternating", alternating, "lambdas.postgres_alternating.handler"),
            ("single", single, "lambdas.postgres_single.handler"),
        ):
            role, password = f"bench_{mode}", secrets.token_urlsafe(24)
            server.create_role(role, password)
            value = {
                "engine": "postgres",
                "host": server.host,
                "port": server.port,
                "dbname": server.dbname,
                "ssl_ca": str(server.ca_path),
                "username": role,
                "password": password,
                "masterarn": admin_arn,
            }
            arn = client.create_secret(Name=f"bench/postgres/{mode}", SecretString=json.dumps(value))["ARN"]
            run_ = rotate_many(RotationDriver(handler), arn, rotations)
            first = run_.reports[0]
            per_step = ", ".join(f"{step.step} {step.secretsmanager_calls}" for step in first.steps)
            fail_s = _fail_time_s(client, handler, value, fail_runs)
            import_ms = cold_import_ms(module, imports)
            result.rows += [
                Row(f"{mode}: Secrets Manager calls per rotation", max(run_.secretsmanager_calls), "calls",
                    f"{per_step}; AWS samples: {AWS_SAMPLE_CALLS}"),
                Row(f"{mode}: full rotation wall time, median", round(median(run_.wall_ms), 1), "ms",
                    f"{rotations} rotations against real PostgreSQL 15 over TLS, moto in process"),
                Row(f"{mode}: full rotation wall time, p95", round(percentile(run_.wall_ms, 0.95), 1), "ms", ""),
                Row(f"{mode}: setSecret against a blackholed host fails after", round(max(fail_s), 2), "s",
                    f"worst of {fail_runs}; listener accepts and never answers; AWS's function: ~30 s"),
                Row(f"{mode}: handler cold import, median", round(median(import_ms), 1), "ms", f"x{imports}"),
            ]  # fmt: skip
            result.raw[mode] = {"wall_ms": run_.wall_ms, "fail_s": fail_s, "import_ms": import_ms}
    return result
