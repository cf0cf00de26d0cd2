"""HMAC signing keys: nothing changes server-side; verifiers accept CURRENT, PREVIOUS and PENDING.

Configuration (environment):
- ``HMAC_FIELDS``: comma-separated field names to regenerate (default ``key``); a named
  field that is missing is created, every other field is carried over unchanged.
- ``HMAC_KEY_BYTES``: random bytes per key (default and minimum 32), stored as lowercase hex,
  which is what ``openssl rand -hex 32`` prints.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.rotation import (
    ConfigurationError,
    PendingSecretTestFailedError,
    RotationStrategy,
    SecretDict,
    SecretFields,
    StepContext,
)

MIN_KEY_BYTES = 32
DEFAULT_FIELDS = ("key",)
_PROBE = b"secret-rotation testSecret probe"
_HEX = frozenset(string.hexdigits.lower())


def _parse_key_bytes(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return MIN_KEY_BYTES
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(
            f"HMAC_KEY_BYTES must be an integer number of bytes >= {MIN_KEY_BYTES}, got {raw!r}"
        ) from None
    if value < MIN_KEY_BYTES:
        raise ConfigurationError(f"HMAC_KEY_BYTES must be >= {MIN_KEY_BYTES} (256-bit keys), got {value}")
    return value


def _parse_fields(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_FIELDS
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if not names:
        raise ConfigurationError("HMAC_FIELDS must name at least one field (comma-separated), got none")
    return names


@dataclass(frozen=True)
class HmacKeyStrategy(RotationStrategy):
    """Regenerate the configured fields with fresh random keys."""

    kind = "hmac_key"
    fields: tuple[str, ...] = DEFAULT_FIELDS
    key_bytes: int = MIN_KEY_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HmacKeyStrategy:
        """Read ``HMAC_FIELDS`` and ``HMAC_KEY_BYTES``; bad values fail with an error naming them."""
        source = os.environ if env is None else env
        return cls(
            fields=_parse_fields(source.get("HMAC_FIELDS")), key_bytes=_parse_key_bytes(source.get("HMAC_KEY_BYTES"))
        )

    def create_value(self, current: SecretFields, context: StepContext) -> SecretDict:
        new_value = dict(current.values)
        for field in self.fields:
            new_value[field] = secrets.token_hex(self.key_bytes)
        return new_value

    def test_secret(self, context: StepContext) -> None:
        pending = context.pending()
        for field in self.fields:
            key = pending.values.get(field)
            if not isinstance(key, str) or len(key) != 2 * self.key_bytes or not set(key) <= _HEX:
                raise PendingSecretTestFailedError(
                    f"secret {context.secret_id!r} (AWSPENDING): field {field!r} must be "
                    f"{2 * self.key_bytes} lowercase hex characters ({self.key_bytes} bytes)"
                )
            signature = hmac.new(bytes.fromhex(key), _PROBE, hashlib.sha256).hexdigest()
            expected = hmac.new(bytes.fromhex(key), _PROBE, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, expected):
                raise PendingSecretTestFailedError(
                    f"secret {context.secret_id!r} (AWSPENDING): a signature made with field {field!r} does not verify"
                )
