"""Schedules as EventBridge Scheduler expressions: ``cron(...)`` and ``rate(...)``.

Skaal's ``Cron`` is the classic five-field cron (minute hour day-of-month
month day-of-week, Sunday = 0 or 7) evaluated in an IANA time zone; AWS's is
six fields (a year is added) with its own rules:

* exactly one of day-of-month and day-of-week must be ``?`` -- so an
  expression restricting only one of them puts ``?`` in the other, and one
  restricting both (classic cron fires when *either* matches) cannot be
  written as one AWS schedule and is refused with a fix;
* day-of-week counts 1 = Sunday ... 7 = Saturday.

Rather than translating the syntax token by token (steps such as ``*/15``
mean slightly different things across cron dialects), each field is
expanded to the set of values it matches (:class:`skaal.blueprint.fire_times.CronSchedule`,
the evaluator ``skaal run`` uses) and written back as AWS's compact list:
``*`` for the whole range, otherwise comma-separated values and ``a-b``
runs.  The time zone goes to the scheduler's
``ScheduleExpressionTimezone``, so the wall-clock semantics match ``skaal
run``.  ``Every`` becomes ``rate(N minutes|hours|days)``; AWS rates are whole
minutes, so any other period is refused.

:func:`validate_expression` checks an AWS expression independently of the
conversion (field count, bounds, the ``?`` rule); the generator runs it on
every expression it emits and the tests run it on every conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from msgspec import Struct

from skaal.blueprint.fire_times import CronSchedule
from skaal.blueprint.model import ScheduleSpec
from skaal.errors import BuildError, SkaalRuntimeError

__all__ = ["AwsSchedule", "aws_schedule", "validate_expression"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, low, high, names) of the six AWS cron fields
_AWS_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, ()),
)
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^()]*)\)$")


class AwsSchedule(Struct, frozen=True):
    """EventBridge Scheduler expressions and the time zone they are evaluated in.

    Usually one expression; two when a cron restricts both day fields (classic
    cron fires when either matches, an AWS cron needs one of them to be ``?``),
    in which case the function is scheduled once per day field and fires at
    the union of the two -- exactly when ``skaal run`` fires it.
    """

    expressions: tuple[str, ...]
    timezone: str


def aws_schedule(spec: ScheduleSpec, *, where: str) -> AwsSchedule:
    """The AWS form of ``spec``; a :class:`BuildError` naming ``where`` if it has none."""
    if spec.cron is not None:
        return AwsSchedule(_cron(spec.cron, spec.timezone, where), spec.timezone)
    if spec.every_s is not None:
        return AwsSchedule((_rate(spec.every_s, where),), spec.timezone)
    raise BuildError(f"schedule of {where} has neither a cron nor a period", where=where)


def _rate(seconds: float, where: str) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise BuildError(
        f"the period of {where} ({seconds:g}s) is not a whole number of minutes",
        where=where,
        fix="EventBridge rates are whole minutes: use Every('1m'), Every('90m'), Every('2h')...",
    )


def _cron(expression: str, timezone: str, where: str) -> tuple[str, ...]:
    try:
        parsed = CronSchedule.parse(expression, timezone).fields
    except SkaalRuntimeError as exc:
        raise BuildError(f"schedule of {where}: {exc.what}", where=where, fix=exc.fix) from None
    if not all((parsed.minutes, parsed.hours, parsed.days, parsed.months, parsed.weekdays)):
        raise BuildError(
            f"Cron({expression!r}) of {where} has a field that matches nothing",
            where=where,
            fix="write ranges low-high, e.g. 'mon-fri' rather than 'fri-mon'",
        )
    minutes = _compact(parsed.minutes, 0, 59)
    hours = _compact(parsed.hours, 0, 23)
    months = _compact(parsed.months, 1, 12)
    by_weekday = ("?", _compact((d + 1 for d in parsed.weekdays), 1, 7))
    by_day = (_compact(parsed.days, 1, 31), "?")
    if parsed.days_restricted and parsed.weekdays_restricted:
        pairs = [by_day, by_weekday]  # classic cron: either day field matches
    else:
        pairs = [by_weekday if parsed.weekdays_restricted else by_day]
    results = tuple(
        f"cron({minutes} {hours} {days} {months} {weekdays} *)" for days, weekdays in pairs
    )
    for result in results:
        validate_expression(result)
    return results


def _compact(values: Iterable[int], low: int, high: int) -> str:
    """``*`` for the full range, else ``a-b`` runs and single values joined by commas."""
    ordered = sorted(set(values))
    if ordered == list(range(low, high + 1)):
        return "*"
    runs: list[str] = []
    start = prev = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ",".join(runs)


def validate_expression(expression: str) -> None:
    """Raise :class:`BuildError` unless ``expression`` is a valid AWS cron/rate expression."""
    problem = _problem(expression)
    if problem is not None:
        raise BuildError(
            f"invalid EventBridge schedule expression {expression!r}: {problem}",
            where="skaal.builder.targets.aws_schedule",
        )


def _problem(expression: str) -> str | None:
    rate = _RATE.match(expression)
    if rate is not None:
        count, unit = int(rate.group(1)), rate.group(2)
        if count < 1:
            return "a rate must be positive"
        if (count == 1) != (not unit.endswith("s")):
            return "use the singular unit for 1 and the plural otherwise"
        return None
    cron = _CRON.match(expression)
    if cron is None:
        return "expected cron(...) or rate(N unit)"
    fields = cron.group(1).split(" ")
    if len(fields) != 6:
        return f"AWS cron has 6 fields, found {len(fields)}"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    for text, (name, low, high, names) in zip(fields, _AWS_FIELDS, strict=True):
        problem = _field_problem(text, name, low, high, names)
        if problem is not None:
            return problem
    return None


def _field_problem(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    if text in ("*", "?"):
        return None if text == "*" or name in ("day-of-month", "day-of-week") else "bad '?'"
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
            return f"bad step {step!r} in {name}"
        bounds = [low, high] if base == "*" and slash else []
        for token in [] if bounds else base.split("-"):
            if token.upper() in names:
                bounds.append(names.index(token.upper()) + low)
            elif token.isdigit() and low <= int(token) <= high:
                bounds.append(int(token))
            else:
                return f"{token!r} is outside {low}-{high} in {name}"
        if len(bounds) not in (1, 2) or bounds != sorted(bounds):
            return f"bad range {base!r} in {name}"
    return None
