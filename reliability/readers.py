"""Readers of one secret, as fast as threads can go, counting every read: what a failover
test and the failover benchmark watch through an outage (a failed read is the figure)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from secret_rotation_kit import SecretCache

PRIMARY, REPLICA = "us-east-1", "us-west-2"


def outage_cache(primary_url: str, replica_url: str, *, retry_interval: float) -> SecretCache:
    """A two-Region cache tuned so an outage shows within a second: with ``max_stale=0``
    nothing is served from memory past the 0.5 s ttl, so every read then needs a Region."""
    return SecretCache(
        regions=[PRIMARY, REPLICA],
        endpoint_urls={PRIMARY: primary_url, REPLICA: replica_url},
        ttl=0.5,
        version_check_interval=0.1,
        max_stale=0,
        retry_interval=retry_interval,
    )


@dataclass
class ConcurrentReaders:
    cache: SecretCache
    secret_id: str
    latencies_ms: list[float] = field(default_factory=list)  # of the reads that succeeded
    failed: list[str] = field(default_factory=list)  # error type of each failed read
    values: set[str] = field(default_factory=set)  # every value served
    last_value: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                value = self.cache.get(self.secret_id)
            except Exception as exc:  # a failed read is what the readers count
                with self._lock:
                    self.failed.append(type(exc).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with self._lock:
                self.latencies_ms.append(elapsed)
                self.values.add(value)
                self.last_value = value

    @contextmanager
    def running(self, threads: int = 4) -> Iterator[ConcurrentReaders]:
        """Read from ``threads`` threads until the block ends."""
        workers = [threading.Thread(target=self._loop, name="reader", daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        try:
            yield self
        finally:
            self._stop.set()
            for worker in workers:
                worker.join(timeout=30)
