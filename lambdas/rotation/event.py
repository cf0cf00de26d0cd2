"""Parse and validate the event Secrets Manager sends to a rotation function."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidEventError, UnknownStepError


class Step(enum.StrEnum):
    """The four steps of a Secrets Manager rotation, in the order the service runs them."""

    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


_STEPS = {step.value: step for step in Step}
# Secrets Manager's own limits: a version id is at most 64 characters, a secret id (ARN) 2048.
_MAX_LENGTHS = {"SecretId": 2048, "ClientRequestToken": 64, "Step": 64}


@dataclass(frozen=True)
class RotationEvent:
    """The part of the event a rotation function uses; Secrets Manager adds other keys."""

    secret_id: str
    token: str
    step: Step


def parse_event(event: object) -> RotationEvent:
    """Validate the event: unknown keys are ignored, missing or wrong ones are named."""
    if not isinstance(event, Mapping):
        raise InvalidEventError(
            f"event must be a JSON object with SecretId, ClientRequestToken and Step, got {type(event).__name__}"
        )
    fields: dict[str, str] = {}
    for key in ("SecretId", "ClientRequestToken", "Step"):
        value = event.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidEventError(f"event field {key!r} must be a non-empty string")
        if len(value) > _MAX_LENGTHS[key]:
            raise InvalidEventError(
                f"event field {key!r} must be at most {_MAX_LENGTHS[key]} characters, got {len(value)}"
            )
        fields[key] = value
    step = _STEPS.get(fields["Step"])
    if step is None:
        raise UnknownStepError(fields["Step"])
    return RotationEvent(secret_id=fields["SecretId"], token=fields["ClientRequestToken"], step=step)
