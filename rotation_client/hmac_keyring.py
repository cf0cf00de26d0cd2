"""Sign with AWSCURRENT; verify against AWSCURRENT, AWSPREVIOUS and AWSPENDING in constant time.

This is the dual-secret window that webhook and ISR signing secrets need during rotation:
a sender still holding the previous key keeps being accepted until the next rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .exceptions import InvalidSignatureError, SignatureFormatError

ACCEPTED_STAGES = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING")
_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True)
class HmacKeyring:
    """Keys by stage; ``keys[0]`` (AWSCURRENT) signs, every key verifies."""

    keys: Sequence[bytes]

    @classmethod
    def from_hex(cls, keys: Sequence[str]) -> HmacKeyring:
        return cls(keys=tuple(bytes.fromhex(key) for key in keys))

    @classmethod
    def from_secrets_manager(cls, client: Any, secret_id: str, field: str = "key") -> HmacKeyring:
        """Read ``field`` from every accepted stage that exists (AWSCURRENT first)."""
        keys: list[str] = []
        for stage in ACCEPTED_STAGES:
            try:
                text = client.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException" and stage != "AWSCURRENT":
                    continue
                raise
            value: Mapping[str, Any] = json.loads(text)
            if isinstance(value.get(field), str) and value[field] not in keys:
                keys.append(value[field])
        return cls.from_hex(keys)

    def sign(self, body: bytes) -> str:
        """Hex HMAC-SHA256 of ``body`` with AWSCURRENT (the ``X-Signature`` header value)."""
        return hmac.new(self.keys[0], body, hashlib.sha256).hexdigest()

    def verify(self, body: bytes, signature: str) -> None:
        """Accept a signature made with any accepted key; raise otherwise."""
        if len(signature) != 2 * hashlib.sha256().digest_size or not set(signature) <= _HEX:
            raise SignatureFormatError("signature must be 64 hex characters (HMAC-SHA256)")
        given = bytes.fromhex(signature)
        matched = False
        for key in self.keys:  # every key is tried, so timing does not reveal which one matched
            matched |= hmac.compare_digest(hmac.digest(key, body, "sha256"), given)
        if not matched:
            raise InvalidSignatureError("signature does not match any accepted key")
