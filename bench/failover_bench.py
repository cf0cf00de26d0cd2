"""Consumer failover between Regions: readers of a replicated secret through an outage of the
preferred Region's endpoint, once refusing connections and once accepting and never answering.

moto's server serves both Regions (its replication is the replica); the preferred Region is
reached through a loopback endpoint that can refuse or hang (``local_servers.switchable``).
Readers run with ``max_stale=0``, so past its ttl no value is served from memory: every read
then depends on some Region answering, the strictest setting. A rotation runs in the primary
Region during each outage, so the replica must also carry the new version to the readers.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable

import boto3

from bench.client_bench import BATCH, _per_call_us
from bench.common import Row, SuiteResult, median, percentile
from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import RotationDriver
from local_rotation.server import local_aws
from local_servers.switchable import SwitchableEndpoint
from reliability.readers import PRIMARY, REPLICA, ConcurrentReaders, outage_cache
from secret_rotation_kit import SecretCache

TIMEOUT_S = 1.0  # SECRET_ROTATION_CONNECT_TIMEOUT / _READ_TIMEOUT for the readers


def _until(condition: Callable[[], bool], timeout: float = 120.0) -> float:
    """Seconds until ``condition`` holds (polled every millisecond)."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise RuntimeError("the failover benchmark waited too long for a condition")
        time.sleep(0.001)
    return time.perf_counter() - started


def _outage(
    kind: str, endpoint: SwitchableEndpoint, moto_url: str, secret_arn: str, *, quick: bool
) -> dict[str, float]:
    retry = 0.3 if quick else 5.0  # quick: a short backoff; full: the library's default
    cache = outage_cache(endpoint.url, moto_url, retry_interval=retry)
    answers = cache.stats.answers_by_region
    outage_s = 1.0 if quick else 8.0
    with ConcurrentReaders(cache, secret_arn).running(threads=4 if quick else 8) as readers:
        _until(lambda: answers.get(PRIMARY, 0) >= 3)
        reads_before = len(readers.latencies_ms)
        before = answers.get(REPLICA, 0)
        getattr(endpoint, kind)()
        started = time.perf_counter()
        failover_s = _until(lambda: answers.get(REPLICA, 0) > before)
        started += failover_s
        RotationDriver(hmac_handler).rotate(secret_arn)
        rotated = boto3.client("secretsmanager", region_name=PRIMARY).get_secret_value(SecretId=secret_arn)
        _until(lambda: rotated["SecretString"] in readers.values)
        remaining = outage_s - failover_s - (time.perf_counter() - started)
        if remaining > 0:
            time.sleep(remaining)  # the outage's length is the scenario, not a wait for a condition
        during = readers.latencies_ms[reads_before:]
        endpoint.forward()
        back_before = answers.get(PRIMARY, 0)
        return_s = _until(lambda: answers.get(PRIMARY, 0) > back_before)
    return {
        "failover_ms": failover_s * 1000,
        "return_ms": return_s * 1000,
        "reads": float(len(during)),
        "failed": float(len(readers.failed)),
        "slowest_ms": max(during) if during else 0.0,
        "p99_ms": percentile(during, 0.99) if during else 0.0,
        "failovers": float(cache.stats.failovers),
        "retry_s": retry,
    }


def run(quick: bool) -> SuiteResult:
    result = SuiteResult(title="Consumer failover between Regions (secret_rotation_kit)")
    saved = {name: os.environ.get(name) for name in ("SECRET_ROTATION_CONNECT_TIMEOUT", "SECRET_ROTATION_READ_TIMEOUT")}
    os.environ.update({name: str(TIMEOUT_S) for name in saved})
    library_log = logging.getLogger("secret_rotation_kit")
    level = library_log.level
    library_log.setLevel(logging.ERROR)  # each failover is logged as a warning: expected here, by the thousand
    try:
        with local_aws() as moto_url:
            client = boto3.client("secretsmanager", region_name=PRIMARY)
            arn = client.create_secret(
                Name=f"bench/failover/hmac_key/{uuid.uuid4().hex[:8]}",
                SecretString=json.dumps({"key": "0a" * 32}),
                AddReplicaRegions=[{"Region": REPLICA, "KmsKeyId": "alias/bench-secrets"}],
            )["ARN"]
            with SwitchableEndpoint(int(moto_url.rsplit(":", 1)[1])) as endpoint:
                _cached_read(result, endpoint, moto_url, arn, batches=50 if quick else 2000)
                for kind, what in (("refuse", "refused connections"), ("blackhole", "accepted, never answered")):
                    figures = _outage(kind, endpoint, moto_url, arn, quick=quick)
                    result.raw[kind] = figures
                    _rows(result, kind, what, figures)
    finally:
        library_log.setLevel(level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return result


def _cached_read(result: SuiteResult, endpoint: SwitchableEndpoint, moto_url: str, arn: str, batches: int) -> None:
    """Failover costs nothing on the read path: a fresh value is a memory read either way."""
    cache = SecretCache(regions=[PRIMARY, REPLICA], endpoint_urls={PRIMARY: endpoint.url, REPLICA: moto_url})
    timings = _per_call_us(lambda: cache.get(arn), batches)
    result.rows.append(
        Row("cached read p50, two Regions", round(median(timings), 3), "µs",
            f"SecretCache(regions=[{PRIMARY}, {REPLICA}]).get, {batches}x{BATCH} reads; p99 "
            f"{percentile(timings, 0.99):.3f} µs; target p50 <= 1 µs")
    )  # fmt: skip


def _rows(result: SuiteResult, kind: str, what: str, figures: dict[str, float]) -> None:
    setting = (f"{TIMEOUT_S:g} s connect/read timeout, max_stale=0 (every read past the 0.5 s ttl needs an answer), "
               "a rotation in the primary during the outage")  # fmt: skip
    result.rows += [
        Row(f"reads failed, preferred Region {what}", int(figures["failed"]), "reads",
            f"{int(figures['reads'])} reads during the outage by concurrent readers; target 0"),
        Row(f"failover time, {what}", round(figures["failover_ms"], 1), "ms",
            f"outage start to the first answer from {REPLICA}, including the wait for the next call (version "
            f"check every 0.1 s); {setting}"),
        Row(f"slowest read during the outage, {what}", round(figures["slowest_ms"], 1), "ms",
            f"p99 {figures['p99_ms'] * 1000:.1f} µs (most reads are served from memory): readers notice the "
            "outage as latency only"),
        Row(f"back to the preferred Region, {what}", round(figures["return_ms"], 1), "ms",
            f"endpoint recovered to the first answer from {PRIMARY} (backoff {figures['retry_s']:g} s, doubling)"),
    ]  # fmt: skip
