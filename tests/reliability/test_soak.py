"""Short zero-downtime soak for every kind (the long one, >= 100 rotations each, is
`python -m bench reliability`): client threads keep reading AWSCURRENT and using it on the
real target while the secret rotates; not one request may fail.

PostgreSQL and Valkey are real servers; the ElastiCache control plane is emulated
(local_servers/elasticache.py) and applies its effect to a real Valkey node."""

from __future__ import annotations

from typing import Any

import pytest

from reliability import soak
from reliability.kinds.registry import HARNESSES
from tests.plugins.leak_guard import LeakGuard

ROTATIONS = 20


@pytest.mark.parametrize("kind", sorted(HARNESSES))
def test_clients_see_no_failure_while_the_secret_rotates_twenty_times(
    kind: str, secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    with HARNESSES[kind]() as harness:
        arn = harness.create_secret(secretsmanager, f"reliability/{kind}/soak")

        result = soak(harness, secretsmanager, arn, rotations=ROTATIONS, workers=2)

        for path in harness.log_paths():
            leak_guard.watch_file(path)
    assert result.rotations == ROTATIONS
    assert result.rotation_failures == 0
    assert result.requests > 0
    if harness.previous_stays_valid:
        assert (result.failures, dict(result.failure_reasons)) == (0, {})
    else:  # single-user PostgreSQL: between setSecret and finishSecret only AWSPENDING logs in (docs/postgres.md)
        assert set(result.failure_reasons) <= {"OperationalError"}  # rejected logins, nothing else
        assert result.failures < result.requests
