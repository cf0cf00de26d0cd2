"""Through an outage of one Region's Secrets Manager endpoint (a loopback endpoint that refuses,
then one that accepts and never answers), readers keep getting the secret from the replica
Region, a rotation during the outage reaches them through the replica, no read fails, and
reads return to the preferred Region when its endpoint recovers. Real HTTP to moto's server,
which serves every Region; the replica is moto's replication."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from lambdas.rotation.telemetry import quiet_function_telemetry
from local_rotation import RotationDriver
from local_rotation.server import local_aws
from local_servers.switchable import SwitchableEndpoint
from reliability.readers import PRIMARY, REPLICA, ConcurrentReaders, outage_cache
from secret_rotation_kit import SecretCache


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SwitchableEndpoint, str]]:
    """moto's server, a secret in us-east-1 replicated to us-west-2 (its ARN), and a switchable
    endpoint in front of moto for us-east-1. moto's backends outlive one server: a fresh name each."""
    monkeypatch.setenv("SECRET_ROTATION_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("SECRET_ROTATION_READ_TIMEOUT", "0.5")
    with quiet_function_telemetry(), local_aws() as moto_url:
        client = boto3.client("secretsmanager", region_name=PRIMARY)
        arn = client.create_secret(
            Name=f"app/dev/hmac_key/failover-{uuid.uuid4().hex[:8]}",
            SecretString=json.dumps({"key": "0a" * 32}),
            AddReplicaRegions=[{"Region": REPLICA, "KmsKeyId": "alias/app-dev-secrets"}],
        )["ARN"]
        port = int(moto_url.rsplit(":", 1)[1])
        with SwitchableEndpoint(port) as endpoint:
            yield arn, endpoint, moto_url


def _current(arn: str) -> str:
    value = boto3.client("secretsmanager", region_name=PRIMARY).get_secret_value(SecretId=arn)["SecretString"]
    return str(value)


def test_readers_keep_serving_through_a_refused_then_hung_endpoint_and_return_to_the_preferred_region(
    world: tuple[str, SwitchableEndpoint, str],
) -> None:
    arn, endpoint, moto_url = world
    # max_stale=0: past its ttl nothing is served from memory, so every read needs a Region to answer
    cache = outage_cache(endpoint.url, moto_url, retry_interval=0.3)
    answers = cache.stats.answers_by_region

    with ConcurrentReaders(cache, arn).running() as readers:
        wait_until(lambda: answers.get(PRIMARY, 0) >= 3, "reads from the preferred Region")

        endpoint.refuse()  # connections to us-east-1 refused
        before = answers.get(REPLICA, 0)
        assert RotationDriver(hmac_handler).rotate(arn).succeeded  # the rotation runs in the primary Region
        rotated = _current(arn)
        wait_until(lambda: answers.get(REPLICA, 0) >= before + 5, "reads from the replica while refused")
        wait_until(lambda: readers.last_value == rotated, "the rotated value, through the replica")

        endpoint.blackhole()  # us-east-1 accepts and never answers
        before = answers.get(REPLICA, 0)
        wait_until(lambda: answers.get(REPLICA, 0) >= before + 5, "reads from the replica while hung")

        endpoint.forward()  # us-east-1 recovers
        before = answers.get(PRIMARY, 0)
        wait_until(lambda: answers.get(PRIMARY, 0) >= before + 3, "reads back from the preferred Region")
        wait_until(lambda: cache.snapshot(arn).region == PRIMARY, "the preferred Region serving again")

    assert readers.failed == []
    assert readers.ok > 0
    assert cache.stats.failovers >= 10
    assert cache.stats.region_failures >= 2  # refused, then timed out
    assert readers.last_value == rotated


def test_a_cold_read_during_an_outage_of_the_preferred_region_is_answered_by_the_next(
    world: tuple[str, SwitchableEndpoint, str],
) -> None:
    arn, endpoint, moto_url = world
    endpoint.blackhole()
    cache = SecretCache(regions=[PRIMARY, REPLICA], endpoint_urls={PRIMARY: endpoint.url, REPLICA: moto_url})

    started = time.monotonic()
    value = cache.get(arn)
    waited = time.monotonic() - started

    assert value == _current(arn)
    assert cache.snapshot(arn).region == REPLICA
    assert cache.stats.region_failures == 1
    assert waited < 5  # bounded by the preferred Region's 0.5 s read timeout, one attempt


def _child_reads_through_new_clients(cache: SecretCache, secret_id: str, inherited: list[Any], results: Any) -> None:
    try:
        regions = cache._regions
        assert regions is not None
        rebuilt = all(region.client.client is not old for region, old in zip(regions.regions, inherited, strict=True))
        results.put(("ok", rebuilt, cache.get(secret_id, force_refresh=True)))
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(("error", False, f"{type(exc).__name__}: {exc}"))


def test_a_forked_child_reads_through_region_clients_of_its_own(world: tuple[str, SwitchableEndpoint, str]) -> None:
    import multiprocessing

    arn, endpoint, moto_url = world
    cache = SecretCache(regions=[PRIMARY, REPLICA], endpoint_urls={PRIMARY: endpoint.url, REPLICA: moto_url})
    cache.get(arn)  # the parent's clients now pool connections
    assert cache._regions is not None
    inherited = [region.client.client for region in cache._regions.regions]
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()

    child = fork.Process(target=_child_reads_through_new_clients, args=(cache, arn, inherited, results))
    child.start()
    child.join(30)

    assert child.exitcode == 0
    assert results.get(timeout=5) == ("ok", True, _current(arn))
