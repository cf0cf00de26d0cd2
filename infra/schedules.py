"""Rotation schedules and windows Secrets Manager accepts, checked before anything is built.

Every rule is from the Secrets Manager user guide, "Rotation schedules"
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html),
and the RotationRulesType API reference; docs/aws-rules.md lists them with their tests:

- ``rate(Value Unit)``: Value a positive integer, Unit ``hour(s)`` or ``day(s)``; never minutes.
- At most every four hours; the longest period is 999 days.
- ``cron(...)``: minutes 0, year ``*`` (infra/cron.py); its firings obey the same limits.
- Window (``Duration``): whole hours, at least 1; it must not run into the next rotation
  window nor past the end of the UTC day (start hour + window <= 24). Rate windows start at
  midnight. The guide states the day-end rule for day schedules and the next-window rule for
  hour schedules; the API reference states both for every schedule, so both are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.cron import CronError, cron_gaps, parse_cron

MIN_ROTATION_HOURS = 4
MAX_ROTATION_DAYS = 999
_RATE = re.compile(r"^rate\((\d+) (hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_WINDOW = re.compile(r"^(\d+)h$")
SCHEDULE_FORMS = "rate(N hours|days) or cron(0 <hours> <day-of-month> <month> <day-of-week> *)"


@dataclass(frozen=True)
class Schedule:
    """How often a schedule fires and where its windows open."""

    expression: str
    shortest_gap_hours: float
    longest_gap_days: float
    window_starts: tuple[int, ...]  # UTC hours at which a rotation window opens


def parse_schedule(expression: str) -> Schedule:
    """A schedule Secrets Manager accepts, or a ``ValueError`` saying which rule it breaks."""
    if expression.startswith("rate(") and ("minute" in expression):
        raise ValueError(f"{expression!r}: Secrets Manager rates are in hours or days, not minutes")
    rate = _RATE.match(expression)
    if rate:
        return _rate(expression, int(rate.group(1)), rate.group(2).rstrip("s"))
    cron = _CRON.match(expression)
    if not cron:
        raise ValueError(f"{expression!r} is not {SCHEDULE_FORMS}")
    try:
        body = cron.group(1)
        parsed = parse_cron(body)
        shortest, longest = cron_gaps(body)
    except CronError as exc:
        raise ValueError(f"{expression!r}: {exc}") from None
    schedule = Schedule(expression, shortest, longest, parsed.hours)
    _frequency(schedule)
    return schedule


def _rate(expression: str, value: int, unit: str) -> Schedule:
    if value < 1:
        raise ValueError(f"{expression!r}: the value must be a positive integer")
    if unit == "hour":
        if value >= 24:
            # Silent in the guide; hour rates restart their windows at midnight, so a rate of a
            # day or more must be written in days (the stricter reading).
            raise ValueError(f"{expression!r}: write rates of 24 hours or more in days (rate(N days))")
        starts = tuple(range(0, 24, value))
        schedule = Schedule(expression, float(value), value / 24, starts)
    else:
        schedule = Schedule(expression, 24.0 * value, float(value), (0,))
    _frequency(schedule)
    return schedule


def _frequency(schedule: Schedule) -> None:
    if schedule.shortest_gap_hours < MIN_ROTATION_HOURS:
        raise ValueError(
            f"{schedule.expression!r} rotates more often than every {MIN_ROTATION_HOURS} hours "
            f"(shortest gap {schedule.shortest_gap_hours:g} h): Secrets Manager rotates at most every 4 hours"
        )
    if schedule.longest_gap_days > MAX_ROTATION_DAYS:
        raise ValueError(
            f"{schedule.expression!r} leaves {schedule.longest_gap_days:g} days between rotations: "
            f"Secrets Manager's longest rotation period is {MAX_ROTATION_DAYS} days"
        )


def window_hours(window: str) -> int:
    match = _WINDOW.match(window)
    if not match:
        raise ValueError(f"window {window!r} must be whole hours, e.g. '3h'")
    return int(match.group(1))


def check_window(schedule: Schedule, window: str | None) -> None:
    """The rotation window (``Duration``) fits the schedule; None keeps the service's default."""
    if window is None:
        return
    hours = window_hours(window)
    if hours < 1:
        raise ValueError(f"window {window!r} is under 1 hour: Secrets Manager's shortest window is 1 hour")
    if hours > schedule.shortest_gap_hours:
        raise ValueError(
            f"window {window!r} is longer than the {schedule.shortest_gap_hours:g} h between rotations of "
            f"{schedule.expression!r}: a window must not run into the next one"
        )
    late = max(schedule.window_starts)
    if late + hours > 24:
        raise ValueError(
            f"window {window!r} opening at {late:02d}:00 UTC ({schedule.expression!r}) runs past the end of the "
            "UTC day: start hour + window must be at most 24"
        )
