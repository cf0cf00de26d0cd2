"""PostgreSQL rotation per mode: Secrets Manager calls, wall time, failing fast on a blackholed host;
then the rotation wall time on every supported major (15 to 18, as RDS runs)."""

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
from local_servers.postgres_installs import SUPPORTED_MAJORS

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


def _admin_secret(client: Any, server: PostgresServer) -> str:
    """The rotation admin (CREATEROLE, not superuser) and its secret; returns the secret's ARN."""
    admin_password = secrets.token_urlsafe(24)
    server.create_role("bench_admin", admin_password, createrole=True)
    return str(
        client.create_secret(
            Name="bench/postgres/admin",
            SecretString=json.dumps({"username": "bench_admin", "password": admin_password}),
        )["ARN"]
    )


def _role(server: PostgresServer, mode: str) -> tuple[str, str]:
    """A role to rotate, with the rights docs/postgres.md says the admin needs on it."""
    role, password = f"bench_{mode}", secrets.token_urlsafe(24)
    server.create_role(role, password)
    server.grant_rotation_rights("bench_admin", role)
    return role, password


def run(quick: bool) -> SuiteResult:
    rotations, imports, fail_runs = (3, 2, 1) if quick else (30, 10, 3)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = SuiteResult(title="PostgreSQL (lambdas.postgres_alternating, lambdas.postgres_single), TLS verify-full")
    with mock_aws(), PostgresServer(tls_only=True) as server:
        client = boto3.client("secretsmanager")
        admin_arn = _admin_secret(client, server)
        for mode, handler, module in (
            ("alternating", alternating, "lambdas.postgres_alternating.handler"),
            ("single", single, "lambdas.postgres_single.handler"),
        ):
            role, password = _role(server, mode)
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
                    f"{rotations} rotations against real PostgreSQL {server.version} over TLS, moto in process"),
                Row(f"{mode}: full rotation wall time, p95", round(percentile(run_.wall_ms, 0.95), 1), "ms", ""),
                Row(f"{mode}: setSecret against a blackholed host fails after", round(max(fail_s), 2), "s",
                    f"worst of {fail_runs}; listener accepts and never answers; AWS's function: ~30 s"),
                Row(f"{mode}: handler cold import, median", round(median(import_ms), 1), "ms", f"x{imports}"),
            ]  # fmt: skip
            result.raw[mode] = {"wall_ms": run_.wall_ms, "fail_s": fail_s, "import_ms": import_ms}
    for major in SUPPORTED_MAJORS:
        result.rows += _per_major(major, rotations)
    return result


def _per_major(major: int, rotations: int) -> list[Row]:
    """Both modes on one major, in plaintext (the 16 and 18 wheels are built without SSL)."""
    rows = []
    with mock_aws(), PostgresServer(major=major) as server:
        client = boto3.client("secretsmanager")
        admin_arn = _admin_secret(client, server)
        for mode, handler in (("alternating", alternating), ("single", single)):
            role, password = _role(server, mode)
            value = {"host": server.host, "port": server.port, "dbname": server.dbname, "ssl": False,
                     "username": role, "password": password, "masterarn": admin_arn}  # fmt: skip
            arn = client.create_secret(Name=f"bench/postgres/{mode}", SecretString=json.dumps(value))["ARN"]
            run_ = rotate_many(RotationDriver(handler), arn, rotations)
            rows.append(
                Row(f"PostgreSQL {server.version}, {mode}: full rotation wall time, median",
                    round(median(run_.wall_ms), 1), "ms",
                    f"{rotations} rotations, plaintext; " + (
                        "the role changes its own password" if mode == "single"
                        else "admin with CREATEROLE" + (" + ADMIN OPTION" if major >= 16 else "")))
            )  # fmt: skip
    return rows
