"""Bounded waits on ElastiCache's state machine.

ElastiCache applies ``ModifyUser`` and ``ModifyReplicationGroup`` asynchronously: the user is
``modifying`` (the group ``modifying``) for minutes, and a second modify is refused meanwhile
(``InvalidUserState`` / ``InvalidReplicationGroupState``). The functions therefore wait for
``active`` / ``available`` before they modify and after, within one budget per step:

- ``ELASTICACHE_WAIT_SECONDS`` (default 600, what AWS's own ElastiCache rotation function
  waits: ``MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS``), capped by the Lambda's remaining time
  minus ``LAMBDA_SAFETY_MARGIN_S`` when the handler got a context, so a step fails with a clear
  error before Lambda kills it;
- ``ELASTICACHE_POLL_SECONDS`` (default 5): the pause between two describes.

Set the function timeout above the budget plus the margin plus a minute for the step's other
calls (the CDK app does: Lambda allows at most 900 s).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.rotation import ConfigurationError

DEFAULT_WAIT_SECONDS = 600.0
DEFAULT_POLL_SECONDS = 5.0
# Time kept back from the Lambda's remaining time for the error, its log line and metrics.
LAMBDA_SAFETY_MARGIN_S = 10.0


def _seconds(source: Mapping[str, str], name: str, default: float) -> float:
    raw = source.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class WaitSettings:
    """The function's wait settings (read once per invocation, so a bad value fails every step)."""

    budget_s: float = DEFAULT_WAIT_SECONDS
    poll_s: float = DEFAULT_POLL_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WaitSettings:
        source = os.environ if env is None else env
        return cls(
            budget_s=_seconds(source, "ELASTICACHE_WAIT_SECONDS", DEFAULT_WAIT_SECONDS),
            poll_s=_seconds(source, "ELASTICACHE_POLL_SECONDS", DEFAULT_POLL_SECONDS),
        )

    def start(self, lambda_context: Any = None) -> WaitBudget:
        """The budget of one step, starting now."""
        budget, source = self.budget_s, "ELASTICACHE_WAIT_SECONDS"
        remaining_ms = getattr(lambda_context, "get_remaining_time_in_millis", None)
        if callable(remaining_ms):
            lambda_left = max(0.0, remaining_ms() / 1000 - LAMBDA_SAFETY_MARGIN_S)
            if lambda_left < budget:
                budget = lambda_left
                source = f"the Lambda's remaining time minus {LAMBDA_SAFETY_MARGIN_S:g} s"
        return WaitBudget(seconds=budget, source=source, poll_s=self.poll_s, deadline=time.monotonic() + budget)


@dataclass(frozen=True)
class WaitBudget:
    """What is left of one step's wait budget, and where the limit came from (for errors)."""

    seconds: float
    source: str
    poll_s: float
    deadline: float

    def describe(self) -> str:
        return f"{self.seconds:g} s ({self.source})"


class WaitTimedOut(Exception):  # noqa: N818 - an outcome the caller turns into a named error
    """The state did not reach the expected value within the budget; carries the last state."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__("wait timed out")
        self.state = state


def wait_until(
    describe: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    budget: WaitBudget,
    first: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Call ``describe()`` until ``done(state)``, pausing ``budget.poll_s`` between calls, until
    the budget's deadline; raise ``WaitTimedOut`` with the last state after that. ``first`` is
    a state the caller has just described (it saves one call)."""
    while True:
        state, first = (first, None) if first is not None else (describe(), None)
        if done(state):
            return state
        left = budget.deadline - time.monotonic()
        if left <= 0:
            raise WaitTimedOut(state)
        time.sleep(min(budget.poll_s, left))  # the poll interval of a bounded wait on a condition
