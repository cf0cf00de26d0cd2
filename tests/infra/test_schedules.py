"""Schedules and windows Secrets Manager refuses are refused at synth, naming secret and field.

Each row is a rule of the Secrets Manager user guide's "Rotation schedules" page
(rotate-secrets_schedule.html) or the RotationRulesType API reference (docs/aws-rules.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, load_config
from infra.schedules import check_window, parse_schedule

Write = Callable[[dict[str, Any]], Path]


@pytest.mark.parametrize(
    ("schedule", "window", "message"),
    [
        # rate(): hours or days, never minutes
        ("rate(30 minutes)", None, "Secrets Manager rates are in hours or days, not minutes"),
        ("rate(1 minute)", None, "Secrets Manager rates are in hours or days, not minutes"),
        # at most every four hours, rate or cron
        ("rate(2 hours)", None, "rotates more often than every 4 hours (shortest gap 2 h)"),
        ("cron(0 */3 * * ? *)", None, "rotates more often than every 4 hours (shortest gap 3 h)"),
        ("cron(0 1,22 * * ? *)", None, "rotates more often than every 4 hours (shortest gap 3 h)"),  # 22:00 -> 01:00
        # cron fields: minutes 0, year *
        ("cron(30 3 ? * SUN *)", None, "minutes must be 0: Secrets Manager rotation windows open on the hour"),
        ("cron(0 3 ? * SUN 2027)", None, "year must be *: Secrets Manager does not support schedules more than"),
        ("cron(0 3 1 * MON *)", None, "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 25 * * ? *)", None, "hours value '25' must be 0-23"),
        ("cron(0 3 15W * ? *)", None, "Secrets Manager does not support the W wildcard"),
        ("cron(0 3 * *)", None, "has 4 fields; expected 6"),
        ("every tuesday", None, "is not rate(N hours|days) or cron("),
        # the longest period: 999 days, whatever the form
        ("rate(1000 days)", None, "leaves 1000 days between rotations: Secrets Manager's longest rotation period"),
        ("cron(0 0 29 2 ? *)", None, "leaves 1461 days between rotations"),  # Feb 29: every four years
        # windows: at least an hour, not into the next window, not past the UTC day
        ("rate(1 day)", "0h", "window '0h' is under 1 hour"),
        ("rate(1 day)", "2", "window '2' must be whole hours"),
        ("rate(6 hours)", "7h", "window '7h' is longer than the 6 h between rotations"),
        ("cron(0 4/12 * * ? *)", "13h", "window '13h' is longer than the 12 h between rotations"),
        ("cron(0 22 ? * SUN *)", "3h", "window '3h' opening at 22:00 UTC"),
        ("rate(1 day)", "25h", "window '25h' is longer than the 24 h between rotations of 'rate(1 day)'"),
        ("cron(0 4/12 * * ? *)", "12h", "window '12h' opening at 16:00 UTC ('cron(0 4/12 * * ? *)') runs past the end"),
        ("rate(5 hours)", "5h", "window '5h' opening at 20:00 UTC"),
    ],
)
def test_schedule_or_window_secrets_manager_refuses_is_refused_naming_the_field(
    config_file: Write, schedule: str, window: str | None, message: str
) -> None:
    path = config_file({"secrets.0.schedule": schedule, "secrets.0.window": window})

    where = r".*secrets\.0.*secret 'webhook-signing': .*"
    with pytest.raises(ConfigError, match=re.escape(str(path)) + where + re.escape(message)):
        load_config(path)


@pytest.mark.parametrize(
    ("schedule", "window"),
    [
        ("rate(4 hours)", "4h"),
        ("rate(1 day)", "24h"),
        ("rate(999 days)", None),
        ("cron(0 */4 * * ? *)", "4h"),
        ("cron(0 4/12 * * ? *)", "8h"),
        ("cron(0 3 ? * SUN *)", "2h"),
        ("cron(0 22 L * ? *)", "2h"),  # last day of the month
        ("cron(0 0 ? * 2#1 *)", None),  # first Monday
        ("cron(0 0 ? * 6L *)", None),  # last Friday
        ("cron(0 0 1 JAN,JUL ? *)", None),
    ],
)
def test_schedules_secrets_manager_accepts_pass(schedule: str, window: str | None) -> None:
    check_window(parse_schedule(schedule), window)


def test_schedule_longer_than_the_rotation_policy_is_refused_naming_the_secret(config_file: Write) -> None:
    path = config_file({"secrets.0.schedule": "cron(0 3 1 */4 ? *)", "secrets.0.window": None})

    with pytest.raises(
        ConfigError,
        match=r"secrets\[0\] \(webhook-signing\): schedule 'cron\(0 3 1 \*/4 \? \*\)' "
        r"leaves 123 days between rotations, longer than the rotation policy of 90",
    ):
        load_config(path)  # fmt: skip


@pytest.mark.parametrize(
    ("schedule", "shortest_hours", "longest_days"),
    [
        ("cron(0 4/12 * * ? *)", 12, 0.5),  # hour increments restart every day (the user guide's example)
        ("cron(0 3 ? * MON-FRI *)", 24, 3),  # Friday 03:00 -> Monday 03:00
        ("cron(0 0 L * ? *)", 28 * 24, 31),
    ],
)
def test_cron_gaps_follow_the_calendar(schedule: str, shortest_hours: float, longest_days: float) -> None:
    parsed = parse_schedule(schedule)

    assert (parsed.shortest_gap_hours, parsed.longest_gap_days) == (shortest_hours, longest_days)
