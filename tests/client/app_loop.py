"""An application loop for the "keeps serving through rotations" tests: worker threads make
requests through the library while the main thread rotates; every request's outcome is kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEADLINE_S = 30.0


@dataclass
class LoopResult:
    succeeded: int = 0
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, failure: str | None) -> None:
        with self._lock:
            if failure is None:
                self.succeeded += 1
            else:
                self.failures.append(failure)


def serve_through_rotations(
    request: Callable[[], None], rotate: Callable[[], object], rotations: int, workers: int = 3
) -> LoopResult:
    """Rotate ``rotations`` times while ``workers`` threads call ``request`` in a loop; before
    each rotation, wait (polling, bounded) until requests succeeded since the last one, so
    every rotation meets live traffic."""
    result = LoopResult()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                request()
            except Exception as exc:  # every failed request is what the test counts
                result.record(f"{type(exc).__name__}: {exc}")
            else:
                result.record(None)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(rotations):
            seen = result.succeeded
            deadline = time.monotonic() + DEADLINE_S
            while result.succeeded < seen + workers and not result.failures:
                assert time.monotonic() < deadline, "the application made no request between two rotations"
                time.sleep(0.001)
            rotate()
        seen = result.succeeded
        deadline = time.monotonic() + DEADLINE_S
        while result.succeeded < seen + workers and not result.failures:
            assert time.monotonic() < deadline, "the application made no request after the last rotation"
            time.sleep(0.001)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=DEADLINE_S)
    return result
