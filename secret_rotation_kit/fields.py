"""Typed fields of a secret's JSON for the database and cache clients; errors name the
secret, stage and field and the type found, never a value."""

from __future__ import annotations

import os

from .exceptions import SecretFormatError
from .snapshot import SecretSnapshot


def _invalid(snapshot: SecretSnapshot, stage: str, field: str, expected: str) -> SecretFormatError:
    found = snapshot.json(stage).get(field)
    got = "it is missing" if field not in snapshot.json(stage) else f"got {type(found).__name__}"
    return SecretFormatError(f"secret {snapshot.secret_id!r} at {stage}: field {field!r} {expected}, {got}")


def port(snapshot: SecretSnapshot, stage: str, field: str = "port", default: int | None = None) -> int:
    """A TCP port, as an integer or a numeric string."""
    value = snapshot.json(stage).get(field, default)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _invalid(snapshot, stage, field, "must be a port number between 1 and 65535")
    return value


def tls(snapshot: SecretSnapshot, stage: str, field: str = "ssl") -> bool:
    """TLS unless ``false`` is written: there is never a silent fallback to plaintext."""
    value = snapshot.json(stage).get(field, True)
    if not isinstance(value, bool):
        raise _invalid(snapshot, stage, field, "must be true or false")
    return value


def ca_bundle(snapshot: SecretSnapshot, stage: str) -> str | None:
    """``ssl_ca`` (a path) if present, else ``CA_BUNDLE_PATH``, else None (the system store)."""
    value = snapshot.json(stage).get("ssl_ca")
    if value is not None and not isinstance(value, str):
        raise _invalid(snapshot, stage, "ssl_ca", "must be a path string")
    return value or os.environ.get("CA_BUNDLE_PATH") or None
