"""Fault injection at every call point of the Valkey ACL rotation (two real nodes) and the
ElastiCache user and AUTH token rotations (API emulated, nodes real): an error and a timeout at each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from local_servers.elasticache import ElastiCacheEmulation
from local_servers.valkey import ValkeyServer
from reliability import KindHarness, run_every_fault
from reliability.kinds.valkey import ElastiCacheAuthTokenHarness, ElastiCacheUserHarness, ValkeyAclHarness
from tests.plugins.leak_guard import LeakGuard


def _all_cases_pass(harness: KindHarness, client: Any) -> tuple[dict[str, list[str]], int, tuple[str, ...]]:
    run = run_every_fault(harness, client, f"reliability/{harness.kind}")
    return run.failures, len(run.outcomes), run.plan.points


def test_valkey_acl_survives_a_fault_at_every_call_point(
    secretsmanager: Any, valkey_nodes: tuple[ValkeyServer, ValkeyServer], leak_guard: LeakGuard
) -> None:
    for node in valkey_nodes:
        leak_guard.watch_file(node.log_path)

    failures, cases, points = _all_cases_pass(ValkeyAclHarness(valkey_nodes), secretsmanager)

    assert failures == {}
    assert cases == 2 * len(points)
    assert any(point.startswith("valkey.") for point in points)


def test_elasticache_user_survives_a_fault_at_every_call_point(
    secretsmanager: Any, emulation: ElastiCacheEmulation, elasticache_node: ValkeyServer, leak_guard: LeakGuard
) -> None:
    leak_guard.watch_file(elasticache_node.log_path)

    failures, cases, points = _all_cases_pass(ElastiCacheUserHarness(elasticache_node, emulation), secretsmanager)

    assert failures == {}
    assert any(point.startswith("elasticache.") for point in points)
    assert cases == 2 * len(points)


@pytest.fixture
def auth_token_harness(emulation: ElastiCacheEmulation) -> Iterator[ElastiCacheAuthTokenHarness]:
    """One real node per secret, all stopped after the test (their logs are read first)."""
    with ExitStack() as servers:
        yield ElastiCacheAuthTokenHarness(emulation, servers)


def test_elasticache_auth_token_survives_a_fault_at_every_call_point(
    secretsmanager: Any, auth_token_harness: ElastiCacheAuthTokenHarness, leak_guard: LeakGuard
) -> None:
    failures, cases, points = _all_cases_pass(auth_token_harness, secretsmanager)

    for node in auth_token_harness.servers:
        leak_guard.watch_file(node.log_path)
    assert failures == {}
    assert any(point.startswith("elasticache.") for point in points)
    assert cases == 2 * len(points)
