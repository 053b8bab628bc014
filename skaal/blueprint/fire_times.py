"""When does a trigger fire next?  A small evaluator for ``Cron`` and ``Every``.

:class:`CronSchedule` evaluates the fields of a cron expression
(:class:`skaal.blueprint.cron.CronFields`) in an IANA time zone.  The rules:

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
``None`` when the expression can never match (``0 0 31 2 *``).  The local
scheduler (:mod:`skaal.serve.scheduler`) and the aws builder (which expands an
expression for EventBridge) both read it, so it sits with the blueprint.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Struct

from skaal.blueprint.cron import CronFields
from skaal.blueprint.model import ScheduleSpec
from skaal.errors import SkaalRuntimeError

__all__ = ["CronSchedule", "EverySchedule", "FireTimes", "schedule_for"]

#: Long enough for any satisfiable expression (29 February recurs within 8 years).
_HORIZON_DAYS: Final = 8 * 366 + 7


class FireTimes(Protocol):
    """Anything that can say when it fires next."""

    def next_after(self, moment: datetime) -> datetime | None: ...


class CronSchedule(Struct, frozen=True):
    """A parsed five-field cron expression in a time zone."""

    fields: CronFields
    zone: ZoneInfo

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        try:
            fields = CronFields.parse(expression)
        except ValueError:
            raise SkaalRuntimeError(
                f"cron expression {expression!r} does not have five fields",
                fix="write 'minute hour day-of-month month day-of-week'",
            ) from None
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SkaalRuntimeError(
                f"unknown time zone {timezone!r} in a schedule",
                fix="use an IANA name such as 'UTC' or 'Europe/Paris' "
                "(pip install tzdata if this system has no time-zone database)",
            ) from None
        return cls(fields, zone)

    def next_after(self, moment: datetime) -> datetime | None:
        if moment.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(_HORIZON_DAYS):
            if self.fields.matches_day(day):
                found = self._first_on(day, moment)
                if found is not None:
                    return found
            day += timedelta(days=1)
        return None

    def _first_on(self, day: date, moment: datetime) -> datetime | None:
        for hour in self.fields.hours:
            for minute in self.fields.minutes:
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


class EverySchedule(Struct, frozen=True):
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
