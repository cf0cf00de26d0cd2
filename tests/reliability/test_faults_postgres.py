"""Fault injection at every call point of both PostgreSQL rotations (Secrets Manager and
PostgreSQL calls), an error and a timeout at each, against a real server of RELIABILITY_MAJOR
(reliability/kinds/postgres.py says why one major is enough)."""

from __future__ import annotations

from typing import Any

import pytest

from reliability import run_every_fault
from reliability.kinds.postgres import RELIABILITY_MAJOR, PostgresHarness
from tests.plugins.leak_guard import LeakGuard
from tests.plugins.postgres_fixtures import PostgresFleet


@pytest.mark.parametrize("alternating", [True, False], ids=["alternating", "single"])
def test_a_fault_at_every_call_point_leaves_awscurrent_working_and_the_retry_converges(
    secretsmanager: Any, postgres_fleet: PostgresFleet, leak_guard: LeakGuard, alternating: bool
) -> None:
    server = postgres_fleet.server(RELIABILITY_MAJOR)
    leak_guard.watch_file(server.log_path)
    harness = PostgresHarness(server, alternating=alternating)

    run = run_every_fault(harness, secretsmanager, f"reliability/{harness.kind}")

    assert run.failures == {}
    assert any(point.startswith("postgres.") for point in run.plan.points)
    assert len(run.outcomes) == 2 * len(run.plan.points)
