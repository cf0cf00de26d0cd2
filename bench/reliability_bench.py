"""Reliability figures per kind: soak (requests made/failed during >= 100 rotations) and
fault injection (call points x fault modes tried/passed)."""

from __future__ import annotations

import logging
import os

import boto3
from moto import mock_aws

from bench.common import Row, SuiteResult
from lambdas.rotation.telemetry import logger
from reliability import run_every_fault, soak
from reliability.kinds.registry import HARNESSES


def run(quick: bool) -> SuiteResult:
    rotations = 5 if quick else 100
    # Injected faults make the functions log errors with tracebacks by design: keep them off the terminal.
    logger.setLevel(logging.CRITICAL)
    logging.getLogger("local_rotation").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result = SuiteResult(title="Reliability: zero-downtime soak and fault injection")
    for kind, start in HARNESSES.items():
        with mock_aws(), start() as harness:
            client = boto3.client("secretsmanager")
            soak_arn = harness.create_secret(client, f"bench/{kind}/soak")
            soaked = soak(harness, client, soak_arn, rotations=rotations, workers=2)
            faults = run_every_fault(harness, client, f"bench/{kind}", limit=2 if quick else None)
        plan, outcomes = faults.plan, faults.outcomes
        passed = sum(outcome.passed for outcome in outcomes)
        result.rows += [
            Row(
                f"{kind}: requests failed / made during rotations",
                f"{soaked.failures} / {soaked.requests}",
                "requests",
                f"{soaked.rotations} rotations, 2 client threads, {soaked.rotations_per_minute:.0f} rotations/min",
            ),
            Row(
                f"{kind}: fault cases passed / tried",
                f"{passed} / {len(outcomes)}",
                "cases",
                f"{len(plan.points)} call points x error, timeout; AWSCURRENT works, retry converges, no orphans",
            ),
        ]
        result.raw[kind] = {
            "soak": {"requests": soaked.requests, "failures": soaked.failures, "rotations": soaked.rotations},
            "fault_points": list(plan.points),
            "fault_failures": [o.__dict__ for o in outcomes if not o.passed],
        }
    return result
