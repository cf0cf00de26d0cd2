"""Zero-downtime soak: rotate again and again while client threads keep making requests.

Every request is what an application does during a rotation: by default the raw way (read
AWSCURRENT, use it on the real target), or through the consumer library (``library_soak``:
a ``SecretCache`` and the kind's client, which refreshes on a rejected login and falls back
to AWSPREVIOUS/AWSPENDING). The loop is bounded by a rotation count; workers stop when
rotations stop.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_rotation import RotationDriver

from .harness import KindHarness
from .pacing import RotationPacer


@dataclass
class SoakResult:
    """Requests made and failed while ``rotations`` rotations completed."""

    kind: str
    rotations: int = 0
    rotation_failures: int = 0
    requests: int = 0
    failures: int = 0
    failure_reasons: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    @property
    def rotations_per_minute(self) -> float:
        return 60 * self.rotations / self.duration_s if self.duration_s else 0.0


def soak(
    harness: KindHarness,
    client: Any,
    secret_arn: str,
    *,
    rotations: int,
    workers: int = 2,
    request: Callable[[], None] | None = None,
) -> SoakResult:
    """Run ``rotations`` rotations back to back, paced by the workers (``RotationPacer``: the
    schedule compressed as far as it goes), while ``workers`` threads make requests (``request``,
    by default the harness's raw client request); count every request and every failure."""
    make_request = request or (lambda: harness.client_request(client, secret_arn))
    result = SoakResult(kind=harness.kind)
    stop = threading.Event()
    lock = threading.Lock()
    pacer = RotationPacer(workers)

    def work(number: int) -> None:
        while not stop.is_set():
            started_at = pacer.request_started()
            try:
                make_request()
                failure = None
            except Exception as exc:  # every failure is counted, whatever it is
                failure = type(exc).__name__
            with lock:
                result.requests += 1
                if failure:
                    result.failures += 1
                    result.failure_reasons[failure] += 1
            pacer.request_finished(number, started_at)

    threads = [
        threading.Thread(target=work, args=(i,), name=f"soak-{harness.kind}-{i}", daemon=True) for i in range(workers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        rotate_paced(harness, secret_arn, rotations, result, pacer.rotation_finished)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    result.duration_s = time.perf_counter() - started
    return result


def rotate_paced(
    harness: KindHarness, secret_arn: str, rotations: int, result: SoakResult, paced: Callable[[], None]
) -> None:
    """Rotate ``rotations`` times, counting each outcome in ``result``; ``paced`` waits after
    each until the clients have caught up."""
    driver = RotationDriver(harness.handler)
    for _ in range(rotations):
        report = driver.rotate(secret_arn, raise_on_failure=False)
        result.rotations += 1
        result.rotation_failures += 0 if report.succeeded else 1
        paced()


def library_soak(harness: KindHarness, client: Any, secret_arn: str, *, rotations: int, workers: int = 2) -> SoakResult:
    """``soak`` with every request made through the consumer library: one ``SecretCache`` with
    its defaults (it reads Secrets Manager again only when a login is rejected, or every
    30 s/15 min), each request a new login."""
    from secret_rotation_kit import SecretCache

    consumer = harness.consumer(SecretCache(client), secret_arn)
    return soak(harness, client, secret_arn, rotations=rotations, workers=workers, request=consumer.request)
