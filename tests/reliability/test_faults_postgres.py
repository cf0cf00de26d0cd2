"""Fault injection at every call point of both PostgreSQL rotations (Secrets Manager and
PostgreSQL calls), an error and a timeout at each, against a real server."""

from __future__ import annotations

from typing import Any

import pytest

from local_servers.postgres import PostgresServer
from reliability import run_every_fault
from reliability.kinds.postgres import PostgresHarness
from tests.plugins.leak_guard import LeakGuard


@pytest.mark.parametrize("alternating", [True, False], ids=["alternating", "single"])
def test_a_fault_at_every_call_point_leaves_awscurrent_working_and_the_retry_converges(
    secretsmanager: Any, postgres_server: PostgresServer, leak_guard: LeakGuard, alternating: bool
) -> None:
    leak_guard.watch_file(postgres_server.log_path)
    harness = PostgresHarness(postgres_server, alternating=alternating)

    run = run_every_fault(harness, secretsmanager, f"reliability/{harness.kind}")

    assert run.failures == {}
    assert any(point.startswith("postgres.") for point in run.plan.points)
    assert len(run.outcomes) == 2 * len(run.plan.points)
