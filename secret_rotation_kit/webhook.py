"""The webhook pattern of Django and Next.js apps: ``X-Signature: hex(HMAC-SHA256(body))``.

The sender signs the raw request body with AWSCURRENT; the receiver accepts AWSCURRENT,
AWSPREVIOUS and AWSPENDING, so a rotation never rejects a request signed a moment before.
GitHub-style ``sha256=<hex>`` values are accepted too, the scheme in any case (``SHA256=``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .exceptions import SignatureMissingError

SIGNATURE_HEADER = "X-Signature"
SCHEME = "sha256="


class Keyring(Protocol):
    def sign(self, body: bytes, *, with_key_id: bool = False) -> str: ...

    def verify(self, body: bytes, signature: str) -> None: ...


def signature_headers(keyring: Keyring, body: bytes, *, with_key_id: bool = False) -> dict[str, str]:
    """The header to send with ``body``."""
    return {SIGNATURE_HEADER: keyring.sign(body, with_key_id=with_key_id)}


def verify_webhook(
    keyring: Keyring, body: bytes, headers: Mapping[str, str], *, header: str = SIGNATURE_HEADER
) -> None:
    """Raise unless ``headers`` carry a signature of ``body`` by an accepted key.

    Header names are matched case-insensitively (WSGI/ASGI frameworks differ); ``body`` must
    be the raw bytes received, before any JSON parsing.
    """
    wanted = header.lower()
    value = next((text for name, text in headers.items() if name.lower() == wanted), None)
    if value is None or not value.strip():
        raise SignatureMissingError(f"request has no {header} header")
    value = value.strip()
    if value[: len(SCHEME)].lower() == SCHEME:
        value = value[len(SCHEME) :]
    keyring.verify(body, value)
