"""Next-fire computations of the cron and period evaluators, checked exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from skaal.blueprint.fire_times import CronSchedule, EverySchedule, schedule_for
from skaal.blueprint.model import ScheduleSpec
from skaal.errors import SkaalRuntimeError


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(expression: str, start: datetime, count: int, tz: str = "UTC") -> list[datetime]:
    schedule = CronSchedule.parse(expression, tz)
    out: list[datetime] = []
    moment = start
    for _ in range(count):
        found = schedule.next_after(moment)
        assert found is not None
        out.append(found)
        moment = found
    return out


def test_hourly_fires_on_the_hour_strictly_after() -> None:
    assert fires("0 * * * *", utc(2026, 1, 1, 10, 0), 2) == [
        utc(2026, 1, 1, 11, 0),
        utc(2026, 1, 1, 12, 0),
    ]
    assert fires("0 * * * *", utc(2026, 1, 1, 10, 59, 59), 1) == [utc(2026, 1, 1, 11, 0)]


def test_steps_ranges_and_lists() -> None:
    assert fires("*/15 9-10 * * *", utc(2026, 1, 1, 10, 40), 3) == [
        utc(2026, 1, 1, 10, 45),
        utc(2026, 1, 2, 9, 0),
        utc(2026, 1, 2, 9, 15),
    ]
    assert fires("5,35 0 * * *", utc(2026, 1, 1, 0, 5), 2) == [
        utc(2026, 1, 1, 0, 35),
        utc(2026, 1, 2, 0, 5),
    ]
    assert fires("10/20 0 * * *", utc(2026, 1, 1), 3)[:3] == [
        utc(2026, 1, 1, 0, 10),
        utc(2026, 1, 1, 0, 30),
        utc(2026, 1, 1, 0, 50),
    ]


def test_names_and_sunday_as_seven() -> None:
    # 2026-01-01 is a Thursday
    assert fires("0 9 * * mon-fri", utc(2026, 1, 2, 9, 0), 1) == [utc(2026, 1, 5, 9, 0)]
    assert fires("0 0 * * 7", utc(2026, 1, 1), 1) == fires("0 0 * * sun", utc(2026, 1, 1), 1)
    assert fires("0 0 * * 0", utc(2026, 1, 1), 1) == [utc(2026, 1, 4)]
    assert fires("0 0 1 jul *", utc(2026, 1, 1), 1) == [utc(2026, 7, 1)]


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # the 13th, or any Friday: Fri 2 Jan 2026 comes first, then Fri 9, then Tue 13
    assert fires("0 0 13 * fri", utc(2026, 1, 1), 3) == [
        utc(2026, 1, 2),
        utc(2026, 1, 9),
        utc(2026, 1, 13),
    ]
    # a restricted day-of-month with '*' day-of-week is AND (only the 13th)
    assert fires("0 0 13 * *", utc(2026, 1, 1), 1) == [utc(2026, 1, 13)]


def test_leap_day_and_impossible_dates() -> None:
    assert fires("0 0 29 2 *", utc(2026, 1, 1), 1) == [utc(2028, 2, 29)]
    assert CronSchedule.parse("0 0 31 2 *").next_after(utc(2026, 1, 1)) is None


def test_time_zone_wall_clock() -> None:
    paris = ZoneInfo("Europe/Paris")
    (first,) = fires("30 9 * * *", utc(2026, 1, 10, 12), 1, "Europe/Paris")
    assert first == utc(2026, 1, 11, 8, 30)  # 09:30 CET = 08:30 UTC
    (summer,) = fires("30 9 * * *", utc(2026, 7, 10, 12), 1, "Europe/Paris")
    assert summer == utc(2026, 7, 11, 7, 30)  # 09:30 CEST = 07:30 UTC
    assert summer.astimezone(paris).hour == 9


def test_spring_forward_gap_is_skipped() -> None:
    # 2026-03-29 in Paris: 02:00 -> 03:00; 02:30 does not exist that day
    times = fires("30 2 * * *", utc(2026, 3, 28, 12), 2, "Europe/Paris")
    assert times == [utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_fall_back_hour_fires_once() -> None:
    # 2026-10-25 in Paris: 03:00 -> 02:00; 02:30 happens twice, fires at the first
    times = fires("30 2 * * *", utc(2026, 10, 24, 12), 2, "Europe/Paris")
    assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_every_counts_from_its_anchor() -> None:
    anchor = utc(2026, 1, 1, 12)
    every = EverySchedule(300.0, anchor)
    assert every.next_after(anchor) == anchor + timedelta(minutes=5)
    assert every.next_after(anchor + timedelta(minutes=7)) == anchor + timedelta(minutes=10)
    assert every.next_after(anchor + timedelta(minutes=10)) == anchor + timedelta(minutes=15)


def test_schedule_for_spec() -> None:
    anchor = utc(2026, 1, 1)
    assert isinstance(schedule_for(ScheduleSpec(every_s=60), anchor=anchor), EverySchedule)
    cron = schedule_for(ScheduleSpec(cron="0 * * * *", timezone="Asia/Tokyo"), anchor=anchor)
    assert isinstance(cron, CronSchedule)
    assert str(cron.zone) == "Asia/Tokyo"


def test_bad_inputs() -> None:
    with pytest.raises(SkaalRuntimeError, match="five fields"):
        CronSchedule.parse("0 * * *")
    with pytest.raises(SkaalRuntimeError, match="time zone"):
        CronSchedule.parse("0 * * * *", "Mars/Olympus")
    with pytest.raises(ValueError, match="aware"):
        CronSchedule.parse("0 * * * *").next_after(datetime(2026, 1, 1))
