"""The emulated RotateSecret runs a registered rotation function as the service does: answers
at once with the new version, rotates in the background, records the rotation settings,
refuses while a rotation is incomplete, and logs failures where Lambda would. Unregistered
functions keep moto's behaviour (docs/moto-differences.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation.service_hook import (
    register_rotation_function,
    unregister_rotation_function,
    wait_for_rotations,
)
from tests.conftest import SecretFactory, stage_value, stages_by_version

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:hook-hmac"
FAILING = "arn:aws:lambda:us-east-1:123456789012:function:hook-failing"


def failing_handler(event: dict[str, Any], context: Any) -> Any:
    if event["Step"] == "testSecret":
        raise RuntimeError("injected: the pending key failed its test")
    return hmac_handler(event, context)


@pytest.fixture
def registered(aws: None) -> Iterator[None]:
    register_rotation_function(FUNCTION, hmac_handler)
    register_rotation_function("hook-failing", failing_handler)  # by name works as well as by ARN
    yield
    assert wait_for_rotations(30)
    unregister_rotation_function(FUNCTION)
    unregister_rotation_function("hook-failing")


@pytest.fixture
def secret(registered: None, create_secret: SecretFactory) -> str:
    return create_secret("app/dev/hmac/hook", {"key": "0a" * 32})


def test_rotate_secret_answers_at_once_with_an_awspending_version_then_rotates_in_the_background(
    secretsmanager: Any, secret: str
) -> None:
    original = stage_value(secretsmanager, secret, "AWSCURRENT")["key"]

    answer = secretsmanager.rotate_secret(SecretId=secret, RotationLambdaARN=FUNCTION)
    assert wait_for_rotations(30)

    assert answer["ARN"] == secret
    assert stages_by_version(secretsmanager, secret)[answer["VersionId"]] == ["AWSCURRENT"]
    assert stage_value(secretsmanager, secret, "AWSPREVIOUS")["key"] == original


def test_rotate_secret_records_rotation_enabled_function_schedule_and_dates(secretsmanager: Any, secret: str) -> None:
    before = time.time()
    secretsmanager.rotate_secret(
        SecretId=secret, RotationLambdaARN=FUNCTION, RotationRules={"ScheduleExpression": "rate(4 hours)"}
    )
    assert wait_for_rotations(30)

    described = secretsmanager.describe_secret(SecretId=secret)

    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == FUNCTION
    assert described["RotationRules"] == {"ScheduleExpression": "rate(4 hours)"}
    assert described["LastRotatedDate"].timestamp() >= int(before)
    next_in = described["NextRotationDate"].timestamp() - described["LastRotatedDate"].timestamp()
    assert next_in == 4 * 3600


def test_a_later_rotate_secret_without_function_uses_the_recorded_one(secretsmanager: Any, secret: str) -> None:
    secretsmanager.rotate_secret(SecretId=secret, RotationLambdaARN=FUNCTION, RotateImmediately=False)
    assert wait_for_rotations(30)  # the configuration test, in the background as on AWS
    assert list(stages_by_version(secretsmanager, secret).values()) == [["AWSCURRENT"]]  # configured, not rotated

    answer = secretsmanager.rotate_secret(SecretId=secret)
    assert wait_for_rotations(30)

    assert stages_by_version(secretsmanager, secret)[answer["VersionId"]] == ["AWSCURRENT"]


def test_a_failed_rotation_leaves_awspending_and_logs_the_reason_in_the_functions_log_group(
    secretsmanager: Any, secret: str
) -> None:
    answer = secretsmanager.rotate_secret(SecretId=secret, RotationLambdaARN=FAILING)
    assert wait_for_rotations(30)

    events = boto3.client("logs").filter_log_events(logGroupName="/aws/lambda/hook-failing")["events"]
    messages = [json.loads(event["message"]) for event in events]
    assert stages_by_version(secretsmanager, secret)[answer["VersionId"]] == ["AWSPENDING"]
    assert {"level": "ERROR", "message": "testSecret failed: RuntimeError: injected: the pending key failed its test",
            "ClientRequestToken": answer["VersionId"]} in messages  # fmt: skip
    pending_key = json.loads(
        secretsmanager.get_secret_value(SecretId=secret, VersionStage="AWSPENDING")["SecretString"]
    )["key"]
    assert all(pending_key not in event["message"] for event in events)


def test_rotate_secret_while_a_rotation_is_incomplete_is_refused_and_changes_nothing(
    secretsmanager: Any, secret: str
) -> None:
    secretsmanager.rotate_secret(SecretId=secret, RotationLambdaARN=FAILING)
    assert wait_for_rotations(30)
    before = stages_by_version(secretsmanager, secret)

    with pytest.raises(secretsmanager.exceptions.InvalidRequestException, match="A previous rotation isn't complete"):
        secretsmanager.rotate_secret(SecretId=secret, RotationLambdaARN=FUNCTION)

    assert stages_by_version(secretsmanager, secret) == before


def test_an_out_of_range_schedule_is_refused_and_changes_nothing(secretsmanager: Any, secret: str) -> None:
    before = stages_by_version(secretsmanager, secret)

    with pytest.raises(secretsmanager.exceptions.InvalidParameterException, match="AutomaticallyAfterDays"):
        secretsmanager.rotate_secret(
            SecretId=secret, RotationLambdaARN=FUNCTION, RotationRules={"AutomaticallyAfterDays": 1001}
        )

    assert stages_by_version(secretsmanager, secret) == before
    assert "RotationEnabled" not in secretsmanager.describe_secret(SecretId=secret)


def test_an_unregistered_function_keeps_motos_behaviour(secretsmanager: Any, secret: str) -> None:
    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException, match="Resource not found for ARN"):
        secretsmanager.rotate_secret(
            SecretId=secret, RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:unknown"
        )
