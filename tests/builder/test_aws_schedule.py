"""Five-field cron and Every periods as EventBridge Scheduler expressions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from skaal.blueprint.fire_times import CronSchedule
from skaal.blueprint.model import ScheduleSpec
from skaal.builder.targets.aws_schedule import aws_schedule, validate_expression
from skaal.errors import BuildError


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("0 * * * *", "cron(0 * * * ? *)"),
        ("*/15 * * * *", "cron(0,15,30,45 * * * ? *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),
        ("0 0 * * 0", "cron(0 0 ? * 1 *)"),
        ("0 0 * * 7", "cron(0 0 ? * 1 *)"),
        ("0 0 * * sat,sun", "cron(0 0 ? * 1,7 *)"),
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
        ("0 12 1,15 * *", "cron(0 12 1,15 * ? *)"),
        ("0 0 * jan-mar mon", "cron(0 0 ? 1-3 2 *)"),
        ("5-10 8-17/3 * * *", "cron(5-10 8,11,14,17 * * ? *)"),
        ("0 0 * * 0-6", "cron(0 0 ? * * *)"),
    ],
)
def test_cron_conversion(cron: str, expected: str) -> None:
    converted = aws_schedule(ScheduleSpec(cron=cron, timezone="Europe/Paris"), where="f")
    assert converted.expressions == (expected,)
    assert converted.timezone == "Europe/Paris"
    validate_expression(expected)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (60, "rate(1 minute)"),
        (300, "rate(5 minutes)"),
        (5400, "rate(90 minutes)"),
        (3600, "rate(1 hour)"),
        (7200, "rate(2 hours)"),
        (86400, "rate(1 day)"),
        (172800, "rate(2 days)"),
    ],
)
def test_every_becomes_a_rate(seconds: float, expected: str) -> None:
    converted = aws_schedule(ScheduleSpec(every_s=seconds), where="f")
    assert converted.expressions == (expected,)
    validate_expression(expected)


def test_a_period_that_is_not_whole_minutes_is_refused() -> None:
    with pytest.raises(BuildError, match="whole number of minutes"):
        aws_schedule(ScheduleSpec(every_s=90), where="billing.tick (app.py:3)")


def test_both_day_fields_restricted_become_one_schedule_per_day_field() -> None:
    converted = aws_schedule(ScheduleSpec(cron="0 0 1 * mon"), where="f (app.py:9)")
    assert converted.expressions == ("cron(0 0 1 * ? *)", "cron(0 0 ? * 2 *)")


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 * * *)",  # five fields
        "cron(0 3 * * * *)",  # neither day field is '?'
        "cron(0 3 ? * ? *)",  # both are
        "cron(60 3 * * ? *)",  # minute out of range
        "cron(0 3 ? * 0 *)",  # AWS weekdays are 1-7
        "cron(0 ? * * ? *)",  # '?' outside the day fields
        "cron(0 5-3 * * ? *)",  # backwards range
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "every 5 minutes",
    ],
)
def test_invalid_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(BuildError, match="invalid EventBridge schedule expression"):
        validate_expression(expression)


def _aws_matches(expression: str, moment: datetime) -> bool:
    """Whether an AWS cron built by the converter matches ``moment`` (lists and runs only)."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()

    def values(text: str, low: int, high: int) -> set[int]:
        if text in ("*", "?"):
            return set(range(low, high + 1))
        out: set[int] = set()
        for part in text.split(","):
            first, _, last = part.partition("-")
            out.update(range(int(first), int(last or first) + 1))
        return out

    weekday = (moment.weekday() + 1) % 7 + 1  # Monday=0 -> 2, Sunday=6 -> 1
    return (
        moment.minute in values(fields[0], 0, 59)
        and moment.hour in values(fields[1], 0, 23)
        and moment.day in values(fields[2], 1, 31)
        and moment.month in values(fields[3], 1, 12)
        and weekday in values(fields[4], 1, 7)
    )


@pytest.mark.parametrize(
    "cron",
    ["0 3 * * *", "*/20 9-17 * * 1-5", "0 0 * * 0", "30 6 1,15 * *", "0 12 * 2 sat", "0 9 1 * mon"],
)
def test_converted_expressions_fire_when_skaal_run_fires(cron: str) -> None:
    """The AWS expression matches exactly the minutes the local scheduler fires at."""
    expressions = aws_schedule(ScheduleSpec(cron=cron), where="f").expressions
    schedule = CronSchedule.parse(cron, "UTC")
    start = datetime(2026, 1, 20, tzinfo=UTC)
    fires: set[datetime] = set()
    moment = start
    while (moment := schedule.next_after(moment)) is not None and moment < start + timedelta(
        days=40
    ):
        fires.add(moment)
    assert fires
    minute = start
    while minute < start + timedelta(days=40):
        matched = any(_aws_matches(expression, minute) for expression in expressions)
        assert matched == (minute in fires), minute
        minute += timedelta(minutes=1)
