"""The order in which credentials are tried after a rejection (secret_rotation_kit.attempts)."""

from __future__ import annotations

import json
from typing import Any

from secret_rotation_kit import SecretSnapshot
from secret_rotation_kit.attempts import credential_attempts

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/test/attempts-AbCdEf"


def _snapshot(labels: dict[str, str], values: dict[str, str]) -> SecretSnapshot:
    return SecretSnapshot(
        secret_id=ARN, arn=ARN, labels=labels,
        strings={stage: json.dumps({"password": values[version]}) for stage, version in labels.items()
                 if version in values},
        fetched_at=0.0,
    )  # fmt: skip


class ScriptedCache:
    """Answers ``snapshot`` with the first snapshot and each ``refresh`` with the next one."""

    def __init__(self, *snapshots: SecretSnapshot) -> None:
        self._snapshots = list(snapshots)
        self.refreshes = 0

    def snapshot(self, secret_id: str) -> SecretSnapshot:
        return self._snapshots[0]

    def refresh(self, secret_id: str, *, seen: SecretSnapshot | None = None) -> SecretSnapshot:
        self.refreshes += 1
        return self._snapshots[min(self.refreshes, len(self._snapshots) - 1)]


def _password(snapshot: SecretSnapshot, stage: str) -> Any:
    return json.loads(snapshot.value(stage))["password"]


def test_when_the_rotation_moves_on_during_the_attempts_one_more_refresh_brings_the_new_value() -> None:
    """The refresh saw AWSPENDING staged but still empty (createSecret had not written it);
    by the time AWSCURRENT and AWSPREVIOUS were rejected, setSecret had changed the password."""
    values = {"v0": "zero", "v1": "one", "v2": "two"}
    before = _snapshot({"AWSCURRENT": "v1", "AWSPREVIOUS": "v0"}, values)
    empty_pending = _snapshot(
        {"AWSCURRENT": "v1", "AWSPREVIOUS": "v0", "AWSPENDING": "v2"}, {"v0": "zero", "v1": "one"}
    )
    written = _snapshot({"AWSCURRENT": "v1", "AWSPREVIOUS": "v0", "AWSPENDING": "v2"}, values)
    cache = ScriptedCache(before, empty_pending, written)

    tried = [password for _, password in credential_attempts(cache, ARN, _password)]

    assert tried == ["one", "zero", "two"]  # each version once, the new one after a second refresh
    assert cache.refreshes == 2


def test_when_nothing_moved_all_rejected_costs_one_refresh_more_and_tries_nothing_twice() -> None:
    values = {"v0": "zero", "v1": "one"}
    snapshot = _snapshot({"AWSCURRENT": "v1", "AWSPREVIOUS": "v0"}, values)
    cache = ScriptedCache(snapshot, snapshot)

    tried = [password for _, password in credential_attempts(cache, ARN, _password)]

    assert tried == ["one", "zero"]
    assert cache.refreshes == 2
