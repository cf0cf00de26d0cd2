"""Sign with AWSCURRENT; verify against AWSCURRENT, AWSPREVIOUS and AWSPENDING in constant time.

This is the dual-secret window that webhook and ISR signing secrets need during rotation:
a sender still holding the previous key keeps being accepted until the next rotation.

A signature is 64 hex characters (HMAC-SHA256), or ``<key id>:<64 hex>`` when the sender
names its key: the key id (8 hex characters, an HMAC of a constant under the key, so it
reveals nothing about the key) lets the verifier compare against that one key instead of
every accepted key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import string
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import forksafe
from .exceptions import InvalidSignatureError, RotationClientError, SecretFormatError, SignatureFormatError
from .snapshot import ALL_STAGES, AWSCURRENT, SecretSnapshot
from .upstream import fetch_snapshot

log = logging.getLogger("secret_rotation_kit")
ACCEPTED_STAGES = ALL_STAGES
DIGEST_HEX = 2 * hashlib.sha256().digest_size
KEY_ID_HEX = 8
_HEX = frozenset(string.hexdigits)
_KEY_ID_LABEL = b"secret-rotation-kit key id v1"


def key_id(key: bytes) -> str:
    """The public name of ``key``: the first 8 hex characters of HMAC(key, a fixed label)."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:KEY_ID_HEX]


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and set(text) <= _HEX


@dataclass(frozen=True, repr=False)
class HmacKeyring:
    """Keys by stage; ``keys[0]`` (AWSCURRENT) signs, every key verifies. ``repr`` shows key ids only."""

    keys: Sequence[bytes]
    _by_id: Mapping[str, bytes] = field(init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"HmacKeyring(key_ids={self.key_ids})"

    __str__ = __repr__

    def __post_init__(self) -> None:
        if not self.keys:
            raise SecretFormatError("an HMAC keyring needs at least one key (AWSCURRENT)")
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "_by_id", {key_id(key): key for key in reversed(self.keys)})

    @classmethod
    def from_hex(cls, keys: Sequence[str]) -> HmacKeyring:
        decoded = []
        for index, key in enumerate(keys):
            try:
                decoded.append(bytes.fromhex(key))
            except (ValueError, TypeError):
                raise SecretFormatError(f"key {index} must be a hex string, got {type(key).__name__}") from None
        return cls(keys=tuple(decoded))

    @classmethod
    def from_snapshot(cls, snapshot: SecretSnapshot, field: str = "key") -> HmacKeyring:
        """``field`` of every stage in the snapshot, AWSCURRENT first.

        AWSCURRENT must be usable (it signs). Another stage that is malformed (not JSON, the
        field missing or not hex) is skipped with a warning: one bad AWSPENDING must not take
        down signing and the verification of valid AWSCURRENT signatures.
        """
        keys: list[bytes] = []
        for stage in ACCEPTED_STAGES:
            if not snapshot.has(stage):
                continue
            try:
                key = _key_of(snapshot, field, stage)
            except SecretFormatError as exc:
                if stage == AWSCURRENT:
                    raise
                log.warning("secret %r: %s is not accepted for verification: %s", snapshot.secret_id, stage, exc)
                continue
            if key not in keys:
                keys.append(key)
        return cls(keys=tuple(keys))

    @classmethod
    def from_secrets_manager(cls, client: Any, secret_id: str, field: str = "key") -> HmacKeyring:
        """Read ``field`` from every accepted stage that exists, as one consistent snapshot."""
        return cls.from_snapshot(fetch_snapshot(client, secret_id, ACCEPTED_STAGES, time.monotonic()), field)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id(key) for key in self.keys)

    def sign(self, body: bytes, *, with_key_id: bool = False) -> str:
        """Hex HMAC-SHA256 of ``body`` with AWSCURRENT (the ``X-Signature`` header value),
        prefixed by ``<key id>:`` if asked."""
        digest = hmac.new(self.keys[0], body, hashlib.sha256).hexdigest()
        return f"{key_id(self.keys[0])}:{digest}" if with_key_id else digest

    def knows(self, signature: str) -> bool:
        """Whether a key-id signature names one of these keys (False without a key id)."""
        kid, _, digest = signature.partition(":")
        return bool(digest) and kid in self._by_id

    def verify(self, body: bytes, signature: str) -> None:
        """Accept a signature made with any accepted key; raise otherwise."""
        if not isinstance(signature, str):
            raise SignatureFormatError(f"signature must be a string, got {type(signature).__name__}")
        kid, separator, digest = signature.rpartition(":")
        if not _is_hex(digest, DIGEST_HEX) or (separator and not _is_hex(kid, KEY_ID_HEX)):
            raise SignatureFormatError(
                f"signature must be {DIGEST_HEX} hex characters (HMAC-SHA256), "
                f"optionally prefixed by a {KEY_ID_HEX}-hex-character key id and ':'"
            )
        given = bytes.fromhex(digest)
        if separator:
            key = self._by_id.get(kid.lower())
            if key is None or not hmac.compare_digest(hmac.digest(key, body, "sha256"), given):
                raise InvalidSignatureError("signature does not match the key it names (or that key is not accepted)")
            return
        matched = False
        for key in self.keys:  # every key is tried, so timing does not reveal which one matched
            matched |= hmac.compare_digest(hmac.digest(key, body, "sha256"), given)
        if not matched:
            raise InvalidSignatureError("signature does not match any accepted key")


def _key_of(snapshot: SecretSnapshot, field: str, stage: str) -> bytes:
    text = snapshot.field(field, stage)
    if not _is_hex(text, len(text)) or len(text) % 2:
        raise SecretFormatError(
            f"secret {snapshot.secret_id!r} at {stage}: field {field!r} must be an even number of hex characters"
        )
    return bytes.fromhex(text)


class RotatingHmacKeyring:
    """An ``HmacKeyring`` that follows the secret through a ``SecretCache``: each call uses the
    cache's current snapshot (lock-free), and the keyring is built once per snapshot.

    A signature naming a key id this process has not seen may come from a sender that read
    the secret after a rotation this cache has not noticed yet: that triggers one refresh
    (shared by every thread, at most once per ``refresh_interval`` seconds, so forged key ids
    cannot turn into a stream of Secrets Manager calls) and one more try. If that refresh fails
    (Secrets Manager down), the signature is rejected like any unknown one: a forged key id
    never turns an outage into errors.
    """

    def __init__(self, cache: Any, secret_id: str, field: str = "key", *, refresh_interval: float = 5.0) -> None:
        self._cache = cache
        self._secret_id = secret_id
        self._field = field
        self._refresh_interval = refresh_interval
        self._last_refresh = float("-inf")
        self._lock = threading.Lock()
        cache.watch(secret_id)
        forksafe.register(self)

    def __repr__(self) -> str:
        return f"RotatingHmacKeyring({self._secret_id!r}, field={self._field!r})"

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def keyring(self) -> HmacKeyring:
        return self._keyring_of(self._cache.snapshot(self._secret_id))

    def _keyring_of(self, snapshot: SecretSnapshot) -> HmacKeyring:
        return snapshot.derive(f"hmac:{self._field}", lambda: HmacKeyring.from_snapshot(snapshot, self._field))

    def sign(self, body: bytes, *, with_key_id: bool = False) -> str:
        return self.keyring().sign(body, with_key_id=with_key_id)

    def verify(self, body: bytes, signature: str) -> None:
        # ``seen`` is the snapshot whose keys rejected the signature: read again after the
        # rejection, it may already be another thread's refresh, and refreshing "past" that
        # one would cost a second call for the same new key.
        seen: SecretSnapshot = self._cache.snapshot(self._secret_id)
        keyring = self._keyring_of(seen)
        try:
            keyring.verify(body, signature)
        except InvalidSignatureError:
            if not (":" in signature and not keyring.knows(signature) and self._may_refresh()):
                raise
            try:
                self._cache.refresh(self._secret_id, seen=seen)
            except RotationClientError as exc:
                log.warning("secret %r: unknown key id, and the refresh failed (%s): rejected", self._secret_id, exc)
                raise InvalidSignatureError("signature names a key id that is not accepted") from None
            self.keyring().verify(body, signature)

    def _may_refresh(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._last_refresh < self._refresh_interval:
                return False
            self._last_refresh = now
            return True
