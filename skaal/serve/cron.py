"""When does a trigger fire next?  A small evaluator for ``Cron`` and ``Every``.

:class:`CronSchedule` evaluates the five-field grammar that
:class:`skaal.declare.schedule.Cron` validates (minute, hour, day-of-month,
month, day-of-week; ``*``, lists, ranges, ``/`` steps, month and day names,
``0`` and ``7`` both Sunday) in an IANA time zone.  The rules:

* Fields are matched on the **wall clock** of the time zone.
* When both day-of-month and day-of-week are restricted (neither starts with
  ``*``), a day matches if *either* does, as in every classic cron.
* A wall-clock time that does not exist (the hour skipped when clocks go
  forward) is skipped; a time that happens twice (clocks go back) fires once,
  at its first occurrence.

:class:`EverySchedule` fires every ``period`` seconds counted from an anchor
(the moment the scheduler started), so its fire times never drift.

``next_after(t)`` is a pure function of its argument: the earliest fire time
strictly after ``t`` (an aware datetime), as an aware UTC datetime, or
``None`` when the expression can never match (``0 0 31 2 *``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skaal.blueprint.model import ScheduleSpec
from skaal.errors import SkaalRuntimeError

__all__ = ["CronSchedule", "EverySchedule", "FireTimes", "schedule_for"]

_MONTHS: Final = ("jan", "feb", "mar", "apr", "may", "jun")
_MONTHS_2: Final = ("jul", "aug", "sep", "oct", "nov", "dec")
_DAYS: Final = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_NAMES: Final[dict[int, dict[str, int]]] = {
    3: {m: i + 1 for i, m in enumerate(_MONTHS + _MONTHS_2)},
    4: {d: i for i, d in enumerate(_DAYS)},
}
_BOUNDS: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
#: Long enough for any satisfiable expression (29 February recurs within 8 years).
_HORIZON_DAYS: Final = 8 * 366 + 7


class FireTimes(Protocol):
    """Anything that can say when it fires next."""

    def next_after(self, moment: datetime) -> datetime | None: ...


def _number(token: str, index: int) -> int:
    names = _NAMES.get(index, {})
    return names[token.lower()] if token.lower() in names else int(token)


def _parse_field(text: str, index: int) -> frozenset[int]:
    low, high = _BOUNDS[index]
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        else:
            first, dash, last = base.partition("-")
            start = _number(first, index)
            # "5/15" means "from 5 to the end, every 15"
            end = _number(last, index) if dash else (high if step_text else start)
        values.update(range(start, end + 1, step))
    if index == 4 and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed five-field cron expression in a time zone."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday ... 6 = Saturday."""
    days_restricted: bool
    weekdays_restricted: bool
    zone: ZoneInfo

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        fields = expression.split()
        if len(fields) != 5:
            raise SkaalRuntimeError(
                f"cron expression {expression!r} does not have five fields",
                fix="write 'minute hour day-of-month month day-of-week'",
            )
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SkaalRuntimeError(
                f"unknown time zone {timezone!r} in a schedule",
                fix="use an IANA name such as 'UTC' or 'Europe/Paris' "
                "(pip install tzdata if this system has no time-zone database)",
            ) from None
        parsed = [_parse_field(text, i) for i, text in enumerate(fields)]
        return cls(
            minutes=tuple(sorted(parsed[0])),
            hours=tuple(sorted(parsed[1])),
            days=parsed[2],
            months=parsed[3],
            weekdays=parsed[4],
            days_restricted=not fields[2].startswith("*"),
            weekdays_restricted=not fields[4].startswith("*"),
            zone=zone,
        )

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def next_after(self, moment: datetime) -> datetime | None:
        if moment.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(_HORIZON_DAYS):
            if self.matches_day(day):
                found = self._first_on(day, moment)
                if found is not None:
                    return found
            day += timedelta(days=1)
        return None

    def _first_on(self, day: date, moment: datetime) -> datetime | None:
        for hour in self.hours:
            for minute in self.minutes:
                wall = datetime.combine(day, time(hour, minute), tzinfo=self.zone)
                if not _exists(wall):
                    continue
                fire = wall.astimezone(UTC)
                if fire > moment:
                    return fire
        return None


def _exists(wall: datetime) -> bool:
    """Whether a wall-clock time exists (is not inside a spring-forward gap)."""
    round_trip = wall.astimezone(UTC).astimezone(wall.tzinfo)
    return round_trip.replace(tzinfo=None) == wall.replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class EverySchedule:
    """Fires at ``anchor + k * period`` for k = 1, 2, ..."""

    period_s: float
    anchor: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        elapsed = (moment - self.anchor).total_seconds()
        steps = max(math.floor(elapsed / self.period_s) + 1, 1)
        return (self.anchor + timedelta(seconds=steps * self.period_s)).astimezone(UTC)


def schedule_for(spec: ScheduleSpec, *, anchor: datetime) -> FireTimes:
    """The evaluator for a blueprint's :class:`ScheduleSpec`."""
    if spec.cron is not None:
        return CronSchedule.parse(spec.cron, spec.timezone)
    if spec.every_s is not None:
        return EverySchedule(spec.every_s, anchor)
    raise SkaalRuntimeError(f"schedule {spec!r} has neither a cron expression nor a period")
