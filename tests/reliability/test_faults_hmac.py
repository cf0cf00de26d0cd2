"""Fault injection at every call point of the HMAC rotation: an error and a timeout at each."""

from __future__ import annotations

from typing import Any

import pytest

from reliability import FaultMode, record_call_points, run_every_fault
from reliability.kinds.hmac_key import HmacKeyHarness


@pytest.fixture
def harness() -> HmacKeyHarness:
    return HmacKeyHarness()


def test_call_points_are_discovered_from_the_ledger(secretsmanager: Any, harness: HmacKeyHarness) -> None:
    arn = harness.create_secret(secretsmanager, "reliability/hmac/plan")

    plan = record_call_points(harness, secretsmanager, arn)

    assert plan.points == (
        "secretsmanager.GetSecretValue",
        "secretsmanager.DescribeSecret",
        "secretsmanager.GetSecretValue",
        "secretsmanager.PutSecretValue",
        "secretsmanager.GetSecretValue",
        "secretsmanager.GetSecretValue",
        "secretsmanager.DescribeSecret",
        "secretsmanager.UpdateSecretVersionStage",
    )


@pytest.mark.parametrize("mode", ["error", "timeout"])
def test_a_fault_at_every_call_point_leaves_awscurrent_working_and_the_retry_converges(
    secretsmanager: Any, harness: HmacKeyHarness, mode: FaultMode
) -> None:
    run = run_every_fault(harness, secretsmanager, f"reliability/hmac/{mode}", modes=(mode,))

    assert run.failures == {}
    assert len(run.outcomes) == len(run.plan.points) == 8
    assert {o.failed_step for o in run.outcomes} == {"createSecret", "setSecret", "testSecret", "finishSecret"}
