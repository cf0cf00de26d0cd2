"""Fault injection at every external call point a rotation makes.

The points are not hand-listed: a clean rotation is run with a recorder on the core's call
ledger, which sees every AWS API call (through ``aws_client``) and every server operation
(``record_call`` in the targets). Each occurrence of each point is then failed once, with an
error and separately with a timeout, and the service-style retry must converge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lambdas.rotation import LEDGER
from local_rotation import RotationDriver

from .harness import FaultMode, KindHarness


@dataclass(frozen=True)
class CallPlan:
    """The ordered call points of one clean rotation; ``(point, occurrence)`` names one call."""

    points: tuple[str, ...]

    def occurrences(self) -> list[tuple[str, int]]:
        seen: dict[str, int] = {}
        result = []
        for point in self.points:
            seen[point] = seen.get(point, 0) + 1
            result.append((point, seen[point]))
        return result


def record_call_points(harness: KindHarness, client: Any, secret_arn: str) -> CallPlan:
    """Rotate once, cleanly, recording every call point in order."""
    points: list[str] = []
    with LEDGER.intercept(points.append):
        RotationDriver(harness.handler, attempts_per_step=1).rotate(secret_arn)
    return CallPlan(points=tuple(points))


@contextmanager
def inject_fault(point: str, occurrence: int, exception: Exception) -> Iterator[list[str]]:
    """Raise ``exception`` at the ``occurrence``-th call of ``point``, once; yields the points hit."""
    hits: list[str] = []
    counter = {"seen": 0}

    def interceptor(called: str) -> None:
        hits.append(called)
        if called == point:
            counter["seen"] += 1
            if counter["seen"] == occurrence:
                raise exception

    with LEDGER.intercept(interceptor):
        yield hits


@dataclass
class FaultOutcome:
    """What one injected fault did, and whether every promise held."""

    point: str
    occurrence: int
    mode: FaultMode
    failed_step: str | None = None
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _value(client: Any, secret_arn: str, stage: str) -> dict[str, Any] | None:
    try:
        text = client.get_secret_value(SecretId=secret_arn, VersionStage=stage)["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        return None
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def run_fault_case(
    harness: KindHarness, client: Any, secret_arn: str, point: str, occurrence: int, mode: FaultMode
) -> FaultOutcome:
    """Fail one call, check AWSCURRENT still works, let the service retry, check convergence.

    Use a fresh secret per case: its first rotation takes every path the plan recorded."""
    outcome = FaultOutcome(point=point, occurrence=occurrence, mode=mode)
    before = _value(client, secret_arn, "AWSCURRENT")
    with inject_fault(point, occurrence, harness.fault(point, mode)):
        report = RotationDriver(harness.handler, attempts_per_step=1).rotate(secret_arn, raise_on_failure=False)
    current = _value(client, secret_arn, "AWSCURRENT")
    if report.succeeded:
        outcome.problems.append("the fault did not fail any step (call point not reached?)")
    else:
        failed = next(step for step in report.steps if not step.succeeded)
        outcome.failed_step, outcome.error = failed.step, failed.errors[-1]
        if not harness.names_failure(point, outcome.error):
            outcome.problems.append(f"error does not name what failed: {outcome.error}")
    usable = [current] if harness.current_valid_mid_rotation else [current, _value(client, secret_arn, "AWSPENDING")]
    if not any(value is not None and harness.authenticates(client, secret_arn, value) for value in usable):
        outcome.problems.append(
            "AWSCURRENT does not authenticate right after the fault"
            if harness.current_valid_mid_rotation
            else "neither AWSCURRENT nor AWSPENDING authenticates right after the fault"
        )
    retried = RotationDriver(harness.handler).rotate(secret_arn, raise_on_failure=False)
    if not retried.succeeded:
        outcome.problems.append(f"the retry did not converge: {retried.error}")
    after_current = _value(client, secret_arn, "AWSCURRENT")
    after_previous = _value(client, secret_arn, "AWSPREVIOUS")
    if after_current is None or not harness.authenticates(client, secret_arn, after_current):
        outcome.problems.append("AWSCURRENT does not authenticate after the retry")
    if harness.previous_stays_valid and (
        after_previous is None or not harness.authenticates(client, secret_arn, after_previous)
    ):
        outcome.problems.append("AWSPREVIOUS does not authenticate after the retry")
    if after_current == before:
        outcome.problems.append("AWSCURRENT did not change: the rotation did not complete")
    outcome.problems.extend(harness.orphans(client, secret_arn))
    return outcome


@dataclass(frozen=True)
class FaultRun:
    """Every fault case of one kind: the recorded plan and one outcome per case."""

    plan: CallPlan
    outcomes: tuple[FaultOutcome, ...]

    @property
    def failures(self) -> dict[str, list[str]]:
        """``point#occurrence/mode`` -> what went wrong, for the cases that did not pass."""
        return {f"{o.point}#{o.occurrence}/{o.mode}": o.problems for o in self.outcomes if not o.passed}


def run_every_fault(
    harness: KindHarness,
    client: Any,
    name: str,
    *,
    modes: tuple[FaultMode, ...] = ("error", "timeout"),
    limit: int | None = None,
) -> FaultRun:
    """Record the call points of a clean rotation, then inject each mode at each occurrence
    (the first ``limit`` cases only, if given), each on a fresh secret: the first rotation of
    a secret takes every path (e.g. creating the clone role)."""
    plan = record_call_points(harness, client, harness.create_secret(client, f"{name}/plan"))
    cases = [(point, n, mode) for point, n in plan.occurrences() for mode in modes][:limit]
    outcomes = tuple(
        run_fault_case(harness, client, harness.create_secret(client, f"{name}/{point}/{n}/{mode}"), point, n, mode)
        for point, n, mode in cases
    )
    return FaultRun(plan, outcomes)
