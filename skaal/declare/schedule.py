"""Schedule triggers: ``Cron("0 * * * *")`` and ``Every("5m")``.

Both validate on construction, so a bad expression fails where it is written.
Cron uses the classic five fields (minute hour day-of-month month day-of-week)
with ``*``, lists, ranges, steps and month/day names.
"""

from __future__ import annotations

import re
from typing import Final

from msgspec import Struct

from skaal.blueprint.model import ScheduleSpec
from skaal.declare.location import user_location
from skaal.errors import DeclarationError
from skaal.model.grammar import GrammarError, parse_duration

__all__ = ["Cron", "Every", "Trigger"]

_FIELDS: Final[tuple[tuple[str, int, int], ...]] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
_NAMES: Final[dict[str, dict[str, int]]] = {
    "month": {
        m: i + 1
        for i, m in enumerate(
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        )
    },
    "day-of-week": {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
_TZ = re.compile(r"^(UTC|[A-Za-z_]+(/[A-Za-z0-9_+\-]+)+)$")


def _value(token: str, field: str, low: int, high: int) -> int:
    names = _NAMES.get(field, {})
    if token.lower() in names:
        return names[token.lower()]
    if not token.isdigit():
        raise ValueError(f"{token!r} is not a number in the {field} field")
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high} in the {field} field")
    return value


def _check_field(text: str, field: str, low: int, high: int) -> None:
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"step {step!r} in the {field} field must be a positive number")
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        first = _value(start, field, low, high)
        if dash and _value(end, field, low, high) < first:
            raise ValueError(f"range {base!r} in the {field} field runs backwards")


class Cron(Struct, frozen=True):
    """A five-field cron expression, evaluated in ``timezone`` (IANA name)."""

    expression: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        fields = self.expression.split() if isinstance(self.expression, str) else []
        try:
            if len(fields) != 5:
                raise ValueError(f"expected 5 fields, found {len(fields)}")
            for text, (field, low, high) in zip(fields, _FIELDS, strict=True):
                _check_field(text, field, low, high)
        except ValueError as exc:
            raise DeclarationError(
                f"invalid cron expression {self.expression!r}: {exc}",
                where=str(user_location()),
                fix="write 'minute hour day-of-month month day-of-week', e.g. Cron('0 * * * *')",
            ) from None
        if not isinstance(self.timezone, str) or not _TZ.match(self.timezone):
            raise DeclarationError(
                f"invalid time zone {self.timezone!r}",
                where=str(user_location()),
                fix="use an IANA name such as 'UTC' or 'Europe/Paris'",
            )

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(cron=" ".join(self.expression.split()), timezone=self.timezone)


class Every(Struct, frozen=True):
    """A fixed period: ``Every("5m")`` (at least one minute)."""

    period: str

    def __post_init__(self) -> None:
        try:
            seconds = parse_duration(self.period)
        except GrammarError as exc:
            raise DeclarationError(
                f"invalid period for Every: {exc.message}",
                where=str(user_location()),
                fix=f"accepted: {exc.accepted}",
            ) from None
        if seconds < 60:
            raise DeclarationError(
                f"Every({self.period!r}) is shorter than one minute",
                where=str(user_location()),
                fix="schedules fire at most once a minute; use Every('1m') or longer",
            )

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(every_s=parse_duration(self.period))


Trigger = Cron | Every
