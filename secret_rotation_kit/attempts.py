"""Which credentials to try, in which order, when a target may have seen a rotation first.

1. AWSCURRENT from the cache (no Secrets Manager call: the common case).
2. If the target rejects it, one refresh of the cache (shared by every thread that saw the
   same snapshot, so one refresh per rotation per process), then the refreshed AWSCURRENT.
3. Then AWSPREVIOUS, which stays valid for a whole rotation (alternating users, two ACL
   passwords, ROTATE tokens), then AWSPENDING: during a single-user PostgreSQL rotation,
   between setSecret and finishSecret only the pending password works.
4. If all of those were rejected and the rotation moved on while they were tried (the
   refresh saw AWSPENDING still empty, then setSecret changed the password), one more
   refresh and the stages it shows that were not tried yet. Bounded: at most two refreshes
   per connection attempt, and only when every credential was rejected.

A version already tried is not tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from .exceptions import CredentialsRejectedError, RotationClientError
from .snapshot import ALL_STAGES, AWSCURRENT, SecretSnapshot

log = logging.getLogger("secret_rotation_kit")

T = TypeVar("T")


def credential_attempts(
    cache: Any, secret_id: str, extract: Callable[[SecretSnapshot, str], T]
) -> Iterator[tuple[str, T]]:
    """Yield ``(stage, credentials)``; ask for the next one only after a rejection."""
    snapshot: SecretSnapshot = cache.snapshot(secret_id)
    yield AWSCURRENT, extract(snapshot, AWSCURRENT)
    tried = {snapshot.version_id(AWSCURRENT)}
    refreshed = _refreshed(cache, secret_id, snapshot)
    yield from fallbacks(secret_id, refreshed, extract, tried)
    again = _moved_on(cache, secret_id, refreshed)
    if again is not None:
        yield from fallbacks(secret_id, again, extract, tried)


async def async_credential_attempts(
    cache: Any, secret_id: str, extract: Callable[[SecretSnapshot, str], T]
) -> AsyncIterator[tuple[str, T]]:
    """``credential_attempts`` for asyncio: the refresh runs in a worker thread."""
    snapshot: SecretSnapshot = await cache.asnapshot(secret_id)
    yield AWSCURRENT, extract(snapshot, AWSCURRENT)
    tried = {snapshot.version_id(AWSCURRENT)}
    refreshed = await asyncio.to_thread(_refreshed, cache, secret_id, snapshot)
    for attempt in fallbacks(secret_id, refreshed, extract, tried):
        yield attempt
    again = await asyncio.to_thread(_moved_on, cache, secret_id, refreshed)
    if again is not None:
        for attempt in fallbacks(secret_id, again, extract, tried):
            yield attempt


def _refreshed(cache: Any, secret_id: str, snapshot: SecretSnapshot) -> SecretSnapshot:
    try:
        refreshed: SecretSnapshot = cache.refresh(secret_id, seen=snapshot)
    except RotationClientError as exc:
        log.warning("secret %r: credentials rejected and refresh failed (%s); trying the other stages", secret_id, exc)
        return snapshot
    return refreshed


def _moved_on(cache: Any, secret_id: str, used: SecretSnapshot) -> SecretSnapshot | None:
    """A snapshot read after every credential of ``used`` was rejected, if the rotation moved
    on since ``used`` was read (other labels, or a stage that has a value now); else None."""
    again = _refreshed(cache, secret_id, used)
    changed = dict(again.labels) != dict(used.labels) or any(
        again.has(stage) and not used.has(stage) for stage in again.labels
    )
    return again if changed else None


def fallbacks(
    secret_id: str, refreshed: SecretSnapshot, extract: Callable[[SecretSnapshot, str], T], tried: set[str | None]
) -> Iterator[tuple[str, T]]:
    """After a rejection: every stage of ``refreshed`` whose version is not in ``tried`` (which
    this updates), AWSCURRENT first, then AWSPREVIOUS, then AWSPENDING."""
    for stage in ALL_STAGES:
        version = refreshed.version_id(stage)
        if version in tried or not refreshed.has(stage):
            continue
        tried.add(version)
        try:
            credentials = extract(refreshed, stage)
        except RotationClientError as exc:
            if stage == AWSCURRENT:
                raise
            log.warning("secret %r: skipping %s: %s", secret_id, stage, exc)
            continue
        yield stage, credentials


def all_rejected(target: str, secret_id: str) -> CredentialsRejectedError:
    """The error once ``credential_attempts`` is exhausted; ``target`` names the server."""
    return CredentialsRejectedError(
        f"{target} rejected every staged credential of secret {secret_id!r} "
        "(AWSCURRENT after a refresh, AWSPREVIOUS, AWSPENDING)"
    )
