"""HMAC rotation: Secrets Manager calls, full rotation wall time, handler cold import."""

from __future__ import annotations

import json
import os

import boto3
from moto import mock_aws

from bench.common import Row, SuiteResult, cold_import_ms, median, percentile, rotate_many
from lambdas.hmac_key.handler import lambda_handler
from local_rotation import RotationDriver

AWS_SAMPLE_CALLS = 14  # AWS's sample rotation functions: 4 DescribeSecret + 10 reads/writes


def run(quick: bool) -> SuiteResult:
    rotations = 3 if quick else 50
    imports = 2 if quick else 10
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("secretsmanager")
        arn = client.create_secret(Name="bench/hmac", SecretString=json.dumps({"key": "00" * 32}))["ARN"]
        rotation_run = rotate_many(RotationDriver(lambda_handler), arn, rotations)
    first = rotation_run.reports[0]
    per_step = ", ".join(f"{step.step} {step.secretsmanager_calls}" for step in first.steps)
    calls = sorted(rotation_run.secretsmanager_calls)
    import_ms = cold_import_ms("lambdas.hmac_key.handler", imports)
    result = SuiteResult(title="HMAC signing key (lambdas.hmac_key)")
    result.rows = [
        Row("Secrets Manager calls per rotation", calls[-1], "calls", f"{per_step}; AWS samples: {AWS_SAMPLE_CALLS}"),
        Row(
            "full rotation wall time, median",
            round(median(rotation_run.wall_ms), 2),
            "ms",
            f"{rotations} rotations, driver + moto in process",
        ),
        Row("full rotation wall time, p95", round(percentile(rotation_run.wall_ms, 0.95), 2), "ms", ""),
        Row(
            "handler cold import, median",
            round(median(import_ms), 1),
            "ms",
            f"fresh interpreter x{imports}, contract limit 1000 ms",
        ),
    ]
    result.raw = {
        "wall_ms": rotation_run.wall_ms,
        "import_ms": import_ms,
        "calls_by_step": dict(first.steps[0].api_calls),
    }
    return result
