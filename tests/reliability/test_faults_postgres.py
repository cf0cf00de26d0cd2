"""Fault injection at every call point of both PostgreSQL rotations (Secrets Manager and
PostgreSQL calls), an error and a timeout at each, against a real server."""

from __future__ import annotations

from typing import Any

import pytest

from local_servers.postgres import PostgresServer
from reliability import record_call_points, run_fault_case
from reliability.kinds.postgres import PostgresHarness
from tests.plugins.leak_guard import LeakGuard


@pytest.mark.parametrize("alternating", [True, False], ids=["alternating", "single"])
def test_a_fault_at_every_call_point_leaves_awscurrent_working_and_the_retry_converges(
    secretsmanager: Any, postgres_server: PostgresServer, leak_guard: LeakGuard, alternating: bool
) -> None:
    leak_guard.watch_file(postgres_server.log_path)
    harness = PostgresHarness(postgres_server, alternating=alternating)
    arn = harness.create_secret(secretsmanager, f"reliability/postgres/{harness.kind}")
    plan = record_call_points(harness, secretsmanager, arn)

    outcomes = [
        run_fault_case(
            harness,
            secretsmanager,
            harness.create_secret(secretsmanager, f"reliability/{harness.kind}/{point}/{occurrence}/{mode}"),
            point,
            occurrence,
            mode,
        )
        for point, occurrence in plan.occurrences()
        for mode in ("error", "timeout")
    ]

    failures = {f"{o.point}#{o.occurrence}/{o.mode}": o.problems for o in outcomes if not o.passed}
    assert failures == {}
    assert any(point.startswith("postgres.") for point in plan.points)
    assert len(outcomes) == 2 * len(plan.points)
