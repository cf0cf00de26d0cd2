"""The soak at an application's concurrency, through the consumer library: ``threads`` client
threads on pools in this process, and ``processes`` forked worker processes (gunicorn
``--preload``, Celery prefork: the cache is warm before the fork) with ``threads_per_process``
threads each, keep making pooled requests while the secret rotates back to back.

Every client records each request in shared memory; rotations are paced as in ``soak``
(``RotationPacer``): the next one starts once every client, in every process, has finished a
request that began after the previous one. Secrets Manager must be reachable over loopback
HTTP (``local_rotation.server.local_aws``), because forked workers cannot share moto's
in-process mock with the parent.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .consumers import Consumer
from .harness import KindHarness
from .pacing import ClientsTooSlowError
from .soak import SoakResult, rotate_paced

RECYCLE_EVERY = 4  # every fourth request drops its pooled connection: logins keep happening
DEADLINE_S = 120.0
_FORK = multiprocessing.get_context("fork")


@dataclass
class LoadResult(SoakResult):
    """A soak's counts, and the shape of the load that made them."""

    threads: int = 0
    processes: int = 0
    threads_per_process: int = 0

    @property
    def clients(self) -> int:
        return self.threads + self.processes * self.threads_per_process

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


class SharedPacer:
    """``RotationPacer`` across processes: its counters live in shared memory (fork context)."""

    def __init__(self, clients: int) -> None:
        self._condition = _FORK.Condition()
        self._rotations = _FORK.Value("i", 0, lock=False)
        self._finished = _FORK.Array("i", [-1] * clients, lock=False)
        self.requests = _FORK.Array("q", clients, lock=False)
        self.failures = _FORK.Array("q", clients, lock=False)

    def request_started(self) -> int:
        with self._condition:
            return int(self._rotations.value)

    def request_finished(self, client: int, started_at: int, *, failed: bool) -> None:
        with self._condition:
            self._finished[client] = max(self._finished[client], started_at)
            self.requests[client] += 1
            self.failures[client] += int(failed)
            self._condition.notify_all()

    def rotation_finished(self, deadline_s: float = DEADLINE_S) -> None:
        with self._condition:
            self._rotations.value += 1
            target = self._rotations.value
            if not self._condition.wait_for(lambda: min(self._finished) >= target, timeout=deadline_s):
                raise ClientsTooSlowError(f"no request finished within {deadline_s} s after rotation {target}")


def _client_loop(consumer: Consumer, pacer: SharedPacer, index: int, stop: Any, reasons: Counter[str]) -> None:
    made = 0
    while not stop.is_set():
        started_at = pacer.request_started()
        try:
            consumer.pooled_request(recycle=made % RECYCLE_EVERY == RECYCLE_EVERY - 1)
            failed = False
        except Exception as exc:  # every failure is counted, whatever it is
            failed = True
            reasons[type(exc).__name__] += 1
        made += 1
        pacer.request_finished(index, started_at, failed=failed)


def _threads(consumer: Consumer, pacer: SharedPacer, first: int, count: int, stop: Any) -> list[_Client]:
    clients = [_Client(consumer, pacer, first + n, stop) for n in range(count)]
    for client in clients:
        client.start()
    return clients


class _Client(threading.Thread):
    """One client thread; its failure reasons are its own until it is joined."""

    def __init__(self, consumer: Consumer, pacer: SharedPacer, index: int, stop: Any) -> None:
        super().__init__(name=f"load-client-{index}", daemon=True)
        self.reasons: Counter[str] = Counter()
        self._args = (consumer, pacer, index, stop, self.reasons)

    def run(self) -> None:
        _client_loop(*self._args)


def _worker_process(consumer: Consumer, pacer: SharedPacer, first: int, count: int, stop: Any, out: Any) -> None:
    reasons: Counter[str] = Counter()
    for client in _threads(consumer, pacer, first, count, stop):
        client.join()
        reasons.update(client.reasons)
    out.put(dict(reasons))


def load_soak(
    harness: KindHarness,
    client: Any,
    secret_arn: str,
    *,
    rotations: int,
    threads: int = 32,
    processes: int = 4,
    threads_per_process: int = 4,
) -> LoadResult:
    """Rotate ``rotations`` times under the load described in the module docstring."""
    from secret_rotation_kit import SecretCache

    result = LoadResult(harness.kind, threads=threads, processes=processes, threads_per_process=threads_per_process)
    consumer = harness.consumer(SecretCache(client), secret_arn)
    consumer.request()  # the parent reads before forking, as a preloading server does
    pacer = SharedPacer(result.clients)
    stop, out = _FORK.Event(), _FORK.Queue()
    workers = [
        _FORK.Process(
            target=_worker_process,
            args=(consumer, pacer, threads + n * threads_per_process, threads_per_process, stop, out),
            daemon=True,
        )
        for n in range(processes)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    local_threads = _threads(consumer, pacer, 0, threads, stop)
    try:
        rotate_paced(harness, secret_arn, rotations, result, pacer.rotation_finished)
    finally:
        stop.set()
        for thread in local_threads:
            thread.join(timeout=DEADLINE_S)
            result.failure_reasons.update(thread.reasons)
        for _ in workers:
            result.failure_reasons.update(out.get(timeout=DEADLINE_S))
        for worker in workers:
            worker.join(timeout=DEADLINE_S)
            if worker.is_alive():
                worker.kill()
                result.failure_reasons["worker process hung"] += 1
        result.duration_s = time.perf_counter() - started
    result.requests = sum(pacer.requests)
    result.failures = sum(pacer.failures)
    return result
