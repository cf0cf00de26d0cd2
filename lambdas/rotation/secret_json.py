"""Read typed fields out of a secret's JSON, naming the field and the expectation on error.

Errors name the secret, the stage and the field, and describe the type found, never the
value: a malformed password must not end up in a log through its error message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidSecretError

SecretDict = dict[str, Any]


def parse_secret_string(text: str | None, *, secret_id: str, stage: str) -> SecretDict:
    """Decode a SecretString that must hold a JSON object."""
    if text is None:
        raise InvalidSecretError(secret_id, stage, None, "must be a SecretString holding a JSON object, got none")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSecretError(
            secret_id,
            stage,
            None,
            f"must be a JSON object, but is not valid JSON (line {exc.lineno} column {exc.colno})",
        ) from None
    if not isinstance(value, dict):
        raise InvalidSecretError(secret_id, stage, None, f"must be a JSON object, got a JSON {type(value).__name__}")
    return value


@dataclass(frozen=True)
class SecretFields:
    """Typed access to one secret version's fields, for strategies to validate before acting."""

    values: Mapping[str, Any]
    secret_id: str
    stage: str

    def _invalid(self, field: str, expected: str) -> InvalidSecretError:
        return InvalidSecretError(self.secret_id, self.stage, field, expected)

    def _found(self, field: str) -> str:
        return "is missing" if field not in self.values else f"got {type(self.values[field]).__name__}"

    def require_str(self, field: str) -> str:
        """A non-empty string field."""
        value = self.values.get(field)
        if not isinstance(value, str) or not value:
            raise self._invalid(field, f"must be a non-empty string, {self._found(field)}")
        return value

    def optional_str(self, field: str) -> str | None:
        """A string field that may be absent (or null)."""
        if self.values.get(field) is None:
            return None
        return self.require_str(field)

    def require_port(self, field: str = "port") -> int:
        """A TCP port, as an integer or a numeric string (hand-written secrets often quote it)."""
        value = self.values.get(field)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._invalid(field, f"must be a port number (integer or numeric string), {self._found(field)}")
        if not 1 <= value <= 65535:
            raise self._invalid(field, "must be a port number between 1 and 65535")
        return value

    def optional_port(self, field: str = "port") -> int | None:
        """A port that may be absent."""
        return None if self.values.get(field) is None else self.require_port(field)

    def require_tls(self, field: str = "ssl") -> bool:
        """TLS unless ``false`` is written explicitly: there is never a silent plaintext fallback."""
        value = self.values.get(field, True)
        if value is None:
            return True
        if not isinstance(value, bool):
            raise self._invalid(field, f"must be true or false, {self._found(field)}")
        return value
