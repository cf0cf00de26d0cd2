"""When Secrets Manager is slow, hung, failing or says the secret is gone (issue 15, defects
1, 5 and 6): readers holding a servable value never wait, the default client's timeouts are
bounded, one failure answers every waiter, failures back off, staleness is bounded exactly,
a deleted secret is an error at once, and a value written into an empty AWSPENDING is seen at
the next version check.

Real concurrency: threads and barriers; the hung Secrets Manager is a loopback listener that
accepts and never answers (tests/client/hung.py); the rest is the counted fake or moto.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import stage_empty_pending_version
from secret_rotation_kit import (
    SecretCache,
    SecretDeletedError,
    SecretFormatError,
    SecretNotFoundError,
    SecretUnavailableError,
)
from tests.client.fakes import FIRST, NAME, SECOND, FakeClock, FakeSecretsManager, client_error
from tests.client.hung import HungListener, SwitchableClient
from tests.conftest import SecretFactory

READERS = 16


def readers_at_once(count: int, read: Any) -> tuple[list[Any], list[threading.Thread]]:
    """Start ``count`` threads that pass a barrier together and read once each."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    lock = threading.Lock()

    def reader() -> None:
        barrier.wait()
        try:
            outcome: Any = read()
        except Exception as exc:  # the outcome under test
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return results, threads


# --- defect 1: readers wait on Secrets Manager although they hold a good value ----------------------------


def test_readers_with_a_valid_value_return_it_at_once_while_one_thread_waits_on_a_hung_secrets_manager(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    client = SwitchableClient(fake)
    cache = SecretCache(client, ttl=300, version_check_interval=30, clock=clock)
    assert cache.get(NAME) == FIRST
    with HungListener() as hung:
        client.current = hung.client()
        clock.advance(31)  # a version check is due; the value is valid for another 269 s

        results, threads = readers_at_once(READERS, lambda: cache.get(NAME))
        assert hung.accepted.wait(timeout=30)  # the one refresh is now stuck in the hung call
        for thread in threads:
            thread.join(timeout=30)

        assert not any(thread.is_alive() for thread in threads)  # every reader is back...
        assert not cache.wait_for_refreshes(timeout=0)  # ...while the check still hangs
        assert results == [FIRST] * READERS
        assert hung.connection_count == 1
    assert cache.wait_for_refreshes(timeout=30)  # closing the listener ends the call: a failure
    assert cache.stats.stale_serves == 1
    assert cache.get(NAME) == FIRST


def test_the_default_client_has_timeouts_of_seconds_not_botocores_60(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = SecretCache()
    config = cache._client.client.meta.config

    assert config.connect_timeout <= 5
    assert config.read_timeout <= 10
    # SECRET_ROTATION_MAX_ATTEMPTS counts every attempt (botocore's max_attempts counts retries only)
    assert config.retries["total_max_attempts"] == 2
    monkeypatch.setenv("SECRET_ROTATION_READ_TIMEOUT", "1.5")
    monkeypatch.setenv("SECRET_ROTATION_MAX_ATTEMPTS", "1")
    configured = SecretCache()._client.client.meta.config
    assert (configured.read_timeout, configured.retries["total_max_attempts"]) == (1.5, 1)


def test_the_default_client_gives_up_on_a_hung_secrets_manager_within_its_read_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with HungListener() as hung:
        monkeypatch.setenv("AWS_ENDPOINT_URL", hung.endpoint)
        monkeypatch.setenv("SECRET_ROTATION_READ_TIMEOUT", "0.5")
        monkeypatch.setenv("SECRET_ROTATION_MAX_ATTEMPTS", "1")
        cache = SecretCache()

        with pytest.raises(SecretUnavailableError, match=r"GetSecretValue on secret 'app/x': Secrets Manager unreach"):
            cache.get("app/x")


def test_one_failed_read_answers_every_cold_reader_waiting_for_it(fake: FakeSecretsManager, clock: FakeClock) -> None:
    """8 cold threads: one call, held open until the test has seen it start, then failing."""
    fake.gate = threading.Event()
    fake.failure = client_error("InternalServiceError", "GetSecretValue")
    cache = SecretCache(fake, retry_interval=5, clock=clock)

    results, threads = readers_at_once(8, lambda: cache.get(NAME))
    assert fake.call_started.wait(timeout=30)
    fake.gate.set()
    for thread in threads:
        thread.join(timeout=30)

    assert fake.calls.total() == 1
    assert len(results) == 8
    assert all(isinstance(outcome, SecretUnavailableError) for outcome in results)
    assert {str(outcome) for outcome in results} == {
        "GetSecretValue on secret 'app/test/fake' failed with InternalServiceError"
    }


def test_after_the_stale_window_failures_back_off_instead_of_calling_on_every_read(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = SecretCache(fake, ttl=300, version_check_interval=30, max_stale=60, retry_interval=5, clock=clock)
    cache.get(NAME)
    fake.failure = client_error("ThrottlingException", "GetSecretValue")
    clock.advance(361)  # past ttl + max_stale: nothing servable
    fake.calls.clear()

    outcomes = []
    for _ in range(100):
        with pytest.raises(SecretUnavailableError) as caught:
            cache.get(NAME)
        outcomes.append(str(caught.value))
    calls_for_100_reads = fake.calls.total()
    clock.advance(5)  # the first backoff (retry_interval) has passed: one more try
    with pytest.raises(SecretUnavailableError):
        cache.get(NAME)
    clock.advance(5)  # the second backoff is twice as long: no call yet
    with pytest.raises(SecretUnavailableError):
        cache.get(NAME)

    assert calls_for_100_reads == 1
    assert fake.calls.total() == 2
    assert set(outcomes) == {"GetSecretValue on secret 'app/test/fake' failed with ThrottlingException"}
    assert cache.stats.failures == 2


def test_a_failing_version_check_is_retried_after_the_backoff_not_on_every_read(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = SecretCache(fake, ttl=300, version_check_interval=30, retry_interval=5, clock=clock)
    cache.get(NAME)
    fake.failure = client_error("InternalServiceError", "DescribeSecret")
    clock.advance(31)
    cache.get(NAME)
    assert cache.wait_for_refreshes()
    fake.calls.clear()

    served = [cache.get(NAME) for _ in range(100)]

    assert served == [FIRST] * 100
    assert fake.calls.total() == 0


# --- defect 5: stale and deleted values ---------------------------------------------------------------


def test_max_stale_zero_serves_nothing_past_the_ttl_even_after_successful_version_checks(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    """ttl 900: version checks confirm the labels every 30 s up to 870 s, then Secrets Manager
    fails. The value expires 900 s after the read that fetched it, not after the last check."""
    cache = SecretCache(fake, ttl=900, version_check_interval=30, max_stale=0, clock=clock)
    cache.get(NAME)
    for _ in range(29):
        clock.advance(30)
        assert cache.get(NAME) == FIRST
        assert cache.wait_for_refreshes()
    fake.failure = client_error("InternalServiceError", "GetSecretValue")

    clock.advance(31)  # 901 s after the read
    with pytest.raises(SecretUnavailableError):
        cache.get(NAME)
    assert cache.stats.stale_serves == 0


def test_a_value_is_served_at_most_max_stale_past_its_ttl_counted_from_the_read(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = SecretCache(fake, ttl=300, version_check_interval=30, max_stale=100, retry_interval=1, clock=clock)
    cache.get(NAME)
    for _ in range(9):  # version checks confirm it up to 270 s
        clock.advance(30)
        cache.get(NAME)
        assert cache.wait_for_refreshes()
    fake.failure = client_error("InternalServiceError", "GetSecretValue")

    clock.advance(129)  # 399 s after the read: still within ttl + max_stale
    served = cache.get(NAME)
    assert cache.wait_for_refreshes()
    clock.advance(2)  # 401 s

    assert served == FIRST
    with pytest.raises(SecretUnavailableError):
        cache.get(NAME)


def test_a_secret_scheduled_for_deletion_is_an_error_at_the_next_check_and_its_value_is_dropped(
    secretsmanager: Any, create_secret: SecretFactory, clock: FakeClock
) -> None:
    arn = create_secret("app/test/cache/deleted", {"key": "e5" * 32})
    cache = SecretCache(secretsmanager, ttl=900, version_check_interval=30, max_stale=900, clock=clock)
    cache.get(arn)
    secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)

    clock.advance(31)
    cache.get(arn)  # the check runs in the background; this read still had a valid value
    assert cache.wait_for_refreshes()

    with pytest.raises(SecretDeletedError, match=r"is scheduled for deletion \(DescribeSecret shows DeletedDate\)"):
        cache.get(arn)
    with pytest.raises(SecretNotFoundError):  # SecretDeletedError is a SecretNotFoundError
        cache.snapshot(arn)


def test_reading_a_secret_scheduled_for_deletion_raises_secret_deleted_from_get_secret_value(
    secretsmanager: Any, create_secret: SecretFactory
) -> None:
    arn = create_secret("app/test/cache/deleted-cold", {"key": "e6" * 32})
    secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)

    with pytest.raises(SecretDeletedError, match=r"GetSecretValue: InvalidRequestException"):
        SecretCache(secretsmanager).get(arn)


def test_a_binary_secret_is_a_format_error_naming_it_and_no_region_is_blamed(secretsmanager: Any) -> None:
    """GetSecretValue returns SecretString or SecretBinary, whichever holds content (AWS's
    GetSecretValue page); a replica holds the primary's value. moto replicates the binary value."""
    created = secretsmanager.create_secret(
        Name="app/test/cache/binary", SecretBinary=b"\x00\x01binary", AddReplicaRegions=[{"Region": "us-west-2"}]
    )
    regions = {name: boto3.client("secretsmanager", region_name=name) for name in ("us-east-1", "us-west-2")}
    cache = SecretCache(clients=regions)

    with pytest.raises(SecretFormatError, match=r"secret 'app/test/cache/binary' version \S+ holds a SecretBinary"):
        cache.get("app/test/cache/binary")
    assert cache.stats.region_failures == 0  # not an outage of us-east-1
    assert cache.stats.upstream_calls == 2  # DescribeSecret + GetSecretValue in us-east-1; us-west-2 not asked
    with pytest.raises(SecretFormatError, match="holds a SecretBinary"):
        SecretCache(secretsmanager).get(created["ARN"])


def test_a_secret_deleted_for_good_is_an_error_at_once_not_a_stale_serve(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = SecretCache(fake, ttl=300, version_check_interval=30, max_stale=900, clock=clock)
    cache.get(NAME)
    fake.name = "app/test/gone"  # the secret no longer answers to its name: ResourceNotFoundException

    clock.advance(31)
    cache.get(NAME)
    assert cache.wait_for_refreshes()

    with pytest.raises(SecretNotFoundError, match="was not found"):
        cache.get(NAME)
    assert cache.stats.stale_serves == 0


# --- defect 6: a new AWSPENDING value is seen only after ttl ----------------------------------------------


def test_a_value_written_into_the_empty_awspending_version_is_seen_at_the_next_version_check(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    pending = fake.put(None, "AWSPENDING")  # RotateSecret staged an empty version
    cache = SecretCache(fake, ttl=900, version_check_interval=30, clock=clock)
    cache.watch(NAME)
    assert not cache.snapshot(NAME).has("AWSPENDING")
    fake.values[pending] = SECOND  # createSecret writes into that version: no label moves

    clock.advance(31)
    cache.snapshot(NAME)
    assert cache.wait_for_refreshes()

    assert cache.get(NAME, "AWSPENDING") == SECOND


def test_with_moto_create_secret_of_a_real_rotation_is_seen_before_the_ttl(
    secretsmanager: Any, create_secret: SecretFactory, clock: FakeClock
) -> None:
    arn = create_secret("app/test/cache/pending", {"key": "f7" * 32})
    token = "0b0b0b0b-1111-2222-3333-444444444444"
    stage_empty_pending_version(arn, token)
    cache = SecretCache(secretsmanager, ttl=900, version_check_interval=30, clock=clock)
    cache.watch(arn)
    assert not cache.snapshot(arn).has("AWSPENDING")
    hmac_handler({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}, None)

    clock.advance(31)
    cache.snapshot(arn)
    assert cache.wait_for_refreshes()

    pending = cache.snapshot(arn)
    assert pending.version_id("AWSPENDING") == token
    assert json.loads(pending.value("AWSPENDING"))["key"] != "f7" * 32


# --- per-call options ----------------------------------------------------------------------------------


def test_max_age_makes_one_call_wait_for_a_confirmation_and_force_refresh_reads_now(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = SecretCache(fake, ttl=900, version_check_interval=300, clock=clock)
    cache.get(NAME)
    fake.rotate(SECOND)
    clock.advance(10)

    relaxed = cache.get(NAME)  # fresh for 300 s: no call
    strict = cache.get(NAME, max_age=5)  # confirmed 10 s ago: waits for a check, which sees the rotation
    fake.rotate(FIRST)
    forced = cache.get(NAME, force_refresh=True)

    assert (relaxed, strict, forced) == (FIRST, SECOND, FIRST)
    assert fake.calls == {"GetSecretValue": 3, "DescribeSecret": 1}


def test_transform_json_returns_the_parsed_object_and_an_unknown_transform_is_refused(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = SecretCache(fake, clock=clock)

    assert cache.get(NAME, transform="json")["key"] == "a1" * 32
    with pytest.raises(ValueError, match=r"transform must be None or 'json', got 'yaml'"):
        cache.get(NAME, transform="yaml")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_ROTATION_TTL", "ten", r"SECRET_ROTATION_TTL must be a number of seconds >= 0, got 'ten'"),
        ("SECRET_ROTATION_MAX_STALE", "-1", r"SECRET_ROTATION_MAX_STALE must be a number of seconds >= 0"),
        ("SECRET_ROTATION_MAX_ATTEMPTS", "0", r"SECRET_ROTATION_MAX_ATTEMPTS must be a whole number >= 1"),
    ],
)
def test_settings_come_from_the_environment_and_a_bad_one_names_the_variable(
    fake: FakeSecretsManager, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("SECRET_ROTATION_TTL", "120")
    assert SecretCache(fake).settings.ttl == 120
    assert SecretCache(fake, ttl=60).settings.ttl == 60  # an argument wins

    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        SecretCache(fake)
    assert fake.calls.total() == 0
