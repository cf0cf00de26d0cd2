"""HMAC signing-key rotation through the local driver, against moto (no server to change)."""

from __future__ import annotations

import json
import re
import string
import uuid
from typing import Any

import pytest

from lambdas.hmac_key.handler import lambda_handler
from lambdas.rotation import (
    ConfigurationError,
    InvalidSecretError,
    PendingSecretTestFailedError,
    PendingValueMissingError,
    UnknownStepError,
    VersionNotPendingError,
)
from local_rotation import RotationDriver, stage_empty_pending_version
from secret_rotation_kit import HmacKeyring, InvalidSignatureError
from tests.conftest import SecretFactory, stage_value, stages_by_version

NAME = "app/dev/hmac/webhook"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


@pytest.fixture
def hmac_secret(create_secret: SecretFactory) -> str:
    return create_secret(NAME, {"key": "ab" * 32, "issuer": "billing-webhooks"})


@pytest.fixture
def pending_token(secretsmanager: Any, hmac_secret: str) -> str:
    """A version staged AWSPENDING with no value, as RotateSecret leaves it."""
    token = str(uuid.uuid4())
    stage_empty_pending_version(hmac_secret, token)
    return token


def test_rotation_replaces_key_with_64_lowercase_hex_and_keeps_other_fields(
    secretsmanager: Any, hmac_secret: str
) -> None:
    before = stage_value(secretsmanager, hmac_secret, "AWSCURRENT")

    report = RotationDriver(lambda_handler).rotate(hmac_secret)

    after = stage_value(secretsmanager, hmac_secret, "AWSCURRENT")
    assert report.succeeded
    assert after["key"] != before["key"]
    assert len(after["key"]) == 64
    assert set(after["key"]) <= set(string.hexdigits.lower())
    assert after["issuer"] == "billing-webhooks"
    assert stage_value(secretsmanager, hmac_secret, "AWSPREVIOUS") == before


def test_rotation_makes_at_most_eight_secrets_manager_calls(secretsmanager: Any, hmac_secret: str) -> None:
    report = RotationDriver(lambda_handler).rotate(hmac_secret)

    assert report.secretsmanager_calls == 8
    assert [step.secretsmanager_calls for step in report.steps] == [4, 1, 1, 2]


def test_previous_key_verifies_and_key_from_two_rotations_back_does_not(secretsmanager: Any, hmac_secret: str) -> None:
    driver = RotationDriver(lambda_handler)
    body = b'{"event":"invoice.paid"}'
    signed_two_back = HmacKeyring.from_secrets_manager(secretsmanager, hmac_secret).sign(body)
    driver.rotate(hmac_secret)
    signed_previous = HmacKeyring.from_secrets_manager(secretsmanager, hmac_secret).sign(body)
    driver.rotate(hmac_secret)

    keyring = HmacKeyring.from_secrets_manager(secretsmanager, hmac_secret)

    keyring.verify(body, keyring.sign(body))
    keyring.verify(body, signed_previous)
    with pytest.raises(InvalidSignatureError):
        keyring.verify(body, signed_two_back)


def test_awspending_label_is_removed_after_a_successful_rotation(secretsmanager: Any, hmac_secret: str) -> None:
    report = RotationDriver(lambda_handler).rotate(hmac_secret)

    assert stages_by_version(secretsmanager, hmac_secret)[report.token] == ["AWSCURRENT"]


def test_hmac_fields_regenerates_each_named_field_and_creates_missing_ones(
    secretsmanager: Any, hmac_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMAC_FIELDS", " key , isr_revalidate ")
    monkeypatch.setenv("HMAC_KEY_BYTES", "48")

    RotationDriver(lambda_handler).rotate(hmac_secret)

    after = stage_value(secretsmanager, hmac_secret, "AWSCURRENT")
    assert len(after["key"]) == 96
    assert len(after["isr_revalidate"]) == 96
    assert after["key"] != after["isr_revalidate"]
    assert after["issuer"] == "billing-webhooks"


@pytest.mark.parametrize("step", STEPS)
def test_every_step_is_idempotent_when_retried(
    secretsmanager: Any, hmac_secret: str, pending_token: str, step: str
) -> None:
    for earlier in STEPS[: STEPS.index(step)]:
        lambda_handler(_event(hmac_secret, pending_token, earlier), None)
    lambda_handler(_event(hmac_secret, pending_token, step), None)
    stages_once = stages_by_version(secretsmanager, hmac_secret)
    value_once = secretsmanager.get_secret_value(SecretId=hmac_secret, VersionId=pending_token)["SecretString"]

    lambda_handler(_event(hmac_secret, pending_token, step), None)

    assert stages_by_version(secretsmanager, hmac_secret) == stages_once
    assert secretsmanager.get_secret_value(SecretId=hmac_secret, VersionId=pending_token)["SecretString"] == value_once


@pytest.mark.parametrize("step", STEPS)
def test_step_for_a_version_already_current_does_nothing(secretsmanager: Any, hmac_secret: str, step: str) -> None:
    current_token = secretsmanager.get_secret_value(SecretId=hmac_secret)["VersionId"]
    before = stages_by_version(secretsmanager, hmac_secret)

    lambda_handler(_event(hmac_secret, current_token, step), None)

    assert stages_by_version(secretsmanager, hmac_secret) == before


@pytest.mark.parametrize("step", STEPS)
def test_unknown_token_is_rejected_and_nothing_changes(secretsmanager: Any, hmac_secret: str, step: str) -> None:
    before = stages_by_version(secretsmanager, hmac_secret)
    token = str(uuid.uuid4())

    with pytest.raises(VersionNotPendingError, match=f"version {token} is not staged AWSPENDING"):
        lambda_handler(_event(hmac_secret, token, step), None)

    assert stages_by_version(secretsmanager, hmac_secret) == before


@pytest.mark.parametrize("step", STEPS)
def test_token_of_a_previous_version_is_rejected_and_nothing_changes(
    secretsmanager: Any, hmac_secret: str, step: str
) -> None:
    old_token = secretsmanager.get_secret_value(SecretId=hmac_secret)["VersionId"]
    RotationDriver(lambda_handler).rotate(hmac_secret)
    before = stages_by_version(secretsmanager, hmac_secret)

    with pytest.raises(VersionNotPendingError, match=r"stages \['AWSPREVIOUS'\]"):
        lambda_handler(_event(hmac_secret, old_token, step), None)

    assert stages_by_version(secretsmanager, hmac_secret) == before


@pytest.mark.parametrize("step", ["setSecret", "testSecret"])
def test_steps_after_create_without_a_pending_value_name_the_missing_create(
    secretsmanager: Any, hmac_secret: str, pending_token: str, step: str
) -> None:
    with pytest.raises(PendingValueMissingError, match="expected createSecret to have run first"):
        lambda_handler(_event(hmac_secret, pending_token, step), None)


def test_unknown_step_is_named_in_the_error(secretsmanager: Any, hmac_secret: str, pending_token: str) -> None:
    with pytest.raises(UnknownStepError, match="unknown Step 'rollbackSecret'"):
        lambda_handler(_event(hmac_secret, pending_token, "rollbackSecret"), None)


def test_unknown_event_keys_are_ignored(secretsmanager: Any, hmac_secret: str, pending_token: str) -> None:
    event = {**_event(hmac_secret, pending_token, "createSecret"), "RotationToken": "opaque"}

    lambda_handler(event, None)

    assert "AWSPENDING" in stages_by_version(secretsmanager, hmac_secret)[pending_token]


@pytest.mark.parametrize(
    ("secret_string", "expected"),
    [
        ("not json {", r"value must be a JSON object, but is not valid JSON \(line 1 column 1\)"),
        ('["a", "list"]', "value must be a JSON object, got a JSON list"),
        ('"a string"', "value must be a JSON object, got a JSON str"),
    ],
)
def test_malformed_current_secret_fails_create_naming_it_and_writes_nothing(
    secretsmanager: Any, secret_string: str, expected: str
) -> None:
    arn = secretsmanager.create_secret(Name=NAME, SecretString=secret_string)["ARN"]
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    with pytest.raises(InvalidSecretError, match=rf"secret '{arn}' \(AWSCURRENT\): {expected}"):
        lambda_handler(_event(arn, token, "createSecret"), None)

    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=arn, VersionId=token)
    assert secretsmanager.get_secret_value(SecretId=arn)["SecretString"] == secret_string


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("16", "HMAC_KEY_BYTES must be >= 32 (256-bit keys), got 16"),
        ("thirty-two", "HMAC_KEY_BYTES must be an integer number of bytes >= 32, got 'thirty-two'"),
        ("32.5", "HMAC_KEY_BYTES must be an integer number of bytes >= 32, got '32.5'"),
    ],
)
@pytest.mark.parametrize("step", STEPS)
def test_bad_hmac_key_bytes_fails_every_step_naming_it_and_writes_nothing(
    secretsmanager: Any,
    hmac_secret: str,
    pending_token: str,
    monkeypatch: pytest.MonkeyPatch,
    raw: str,
    expected: str,
    step: str,
) -> None:
    monkeypatch.setenv("HMAC_KEY_BYTES", raw)
    before = stages_by_version(secretsmanager, hmac_secret)

    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        lambda_handler(_event(hmac_secret, pending_token, step), None)

    assert stages_by_version(secretsmanager, hmac_secret) == before
    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=hmac_secret, VersionId=pending_token)


def test_empty_hmac_fields_fails_naming_it(
    secretsmanager: Any, hmac_secret: str, pending_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMAC_FIELDS", " , ")

    with pytest.raises(ConfigurationError, match="HMAC_FIELDS must name at least one field"):
        lambda_handler(_event(hmac_secret, pending_token, "createSecret"), None)


def test_test_secret_rejects_a_pending_key_that_is_not_hex(
    secretsmanager: Any, hmac_secret: str, pending_token: str
) -> None:
    secretsmanager.put_secret_value(
        SecretId=hmac_secret,
        ClientRequestToken=pending_token,
        SecretString=json.dumps({"key": "Z" * 64}),
        VersionStages=["AWSPENDING"],
    )

    with pytest.raises(PendingSecretTestFailedError, match="field 'key' must be 64 lowercase hex characters"):
        lambda_handler(_event(hmac_secret, pending_token, "testSecret"), None)


def test_debug_logging_prints_no_secret_value(
    secretsmanager: Any, hmac_secret: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    import logging

    logging.getLogger().setLevel(logging.DEBUG)

    RotationDriver(lambda_handler).rotate(hmac_secret)

    output = capfd.readouterr().out
    assert '"message":"step succeeded"' in output  # logs were written ...
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        assert stage_value(secretsmanager, hmac_secret, stage)["key"] not in output  # ... without a value
