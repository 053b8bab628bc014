"""Cron expressions as data: their fields expanded, and how often they fire.

The five-field grammar that :class:`skaal.declare.schedule.Cron` validates
(minute, hour, day-of-month, month, day-of-week; ``*``, lists, ranges,
``/`` steps, month and day names, ``0`` and ``7`` both Sunday) expanded to
the values each field matches.  Three stages read it: the planner, which
prices a scheduled function by how often it fires (:func:`mean_rate`); the
aws builder, which writes EventBridge expressions; and the local scheduler,
through :mod:`skaal.blueprint.fire_times`, which computes fire times in a
time zone.

When both day-of-month and day-of-week are restricted (neither starts with
``*``), a day matches if *either* does, as in every classic cron.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from msgspec import Struct

from skaal.blueprint.model import ScheduleSpec

__all__ = ["REFERENCE_YEAR", "CronFields", "mean_rate"]

_MONTHS: Final = ("jan", "feb", "mar", "apr", "may", "jun")
_MONTHS_2: Final = ("jul", "aug", "sep", "oct", "nov", "dec")
_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES: Final[dict[int, dict[str, int]]] = {
    3: {m: i + 1 for i, m in enumerate(_MONTHS + _MONTHS_2)},
    4: {d: i for i, d in enumerate(_DAYS)},
}
_BOUNDS: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
#: The year a cron's fires are counted over to price it: a plain (not leap) year.
REFERENCE_YEAR: Final = 2026
_SECONDS_PER_YEAR: Final = 365 * 86400


class CronFields(Struct, frozen=True):
    """The values each field of a five-field cron expression matches."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday ... 6 = Saturday."""
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> CronFields:
        """The fields of ``expression``; ``ValueError`` unless it has five fields."""
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"cron expression {expression!r} does not have five fields")
        parsed = [_field(text, i) for i, text in enumerate(fields)]
        return cls(
            minutes=tuple(sorted(parsed[0])),
            hours=tuple(sorted(parsed[1])),
            days=parsed[2],
            months=parsed[3],
            weekdays=parsed[4],
            days_restricted=not fields[2].startswith("*"),
            weekdays_restricted=not fields[4].startswith("*"),
        )

    def matches_day(self, day: date) -> bool:
        """Whether the expression fires on ``day`` (at its hours and minutes)."""
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def fires_in(self, year: int) -> int:
        """How many times the expression fires in ``year``, counted on the wall clock."""
        per_day = len(self.minutes) * len(self.hours)
        day, end, count = date(year, 1, 1), date(year + 1, 1, 1), 0
        while day < end:
            if self.matches_day(day):
                count += per_day
            day += timedelta(days=1)
        return count


def mean_rate(schedule: ScheduleSpec) -> float:
    """How often ``schedule`` fires on average, per second.

    A period fires once per period.  A cron expression fires as often as it
    does in :data:`REFERENCE_YEAR`, counted on the wall clock of its time
    zone: the hour a daylight-saving change skips or repeats changes that
    count by at most one day's fires in a year, which the price ignores.
    """
    if schedule.every_s is not None:
        return 1.0 / schedule.every_s
    if schedule.cron is None:
        return 0.0
    return CronFields.parse(schedule.cron).fires_in(REFERENCE_YEAR) / _SECONDS_PER_YEAR


def _number(token: str, index: int) -> int:
    names = _NAMES.get(index, {})
    return names[token.lower()] if token.lower() in names else int(token)


def _field(text: str, index: int) -> frozenset[int]:
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
