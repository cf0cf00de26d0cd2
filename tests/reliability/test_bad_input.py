"""The bad-input table: every malformed event, secret and configuration gets a named error,
and neither the secret nor the target changes.

Each row builds its bad input on a fresh, working HMAC secret with a rotation staged (an
empty AWSPENDING version), calls the function once, and checks the exact error type and
message, then that every version and stage of the secret is exactly as before.
Rows for server-backed kinds live beside their servers (tests/rotation/test_postgres_*.py,
tests/rotation/test_valkey_acl.py, tests/rotation/test_elasticache_*.py).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from lambdas.hmac_key.handler import lambda_handler
from lambdas.rotation import (
    ConfigurationError,
    InvalidEventError,
    InvalidSecretError,
    PendingSecretTestFailedError,
    PendingValueMissingError,
    RotationError,
    SecretsManagerError,
    UnknownStepError,
    VersionNotPendingError,
)
from local_rotation import RotationDriver, stage_empty_pending_version


@dataclass
class Setup:
    """A working secret with a rotation staged, and what a row may change before calling."""

    client: Any
    arn: str
    token: str
    monkeypatch: pytest.MonkeyPatch

    def event(self, step: str = "createSecret", **overrides: Any) -> dict[str, Any]:
        return {"SecretId": self.arn, "ClientRequestToken": self.token, "Step": step, **overrides}

    def put_pending(self, value: Any) -> None:
        self.client.put_secret_value(
            SecretId=self.arn,
            ClientRequestToken=self.token,
            SecretString=json.dumps(value),
            VersionStages=["AWSPENDING"],
        )

    def replace_current(self, secret_string: str) -> None:
        """Make AWSCURRENT hold ``secret_string`` (a malformed value written by hand)."""
        self.client.put_secret_value(SecretId=self.arn, SecretString=secret_string, VersionStages=["AWSCURRENT"])


@dataclass(frozen=True)
class Row:
    name: str
    build: Callable[[Setup], Any]
    error: type[Exception]
    message: str


def _without(key: str) -> Callable[[Setup], Any]:
    return lambda s: {k: v for k, v in s.event().items() if k != key}


def _malformed_current(secret_string: str) -> Callable[[Setup], Any]:
    def build(s: Setup) -> Any:
        s.replace_current(secret_string)
        return s.event()

    return build


def _env(name: str, value: str, step: str = "createSecret") -> Callable[[Setup], Any]:
    def build(s: Setup) -> Any:
        s.monkeypatch.setenv(name, value)
        return s.event(step)

    return build


def _pending_then(value: Any, step: str) -> Callable[[Setup], Any]:
    def build(s: Setup) -> Any:
        s.put_pending(value)
        return s.event(step)

    return build


def _previous_token(step: str) -> Callable[[Setup], Any]:
    def build(s: Setup) -> Any:
        old = s.client.get_secret_value(SecretId=s.arn)["VersionId"]
        RotationDriver(lambda_handler).rotate(s.arn)  # resumes the staged rotation: `old` becomes AWSPREVIOUS
        return s.event(step, ClientRequestToken=old)

    return build


def _labelled_token(s: Setup) -> Any:
    other = str(uuid.uuid4())
    s.client.put_secret_value(SecretId=s.arn, ClientRequestToken=other, SecretString="{}", VersionStages=["MYLABEL"])
    return s.event("setSecret", ClientRequestToken=other)


ROWS = [
    Row("event is a list", lambda s: [s.arn], InvalidEventError, "event must be a JSON object"),
    Row(
        "event is a JSON string",
        lambda s: "createSecret",
        InvalidEventError,
        "event must be a JSON object with SecretId, ClientRequestToken and Step, got str",
    ),
    Row("event is null", lambda s: None, InvalidEventError, "event must be a JSON object"),
    Row(
        "event without SecretId", _without("SecretId"), InvalidEventError, "event field 'SecretId' must be a non-empty"
    ),
    Row(
        "event without ClientRequestToken",
        _without("ClientRequestToken"),
        InvalidEventError,
        "event field 'ClientRequestToken' must be a non-empty string",
    ),
    Row("event without Step", _without("Step"), InvalidEventError, "event field 'Step' must be a non-empty string"),
    Row(
        "empty SecretId",
        lambda s: s.event(SecretId=""),
        InvalidEventError,
        "event field 'SecretId' must be a non-empty",
    ),
    Row("numeric Step", lambda s: s.event(Step=3), InvalidEventError, "event field 'Step' must be a non-empty string"),
    Row("unknown Step", lambda s: s.event("deleteSecret"), UnknownStepError, "unknown Step 'deleteSecret'"),
    Row("Step in wrong case", lambda s: s.event("CreateSecret"), UnknownStepError, "unknown Step 'CreateSecret'"),
    Row(
        "10 MB token",
        lambda s: s.event(ClientRequestToken="t" * 10 * 1024 * 1024),
        InvalidEventError,
        "event field 'ClientRequestToken' must be at most 64 characters, got 10485760",
    ),
    Row(
        "10 MB secret id",
        lambda s: s.event(SecretId="s" * 10 * 1024 * 1024),
        InvalidEventError,
        "event field 'SecretId' must be at most 2048 characters",
    ),
    Row(
        "unknown secret",
        lambda s: s.event(SecretId="app/dev/hmac/does-not-exist"),
        SecretsManagerError,
        "DescribeSecret on secret 'app/dev/hmac/does-not-exist' failed (ResourceNotFoundException",
    ),
    Row(
        "unknown token at createSecret",
        lambda s: s.event(ClientRequestToken=str(uuid.uuid4())),
        VersionNotPendingError,
        "is not staged AWSPENDING (no such version)",
    ),
    Row(
        "unknown token at finishSecret",
        lambda s: s.event("finishSecret", ClientRequestToken=str(uuid.uuid4())),
        VersionNotPendingError,
        "is not staged AWSPENDING (no such version)",
    ),
    Row(
        "token of AWSPREVIOUS at setSecret",
        _previous_token("setSecret"),
        VersionNotPendingError,
        "is not staged AWSPENDING (stages ['AWSPREVIOUS'])",
    ),
    Row(
        "token of AWSPREVIOUS at finishSecret",
        _previous_token("finishSecret"),
        VersionNotPendingError,
        "is not staged AWSPENDING (stages ['AWSPREVIOUS'])",
    ),
    Row("token with a custom label only", _labelled_token, VersionNotPendingError, "(stages ['MYLABEL'])"),
    Row(
        "testSecret before createSecret",
        lambda s: s.event("testSecret"),
        PendingValueMissingError,
        "has no value; expected createSecret to have run first",
    ),
    Row(
        "AWSCURRENT is not JSON",
        _malformed_current("key=abc"),
        InvalidSecretError,
        "(AWSCURRENT): value must be a JSON object, but is not valid JSON (line 1 column 1)",
    ),
    Row(
        "AWSCURRENT is a JSON list",
        _malformed_current('["key"]'),
        InvalidSecretError,
        "(AWSCURRENT): value must be a JSON object, got a JSON list",
    ),
    Row(
        "AWSCURRENT is JSON null",
        _malformed_current("null"),
        InvalidSecretError,
        "(AWSCURRENT): value must be a JSON object, got a JSON NoneType",
    ),
    Row(
        "HMAC_KEY_BYTES below 32",
        _env("HMAC_KEY_BYTES", "16"),
        ConfigurationError,
        "HMAC_KEY_BYTES must be >= 32 (256-bit keys), got 16",
    ),
    Row(
        "HMAC_KEY_BYTES negative",
        _env("HMAC_KEY_BYTES", "-64", "finishSecret"),
        ConfigurationError,
        "HMAC_KEY_BYTES must be >= 32 (256-bit keys), got -64",
    ),
    Row(
        "HMAC_KEY_BYTES not a number",
        _env("HMAC_KEY_BYTES", "lots", "setSecret"),
        ConfigurationError,
        "HMAC_KEY_BYTES must be an integer number of bytes >= 32, got 'lots'",
    ),
    Row(
        "HMAC_FIELDS names nothing",
        _env("HMAC_FIELDS", " ,, "),
        ConfigurationError,
        "HMAC_FIELDS must name at least one field (comma-separated), got none",
    ),
    Row(
        "pending key not hex",
        _pending_then({"key": "g" * 64}, "testSecret"),
        PendingSecretTestFailedError,
        "field 'key' must be 64 lowercase hex characters (32 bytes)",
    ),
    Row(
        "pending key too short",
        _pending_then({"key": "ab" * 8}, "testSecret"),
        PendingSecretTestFailedError,
        "field 'key' must be 64 lowercase hex characters (32 bytes)",
    ),
    Row(
        "pending key wrong type",
        _pending_then({"key": 42}, "testSecret"),
        PendingSecretTestFailedError,
        "field 'key' must be 64 lowercase hex characters (32 bytes)",
    ),
    Row(
        "pending value is a list",
        _pending_then(["key"], "testSecret"),
        InvalidSecretError,
        "(AWSPENDING): value must be a JSON object, got a JSON list",
    ),
]


def _snapshot(client: Any, arn: str) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """Every version: its stages and its value (None for the staged, empty version)."""
    snapshot = {}
    for version in client.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]:
        try:
            value = client.get_secret_value(SecretId=arn, VersionId=version["VersionId"]).get("SecretString")
        except client.exceptions.ResourceNotFoundException:
            value = None
        snapshot[version["VersionId"]] = (tuple(sorted(version.get("VersionStages", []))), value)
    return snapshot


@pytest.fixture
def setup(secretsmanager: Any, monkeypatch: pytest.MonkeyPatch) -> Setup:
    arn = secretsmanager.create_secret(
        Name="app/dev/hmac/bad-input", SecretString=json.dumps({"key": "12" * 32, "note": "kept-as-is"})
    )["ARN"]
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    return Setup(client=secretsmanager, arn=arn, token=token, monkeypatch=monkeypatch)


def test_the_table_has_at_least_thirty_rows_with_distinct_names() -> None:
    assert len(ROWS) >= 30
    assert len({row.name for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_bad_input_is_rejected_by_name_and_changes_nothing(setup: Setup, row: Row) -> None:
    event = row.build(setup)
    before = _snapshot(setup.client, setup.arn)

    with pytest.raises(row.error, match=re.escape(row.message)) as caught:
        lambda_handler(event, None)

    assert isinstance(caught.value, RotationError)
    assert _snapshot(setup.client, setup.arn) == before


def test_concurrent_rotations_of_one_secret_converge_on_one_new_version(setup: Setup) -> None:
    """Two operators start `rotate-secret` at once on a secret whose rotation is in progress:
    each reattempts it (same token) and every step is idempotent. One of them may only look
    after the other has finished; it then starts the next rotation, as the service would.
    Either way every rotation completes and the labels stay consistent."""
    before = setup.client.get_secret_value(SecretId=setup.arn)["VersionId"]
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def rotate() -> None:
        barrier.wait(timeout=10)
        reports.append(RotationDriver(lambda_handler).rotate(setup.arn, raise_on_failure=False))

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    stages = setup.client.describe_secret(SecretId=setup.arn)["VersionIdsToStages"]
    current = [version for version, labels in stages.items() if "AWSCURRENT" in labels]
    tokens = {report.token for report in reports}
    assert len(reports) == 2
    assert all(report.succeeded for report in reports)
    assert setup.token in tokens
    if tokens == {setup.token}:  # both reattempted the rotation in progress
        assert current == [setup.token]
        assert stages[before] == ["AWSPREVIOUS"]
    else:  # the later one found it finished and rotated again
        (later,) = tokens - {setup.token}
        assert current == [later]
        assert stages[setup.token] == ["AWSPREVIOUS"]
    assert not [version for version, labels in stages.items() if labels == ["AWSPENDING"]]
