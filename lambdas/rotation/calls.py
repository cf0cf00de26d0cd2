"""A ledger of every external call a rotation makes (AWS APIs, database and cache commands).

Why: the local driver reports how many calls each step made, benchmarks count them, and
fault-injection tests hook here to fail any call point by name, without hand-listing the
points. Call points are names such as ``secretsmanager.GetSecretValue`` or
``postgres.connect``; they never carry values.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Interceptor = Callable[[str], None]


class CallLedger:
    """Counts call points and lets tests intercept them (an interceptor may raise)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._interceptors: list[Interceptor] = []

    def record(self, point: str) -> None:
        """Count one call to ``point``, then give each interceptor the chance to fail it."""
        with self._lock:
            self._counts[point] += 1
            interceptors = list(self._interceptors)
        for interceptor in interceptors:
            interceptor(point)

    def snapshot(self) -> Counter[str]:
        """A copy of the counts so far: subtract two snapshots to count one step."""
        with self._lock:
            return Counter(self._counts)

    @contextmanager
    def intercept(self, interceptor: Interceptor) -> Iterator[None]:
        """Run ``interceptor`` on every call point while the block runs."""
        with self._lock:
            self._interceptors.append(interceptor)
        try:
            yield
        finally:
            with self._lock:
                self._interceptors.remove(interceptor)


LEDGER = CallLedger()


def record_call(point: str) -> None:
    """Record one external call; targets call this right before they talk to a server."""
    LEDGER.record(point)
