"""The firing times of a Secrets Manager ``cron(...)`` rotation schedule, so synth can check a
cron schedule against the same rules as a ``rate(...)`` one (how often, how rarely, windows).

Field rules are the Secrets Manager user guide's (rotate-secrets_schedule.html): minutes must be
0, hours 0-23, day-of-month 1-31 with ``, - * ? / L``, month 1-12 or JAN-DEC with ``, - * /``,
day-of-week 1-7 or SUN-SAT (1 = Sunday) with ``# , - * ? / L``, year must be ``*``. The guide
is silent on giving both day fields at once; EventBridge's cron (which Secrets Manager's
follows) refuses it, so we do too (the stricter reading). Hour increments reset each day
(``cron(0 4/12 * * ? *)`` is 04:00 and 16:00 every day), as the guide says.
"""

from __future__ import annotations

import calendar
import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
# Enough years to see every leap-year pattern twice: a Feb-29-only schedule shows its 4-year gap.
SIMULATED = (date(2024, 1, 1), date(2032, 12, 31))


class CronError(ValueError):
    """A cron expression Secrets Manager would refuse; the message names the field."""


def _number(token: str, field: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    value = (names or {}).get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise CronError(f"{field} value {token!r} must be {low}-{high}" + (" or a name" if names else ""))
    return value


def _values(spec: str, field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """``*``, ``a``, ``a-b``, ``a/step``, ``a-b/step``, ``*/step`` and lists of them."""
    found: set[int] = set()
    for part in spec.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, field, 1, high) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, field, low, high, names), _number(last, field, low, high, names)
            if start > end:
                raise CronError(f"{field} range {base!r} runs backwards")
        else:
            start = _number(base, field, low, high, names)
            end = high if step_text else start
        found.update(range(start, end + 1, step))
    return frozenset(found)


@dataclass(frozen=True)
class _DayRule:
    """Which days of a month fire: plain day numbers, ``L`` (last day), or weekday rules."""

    month_days: frozenset[int] = frozenset()
    last_day: bool = False
    weekdays: frozenset[int] = frozenset()  # 1 = Sunday
    last_weekday: int | None = None  # ``5L``: the last Thursday of the month
    nth_weekday: tuple[int, int] | None = None  # ``3#2``: the second Tuesday

    def fires(self, day: date) -> bool:
        weekday = (day.isoweekday() % 7) + 1  # Sunday = 1 ... Saturday = 7
        month_length = calendar.monthrange(day.year, day.month)[1]
        return (
            day.day in self.month_days
            or (self.last_day and day.day == month_length)
            or weekday in self.weekdays
            or (self.last_weekday == weekday and day.day + 7 > month_length)
            or (self.nth_weekday == (weekday, (day.day - 1) // 7 + 1))
        )


def _month_day_rule(spec: str) -> _DayRule:
    if spec == "L":
        return _DayRule(last_day=True)
    if "W" in spec.upper():
        raise CronError("day-of-month: Secrets Manager does not support the W wildcard")
    return _DayRule(month_days=_values(spec, "day-of-month", 1, 31))


def _weekday_rule(spec: str) -> _DayRule:
    if spec == "L":
        return _DayRule(weekdays=frozenset({7}))
    if spec.endswith("L"):
        return _DayRule(last_weekday=_number(spec[:-1], "day-of-week", 1, 7, WEEKDAYS))
    if "#" in spec:
        weekday, _, nth = spec.partition("#")
        return _DayRule(
            nth_weekday=(_number(weekday, "day-of-week", 1, 7, WEEKDAYS), _number(nth, "day-of-week #", 1, 5))
        )
    return _DayRule(weekdays=_values(spec, "day-of-week", 1, 7, WEEKDAYS))


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression: the hours windows open at and the rule for days."""

    hours: tuple[int, ...]
    months: frozenset[int]
    days: _DayRule

    def firings(self) -> list[datetime]:
        """Every firing over ``SIMULATED``, in order."""
        found: list[datetime] = []
        day, last = SIMULATED
        while day <= last:
            if day.month in self.months and self.days.fires(day):
                found.extend(datetime(day.year, day.month, day.day, hour) for hour in self.hours)
            day += timedelta(days=1)
        return found


def parse_cron(body: str) -> CronSchedule:
    """The six fields of ``cron(<body>)``; a ``CronError`` names the field that is wrong."""
    fields = body.split()
    if len(fields) != 6:
        raise CronError(f"has {len(fields)} fields; expected 6 (minutes hours day-of-month month day-of-week year)")
    minutes, hours, month_day, month, weekday, year = fields
    if minutes != "0":
        raise CronError("minutes must be 0: Secrets Manager rotation windows open on the hour")
    if year != "*":
        raise CronError("year must be *: Secrets Manager does not support schedules more than a year apart")
    if (month_day == "?") == (weekday == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be ?")
    rule = _weekday_rule(weekday) if month_day == "?" else _month_day_rule(month_day)
    return CronSchedule(
        hours=tuple(sorted(_values(hours, "hours", 0, 23))),
        months=_values(month, "month", 1, 12, MONTHS),
        days=rule,
    )


@lru_cache(maxsize=256)
def cron_gaps(body: str) -> tuple[float, float]:
    """(shortest gap in hours, longest gap in days) between consecutive firings of ``cron(body)``."""
    firings = parse_cron(body).firings()
    if len(firings) < 2:
        raise CronError("never fires more than once in 9 years")
    gaps = [later - earlier for earlier, later in itertools.pairwise(firings)]
    return min(gaps).total_seconds() / 3600, max(gaps).total_seconds() / 86400
