"""Logs and metrics of a step: the fields operators filter on, and never a value."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from lambdas.hmac_key.handler import lambda_handler
from local_rotation import stage_empty_pending_version
from tests.conftest import SecretFactory


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_step_logs_carry_arn_step_token_and_kind(
    create_secret: SecretFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    arn = create_secret("app/dev/hmac/logs", {"key": "aa" * 32})
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    lambda_handler({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}, None)

    success = next(line for line in _json_lines(capfd.readouterr().out) if line.get("message") == "step succeeded")
    assert (success["secret_arn"], success["step"], success["token"], success["kind"]) == (
        arn,
        "createSecret",
        token,
        "hmac_key",
    )


def test_failed_step_emits_step_failed_metric_for_its_kind(
    create_secret: SecretFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    arn = create_secret("app/dev/hmac/metrics", {"key": "aa" * 32})

    with pytest.raises(Exception, match="not staged AWSPENDING"):
        lambda_handler({"SecretId": arn, "ClientRequestToken": str(uuid.uuid4()), "Step": "setSecret"}, None)

    emf = next(line for line in _json_lines(capfd.readouterr().out) if "_aws" in line)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SecretRotation"
    assert emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["kind", "service"]]
    assert (emf["kind"], emf["step"], emf["StepFailed"], emf["StepSucceeded"]) == (
        "hmac_key",
        "setSecret",
        [1.0],
        [0.0],
    )
