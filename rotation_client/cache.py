"""An in-memory cache of Secrets Manager secrets that stays right through rotations.

- The read path takes no lock and copies nothing: a dict lookup, a clock read and a
  comparison against an immutable state object that refreshes replace whole.
- Refresh is single-flight: however many threads find an entry stale, one of them calls
  Secrets Manager while the others wait for its result on the entry's lock.
- A rotation is noticed early: every ``version_check_interval`` a DescribeSecret (no value
  is decrypted or transferred) compares the stage labels with the cached ones, and only a
  change triggers a full read. Without a change the full read happens every ``ttl``.
- When a refresh fails, the last good value keeps being served for at most ``max_stale``
  seconds past its expiry, retried every ``retry_interval``; the failure is logged (the
  error names the secret and the API, never a value). After that, reads raise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .exceptions import RotationClientError, SecretNotFoundError
from .snapshot import ALL_STAGES, AWSCURRENT, SecretSnapshot
from .upstream import fetch_snapshot, stage_labels

log = logging.getLogger("rotation_client")

Clock = Callable[[], float]


@dataclass(frozen=True)
class _State:
    """Replaced whole on every refresh, so a reader sees a snapshot and its deadline together."""

    snapshot: SecretSnapshot
    fresh_until: float  # before this instant, readers use the snapshot without asking anyone
    verified_at: float  # last time Secrets Manager confirmed the snapshot's labels
    expires_at: float  # a full read is due (ttl)


class _Entry:
    __slots__ = ("lock", "stages", "state")

    def __init__(self, stages: tuple[str, ...]) -> None:
        self.lock = threading.Lock()
        self.stages = stages
        self.state: _State | None = None


@dataclass
class CacheStats:
    """What the cache asked Secrets Manager, for tests, benchmarks and metrics."""

    upstream_calls: int = 0  # every API call: full reads count each of their calls
    full_reads: int = 0
    version_checks: int = 0
    forced_refreshes: int = 0
    stale_serves: int = 0  # refreshes that failed while a last good value was served


class SecretCache:
    """Serve secrets from memory; see the module docstring for when it asks Secrets Manager.

    ``client`` is a boto3 Secrets Manager client (default-built, so ``AWS_ENDPOINT_URL``
    points it at a local emulation) or anything with ``get_secret_value`` and ``describe_secret``.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        ttl: float = 900.0,
        version_check_interval: float = 30.0,
        max_stale: float = 900.0,
        retry_interval: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        for name, value in (
            ("ttl", ttl),
            ("version_check_interval", version_check_interval),
            ("max_stale", max_stale),
            ("retry_interval", retry_interval),
        ):
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {type(value).__name__} {value!r}")
        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        self._client = _CountedClient(client, self)
        self._ttl = float(ttl)
        self._check = float(min(version_check_interval, ttl))
        self._max_stale = float(max_stale)
        self._retry = float(retry_interval)
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._stats_lock = threading.Lock()
        self.stats = CacheStats()

    # --- read path (no lock) -----------------------------------------------------------------
    def get(self, secret_id: str, stage: str = AWSCURRENT) -> str:
        """The SecretString at ``stage`` (AWSCURRENT by default)."""
        entry = self._entries.get(secret_id)
        if entry is not None:
            state = entry.state
            if state is not None and self._clock() < state.fresh_until:
                strings = state.snapshot.strings
                if stage in strings:
                    return strings[stage]
        if stage != AWSCURRENT and (entry is None or stage not in entry.stages):
            self.watch(secret_id, (AWSCURRENT, stage))
        return self.snapshot(secret_id).value(stage)

    def snapshot(self, secret_id: str) -> SecretSnapshot:
        """Every watched stage of ``secret_id`` as one consistent, immutable snapshot."""
        entry = self._entries.get(secret_id)
        if entry is not None:
            state = entry.state
            if state is not None and self._clock() < state.fresh_until:
                return state.snapshot
        return self._slow_path(secret_id)

    # --- configuration ------------------------------------------------------------------------
    def watch(self, secret_id: str, stages: Sequence[str] = ALL_STAGES) -> None:
        """Also keep ``stages`` (default: AWSCURRENT, AWSPREVIOUS and AWSPENDING) of ``secret_id``.

        Without ``watch`` a secret is read at AWSCURRENT only (one API call per refresh).
        """
        unknown = sorted(set(stages) - set(ALL_STAGES))
        if unknown:
            raise ValueError(f"stages must be among {', '.join(ALL_STAGES)}, got {', '.join(unknown)}")
        entry = self._entry(secret_id)
        with entry.lock:
            wanted = tuple(stage for stage in ALL_STAGES if stage in (*entry.stages, *stages))
            if wanted != entry.stages:
                entry.stages = wanted
                entry.state = None  # the next read fetches every stage

    def invalidate(self, secret_id: str) -> None:
        """Forget ``secret_id``: the next read goes to Secrets Manager."""
        entry = self._entries.get(secret_id)
        if entry is not None:
            with entry.lock:
                entry.state = None

    def refresh(self, secret_id: str, *, seen: SecretSnapshot | None = None) -> SecretSnapshot:
        """Read ``secret_id`` again now, e.g. because a target rejected its credentials.

        With ``seen`` (the snapshot whose credentials were rejected), threads that saw the
        same snapshot share one refresh: if another thread already replaced it, its result is
        returned without calling Secrets Manager. That makes one refresh per rotation per
        process, however many connections meet the rejection at once.
        """
        entry = self._entry(secret_id)
        with entry.lock:
            state = entry.state
            if seen is not None and state is not None and state.snapshot is not seen:
                return state.snapshot
            self._count(forced_refreshes=1)
            return self._full_read(secret_id, entry, state, self._clock(), forced=True)

    # --- slow path (per-entry lock: single flight) -------------------------------------------------
    def _entry(self, secret_id: str) -> _Entry:
        if not isinstance(secret_id, str) or not secret_id:
            raise SecretNotFoundError(f"secret id must be a non-empty string, got {type(secret_id).__name__}")
        entry = self._entries.get(secret_id)
        if entry is None:
            entry = self._entries.setdefault(secret_id, _Entry((AWSCURRENT,)))  # atomic: one entry wins
        return entry

    def _slow_path(self, secret_id: str) -> SecretSnapshot:
        entry = self._entry(secret_id)
        with entry.lock:
            state = entry.state
            now = self._clock()
            if state is not None and now < state.fresh_until:
                return state.snapshot  # another thread refreshed while this one waited
            if state is None or now >= state.expires_at:
                return self._full_read(secret_id, entry, state, now)
            return self._version_check(secret_id, entry, state, now)

    def _version_check(self, secret_id: str, entry: _Entry, state: _State, now: float) -> SecretSnapshot:
        self._count(version_checks=1)
        try:
            _, labels = stage_labels(self._client, secret_id, entry.stages)
        except RotationClientError as exc:
            return self._serve_stale(secret_id, entry, state, now, exc)
        if labels != dict(state.snapshot.labels):
            log.info("secret %r: stage labels changed (a rotation); reading it again", secret_id)
            return self._full_read(secret_id, entry, state, now)
        entry.state = _State(state.snapshot, min(now + self._check, state.expires_at), now, state.expires_at)
        return state.snapshot

    def _full_read(
        self, secret_id: str, entry: _Entry, state: _State | None, now: float, *, forced: bool = False
    ) -> SecretSnapshot:
        self._count(full_reads=1)
        try:
            snapshot = fetch_snapshot(self._client, secret_id, entry.stages, now)
        except RotationClientError as exc:
            if state is None or forced:
                raise
            return self._serve_stale(secret_id, entry, state, now, exc)
        entry.state = _State(snapshot, now + self._check, now, now + self._ttl)
        return snapshot

    def _serve_stale(
        self, secret_id: str, entry: _Entry, state: _State, now: float, exc: RotationClientError
    ) -> SecretSnapshot:
        deadline = state.verified_at + self._ttl + self._max_stale
        if now >= deadline:
            entry.state = None
            raise exc
        self._count(stale_serves=1)
        log.warning(
            "secret %r: refresh failed, serving the last good value (confirmed %.0f s ago, at most %.0f s more): %s",
            secret_id,
            now - state.verified_at,
            deadline - now,
            exc,
        )
        entry.state = _State(state.snapshot, min(now + self._retry, deadline), state.verified_at, state.expires_at)
        return state.snapshot

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, amount in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + amount)


class _CountedClient:
    """The Secrets Manager client, counting every API call the cache makes."""

    def __init__(self, client: Any, cache: SecretCache) -> None:
        self._client = client
        self._cache = cache

    def get_secret_value(self, **kwargs: Any) -> Any:
        self._cache._count(upstream_calls=1)
        return self._client.get_secret_value(**kwargs)

    def describe_secret(self, **kwargs: Any) -> Any:
        self._cache._count(upstream_calls=1)
        return self._client.describe_secret(**kwargs)
