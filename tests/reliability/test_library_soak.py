"""The soak through the consumer library (issue 15, defect 7 and "Load"), short versions of
what ``python -m bench reliability`` runs with 100 rotations each.

- Single-user PostgreSQL: client threads making new logins through the library see 0 failed
  requests while the secret rotates back to back (raw clients reading AWSCURRENT see logins
  fail between setSecret and finishSecret, test_soak.py); the bench runs every kind this way.
- Load: client threads on pools in this process and forked worker processes (the cache warm
  before the fork), Secrets Manager over loopback HTTP, 0 failed requests.

Real PostgreSQL and Valkey; the ElastiCache control plane emulated on a real Valkey node.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from local_rotation.server import local_aws
from reliability.kinds.registry import HARNESSES
from reliability.load import load_soak
from reliability.soak import library_soak
from tests.plugins.leak_guard import LeakGuard

ROTATIONS = 20
LOAD_ROTATIONS = 3


def test_through_the_library_no_single_user_postgres_request_fails_while_the_secret_rotates_twenty_times(
    secretsmanager: Any, leak_guard: LeakGuard
) -> None:
    kind = "postgres_single"
    with HARNESSES[kind]() as harness:
        arn = harness.create_secret(secretsmanager, f"reliability/{kind}/library-soak")

        result = library_soak(harness, secretsmanager, arn, rotations=ROTATIONS, workers=2)

        for path in harness.log_paths():
            leak_guard.watch_file(path)
    assert (result.rotations, result.rotation_failures) == (ROTATIONS, 0)
    assert result.requests > ROTATIONS
    assert (result.failures, dict(result.failure_reasons)) == (0, {})


@pytest.mark.parametrize("kind", sorted(HARNESSES))
def test_pooled_threads_and_forked_workers_see_no_failure_while_the_secret_rotates(
    kind: str, leak_guard: LeakGuard
) -> None:
    with local_aws(), HARNESSES[kind]() as harness:
        client = boto3.client("secretsmanager")
        arn = harness.create_secret(client, f"reliability/{kind}/load")

        result = load_soak(harness, client, arn, rotations=LOAD_ROTATIONS, threads=8, processes=2,
                           threads_per_process=2)  # fmt: skip

        for path in harness.log_paths():
            leak_guard.watch_file(path)
    assert (result.rotations, result.rotation_failures) == (LOAD_ROTATIONS, 0)
    assert result.requests > result.clients
    assert (result.failures, dict(result.failure_reasons)) == (0, {})
