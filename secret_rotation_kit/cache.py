"""An in-memory cache of Secrets Manager secrets that stays right through rotations, outages and forks.

- The read path takes no lock and copies nothing: a dict lookup, a clock read and a
  comparison against an immutable state object that refreshes replace whole.
- Refresh ahead: a reader that finds its value due for a check but still servable gets it at
  once; one background thread asks Secrets Manager. No reader waits behind a slow or hung
  call while a good value is in hand.
- Single flight, for results and failures alike: readers with nothing servable (a cold
  cache, a value past its stale window) wait for the one call in flight and all get its
  result, or all get its error.
- A rotation is noticed early: every ``version_check_interval`` a DescribeSecret (no value is
  decrypted or transferred) compares the stage labels with the cached ones; a change, or a
  watched label on a version that had no value yet (createSecret writes into the AWSPENDING
  version the service staged empty), triggers a full read. A full read happens every ``ttl``.
- Failures back off: after a failed call the next one waits ``retry_interval``, doubling per
  consecutive failure up to ``MAX_BACKOFF_S``; in between, readers get the last good value (if
  still servable) or the remembered error, without a call.
- Staleness is bounded exactly: a value is served at most ``max_stale`` seconds past its
  expiry (``ttl`` after the read that fetched it), then reads raise. A deleted secret, or one
  scheduled for deletion, raises at once and its value is dropped.
- Fork-safe: in a forked child (gunicorn ``--preload``, Celery prefork) locks are new, calls in
  flight in the parent are forgotten and the client's pooled connections are dropped, so no
  child reads through a socket it shares with another process (``forksafe``).
- Regions (``regions=[...]`` or ``SECRET_ROTATION_REGIONS``): each call asks the preferred
  Region's Secrets Manager first and, when it fails or times out, the next one; a failing
  Region is skipped for a backoff, then preferred again. An answer is never older than the
  AWSPREVIOUS of the newest version seen (``failover``). Reads are served from memory as
  always: a reader notices an outage only as the latency of a cold read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple, overload

from . import forksafe
from .exceptions import (
    AwsCredentialsError,
    RotationClientError,
    SecretDeletedError,
    SecretFormatError,
    SecretNotFoundError,
    SecretUnavailableError,
)
from .failover import Region, Regions, Verdict, advance, judge
from .regions import RegionSettings, regional_secret_id
from .settings import PREFIX, CacheSettings
from .snapshot import ALL_STAGES, AWSCURRENT, SecretSnapshot
from .upstream import Labels, default_client, describe_labels, describe_stages, fetch_labelled, fetch_snapshot

log = logging.getLogger("secret_rotation_kit")

Clock = Callable[[], float]
Transform = Literal["json"] | None
MAX_BACKOFF_S = 60.0
_NEVER = float("-inf")


@dataclass(frozen=True, repr=False)
class _State:
    """Replaced whole on every refresh, so a reader sees a snapshot and its deadlines together."""

    snapshot: SecretSnapshot | None
    fresh_until: float = _NEVER  # before this instant, readers use the snapshot without asking anyone
    verified_at: float = _NEVER  # last time Secrets Manager confirmed the snapshot's labels
    expires_at: float = _NEVER  # a full read is due (ttl after the read that fetched the snapshot)
    servable_until: float = _NEVER  # expires_at + max_stale: never served after this
    error: RotationClientError | None = None  # the last failure, answered during the backoff
    retry_at: float = _NEVER  # no call before this instant (backoff after a failure)
    failures: int = 0  # consecutive failed calls
    forced: bool = False  # read by a refresh someone asked for (a rejection), not by a background check

    def __repr__(self) -> str:
        versions = dict(self.snapshot.labels) if self.snapshot else {}
        error = type(self.error).__name__ if self.error else None
        return f"_State(versions={versions}, failures={self.failures}, error={error})"


_EMPTY = _State(None)


class _Flight:
    """One call to Secrets Manager; whoever needs its result waits on ``done``."""

    __slots__ = ("done", "error", "forced", "generation", "snapshot")

    def __init__(self, generation: int, *, forced: bool = False) -> None:
        self.done = threading.Event()
        self.snapshot: SecretSnapshot | None = None
        self.error: RotationClientError | None = None
        self.generation = generation
        self.forced = forced


class _Entry:
    __slots__ = ("flight", "generation", "lineage", "lock", "stages", "state")

    def __init__(self, stages: tuple[str, ...]) -> None:
        self.lock = threading.Lock()
        self.stages = stages
        self.state: _State = _EMPTY
        self.flight: _Flight | None = None
        self.generation = 0  # bumped by watch/invalidate: results of older flights are not stored
        self.lineage: tuple[str, ...] = ()  # AWSCURRENT versions seen, newest last (failover's judge)

    def __repr__(self) -> str:
        return f"_Entry(stages={self.stages}, state={self.state!r})"


@dataclass
class CacheStats:
    """What the cache asked Secrets Manager, for tests, benchmarks and metrics."""

    upstream_calls: int = 0  # every API call: full reads count each of their calls
    full_reads: int = 0
    version_checks: int = 0
    forced_refreshes: int = 0
    stale_serves: int = 0  # failed refreshes after which a last good value kept being served
    failures: int = 0  # failed refreshes, whatever was served after
    failovers: int = 0  # calls answered by a Region other than the preferred one
    region_failures: int = 0  # calls to one Region's Secrets Manager that failed (each counts)
    replica_answers_refused: int = 0  # answers older than the AWSPREVIOUS of the newest version seen
    answers_by_region: dict[str, int] = field(default_factory=dict)


def _again(error: RotationClientError) -> RotationClientError:
    """A fresh instance of a remembered error: one exception object raised in many threads
    would share (and grow) one traceback."""
    try:
        copy = type(error)(str(error))
    except Exception:  # an error type with another constructor: raise the original
        return error
    return copy


class SecretCache:
    """Serve secrets from memory; see the module docstring for when it asks Secrets Manager.

    ``client`` is a boto3 Secrets Manager client or anything with ``get_secret_value`` and
    ``describe_secret``; without one, a default-built client with bounded timeouts
    (``AWS_ENDPOINT_URL`` works). ``regions`` (or ``SECRET_ROTATION_REGIONS``): read from the
    first Region, failing over to the next, with ``endpoint_urls`` (or
    ``SECRET_ROTATION_ENDPOINT_URLS``) for Regions whose endpoint is not the default one, or
    ``clients`` (Region -> client) to bring your own. Options left as None come from the
    environment (``CacheSettings``: ``SECRET_ROTATION_TTL`` etc.), else the documented defaults.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        regions: Sequence[str] | None = None,
        endpoint_urls: Mapping[str, str] | None = None,
        clients: Mapping[str, Any] | None = None,
        ttl: float | None = None,
        version_check_interval: float | None = None,
        max_stale: float | None = None,
        retry_interval: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        settings = CacheSettings.resolve(
            ttl=ttl, version_check_interval=version_check_interval, max_stale=max_stale, retry_interval=retry_interval
        )
        self.settings = settings
        if client is not None and (regions is not None or clients is not None or endpoint_urls is not None):
            raise ValueError("give client= (one Region) or regions= / clients= (failover between Regions), not both")
        if clients is not None:
            self.region_settings = RegionSettings.resolve(list(regions or clients), endpoint_urls or {})
            missing = [region for region in self.region_settings.regions if region not in clients]
            if missing:
                raise ValueError(f"clients has no client for region(s) {', '.join(missing)}")
        else:
            self.region_settings = (
                RegionSettings.resolve(regions, endpoint_urls) if client is None else RegionSettings()
            )
        self._given_clients = dict(clients) if clients is not None else None
        self._own_client = client is None and clients is None
        self._regions: Regions | None = None
        names = self.region_settings.regions
        if len(names) > 1:
            self._regions = self._build_regions()
            self._client = _CountedClient(self._regions.regions[0].client.client, self)
        elif names and clients is not None:
            self._client = _CountedClient(clients[names[0]], self)
        else:
            self._client = _CountedClient(
                client if client is not None else self._regional_client(names[0] if names else None), self
            )
        self._ttl = settings.ttl
        self._check = min(settings.version_check_interval, settings.ttl)
        self._max_stale = settings.max_stale
        self._retry = settings.retry_interval
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._stats_lock = threading.Lock()
        self.stats = CacheStats()
        forksafe.register(self)

    def __repr__(self) -> str:
        regions = f", regions={'>'.join(self._regions.names())}" if self._regions else ""
        return (
            f"SecretCache(secrets={len(self._entries)}, ttl={self._ttl:g}, version_check_interval={self._check:g}"
            f"{regions})"
        )

    def _regional_client(self, region: str | None) -> Any:
        """A default-built client of ``region`` (None: the default Region) at its configured endpoint.
        With several Regions each client makes one attempt unless ``SECRET_ROTATION_MAX_ATTEMPTS``
        says otherwise: the next Region is the retry."""
        endpoint = self.region_settings.endpoint_urls.get(region) if region else None
        several = len(self.region_settings.regions) > 1
        attempts = 1 if several and not os.environ.get(f"{PREFIX}MAX_ATTEMPTS", "").strip() else None
        return default_client(self.settings, region=region, endpoint_url=endpoint, max_attempts=attempts)

    def _build_regions(self) -> Regions:
        given = self._given_clients
        built = [
            Region(name, _CountedClient(given[name] if given is not None else self._regional_client(name), self))
            for name in self.region_settings.regions
        ]
        return Regions(built, retry_interval=self.settings.retry_interval, max_backoff=MAX_BACKOFF_S)

    # --- read path (no lock) -----------------------------------------------------------------
    @overload
    def get(
        self,
        secret_id: str,
        stage: str = ...,
        *,
        transform: None = None,
        max_age: float | None = None,
        force_refresh: bool = False,
    ) -> str: ...

    @overload
    def get(
        self,
        secret_id: str,
        stage: str = ...,
        *,
        transform: Literal["json"],
        max_age: float | None = None,
        force_refresh: bool = False,
    ) -> Mapping[str, Any]: ...

    def get(
        self,
        secret_id: str,
        stage: str = AWSCURRENT,
        *,
        transform: Transform = None,
        max_age: float | None = None,
        force_refresh: bool = False,
    ) -> str | Mapping[str, Any]:
        """The SecretString at ``stage`` (AWSCURRENT by default).

        ``transform="json"``: the value parsed as a JSON object (once per snapshot, read-only).
        ``max_age``: the value must have been confirmed by Secrets Manager at most this many
        seconds ago, else this call waits for a check (and raises if it fails).
        ``force_refresh``: read Secrets Manager now.
        """
        if transform is None and max_age is None and not force_refresh:
            entry = self._entries.get(secret_id)
            if entry is not None:
                state = entry.state
                if self._clock() < state.fresh_until:
                    strings = state.snapshot.strings  # type: ignore[union-attr] # fresh implies a snapshot
                    if stage in strings:
                        return strings[stage]
        if transform not in (None, "json"):
            raise ValueError(f"transform must be None or 'json', got {transform!r}")
        entry = self._entries.get(secret_id)
        if stage != AWSCURRENT and (entry is None or stage not in entry.stages):
            self.watch(secret_id, (AWSCURRENT, stage))
        snapshot = self.refresh(secret_id) if force_refresh else self.snapshot(secret_id, max_age=max_age)
        return snapshot.json(stage) if transform == "json" else snapshot.value(stage)

    def snapshot(self, secret_id: str, *, max_age: float | None = None) -> SecretSnapshot:
        """Every watched stage of ``secret_id`` as one consistent, immutable snapshot."""
        if max_age is None:
            entry = self._entries.get(secret_id)
            if entry is not None:
                state = entry.state
                if self._clock() < state.fresh_until:
                    return state.snapshot  # type: ignore[return-value] # fresh implies a snapshot
        elif not isinstance(max_age, int | float) or max_age < 0:
            raise ValueError(f"max_age must be a number of seconds >= 0, got {type(max_age).__name__} {max_age!r}")
        return self._slow_path(secret_id, max_age)

    async def aget(
        self, secret_id: str, stage: str = AWSCURRENT, *, transform: Transform = None, max_age: float | None = None
    ) -> str | Mapping[str, Any]:
        """``get`` for asyncio: a fresh value is returned without leaving the event loop; a call
        to Secrets Manager runs in a worker thread so the loop never blocks on the network."""
        if transform is None and max_age is None:
            entry = self._entries.get(secret_id)
            if entry is not None:
                state = entry.state
                if self._clock() < state.fresh_until and stage in state.snapshot.strings:  # type: ignore[union-attr]
                    return state.snapshot.strings[stage]  # type: ignore[union-attr]
        return await asyncio.to_thread(self._get_any, secret_id, stage, transform, max_age)

    async def asnapshot(self, secret_id: str) -> SecretSnapshot:
        """``snapshot`` for asyncio (see ``aget``)."""
        entry = self._entries.get(secret_id)
        if entry is not None:
            state = entry.state
            if self._clock() < state.fresh_until:
                return state.snapshot  # type: ignore[return-value]
        return await asyncio.to_thread(self.snapshot, secret_id)

    def _get_any(self, secret_id: str, stage: str, transform: Transform, max_age: float | None) -> Any:
        return self.get(secret_id, stage, transform=transform, max_age=max_age)  # type: ignore[call-overload]

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
                self._forget(entry)  # the next read fetches every stage

    def invalidate(self, secret_id: str) -> None:
        """Forget ``secret_id``: the next read goes to Secrets Manager."""
        entry = self._entries.get(secret_id)
        if entry is not None:
            with entry.lock:
                self._forget(entry)

    def refresh(self, secret_id: str, *, seen: SecretSnapshot | None = None) -> SecretSnapshot:
        """Read ``secret_id`` again now, e.g. because a target rejected its credentials.

        With ``seen`` (the snapshot whose credentials were rejected), threads that saw the
        same snapshot share one refresh: if another thread's refresh already replaced it, its
        result is returned without calling Secrets Manager; if the shared refresh failed, they
        all get its error, and until the backoff ends the remembered error answers without a
        call. Only refreshes asked for after a rejection are shared this way: a background
        version check may have started before the rotation that caused the rejection, and its
        result can lack exactly the value needed (an AWSPENDING written a moment later).
        """
        entry = self._entry(secret_id)
        while True:  # an explicit refresh (no ``seen``) reads again even after joining another's flight
            with entry.lock:
                state, flight = entry.state, entry.flight
                if flight is None:
                    if seen is not None and state.forced and state.snapshot is not None and state.snapshot is not seen:
                        return state.snapshot
                    if seen is not None and state.error is not None and self._clock() < state.retry_at:
                        raise _again(state.error)
                    flight = entry.flight = _Flight(entry.generation, forced=True)
                    mine = True
                else:
                    mine = False
            if mine:
                self._count(forced_refreshes=1)
                self._fly(secret_id, entry, flight, forced=True)
                return self._outcome(flight)
            flight.done.wait()
            if flight.error is not None:
                raise _again(flight.error)
            if seen is not None and flight.forced and flight.snapshot is not None and flight.snapshot is not seen:
                return flight.snapshot

    def wait_for_refreshes(self, timeout: float = 30.0) -> bool:
        """Wait until no call to Secrets Manager is in flight (background refreshes included);
        False if some still run after ``timeout`` seconds. For tests and orderly shutdowns."""
        deadline = time.monotonic() + timeout
        for entry in list(self._entries.values()):
            flight = entry.flight
            if flight is not None and not flight.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    # --- slow path: single flight ------------------------------------------------------------
    def _entry(self, secret_id: str) -> _Entry:
        if not isinstance(secret_id, str) or not secret_id:
            raise SecretNotFoundError(f"secret id must be a non-empty string, got {type(secret_id).__name__}")
        entry = self._entries.get(secret_id)
        if entry is None:
            entry = self._entries.setdefault(secret_id, _Entry((AWSCURRENT,)))  # atomic: one entry wins
        return entry

    @staticmethod
    def _forget(entry: _Entry) -> None:
        entry.state = _EMPTY
        entry.generation += 1
        entry.flight = None  # a flight still running finishes for its waiters but stores nothing

    def _slow_path(self, secret_id: str, max_age: float | None) -> SecretSnapshot:
        entry = self._entry(secret_id)
        while True:
            with entry.lock:
                now = self._clock()
                state, flight = entry.state, entry.flight
                snapshot = state.snapshot
                if snapshot is not None and (max_age is None or now - state.verified_at <= max_age):
                    if now < state.fresh_until:
                        return snapshot  # another thread refreshed while this one waited
                    if now < state.servable_until:
                        if flight is None and now >= state.retry_at:
                            flight = entry.flight = _Flight(entry.generation)
                            threading.Thread(
                                target=self._fly, args=(secret_id, entry, flight), name="secret-refresh", daemon=True
                            ).start()
                        return snapshot  # refresh ahead: the reader does not wait
                if flight is None:
                    if state.error is not None and now < state.retry_at:
                        raise _again(state.error)  # backing off: the remembered failure answers
                    flight = entry.flight = _Flight(entry.generation, forced=True)
                    mine = True
                else:
                    mine = False
            if mine:
                self._fly(secret_id, entry, flight)
                return self._outcome(flight)
            flight.done.wait()  # bounded: the client's timeouts bound the call in flight
            if max_age is None or flight.error is not None:
                return self._outcome(flight)
            # with max_age, look again: the flight joined may have started before this call

    @staticmethod
    def _outcome(flight: _Flight) -> SecretSnapshot:
        if flight.error is not None:
            raise _again(flight.error)
        assert flight.snapshot is not None
        return flight.snapshot

    def _fly(self, secret_id: str, entry: _Entry, flight: _Flight, *, forced: bool = False) -> None:
        """Make the call, store what it found (unless the entry was reset meanwhile), wake the waiters."""
        state, stages, lineage = entry.state, entry.stages, entry.lineage
        now = self._clock()
        try:
            try:
                if self._regions is None:
                    new_state = self._call(secret_id, stages, state, now, forced=forced)
                else:
                    new_state, lineage = self._call_regions(secret_id, stages, state, now, lineage, forced=forced)
                new_state = replace(new_state, forced=forced)
            except RotationClientError as exc:
                flight.error = exc
                new_state = self._failed(secret_id, state, exc, now)
            else:
                flight.snapshot = new_state.snapshot
        except BaseException as exc:  # never leave waiters hanging, whatever happened
            flight.error = RotationClientError(f"refresh of secret {secret_id!r} failed: {type(exc).__name__}")
            new_state = state
            raise
        finally:
            with entry.lock:
                if entry.generation == flight.generation:
                    entry.state = new_state
                    entry.lineage = lineage
                if entry.flight is flight:
                    entry.flight = None
            flight.done.set()

    def _call(self, secret_id: str, stages: tuple[str, ...], state: _State, now: float, *, forced: bool) -> _State:
        snapshot = state.snapshot
        if not forced and snapshot is not None and now < state.expires_at:
            self._count(version_checks=1)
            labels = describe_labels(self._client, secret_id, stages)
            empty = [stage for stage in labels if not snapshot.has(stage)]
            if labels == dict(snapshot.labels) and not empty:
                return replace(
                    state,
                    fresh_until=min(now + self._check, state.expires_at),
                    verified_at=now,
                    error=None,
                    retry_at=_NEVER,
                    failures=0,
                )
            log.info(
                "secret %r: %s; reading it again",
                secret_id,
                "a watched stage had no value yet" if labels == dict(snapshot.labels) else "stage labels changed",
            )
        self._count(full_reads=1)
        fetched = fetch_snapshot(self._client, secret_id, stages, now)
        expires = now + self._ttl
        return _State(
            fetched,
            fresh_until=min(now + self._check, expires),
            verified_at=now,
            expires_at=expires,
            servable_until=expires + self._max_stale,
        )

    # --- several Regions -------------------------------------------------------------------------
    def _call_regions(
        self,
        secret_id: str,
        stages: tuple[str, ...],
        state: _State,
        now: float,
        lineage: tuple[str, ...],
        *,
        forced: bool,
    ) -> tuple[_State, tuple[str, ...]]:
        """Ask each Region in turn (``Regions.order``) until one answers acceptably."""
        regions = self._regions
        assert regions is not None
        failures: list[tuple[str, RotationClientError]] = []
        for region in regions.order(now):
            try:
                answer = self._read_region(region, secret_id, stages, state, now, lineage, forced=forced)
            except (SecretDeletedError, SecretFormatError):
                # Only a primary (or standalone) secret can be scheduled for deletion: "You can't delete a
                # primary secret that is replicated to other Regions ... When you delete a replica, it is
                # deleted immediately" (https://docs.aws.amazon.com/secretsmanager/latest/userguide/
                # manage_delete-secret.html), so a replica gone is ResourceNotFoundException (the next
                # Region is asked) and "scheduled for deletion" is final. A SecretBinary is replicated as is.
                raise
            except RotationClientError as exc:
                if isinstance(exc, SecretUnavailableError) and not isinstance(exc, _AnswerRefusedError):
                    self._count(region_failures=1)
                    wait = regions.failed(region, now)
                    log.warning(
                        "secret %r: Secrets Manager in %s failed, skipping it for %.0f s: %s",
                        secret_id, region.name, wait, exc,
                    )  # fmt: skip
                failures.append((region.name, exc))
                continue
            recovered = regions.answered(region)
            self._count_answer(region.name, failover=region.name != regions.preferred)
            if region.name == regions.preferred and recovered:
                log.info("secret %r: back to the preferred Region %s", secret_id, region.name)
            elif failures:
                log.warning(
                    "secret %r: read from %s instead (%s)",
                    secret_id, region.name, "; ".join(f"{name}: {type(exc).__name__}" for name, exc in failures),
                )  # fmt: skip
            if forced:
                answer = self._primary_too(region, answer, secret_id, stages, state, now)
            return answer.state, answer.lineage
        raise _combined(secret_id, failures)

    def _primary_too(
        self, region: Region, answer: _Answer, secret_id: str, stages: tuple[str, ...], state: _State, now: float
    ) -> _Answer:
        """A forced refresh (a target rejected the credential) that a replica answered with the
        version already held asks the primary too, when it is one of the Regions: the replica may
        lag the rotation that made the credential stale."""
        regions = self._regions
        assert regions is not None
        held = state.snapshot.version_id() if state.snapshot is not None else None
        got = answer.state.snapshot.version_id() if answer.state.snapshot is not None else None
        primary = next((r for r in regions.regions if r.name == answer.labels.primary_region), None)
        if answer.labels.is_from_primary(region.name) or primary is None or got != held or primary.down_until > now:
            return answer
        try:
            better = self._read_region(primary, secret_id, stages, answer.state, now, answer.lineage, forced=True)
        except RotationClientError as exc:
            log.info(
                "secret %r: the primary %s could not confirm the replica's version: %s", secret_id, primary.name, exc
            )
            return answer
        self._count_answer(primary.name, failover=primary.name != regions.preferred)
        if better.state.snapshot is None or better.state.snapshot.version_id() == held:
            return answer  # the replica is up to date: keep reading it
        log.warning(
            "secret %r: %s serves version %s, the primary %s already %s; reading the primary",
            secret_id, region.name, held, primary.name, better.state.snapshot.version_id(),
        )  # fmt: skip
        return better

    def _read_region(
        self,
        region: Region,
        secret_id: str,
        stages: tuple[str, ...],
        state: _State,
        now: float,
        lineage: tuple[str, ...],
        *,
        forced: bool,
    ) -> _Answer:
        """One Region's answer: labels first (DescribeSecret, no value), judged against the
        versions seen; then, if anything changed, the values by version id."""
        regional = regional_secret_id(secret_id, region.name)
        labels = describe_stages(region.client, regional)
        verdict = judge(lineage, labels.stages, from_primary=labels.is_from_primary(region.name))
        snapshot = state.snapshot
        if verdict is Verdict.STALE:
            self._count(replica_answers_refused=1)
            raise _AnswerRefusedError(
                f"secret {secret_id!r} in {region.name}: the replica labels version {labels.stages.get(AWSCURRENT)} "
                "AWSCURRENT, older than the AWSPREVIOUS of the newest version seen; refused"
            )
        holding_newer = snapshot is not None and now < state.servable_until
        if verdict is Verdict.BEHIND and holding_newer:
            log.info(
                "secret %r: %s is one rotation behind; serving the newer version already held", secret_id, region.name
            )
            fresh = min(now + self._check, state.servable_until)
            return _Answer(replace(state, fresh_until=fresh, error=None, retry_at=_NEVER, failures=0), lineage, labels)
        watched = labels.watched(stages)
        if not forced and snapshot is not None and now < state.expires_at:
            self._count(version_checks=1)
            if watched == dict(snapshot.labels) and all(snapshot.has(stage) for stage in watched):
                confirmed = replace(
                    state, fresh_until=min(now + self._check, state.expires_at), verified_at=now, error=None,
                    retry_at=_NEVER, failures=0,
                )  # fmt: skip
                return _Answer(confirmed, advance(lineage, labels.stages), labels)
        self._count(full_reads=1)
        fetched, every = fetch_labelled(region.client, regional, stages, now, known=labels)
        expires = now + self._ttl
        new_state = _State(
            replace(fetched, secret_id=secret_id, region=region.name),
            fresh_until=min(now + self._check, expires),
            verified_at=now,
            expires_at=expires,
            servable_until=expires + self._max_stale,
        )
        return _Answer(new_state, lineage if verdict is Verdict.BEHIND else advance(lineage, every.stages), every)

    def _count_answer(self, region: str, *, failover: bool) -> None:
        with self._stats_lock:
            self.stats.answers_by_region[region] = self.stats.answers_by_region.get(region, 0) + 1
            self.stats.failovers += int(failover)

    def _failed(self, secret_id: str, state: _State, exc: RotationClientError, now: float) -> _State:
        self._count(failures=1)
        failures = state.failures + 1
        retry_at = now + min(self._retry * 2 ** (failures - 1), max(self._retry, MAX_BACKOFF_S))
        if isinstance(exc, SecretNotFoundError):
            log.warning("secret %r: %s; its cached value is dropped", secret_id, exc)
            return _State(None, error=exc, retry_at=retry_at, failures=failures)
        if state.snapshot is not None and now < state.servable_until:
            self._count(stale_serves=1)
            log.warning(
                "secret %r: refresh failed, serving the last good value (read %.0f s ago, at most %.0f s more; "
                "next try in %.0f s): %s",
                secret_id,
                now - state.snapshot.fetched_at,
                state.servable_until - now,
                retry_at - now,
                exc,
            )
            return replace(
                state, fresh_until=min(retry_at, state.servable_until), error=exc, retry_at=retry_at, failures=failures
            )
        log.warning(
            "secret %r: refresh failed, nothing servable (next try in %.0f s): %s", secret_id, retry_at - now, exc
        )
        return _State(None, error=exc, retry_at=retry_at, failures=failures)

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, amount in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + amount)

    # --- fork safety ----------------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        """New locks, no flights of the parent's threads, no connection shared with the parent."""
        self._stats_lock = threading.Lock()
        for entry in list(self._entries.values()):
            entry.lock = threading.Lock()
            entry.flight = None
        if self._regions is not None:
            if self._given_clients is not None:
                for client in self._given_clients.values():
                    forksafe.drop_pooled_connections(client)
            self._regions = self._build_regions()  # own clients are built anew; new locks, no health inherited
            self._client = _CountedClient(self._regions.regions[0].client.client, self)
            return
        inner = self._client.client
        names = self.region_settings.regions
        rebuilt = self._regional_client(names[0] if names else None) if self._own_client else inner
        self._client = _CountedClient(rebuilt, self)
        if not self._own_client:
            forksafe.drop_pooled_connections(inner)


class _Answer(NamedTuple):
    """What one Region's answer makes of the entry: its state, the versions seen, the labels."""

    state: _State
    lineage: tuple[str, ...]
    labels: Labels


class _AnswerRefusedError(SecretUnavailableError):
    """A Region answered, but with a replica older than what this process already knows."""


def _combined(secret_id: str, failures: list[tuple[str, RotationClientError]]) -> RotationClientError:
    """One error for a call every Region failed: their common type, else unavailable."""
    reasons = "; ".join(f"{region}: {exc}" for region, exc in failures)
    kinds = {type(exc) for _, exc in failures}
    for kind in (SecretNotFoundError, AwsCredentialsError):
        if kinds == {kind}:
            return kind(f"secret {secret_id!r}, every Region failed: {reasons}")
    return SecretUnavailableError(f"secret {secret_id!r}, every Region failed: {reasons}")


class _CountedClient:
    """The Secrets Manager client, counting every API call the cache makes."""

    def __init__(self, client: Any, cache: SecretCache) -> None:
        self.client = client
        self._cache = cache

    def get_secret_value(self, **kwargs: Any) -> Any:
        self._cache._count(upstream_calls=1)
        return self.client.get_secret_value(**kwargs)

    def describe_secret(self, **kwargs: Any) -> Any:
        self._cache._count(upstream_calls=1)
        return self.client.describe_secret(**kwargs)
