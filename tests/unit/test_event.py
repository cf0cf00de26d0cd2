"""Event parsing: what Secrets Manager sends is accepted, anything else is named."""

from __future__ import annotations

import pytest

from lambdas.rotation import InvalidEventError, Step, UnknownStepError, parse_event

VALID = {"SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:x", "ClientRequestToken": "t-1", "Step": "setSecret"}


def test_valid_event_is_parsed_and_extra_keys_are_ignored() -> None:
    event = parse_event({**VALID, "RotationToken": "opaque"})

    assert (event.secret_id, event.token, event.step) == (VALID["SecretId"], "t-1", Step.SET)


@pytest.mark.parametrize("missing", ["SecretId", "ClientRequestToken", "Step"])
def test_missing_key_is_named(missing: str) -> None:
    event = {key: value for key, value in VALID.items() if key != missing}

    with pytest.raises(InvalidEventError, match=f"event field '{missing}' must be a non-empty string"):
        parse_event(event)


def test_wrong_type_is_named() -> None:
    with pytest.raises(InvalidEventError, match="event field 'ClientRequestToken' must be a non-empty string"):
        parse_event({**VALID, "ClientRequestToken": 7})


def test_unknown_step_is_named_with_the_valid_ones() -> None:
    with pytest.raises(UnknownStepError, match="unknown Step 'deleteSecret': expected one of createSecret, setSecret"):
        parse_event({**VALID, "Step": "deleteSecret"})


def test_event_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(InvalidEventError, match="event must be a JSON object"):
        parse_event(["createSecret"])


@pytest.mark.parametrize(("key", "limit"), [("SecretId", 2048), ("ClientRequestToken", 64), ("Step", 64)])
def test_oversized_field_is_rejected_with_its_limit(key: str, limit: int) -> None:
    with pytest.raises(InvalidEventError, match=f"event field '{key}' must be at most {limit} characters"):
        parse_event({**VALID, key: "x" * (10 * 1024 * 1024)})
