"""SecretCache: lock-free reads, single-flight refresh, refresh ahead, early refresh after a
rotation, stale-on-error with an exact bound, deleted secrets, consistent stage snapshots,
and clear errors on bad input.

Most tests use a counted fake Secrets Manager (tests/client/fakes.py) and a hand-moved
clock, so "how many calls" and "when" are exact; the moto tests check the same behaviour
against the emulated API the library meets in the demo.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import RotationDriver
from secret_rotation_kit import (
    AwsCredentialsError,
    SecretCache,
    SecretFormatError,
    SecretNotFoundError,
    SecretUnavailableError,
)
from tests.client.fakes import FIRST, NAME, SECOND, FakeClock, FakeSecretsManager, client_error
from tests.conftest import SecretFactory, stage_value


def make_cache(fake: FakeSecretsManager, clock: FakeClock, **options: Any) -> SecretCache:
    settings: dict[str, Any] = {"ttl": 300, "version_check_interval": 30, "max_stale": 600, "retry_interval": 5}
    settings.update(options)
    return SecretCache(fake, clock=clock, **settings)


def test_fresh_reads_are_served_from_memory_without_calls_and_without_copies(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = make_cache(fake, clock)
    first = cache.get(NAME)

    later = [cache.get(NAME) for _ in range(1000)]

    assert fake.calls.total() == 1
    assert all(value is first for value in later)


def test_64_threads_finding_an_entry_expired_make_exactly_one_upstream_call(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    """All 64 readers pass the (lock-free) freshness check and find the entry expired (with
    max_stale=0 nothing is servable past the ttl) before the first refresh may finish: the fake
    holds the read open until the clock has been read by every reader. Single flight means 63
    of them wait for that one read."""
    cache = make_cache(fake, clock, max_stale=0)
    cache.get(NAME)
    fake.rotate(SECOND)
    clock.advance(301)  # past ttl: a full read is due
    fake.calls.clear()
    readers = 64
    reads_before = clock.reads
    # every reader reads the clock once on the lock-free path; the refreshing one twice more
    fake.hold_reads_until = lambda: clock.reads - reads_before >= readers + 1
    barrier = threading.Barrier(readers)
    results: list[str] = []

    def reader() -> None:
        barrier.wait()
        results.append(cache.get(NAME))

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert fake.calls == {"GetSecretValue": 1}
    assert results == [SECOND] * readers


def test_a_rotation_is_picked_up_at_the_next_version_check_before_the_ttl(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = make_cache(fake, clock)
    assert cache.get(NAME) == FIRST
    fake.rotate(SECOND)

    clock.advance(31)  # past the version check interval, far before the ttl
    at_once = cache.get(NAME)  # still valid: served at once while one thread checks
    assert cache.wait_for_refreshes()
    value = cache.get(NAME)

    assert at_once == FIRST
    assert value == SECOND
    assert fake.calls == {"GetSecretValue": 2, "DescribeSecret": 1}
    assert (cache.stats.version_checks, cache.stats.full_reads) == (1, 2)


def test_an_unchanged_secret_costs_one_describe_per_check_interval_and_no_read(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = make_cache(fake, clock)
    cache.get(NAME)

    for _ in range(5):
        clock.advance(31)
        assert cache.get(NAME) == FIRST
        assert cache.wait_for_refreshes()

    assert fake.calls == {"GetSecretValue": 1, "DescribeSecret": 5}


def test_a_failed_refresh_serves_the_last_good_value_logs_why_and_retries_later(
    fake: FakeSecretsManager, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache(fake, clock)
    cache.get(NAME)
    fake.failure = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    clock.advance(301)

    with caplog.at_level(logging.WARNING, logger="secret_rotation_kit"):
        served = cache.get(NAME)
        assert cache.wait_for_refreshes()
    calls_after_failure = fake.calls.total()
    clock.advance(2)  # within retry_interval: no new attempt
    again = cache.get(NAME)

    assert served == FIRST
    assert again == FIRST
    assert fake.calls.total() == calls_after_failure
    assert cache.stats.stale_serves == 1
    assert "serving the last good value" in caplog.text
    assert NAME in caplog.text
    assert "unreachable" in caplog.text
    assert json.loads(FIRST)["key"] not in caplog.text


def test_a_stale_value_is_served_for_at_most_max_stale_past_its_expiry_then_reads_raise(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = make_cache(fake, clock, max_stale=60)
    cache.get(NAME)
    fake.failure = client_error("InternalServiceError", "GetSecretValue")
    clock.advance(300 + 59)
    assert cache.get(NAME) == FIRST
    assert cache.wait_for_refreshes()

    clock.advance(2)  # now past ttl + max_stale since the value was read
    with pytest.raises(SecretUnavailableError, match=r"GetSecretValue on secret 'app/test/fake' failed"):
        cache.get(NAME)


def test_recovery_after_an_outage_returns_the_new_value(fake: FakeSecretsManager, clock: FakeClock) -> None:
    cache = make_cache(fake, clock)
    cache.get(NAME)
    fake.failure = client_error("ThrottlingException", "DescribeSecret")
    clock.advance(31)
    assert cache.get(NAME) == FIRST
    assert cache.wait_for_refreshes()
    fake.failure = None
    fake.rotate(SECOND)

    clock.advance(6)  # past retry_interval
    cache.get(NAME)
    assert cache.wait_for_refreshes()

    assert cache.get(NAME) == SECOND


def test_watched_stages_come_from_one_describe_and_match_its_labels_even_if_a_rotation_moves_them(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    """The labels are read once (DescribeSecret) and each value by version id: a rotation
    finishing between the two reads cannot mix stages of different instants."""
    fake.rotate(SECOND)
    cache = make_cache(fake, clock)
    cache.watch(NAME)
    fake.between_describe_and_read = lambda: fake.rotate(json.dumps({"key": "c3" * 32}))

    snapshot = cache.snapshot(NAME)

    assert snapshot.value("AWSCURRENT") == SECOND
    assert snapshot.value("AWSPREVIOUS") == FIRST
    assert not snapshot.has("AWSPENDING")


def test_a_pending_version_without_value_is_labelled_but_not_served(fake: FakeSecretsManager, clock: FakeClock) -> None:
    pending = fake.put(None, "AWSPENDING")  # what createSecret finds: the service staged an empty version
    cache = make_cache(fake, clock)
    cache.watch(NAME)

    snapshot = cache.snapshot(NAME)

    assert snapshot.version_id("AWSPENDING") == pending
    assert not snapshot.has("AWSPENDING")
    with pytest.raises(SecretNotFoundError, match="has no value at stage AWSPENDING"):
        snapshot.value("AWSPENDING")


def test_a_forced_refresh_by_threads_that_saw_the_same_snapshot_calls_upstream_once(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = make_cache(fake, clock)
    seen = cache.snapshot(NAME)
    fake.rotate(SECOND)
    fake.calls.clear()

    results = [cache.refresh(NAME, seen=seen) for _ in range(10)]

    assert fake.calls.total() == 1
    assert all(result.value() == SECOND for result in results)


def test_a_refresh_after_a_rejection_never_returns_a_background_read_that_began_before_it(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    """A background refresh reads the labels, then a rotation lands, then a login with the
    old value is rejected: the forced refresh must read again, not hand back the background
    read (which lacks the new value). Seen as rare CredentialsRejectedError and rejected
    webhook signatures in the loops of test_postgres_client and test_hmac_keyring."""
    cache = make_cache(fake, clock)
    cache.watch(NAME)  # every stage, as the credential providers and keyrings watch them
    seen = cache.snapshot(NAME)
    clock.advance(301)  # past the ttl, still servable: the next read refreshes in the background
    has_old_labels, release = threading.Event(), threading.Event()

    def hold_the_background_read() -> None:
        fake.between_describe_and_read = None
        has_old_labels.set()
        assert release.wait(timeout=30)

    fake.between_describe_and_read = hold_the_background_read
    assert cache.snapshot(NAME) is seen  # served at once; the background read starts
    assert has_old_labels.wait(timeout=30)
    fake.rotate(SECOND)
    results: list[Any] = []
    asking = threading.Thread(target=lambda: results.append(cache.refresh(NAME, seen=seen)))
    asking.start()
    release.set()
    asking.join(timeout=30)

    assert [result.value() for result in results] == [SECOND]


def test_get_of_a_previous_stage_watches_it_on_request(fake: FakeSecretsManager, clock: FakeClock) -> None:
    fake.rotate(SECOND)
    cache = make_cache(fake, clock)

    assert cache.get(NAME, "AWSPREVIOUS") == FIRST
    assert cache.get(NAME) == SECOND


# --- bad input -------------------------------------------------------------------------------------------


def test_an_unknown_secret_raises_secret_not_found_naming_it_and_the_failure_is_remembered_only_for_the_backoff(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    cache = make_cache(fake, clock)

    with pytest.raises(SecretNotFoundError, match=r"secret 'app/test/missing' was not found"):
        cache.get("app/test/missing")
    with pytest.raises(SecretNotFoundError):
        cache.get("app/test/missing")  # within retry_interval: the remembered failure answers
    calls_within_backoff = fake.calls.total()
    clock.advance(6)
    with pytest.raises(SecretNotFoundError):
        cache.get("app/test/missing")

    assert calls_within_backoff == 1
    assert fake.calls == {"GetSecretValue": 2}  # a failure is never cached as a value


def test_a_non_json_secret_read_as_json_names_the_secret_and_position_but_not_the_value(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    fake.rotate("not-json-but-a-long-secret-value")
    cache = make_cache(fake, clock)

    with pytest.raises(SecretFormatError) as caught:
        cache.snapshot(NAME).json()

    assert str(caught.value) == (
        "secret 'app/test/fake' at AWSCURRENT must be a JSON object, but is not valid JSON (line 1 column 1)"
    )
    assert cache.get(NAME) == "not-json-but-a-long-secret-value"  # the raw string stays readable


def test_a_missing_or_mistyped_field_names_the_field_and_the_type_found(
    fake: FakeSecretsManager, clock: FakeClock
) -> None:
    fake.rotate(json.dumps({"key": 42}))
    snapshot = make_cache(fake, clock).snapshot(NAME)

    with pytest.raises(SecretFormatError, match=r"field 'password' must be a non-empty string, but is missing"):
        snapshot.field("password")
    with pytest.raises(SecretFormatError, match=r"field 'key' must be a non-empty string, but is a int"):
        snapshot.field("key")


def test_expired_aws_credentials_raise_a_credentials_error_naming_the_api(secretsmanager: Any) -> None:
    """Stubber stands in for AWS's answer to an expired session token (moto accepts any token)."""
    stubber = Stubber(secretsmanager)
    stubber.add_client_error(
        "get_secret_value",
        service_error_code="ExpiredTokenException",
        service_message="The security token has expired.",
    )
    with stubber:
        cache = SecretCache(secretsmanager)
        with pytest.raises(AwsCredentialsError, match=r"GetSecretValue on secret 'app/x' \(ExpiredTokenException\)"):
            cache.get("app/x")


def test_a_kms_denial_names_kms_decrypt_not_a_secrets_manager_permission(secretsmanager: Any) -> None:
    """Stubber stands in for AWS's answer when the caller lacks kms:Decrypt on the secret's key
    (AccessDeniedException "Access to KMS is not allowed"; moto enforces no key policy)."""
    stubber = Stubber(secretsmanager)
    stubber.add_client_error(
        "get_secret_value", service_error_code="AccessDeniedException", service_message="Access to KMS is not allowed"
    )
    with stubber, pytest.raises(AwsCredentialsError) as raised:
        SecretCache(secretsmanager).get("app/x")

    assert "grant kms:Decrypt on the secret's KMS key (AWS: Access to KMS is not allowed)" in str(raised.value)
    assert "secretsmanager:GetSecretValue" not in str(raised.value)


def test_missing_aws_credentials_raise_a_credentials_error_saying_how_to_provide_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached: signing fails first
    cache = SecretCache(boto3.session.Session().client("secretsmanager"))  # credentials resolved afresh

    with pytest.raises(AwsCredentialsError, match=r"no AWS credentials to read secret 'app/x': set AWS_PROFILE"):
        cache.get("app/x")


@pytest.mark.parametrize("option", ["ttl", "version_check_interval", "max_stale", "retry_interval"])
def test_a_negative_interval_is_rejected_naming_the_option(fake: FakeSecretsManager, option: str) -> None:
    with pytest.raises(ValueError, match=rf"^{option} must be a number of seconds >= 0, got int -1$"):
        SecretCache(fake, **{option: -1})  # type: ignore[arg-type]
    assert fake.calls.total() == 0


def test_an_unknown_stage_is_rejected_naming_the_accepted_ones(fake: FakeSecretsManager, clock: FakeClock) -> None:
    cache = make_cache(fake, clock)

    with pytest.raises(ValueError, match=r"stages must be among AWSCURRENT, AWSPREVIOUS, AWSPENDING, got AWSCURENT"):
        cache.watch(NAME, ["AWSCURENT"])
    assert fake.calls.total() == 0


# --- against moto, with real rotations ---------------------------------------------------------------------


def test_with_moto_a_snapshot_follows_real_rotations_at_the_version_check(
    secretsmanager: Any, create_secret: SecretFactory, clock: FakeClock
) -> None:
    arn = create_secret("app/test/cache/hmac", {"key": "d4" * 32})
    cache = SecretCache(secretsmanager, ttl=300, version_check_interval=30, clock=clock)
    cache.watch(arn)
    before = cache.snapshot(arn)

    RotationDriver(hmac_handler).rotate(arn)
    unchanged = cache.snapshot(arn)
    clock.advance(31)
    cache.snapshot(arn)  # due for a check: served at once, checked in the background
    assert cache.wait_for_refreshes()
    after = cache.snapshot(arn)

    assert unchanged is before
    assert after.json()["key"] == stage_value(secretsmanager, arn, "AWSCURRENT")["key"]
    assert after.json("AWSPREVIOUS")["key"] == before.json()["key"]
    assert after.version_id("AWSPREVIOUS") == before.version_id()
