"""Failover between Regions, with one counted fake Secrets Manager per Region and a hand-moved
clock: the preferred Region first, the next one when it fails, back when its backoff ends; a
replica never serves a version older than the AWSPREVIOUS of the newest version seen; single
flight across Regions; settings from arguments and the environment, errors naming them.
Real HTTP, replicas and outages of a loopback endpoint are in ``test_failover_outage.py``."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from secret_rotation_kit import SecretCache, SecretNotFoundError, SecretUnavailableError
from tests.client.fakes import FIRST, NAME, SECOND, FakeClock, FakeSecretsManager, client_error

PRIMARY, REPLICA = "us-east-1", "us-west-2"
THIRD = json.dumps({"key": "c3" * 32})
FOURTH = json.dumps({"key": "d4" * 32})


class RegionalFake(FakeSecretsManager):
    """A fake of one Region: a replica answers with ``PrimaryRegion`` set to the primary's Region."""

    def __init__(self, region: str, primary: str = PRIMARY) -> None:
        super().__init__(NAME, FIRST)
        self.region, self.primary = region, primary

    def describe_secret(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter names
        described = super().describe_secret(SecretId)
        if self.region != self.primary:
            described["PrimaryRegion"] = self.primary
        return described

    def replicate_from(self, source: FakeSecretsManager) -> None:
        """What asynchronous replication eventually does: the same versions and labels."""
        self.values, self.labels = dict(source.values), dict(source.labels)


@pytest.fixture
def regions() -> tuple[RegionalFake, RegionalFake]:
    primary, replica = RegionalFake(PRIMARY), RegionalFake(REPLICA)
    replica.replicate_from(primary)
    return primary, replica


def _cache(regions: tuple[RegionalFake, RegionalFake], clock: FakeClock, **options: Any) -> SecretCache:
    primary, replica = regions
    settings = {"ttl": 60, "version_check_interval": 10, "max_stale": 600, "retry_interval": 5, **options}
    return SecretCache(clients={PRIMARY: primary, REPLICA: replica}, clock=clock, **settings)


def refreshed(cache: SecretCache) -> str:
    """Read once (an expired but servable value is served at once and refreshed in the background),
    wait for that refresh, and read again."""
    cache.get(NAME)
    assert cache.wait_for_refreshes()
    return cache.get(NAME)


def unreachable() -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url=f"https://secretsmanager.{PRIMARY}.amazonaws.com/")


def test_reads_fail_over_to_the_next_region_and_return_to_the_preferred_after_its_backoff(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    primary, replica = regions
    cache = _cache(regions, clock)
    assert cache.get(NAME) == FIRST
    primary.failure = unreachable()
    version = primary.rotate(SECOND)
    replica.replicate_from(primary)

    with caplog.at_level(logging.WARNING, logger="secret_rotation_kit"):
        clock.advance(61)  # expired: a full read, from the replica since the primary fails
        assert refreshed(cache) == SECOND
    assert cache.snapshot(NAME).region == REPLICA
    assert cache.snapshot(NAME).version_id() == version
    assert (cache.stats.failovers, cache.stats.region_failures) == (1, 1)
    assert "Secrets Manager in us-east-1 failed, skipping it for 5 s" in caplog.text
    assert "read from us-west-2 instead" in caplog.text

    clock.advance(3)  # the primary is still backing off: the replica answers first, no call to it
    calls = primary.calls.total()
    assert cache.get(NAME, force_refresh=True) == SECOND
    assert primary.calls.total() == calls

    primary.failure = None
    clock.advance(3)  # backoff over: the preferred Region is asked first again
    with caplog.at_level(logging.INFO, logger="secret_rotation_kit"):
        assert cache.get(NAME, force_refresh=True) == SECOND
    assert cache.snapshot(NAME).region == PRIMARY
    assert "back to the preferred Region us-east-1" in caplog.text
    assert cache.stats.answers_by_region[PRIMARY] >= 2


def test_a_replica_older_than_the_awsprevious_of_the_newest_version_seen_is_refused(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    primary, _ = regions  # the replica stops replicating at FIRST
    cache = _cache(regions, clock)
    cache.get(NAME)
    primary.rotate(SECOND)
    newest = primary.rotate(THIRD)  # AWSPREVIOUS is now SECOND; the replica still serves FIRST
    clock.advance(11)
    assert cache.get(NAME, force_refresh=True) == THIRD
    primary.failure = unreachable()

    clock.advance(61)  # expired: the primary fails, the replica's answer is too old
    assert refreshed(cache) == THIRD  # the last good value, within max_stale
    assert cache.stats.replica_answers_refused == 1
    assert cache.snapshot(NAME).version_id() == newest

    clock.advance(600)  # past max_stale: nothing acceptable anywhere
    with pytest.raises(SecretUnavailableError, match=r"us-west-2: .*older than the AWSPREVIOUS of the newest version"):
        cache.get(NAME)


def test_a_replica_one_rotation_behind_serves_only_when_nothing_newer_may_be_served(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    primary, _ = regions
    cache = _cache(regions, clock, max_stale=30)
    cache.get(NAME)
    primary.rotate(SECOND)  # the replica lags one rotation: its AWSCURRENT is the primary's AWSPREVIOUS
    clock.advance(11)
    assert cache.get(NAME, force_refresh=True) == SECOND
    primary.failure = unreachable()

    clock.advance(61)  # expired but servable: the newer value held beats the replica's
    assert refreshed(cache) == SECOND

    clock.advance(200)  # past max_stale: the replica's AWSPREVIOUS still works, and is served
    assert cache.get(NAME) == FIRST
    assert cache.snapshot(NAME).region == REPLICA


def test_a_replica_one_rotation_ahead_is_served(regions: tuple[RegionalFake, RegionalFake], clock: FakeClock) -> None:
    primary, replica = regions
    cache = _cache(regions, clock)
    cache.get(NAME)
    primary.failure = unreachable()
    primary.rotate(SECOND)
    replica.replicate_from(primary)

    clock.advance(61)

    assert refreshed(cache) == SECOND
    assert cache.snapshot(NAME).region == REPLICA


def test_a_replica_whose_versions_cannot_be_told_from_older_ones_is_refused(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    primary, replica = regions
    cache = _cache(regions, clock)
    cache.get(NAME)
    primary.failure = unreachable()
    replica.rotate(THIRD)
    replica.rotate(FOURTH)  # two versions this process never saw: newer or older, nobody can tell

    clock.advance(61)

    assert refreshed(cache) == FIRST  # the value held, within max_stale
    assert cache.stats.replica_answers_refused == 1


def test_a_rejected_credential_that_the_preferred_replica_still_serves_is_refreshed_from_the_primary(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    primary, replica = regions  # a reader in the replica's Region prefers it; it stopped replicating
    cache = SecretCache(clients={REPLICA: replica, PRIMARY: primary}, clock=clock)
    seen = cache.snapshot(NAME)
    primary.rotate(SECOND)
    newest = primary.rotate(THIRD)  # the target now rejects FIRST (two rotations old)

    with caplog.at_level(logging.WARNING, logger="secret_rotation_kit"):
        refreshed_snapshot = cache.refresh(NAME, seen=seen)  # what a client does after the rejection

    assert refreshed_snapshot.value() == THIRD
    assert (refreshed_snapshot.region, refreshed_snapshot.version_id()) == (PRIMARY, newest)
    assert "the primary us-east-1 already" in caplog.text
    replica.replicate_from(primary)
    clock.advance(11)
    assert cache.get(NAME, force_refresh=True) == THIRD  # the replica caught up: back to it
    assert cache.snapshot(NAME).region == REPLICA


def test_a_cold_cache_waits_for_one_call_per_region_whatever_the_readers(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    primary, replica = regions
    primary.failure = unreachable()
    cache = _cache(regions, clock)
    barrier = threading.Barrier(8)
    values: list[str] = []

    def read() -> None:
        barrier.wait()
        values.append(cache.get(NAME))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert values == [FIRST] * 8
    assert primary.calls["DescribeSecret"] == 1  # single flight: one failed call to the primary
    assert replica.calls["DescribeSecret"] == 1


def test_every_region_failing_is_one_error_naming_each_region(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    primary, replica = regions
    primary.failure = unreachable()
    replica.failure = client_error("InternalServiceError", "DescribeSecret")
    cache = _cache(regions, clock)

    with pytest.raises(SecretUnavailableError) as raised:
        cache.get(NAME)

    assert "us-east-1: DescribeSecret on secret" in str(raised.value)
    assert "us-west-2: DescribeSecret on secret" in str(raised.value)
    assert "InternalServiceError" in str(raised.value)


def test_a_secret_missing_in_every_region_is_not_found(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    with pytest.raises(SecretNotFoundError, match="every Region failed"):
        _cache(regions, clock).get("app/test/nope")


@pytest.mark.parametrize(
    ("code", "backs_off"),
    [
        ("AccessDeniedException", False),  # a policy missing in one Region: the next may allow it
        ("DecryptionFailure", True),  # that Region's KMS key: a replica is encrypted with its own
        ("ThrottlingException", True),  # quotas are per Region
    ],
)
def test_which_failures_of_the_preferred_region_are_answered_by_the_next(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock, code: str, backs_off: bool
) -> None:
    primary, _ = regions
    primary.failure = client_error(code, "DescribeSecret")
    cache = _cache(regions, clock)

    assert cache.get(NAME) == FIRST
    assert cache.snapshot(NAME).region == REPLICA
    assert cache.stats.region_failures == int(backs_off)


def test_a_region_without_the_replica_is_not_found_there_and_the_next_region_answers(aws: None) -> None:
    """moto: a Region where the secret was never replicated (or the replica was removed) answers
    ResourceNotFoundException; that is not "deleted", and the next Region serves the secret."""
    boto3.client("secretsmanager", region_name=PRIMARY).create_secret(Name=NAME, SecretString=FIRST)
    clients = {name: boto3.client("secretsmanager", region_name=name) for name in (REPLICA, PRIMARY)}
    cache = SecretCache(clients=clients, regions=[REPLICA, PRIMARY])

    assert cache.get(NAME) == FIRST
    assert cache.snapshot(NAME).region == PRIMARY
    assert (cache.stats.failovers, cache.stats.region_failures) == (1, 0)


def test_an_arn_is_asked_in_each_region_with_that_regions_arn(clock: FakeClock) -> None:
    asked: list[tuple[str, str]] = []

    class Recorder:
        def __init__(self, region: str) -> None:
            self.region = region

        def describe_secret(self, SecretId: str) -> dict[str, Any]:  # noqa: N803
            asked.append((self.region, SecretId))
            if self.region == PRIMARY:
                raise unreachable()
            return {"ARN": SecretId, "Name": "app/x", "PrimaryRegion": PRIMARY,
                    "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}  # fmt: skip

        def get_secret_value(self, SecretId: str, VersionId: str) -> dict[str, Any]:  # noqa: N803
            return {"ARN": SecretId, "Name": "app/x", "VersionId": VersionId, "SecretString": FIRST}

    arn = f"arn:aws:secretsmanager:{PRIMARY}:123456789012:secret:app/x-AbCdEf"
    cache = SecretCache(clients={PRIMARY: Recorder(PRIMARY), REPLICA: Recorder(REPLICA)}, clock=clock)

    assert cache.get(arn) == FIRST
    assert asked == [(PRIMARY, arn), (REPLICA, arn.replace(PRIMARY, REPLICA))]


def test_regions_and_endpoints_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_ROTATION_REGIONS", " us-west-2 , us-east-1 ")
    monkeypatch.setenv("SECRET_ROTATION_ENDPOINT_URLS", "us-east-1=http://127.0.0.1:9")

    cache = SecretCache()

    assert repr(cache).endswith("regions=us-west-2>us-east-1)")
    clients = [region.client.client for region in cache._regions.regions]  # type: ignore[union-attr]
    assert [client.meta.region_name for client in clients] == ["us-west-2", "us-east-1"]
    assert clients[1].meta.endpoint_url == "http://127.0.0.1:9"
    assert clients[0].meta.endpoint_url == "https://secretsmanager.us-west-2.amazonaws.com"
    # the next Region is the retry: one attempt per Region, and the library's short timeouts
    assert clients[0].meta.config.retries["total_max_attempts"] == 1
    assert clients[0].meta.config.read_timeout == 5


@pytest.mark.parametrize(
    ("variables", "arguments", "message"),
    [
        ({"SECRET_ROTATION_REGIONS": "us-east-1,us-east-1"}, {}, "SECRET_ROTATION_REGIONS lists us-east-1 twice"),
        ({"SECRET_ROTATION_REGIONS": "us-east-1,Europe"}, {}, "SECRET_ROTATION_REGIONS: 'Europe' is not a Region"),
        ({"SECRET_ROTATION_REGIONS": "us-east-1,us-west-2", "SECRET_ROTATION_ENDPOINT_URLS": "eu-west-1=http://x"},
         {}, "SECRET_ROTATION_ENDPOINT_URLS names 'eu-west-1', which is not one of the regions"),
        ({"SECRET_ROTATION_REGIONS": "us-east-1,us-west-2", "SECRET_ROTATION_ENDPOINT_URLS": "us-east-1"},
         {}, "SECRET_ROTATION_ENDPOINT_URLS: 'us-east-1' is not <region>=<url>"),
        ({}, {"regions": "us-east-1"}, "regions must be a list of Region names, got the string 'us-east-1'"),
        ({}, {"regions": ["us-east-1", "us-west-2"], "endpoint_urls": {"us-west-2": "ftp://x"}},
         "endpoint_urls: the endpoint of us-west-2 must be an http(s) URL"),
        ({}, {"client": object(), "regions": ["us-east-1"]}, "give client= (one Region) or regions= / clients="),
        ({}, {"clients": {"us-east-1": object()}, "regions": ["us-east-1", "us-west-2"]},
         "clients has no client for region(s) us-west-2"),
    ],
)  # fmt: skip
def test_bad_region_settings_are_refused_naming_them(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], arguments: dict[str, Any], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=re_escape(message)):
        SecretCache(**arguments)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_repr_of_the_cache_and_of_a_snapshot_name_regions_never_values(
    regions: tuple[RegionalFake, RegionalFake], clock: FakeClock
) -> None:
    cache = _cache(regions, clock)
    snapshot = cache.snapshot(NAME)

    assert "region=us-east-1" in repr(snapshot)
    assert "a1" * 32 not in repr(snapshot) + repr(cache)
