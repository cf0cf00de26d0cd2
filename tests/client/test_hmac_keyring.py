"""HMAC keyring: sign with AWSCURRENT, accept AWSCURRENT/AWSPREVIOUS/AWSPENDING in constant
time, key ids that make verification try one key, the X-Signature webhook helper, and a
keyring that follows rotations through the cache (AWS APIs: moto; rotations: the real function)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from lambdas.hmac_key.handler import lambda_handler as hmac_handler
from local_rotation import RotationDriver
from secret_rotation_kit import (
    HmacKeyring,
    InvalidSignatureError,
    RotatingHmacKeyring,
    SecretCache,
    SecretFormatError,
    SecretNotFoundError,
    SignatureFormatError,
    SignatureMissingError,
    key_id,
    signature_headers,
    verify_webhook,
)
from tests.client.app_loop import serve_through_rotations
from tests.client.fakes import FakeClock
from tests.conftest import SecretFactory

BODY = b'{"event":"invoice.paid","id":"in_42"}'
CURRENT, PREVIOUS, PENDING, STRANGER = (bytes([n]) * 32 for n in (1, 2, 3, 4))


def signed(key: bytes, body: bytes = BODY) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


@pytest.fixture
def keyring() -> HmacKeyring:
    return HmacKeyring(keys=(CURRENT, PREVIOUS, PENDING))


def test_sign_uses_awscurrent_and_produces_the_x_signature_hex(keyring: HmacKeyring) -> None:
    assert keyring.sign(BODY) == signed(CURRENT)


@pytest.mark.parametrize("key", [CURRENT, PREVIOUS, PENDING], ids=["current", "previous", "pending"])
def test_verify_accepts_a_signature_by_any_staged_key(keyring: HmacKeyring, key: bytes) -> None:
    keyring.verify(BODY, signed(key))


def test_verify_rejects_a_signature_by_a_key_that_is_not_staged(keyring: HmacKeyring) -> None:
    with pytest.raises(InvalidSignatureError, match="does not match any accepted key"):
        keyring.verify(BODY, signed(STRANGER))


def test_verify_rejects_a_signature_of_another_body(keyring: HmacKeyring) -> None:
    with pytest.raises(InvalidSignatureError):
        keyring.verify(b"tampered", keyring.sign(BODY))


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The first argument of every ``hmac.compare_digest`` call (the digest under a key)."""
    seen: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        seen.append(a)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    return seen


def test_without_key_id_every_key_is_compared_in_constant_time_even_when_the_first_matches(
    keyring: HmacKeyring, compared: list[bytes]
) -> None:
    keyring.verify(BODY, signed(CURRENT))

    assert len(compared) == 3


def test_with_a_key_id_verification_compares_against_that_one_key_only(
    keyring: HmacKeyring, compared: list[bytes]
) -> None:
    signature = HmacKeyring(keys=(PREVIOUS,)).sign(BODY, with_key_id=True)

    keyring.verify(BODY, signature)

    assert compared == [hmac.digest(PREVIOUS, BODY, "sha256")]


def test_a_key_id_signature_is_the_key_id_colon_hex_digest(keyring: HmacKeyring) -> None:
    signature = keyring.sign(BODY, with_key_id=True)

    assert signature == f"{key_id(CURRENT)}:{signed(CURRENT)}"
    assert keyring.key_ids == (key_id(CURRENT), key_id(PREVIOUS), key_id(PENDING))


def test_a_key_id_of_a_key_that_is_not_staged_is_rejected(keyring: HmacKeyring) -> None:
    forged = HmacKeyring(keys=(STRANGER,)).sign(BODY, with_key_id=True)

    with pytest.raises(InvalidSignatureError, match="does not match the key it names"):
        keyring.verify(BODY, forged)


def test_a_right_digest_under_a_wrong_key_id_is_rejected(keyring: HmacKeyring) -> None:
    with pytest.raises(InvalidSignatureError):
        keyring.verify(BODY, f"{key_id(PREVIOUS)}:{signed(CURRENT)}")


@pytest.mark.parametrize(
    "signature",
    [
        "ab" * 31,  # too short
        "ab" * 33,  # too long
        "zz" * 32,  # not hex
        "",
        "1234567:" + "ab" * 32,  # key id of the wrong length
        "ghijklmn:" + "ab" * 32,  # key id not hex
    ],
    ids=["short", "long", "not-hex", "empty", "short-key-id", "non-hex-key-id"],
)
def test_a_malformed_signature_raises_a_format_error_saying_what_is_expected(
    keyring: HmacKeyring, signature: str
) -> None:
    with pytest.raises(SignatureFormatError, match=r"^signature must be 64 hex characters \(HMAC-SHA256\)"):
        keyring.verify(BODY, signature)


def test_a_signature_that_is_not_a_string_raises_a_format_error_naming_the_type(keyring: HmacKeyring) -> None:
    with pytest.raises(SignatureFormatError, match="signature must be a string, got bytes"):
        keyring.verify(BODY, b"ab" * 32)  # type: ignore[arg-type]


def test_an_empty_keyring_is_refused() -> None:
    with pytest.raises(SecretFormatError, match="needs at least one key"):
        HmacKeyring(keys=())


# --- webhook helper ----------------------------------------------------------------------------------------


def test_webhook_headers_round_trip_and_header_names_match_case_insensitively(keyring: HmacKeyring) -> None:
    headers = signature_headers(keyring, BODY)

    assert headers == {"X-Signature": signed(CURRENT)}
    verify_webhook(keyring, BODY, {"x-signature": headers["X-Signature"]})


def test_webhook_accepts_a_sha256_prefixed_value_signed_with_the_previous_key(keyring: HmacKeyring) -> None:
    verify_webhook(keyring, BODY, {"X-Signature": "sha256=" + signed(PREVIOUS)})


def test_webhook_without_the_header_raises_signature_missing_naming_the_header(keyring: HmacKeyring) -> None:
    with pytest.raises(SignatureMissingError, match="request has no X-Signature header"):
        verify_webhook(keyring, BODY, {"Content-Type": "application/json"})


def test_webhook_with_a_wrong_signature_is_rejected(keyring: HmacKeyring) -> None:
    with pytest.raises(InvalidSignatureError):
        verify_webhook(keyring, BODY, {"X-Signature": signed(STRANGER)})


# --- from Secrets Manager (moto) ---------------------------------------------------------------------------


def test_from_secrets_manager_reads_every_stage_after_a_rotation(
    secretsmanager: Any, create_secret: SecretFactory
) -> None:
    arn = create_secret("app/test/hmac/ring", {"key": "11" * 32})
    RotationDriver(hmac_handler).rotate(arn)

    keyring = HmacKeyring.from_secrets_manager(secretsmanager, arn)

    assert len(keyring.keys) == 2
    assert keyring.keys[1] == bytes.fromhex("11" * 32)


def test_from_secrets_manager_of_an_unknown_secret_raises_secret_not_found(secretsmanager: Any) -> None:
    with pytest.raises(SecretNotFoundError, match="'app/test/none' was not found"):
        HmacKeyring.from_secrets_manager(secretsmanager, "app/test/none")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("definitely-not-json-value", r"must be a JSON object, but is not valid JSON \(line 1 column 1\)"),
        (json.dumps({"issuer": "billing"}), r"field 'key' must be a non-empty string, but is missing"),
        (json.dumps({"key": "not-hex-at-all-but-long"}), r"field 'key' must be an even number of hex characters"),
    ],
    ids=["not-json", "missing-field", "not-hex"],
)
def test_from_secrets_manager_with_a_malformed_secret_raises_a_format_error_without_the_value(
    secretsmanager: Any, value: str, message: str
) -> None:
    secretsmanager.create_secret(Name="app/test/hmac/bad", SecretString=value)

    with pytest.raises(SecretFormatError, match=message) as caught:
        HmacKeyring.from_secrets_manager(secretsmanager, "app/test/hmac/bad")

    assert value not in str(caught.value)


# --- rotating keyring (through the cache) -----------------------------------------------------------------


def test_rotating_keyring_keeps_accepting_the_previous_key_and_drops_keys_two_rotations_back(
    secretsmanager: Any, create_secret: SecretFactory
) -> None:
    arn = create_secret("app/test/hmac/rotating", {"key": "21" * 32})
    clock = FakeClock()
    cache = SecretCache(secretsmanager, version_check_interval=10, clock=clock)
    ring = RotatingHmacKeyring(cache, arn)
    driver = RotationDriver(hmac_handler)
    signatures = [ring.sign(BODY)]

    for _ in range(3):
        driver.rotate(arn)
        clock.advance(11)
        ring.keyring()  # due for a check: it runs in the background
        assert cache.wait_for_refreshes()
        signatures.append(ring.sign(BODY))
        ring.verify(BODY, signatures[-1])
        ring.verify(BODY, signatures[-2])

    assert len(set(signatures)) == 4
    with pytest.raises(InvalidSignatureError):
        ring.verify(BODY, signatures[-3])


def test_rotating_keyring_refreshes_once_when_a_sender_names_a_key_it_has_not_seen(
    secretsmanager: Any, create_secret: SecretFactory
) -> None:
    arn = create_secret("app/test/hmac/kid", {"key": "31" * 32})
    cache = SecretCache(secretsmanager, clock=FakeClock())
    receiver = RotatingHmacKeyring(cache, arn)
    receiver.sign(BODY)
    RotationDriver(hmac_handler).rotate(arn)
    sender = HmacKeyring.from_secrets_manager(secretsmanager, arn)  # the sender already has the new key
    reads_before = cache.stats.full_reads

    receiver.verify(BODY, sender.sign(BODY, with_key_id=True))
    with pytest.raises(InvalidSignatureError):  # a forged key id right after: no second refresh
        receiver.verify(BODY, HmacKeyring(keys=(STRANGER,)).sign(BODY, with_key_id=True))

    assert cache.stats.full_reads == reads_before + 1


def test_a_refresh_by_another_thread_after_this_one_read_its_keys_is_shared_not_repeated(
    secretsmanager: Any, create_secret: SecretFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread A reads its keys, thread B refreshes for the new key, then A's verification
    fails on its (older) keys: A must join B's refresh, not make a second call."""
    arn = create_secret("app/test/hmac/race", {"key": "51" * 32})
    cache = SecretCache(secretsmanager, clock=FakeClock())
    receiver = RotatingHmacKeyring(cache, arn, refresh_interval=0)
    before = cache.snapshot(arn)  # what A read first
    RotationDriver(hmac_handler).rotate(arn)
    signature = HmacKeyring.from_secrets_manager(secretsmanager, arn).sign(BODY, with_key_id=True)
    cache.refresh(arn, seen=before)  # B's refresh for the new key lands before A's verification fails
    refreshed = cache.stats.forced_refreshes
    reads = iter([before])
    original = cache.snapshot
    monkeypatch.setattr(cache, "snapshot", lambda secret_id: next(reads, None) or original(secret_id))

    receiver.verify(BODY, signature)

    assert cache.stats.forced_refreshes == refreshed


def test_an_app_loop_verifying_webhooks_keeps_serving_through_20_rotations(
    secretsmanager: Any, create_secret: SecretFactory
) -> None:
    """The sender signs every request with the AWSCURRENT it reads at that moment (naming
    its key); the receiver's cache never refreshes on its own, so only the key id makes it
    notice a rotation: one refresh per new key, never a rejected request."""
    arn = create_secret("app/test/hmac/loop", {"key": "41" * 32})
    cache = SecretCache(secretsmanager, ttl=10**6, version_check_interval=10**6)
    receiver = RotatingHmacKeyring(cache, arn, refresh_interval=0)
    driver = RotationDriver(hmac_handler)

    def request() -> None:
        sender = HmacKeyring.from_secrets_manager(secretsmanager, arn)
        verify_webhook(receiver, BODY, signature_headers(sender, BODY, with_key_id=True))

    result = serve_through_rotations(request, lambda: driver.rotate(arn), 20)

    assert result.failures == []
    assert 0 < cache.stats.forced_refreshes <= 20


# --- issue 15, defect 4: the keyring must not fail closed -------------------------------------------------


def _snapshot_with(pending: str) -> Any:
    from secret_rotation_kit import SecretSnapshot

    return SecretSnapshot(
        secret_id="app/test/hmac/bad-pending",
        arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:app/test/hmac/bad-pending-AbCdEf",
        labels={"AWSCURRENT": "v2", "AWSPREVIOUS": "v1", "AWSPENDING": "v3"},
        strings={
            "AWSCURRENT": json.dumps({"key": CURRENT.hex()}),
            "AWSPREVIOUS": json.dumps({"key": PREVIOUS.hex()}),
            "AWSPENDING": pending,
        },
        fetched_at=0.0,
    )


@pytest.mark.parametrize(
    "pending",
    ["not json at all", json.dumps({"other": "field"}), json.dumps({"key": "zz-not-hex"}), json.dumps({"key": 7})],
    ids=["not-json", "field-missing", "not-hex", "not-a-string"],
)
def test_a_malformed_non_current_stage_is_skipped_and_awscurrent_still_signs_and_verifies(
    pending: str, caplog: pytest.LogCaptureFixture
) -> None:
    keyring = HmacKeyring.from_snapshot(_snapshot_with(pending))

    assert keyring.sign(BODY) == signed(CURRENT)
    keyring.verify(BODY, signed(CURRENT))
    keyring.verify(BODY, signed(PREVIOUS))
    assert keyring.keys == (CURRENT, PREVIOUS)
    assert "AWSPENDING is not accepted for verification" in caplog.text


def test_a_malformed_awscurrent_still_raises_naming_the_stage_and_field() -> None:
    from secret_rotation_kit import SecretSnapshot

    broken = SecretSnapshot("app/x", "arn:x", {"AWSCURRENT": "v1"}, {"AWSCURRENT": json.dumps({"key": "zz"})}, 0.0)

    with pytest.raises(SecretFormatError, match=r"at AWSCURRENT: field 'key' must be an even number of hex"):
        HmacKeyring.from_snapshot(broken)


def test_a_forged_key_id_during_a_secrets_manager_outage_is_rejected_not_an_error(
    secretsmanager: Any, create_secret: SecretFactory
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from tests.client.hung import SwitchableClient

    arn = create_secret("app/test/hmac/outage", {"key": "41" * 32})
    client = SwitchableClient(secretsmanager)
    receiver = RotatingHmacKeyring(SecretCache(client, clock=FakeClock()), arn)
    genuine = receiver.sign(BODY, with_key_id=True)

    class Down:
        def get_secret_value(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

        describe_secret = get_secret_value

    client.current = Down()

    with pytest.raises(InvalidSignatureError, match="names a key id that is not accepted"):
        receiver.verify(BODY, HmacKeyring(keys=(STRANGER,)).sign(BODY, with_key_id=True))
    receiver.verify(BODY, genuine)  # the known key keeps working through the outage


@pytest.mark.parametrize("scheme", ["sha256=", "SHA256=", "Sha256="])
def test_webhook_header_schemes_are_compared_case_insensitively(keyring: HmacKeyring, scheme: str) -> None:
    verify_webhook(keyring, BODY, {"X-Signature": scheme + signed(CURRENT)})
