"""One consistent view of a secret's stages: the values of AWSCURRENT (and, if asked,
AWSPREVIOUS and AWSPENDING) as they were labelled at one instant.

A snapshot is immutable and shared by every reader; values are returned as stored (no copy).
Parsed JSON is computed once per snapshot and handed out read-only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from .exceptions import SecretFormatError, SecretNotFoundError

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"
ALL_STAGES = (AWSCURRENT, AWSPREVIOUS, AWSPENDING)

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class SecretSnapshot:
    """What one refresh saw. ``labels`` maps each requested stage to its version id, as
    DescribeSecret showed it (a stage may label a version that has no value yet: an
    AWSPENDING during ``createSecret``); ``strings`` holds the values that exist."""

    secret_id: str
    arn: str
    labels: Mapping[str, str]
    strings: Mapping[str, str]
    fetched_at: float
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def has(self, stage: str) -> bool:
        return stage in self.strings

    def version_id(self, stage: str = AWSCURRENT) -> str | None:
        return self.labels.get(stage)

    def value(self, stage: str = AWSCURRENT) -> str:
        """The SecretString at ``stage``."""
        try:
            return self.strings[stage]
        except KeyError:
            raise SecretNotFoundError(f"secret {self.secret_id!r} has no value at stage {stage}") from None

    def json(self, stage: str = AWSCURRENT) -> Mapping[str, Any]:
        """The SecretString at ``stage`` as a JSON object (parsed once, read-only)."""
        return self.derive(f"json:{stage}", lambda: _parse_object(self.secret_id, stage, self.value(stage)))

    def field(self, name: str, stage: str = AWSCURRENT) -> str:
        """A non-empty string field of the JSON at ``stage``."""
        value = self.json(stage).get(name)
        if not isinstance(value, str) or not value:
            found = "is missing" if name not in self.json(stage) else f"is a {type(value).__name__}"
            raise SecretFormatError(
                f"secret {self.secret_id!r} at {stage}: field {name!r} must be a non-empty string, but {found}"
            )
        return value

    def derive(self, key: str, build: Callable[[], T]) -> T:
        """``build()`` once per snapshot (keyrings, parsed values); two racing readers may both
        build, and either result is right because a snapshot never changes."""
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            built = build()
            self._derived[key] = built
            return built


def _parse_object(secret_id: str, stage: str, text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SecretFormatError(
            f"secret {secret_id!r} at {stage} must be a JSON object, but is not valid JSON "
            f"(line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(value, dict):
        raise SecretFormatError(
            f"secret {secret_id!r} at {stage} must be a JSON object, got a JSON {type(value).__name__}"
        )
    return MappingProxyType(value)
