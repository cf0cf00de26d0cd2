"""The local driver does what Secrets Manager does on rotate-secret."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from lambdas.hmac_key.handler import lambda_handler
from local_rotation import RotationDriver, RotationFailedError, stage_empty_pending_version
from tests.conftest import SecretFactory, stage_value, stages_by_version

Handler = Callable[[dict[str, Any], Any], Any]


def failing(step: str, times: int, handler: Handler = lambda_handler) -> tuple[Handler, list[dict[str, Any]]]:
    """``handler`` that fails ``step`` its first ``times`` invocations; records every event."""
    seen: list[dict[str, Any]] = []

    def wrapped(event: dict[str, Any], context: Any) -> Any:
        seen.append(dict(event))
        if event["Step"] == step and sum(1 for e in seen if e["Step"] == step) <= times:
            raise RuntimeError(f"injected failure in {step}")
        return handler(event, context)

    return wrapped, seen


@pytest.fixture
def secret(create_secret: SecretFactory) -> str:
    return create_secret("app/dev/hmac/driver", {"key": "cd" * 32})


def test_events_carry_the_arn_the_token_and_each_step_in_order(secretsmanager: Any, secret: str) -> None:
    handler, seen = failing("none", 0)

    report = RotationDriver(handler).rotate("app/dev/hmac/driver")

    assert [event["Step"] for event in seen] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert {event["SecretId"] for event in seen} == {secret}
    assert {event["ClientRequestToken"] for event in seen} == {report.token}


def test_a_step_that_fails_once_is_retried_and_the_rotation_completes(secretsmanager: Any, secret: str) -> None:
    handler, _ = failing("testSecret", 1)

    report = RotationDriver(handler).rotate(secret)

    assert report.succeeded
    assert [step.attempts for step in report.steps] == [1, 1, 2, 1]
    assert report.steps[2].errors == ["RuntimeError: injected failure in testSecret"]


def test_a_step_that_keeps_failing_leaves_awscurrent_and_awspending_in_place(secretsmanager: Any, secret: str) -> None:
    before = stage_value(secretsmanager, secret, "AWSCURRENT")
    handler, _ = failing("testSecret", 3)

    with pytest.raises(RotationFailedError, match="failed at testSecret: RuntimeError: injected failure") as caught:
        RotationDriver(handler, attempts_per_step=3).rotate(secret)

    report = caught.value.report
    assert not report.succeeded
    assert len(report.steps) == 3
    assert stage_value(secretsmanager, secret, "AWSCURRENT") == before
    assert stages_by_version(secretsmanager, secret)[report.token] == ["AWSPENDING"]


def test_next_rotate_reattempts_the_incomplete_rotation_with_the_same_token(secretsmanager: Any, secret: str) -> None:
    handler, _ = failing("finishSecret", 5)
    failed = RotationDriver(handler, attempts_per_step=2).rotate(secret, raise_on_failure=False)
    pending_value = secretsmanager.get_secret_value(SecretId=secret, VersionId=failed.token)["SecretString"]

    retried = RotationDriver(lambda_handler).rotate(secret)

    assert retried.resumed
    assert retried.token == failed.token
    assert secretsmanager.get_secret_value(SecretId=secret)["SecretString"] == pending_value
    assert stages_by_version(secretsmanager, secret)[failed.token] == ["AWSCURRENT"]


def test_report_counts_api_calls_per_step(secretsmanager: Any, secret: str) -> None:
    report = RotationDriver(lambda_handler).rotate(secret)

    assert report.steps[0].api_calls == {
        "secretsmanager.GetSecretValue": 2,
        "secretsmanager.DescribeSecret": 1,
        "secretsmanager.PutSecretValue": 1,
    }
    assert report.secretsmanager_calls == sum(step.secretsmanager_calls for step in report.steps)


def test_attempts_per_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts_per_step must be at least 1"):
        RotationDriver(lambda_handler, attempts_per_step=0)


def test_a_finish_secret_that_overlaps_another_for_the_same_token_succeeds_without_moving_anything(
    secretsmanager: Any, secret: str
) -> None:
    """Two invocations of finishSecret for one rotation (Lambda's asynchronous invocations are
    at least once): both read the old AWSCURRENT, the first moves it, the second's
    RemoveFromVersionId is then refused by the service. The second has nothing left to do."""
    from lambdas.rotation.stages import SecretStore

    old = secretsmanager.get_secret_value(SecretId=secret)["VersionId"]
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)
    for step in ("createSecret", "setSecret", "testSecret"):
        lambda_handler({"SecretId": secret, "ClientRequestToken": token, "Step": step}, None)
    store = SecretStore(secretsmanager, secret)

    store.promote(token, old)
    store.promote(token, old)  # the overlapping one: old no longer holds AWSCURRENT

    stages = stages_by_version(secretsmanager, secret)
    assert "AWSCURRENT" in stages[token]
    assert stages[old] == ["AWSPREVIOUS"]


def test_a_refused_finish_secret_that_did_not_happen_elsewhere_still_fails(secretsmanager: Any, secret: str) -> None:
    from lambdas.rotation import SecretsManagerError
    from lambdas.rotation.stages import SecretStore

    current = secretsmanager.get_secret_value(SecretId=secret)["VersionId"]
    token = str(uuid.uuid4())
    stage_empty_pending_version(secret, token)
    store = SecretStore(secretsmanager, secret)

    with pytest.raises(SecretsManagerError, match="UpdateSecretVersionStage"):
        store.promote(token, str(uuid.uuid4()))  # names a version that never held AWSCURRENT

    assert stages_by_version(secretsmanager, secret)[current] == ["AWSCURRENT"]
