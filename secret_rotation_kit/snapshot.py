"""One consistent view of a secret's stages: the values of AWSCURRENT (and, if asked,
AWSPREVIOUS and AWSPENDING) as they were labelled at one instant.

A snapshot is immutable and shared by every reader; values are returned as stored (no copy).
Parsed JSON is computed once per snapshot and handed out read-only. Neither shows a value in
``repr``/``str``: a ``%r`` log line, a pytest assertion, Sentry's locals or Django's debug page
print version ids and field names only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .exceptions import SecretFormatError, SecretNotFoundError

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"
ALL_STAGES = (AWSCURRENT, AWSPREVIOUS, AWSPENDING)

T = TypeVar("T")


class SecretFields(Mapping[str, Any]):
    """A secret's JSON object, read-only; ``repr`` names the fields, never their values."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"SecretFields({sorted(self._fields)}, values hidden)"

    __str__ = __repr__


class RedactedDict(dict[str, Any]):
    """A plain dict (keyword arguments for a driver) whose ``repr`` hides credential values."""

    HIDDEN = frozenset({"password", "auth_token", "key", "secret", "token"})

    def __repr__(self) -> str:
        shown = {name: ("***" if name in self.HIDDEN else value) for name, value in self.items()}
        return f"{type(self).__name__}({shown!r})"

    __str__ = __repr__


@dataclass(frozen=True, eq=False, repr=False)
class SecretSnapshot:
    """What one refresh saw. ``labels`` maps each requested stage to its version id, as
    DescribeSecret showed it (a stage may label a version that has no value yet: an
    AWSPENDING during ``createSecret``); ``strings`` holds the values that exist."""

    secret_id: str
    arn: str
    labels: Mapping[str, str]
    strings: Mapping[str, str]
    fetched_at: float
    region: str | None = None  # the Region that answered, when the cache reads several
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        region = f", region={self.region}" if self.region else ""
        return f"SecretSnapshot({self.secret_id!r}, versions={dict(self.labels)}{region}, values hidden)"

    __str__ = __repr__

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
    return SecretFields(value)
