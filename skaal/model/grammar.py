"""The grammar of constraint values.

Each ``parse_*`` function turns the text a user writes in a decorator into a
typed value, or raises :class:`GrammarError` saying what is accepted.  The
declaration layer adds *where* (class, file:line) and turns it into a
:class:`~skaal.errors.DeclarationError`.

Accepted forms::

    latency      "< 10ms"  "<= 2 ms"  "< 1s"  "500us"  (bare value means <=)
    size         "20GB"  "512 MiB"  "1.5TB"  (decimal and binary units, positive)
    rate         "300/s"  "10/min"  "2k/h"  "1M/day"  "5M/month"  "3/week"
                 (periods may be spelled out or plural: "/second", "/hours")
    duration     "30d"  "12h"  "5m"  "90s"  "2w"  "250ms"  "1 hour"  "30 days"
    percent      "99.9%"
    numbers      "10", "0.5", ".5" and exponents ("1e-05ms", as ``str(Bound)`` prints)
    money        "$200/month"  "$50/mo"  "200 USD/month"  "$1,200/month"

    enums        durability, consistency, access (see the tuples below)
    residency    a region ("us-east-1", "europe-west1") or a family ("eu", "us")

Units are case-sensitive where case carries meaning (``MB`` vs ``Mb`` would
be ambiguous, ``M`` is a million in a rate): a wrong case is rejected with a
"did you mean" naming the right spelling.

Every number is finite and bounded, in the canonical unit (the ``MAX_*``
constants, documented in ``docs/constraints.md``): a latency up to one day,
a size up to 10^9 GB (an exabyte), a rate up to 10^9 a second, a duration up
to 36,500 days, money up to $10^9 a month.  ``"1e400GB"`` or ``"1e309/s"``
(which Python reads as infinity) is a :class:`GrammarError`, never an
``inf`` that overflows a later stage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Final, Literal

from msgspec import Struct

from skaal.errors import did_you_mean

__all__ = [
    "ACCESS_PATTERNS",
    "CONSISTENCY_LEVELS",
    "DURABILITY_LEVELS",
    "MAX_DURATION_S",
    "MAX_LATENCY_MS",
    "MAX_MONEY_USD_MONTH",
    "MAX_RATE_PER_S",
    "MAX_SIZE_GB",
    "REGION_FAMILIES",
    "Bound",
    "GrammarError",
    "parse_access",
    "parse_consistency",
    "parse_durability",
    "parse_duration",
    "parse_latency",
    "parse_money",
    "parse_percent",
    "parse_rate",
    "parse_residency",
    "parse_size",
    "region_matches",
]

Durability = Literal["ephemeral", "persistent", "durable"]
Consistency = Literal["eventual", "strong"]
Access = Literal["point", "prefix"]

#: Ordered weakest first: a backend offering a later level satisfies earlier ones.
DURABILITY_LEVELS: Final[tuple[Durability, ...]] = ("ephemeral", "persistent", "durable")
#: Ordered weakest first: strong consistency satisfies eventual.
CONSISTENCY_LEVELS: Final[tuple[Consistency, ...]] = ("eventual", "strong")
#: ``point``: get/set by key; ``prefix``: ordered scans by key prefix are a hot path.
ACCESS_PATTERNS: Final[tuple[Access, ...]] = ("point", "prefix")

#: Residency families and the region-name prefixes that belong to each, per cloud.
REGION_FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "us": ("us-",),
    "eu": ("eu-", "europe-"),
    "asia": ("ap-", "asia-"),
    "ca": ("ca-", "northamerica-northeast"),
    "sa": ("sa-", "southamerica-"),
    "me": ("me-", "il-"),
    "af": ("af-", "africa-"),
    "au": ("ap-southeast-2", "ap-southeast-4", "australia-"),
    "local": ("local",),
}


#: The largest latency bound, in milliseconds (one day).
MAX_LATENCY_MS: Final = 86_400_000.0
#: The largest size, in decimal GB (10^9 GB, an exabyte).
MAX_SIZE_GB: Final = 1e9
#: The largest rate, per second.
MAX_RATE_PER_S: Final = 1e9
#: The longest duration, in seconds (36,500 days, about a century).
MAX_DURATION_S: Final = 36_500 * 86_400.0
#: The largest amount of money, in US dollars per month.
MAX_MONEY_USD_MONTH: Final = 1e9


class GrammarError(ValueError):
    """A constraint value does not parse; ``accepted`` lists valid forms."""

    def __init__(self, message: str, *, accepted: str) -> None:
        self.message = message
        self.accepted = accepted
        super().__init__(f"{message}; accepted: {accepted}")


class Bound(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An upper bound such as ``< 10ms``: ``value`` in the canonical unit."""

    value: float
    strict: bool

    def admits(self, offered: float) -> bool:
        """True when an offered value meets this bound."""
        return offered < self.value if self.strict else offered <= self.value

    def __str__(self) -> str:
        return f"{'<' if self.strict else '<='} {_fmt(self.value)}"


def _fmt(value: float) -> str:
    return f"{value:g}"


def _bounded(
    value: float, text: object, what: str, *, limit: float, largest: str, accepted: str
) -> float:
    """``value`` if it is finite and at most ``limit``; a ``GrammarError`` otherwise.

    ``largest`` spells ``limit`` in the user's terms (``"1 day"``).  Python
    reads ``"1e400"`` as infinity and ``1e308 * 1000`` overflows to it, so
    the check runs on the value in the canonical unit, after scaling.
    """
    if math.isfinite(value) and value <= limit:
        return value
    shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:36] + "...'"
    raise GrammarError(
        f"{what} {shown} is more than the largest accepted, {largest}", accepted=accepted
    )


#: Spellings people write for time units, mapped to the accepted one (hints only).
_TIME_ALIASES: Final[dict[str, str]] = {
    "msec": "ms",
    "msecs": "ms",
    "millis": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "usec": "us",
    "usecs": "us",
    "microsecond": "us",
    "microseconds": "us",
}


def _unit_hint(unit: str, units: Iterable[str]) -> str:
    """``" (did you mean 'GB'?)"``: a known alias or case-insensitive match, then the closest."""
    choices = sorted(units)
    alias = _TIME_ALIASES.get(unit.lower())
    if alias in choices:
        return f" (did you mean '{alias}'?)"
    folded = [u for u in choices if u.lower() == unit.lower()]
    return f" (did you mean '{folded[0]}'?)" if folded else did_you_mean(unit, choices)


def _match(pattern: re.Pattern[str], text: object, what: str, accepted: str) -> re.Match[str]:
    """Match ``text`` against ``pattern``; a non-string or a mismatch is a GrammarError."""
    if not isinstance(text, str):
        raise GrammarError(
            f"{what} must be text, got {text!r} ({type(text).__name__})", accepted=accepted
        )
    match = pattern.match(text)
    if match is None:
        raise GrammarError(f"{text!r} is not {what}", accepted=accepted)
    return match


_NUMBER = r"(?P<num>(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)"

_LATENCY_UNITS: Final[dict[str, float]] = {
    "us": 0.001,
    "µs": 0.001,
    "ms": 1.0,
    "s": 1000.0,
}
_LATENCY_RE = re.compile(rf"^\s*(?P<op><=|<)?\s*{_NUMBER}\s*(?P<unit>[A-Za-zµ]*)\s*$")


def parse_latency(text: object) -> Bound:
    """Parse ``"< 10ms"`` into a :class:`Bound` in milliseconds."""
    accepted = "'< 10ms', '<= 2 ms', '< 1s', '500us' (units: us, ms, s)"
    match = _match(_LATENCY_RE, text, "a latency bound", accepted)
    unit = match["unit"]
    if not unit:
        raise GrammarError(f"latency {text!r} has no unit", accepted=accepted)
    if unit not in _LATENCY_UNITS:
        raise GrammarError(
            f"unknown latency unit {unit!r}{_unit_hint(unit, _LATENCY_UNITS)}",
            accepted=accepted,
        )
    value = float(match["num"]) * _LATENCY_UNITS[unit]
    if value <= 0:
        raise GrammarError(f"latency bound {text!r} must be positive", accepted=accepted)
    value = _bounded(
        value, text, "latency bound", limit=MAX_LATENCY_MS, largest="1 day", accepted=accepted
    )
    return Bound(value=value, strict=match["op"] == "<")


_SIZE_UNITS: Final[dict[str, float]] = {
    "B": 1e-9,
    "KB": 1e-6,
    "MB": 1e-3,
    "GB": 1.0,
    "TB": 1e3,
    "PB": 1e6,
    "KiB": 1024 / 1e9,
    "MiB": 1024**2 / 1e9,
    "GiB": 1024**3 / 1e9,
    "TiB": 1024**4 / 1e9,
}
_SIZE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[A-Za-z]*)\s*$")


def parse_size(text: object) -> float:
    """Parse ``"20GB"`` into decimal gigabytes."""
    accepted = "'20GB', '512MiB', '1.5TB' (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB)"
    match = _match(_SIZE_RE, text, "a size", accepted)
    if not match["unit"]:
        raise GrammarError(f"size {text!r} has no unit", accepted=accepted)
    unit = match["unit"]
    if unit not in _SIZE_UNITS:
        raise GrammarError(
            f"unknown size unit {unit!r}{_unit_hint(unit, _SIZE_UNITS)}", accepted=accepted
        )
    value = float(match["num"]) * _SIZE_UNITS[unit]
    if value <= 0:
        raise GrammarError(f"size {text!r} must be positive", accepted=accepted)
    return _bounded(value, text, "size", limit=MAX_SIZE_GB, largest="1e9GB", accepted=accepted)


_PERIOD_SECONDS: Final[dict[str, float]] = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "w": 7 * 86400.0,
    "week": 7 * 86400.0,
    "mo": 730 * 3600.0,
    "month": 730 * 3600.0,
}
#: Periods whose plural is also accepted ("/hours").
_PLURAL_PERIODS: Final = frozenset({"sec", "second", "min", "minute", "hr", "hour", "day", "week"})
_MULTIPLIERS: Final[dict[str, float]] = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6}
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?P<mult>[kKM]?)\s*/\s*(?P<period>[A-Za-z]+)\s*$")


def parse_rate(text: object) -> float:
    """Parse ``"300/s"`` into events per second."""
    accepted = "'300/s', '10/min', '2k/h', '1M/day', '3/week', '5M/month'"
    match = _match(_RATE_RE, text, "a rate", accepted)
    period = match["period"]
    if period.endswith("s") and period[:-1] in _PLURAL_PERIODS:
        period = period[:-1]
    if period not in _PERIOD_SECONDS:
        hint = (
            " (did you mean 'min' or 'month'?)"
            if period.lower() == "m"
            else _unit_hint(period, _PERIOD_SECONDS)
        )
        raise GrammarError(f"unknown rate period {match['period']!r}{hint}", accepted=accepted)
    value = float(match["num"]) * _MULTIPLIERS[match["mult"]] / _PERIOD_SECONDS[period]
    return _bounded(value, text, "rate", limit=MAX_RATE_PER_S, largest="1e9/s", accepted=accepted)


_DURATION_UNITS: Final[dict[str, float]] = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "w": 7 * 86400.0,
    "week": 7 * 86400.0,
}
_PLURAL_DURATIONS: Final = frozenset(
    {"sec", "second", "min", "minute", "hr", "hour", "day", "week"}
)
_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[A-Za-z]*)\s*$")


def parse_duration(text: object) -> float:
    """Parse ``"30d"`` into seconds."""
    accepted = "'30d', '12h', '5m', '90s', '2w', '250ms', '1 hour', '30 days'"
    match = _match(_DURATION_RE, text, "a duration", accepted)
    unit = match["unit"]
    if not unit:
        raise GrammarError(f"duration {text!r} has no unit", accepted=accepted)
    if unit.endswith("s") and unit[:-1] in _PLURAL_DURATIONS:
        unit = unit[:-1]
    if unit not in _DURATION_UNITS:
        raise GrammarError(
            f"unknown duration unit {match['unit']!r}{_unit_hint(unit, _DURATION_UNITS)}",
            accepted=accepted,
        )
    seconds = float(match["num"]) * _DURATION_UNITS[unit]
    if seconds <= 0:
        raise GrammarError(f"duration {text!r} must be positive", accepted=accepted)
    return _bounded(
        seconds, text, "duration", limit=MAX_DURATION_S, largest="36500 days", accepted=accepted
    )


_PERCENT_RE = re.compile(rf"^\s*{_NUMBER}\s*%\s*$")


def parse_percent(text: object) -> float:
    """Parse ``"99.9%"`` into a percentage in (0, 100]."""
    accepted = "'99.9%', '99.99%'"
    match = _match(_PERCENT_RE, text, "a percentage", accepted)
    value = float(match["num"])
    if not 0 < value <= 100:  # also rejects "1e400%" (infinity)
        raise GrammarError(f"{text!r} is outside (0%, 100%]", accepted=accepted)
    return value


_MONEY_RE = re.compile(
    r"^\s*(?P<dollar>\$)?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"\s*(?P<usd>USD|usd)?\s*/\s*(?P<period>month|mo)\s*$"
)


def parse_money(text: object) -> float:
    """Parse ``"$200/month"`` into US dollars per month."""
    accepted = "'$200/month', '$50/mo', '200 USD/month', '$1,200/month'"
    match = _match(_MONEY_RE, text, "a monthly amount", accepted)
    if not (match["dollar"] or match["usd"]):
        raise GrammarError(f"{text!r} has no currency ($ or USD)", accepted=accepted)
    value = float(match["num"].replace(",", ""))
    return _bounded(
        value, text, "amount", limit=MAX_MONEY_USD_MONTH, largest="$1e9/month", accepted=accepted
    )


def _parse_choice(text: object, choices: tuple[str, ...], what: str) -> str:
    accepted = " | ".join(choices)
    if not isinstance(text, str):
        raise GrammarError(f"{what} must be text, got {text!r}", accepted=accepted)
    value = text.strip().lower()
    if value not in choices:
        raise GrammarError(
            f"unknown {what} {text!r}{did_you_mean(value, choices)}", accepted=accepted
        )
    return value


def parse_durability(text: object) -> Durability:
    """Parse ``"persistent"``; levels are ordered ephemeral < persistent < durable."""
    value = _parse_choice(text, DURABILITY_LEVELS, "durability")
    return next(level for level in DURABILITY_LEVELS if level == value)


def parse_consistency(text: object) -> Consistency:
    """Parse ``"strong"`` or ``"eventual"``."""
    value = _parse_choice(text, CONSISTENCY_LEVELS, "consistency")
    return next(level for level in CONSISTENCY_LEVELS if level == value)


def parse_access(text: object) -> Access:
    """Parse an access pattern: ``point`` or ``prefix``."""
    value = _parse_choice(text, ACCESS_PATTERNS, "access pattern")
    return next(level for level in ACCESS_PATTERNS if level == value)


_REGION_RE = re.compile(r"^[a-z]+(?:-[a-z]+)+-?\d+$")


def parse_residency(text: object) -> str:
    """Parse a region (``"us-east-1"``, ``"europe-west1"``) or a family (``"eu"``)."""
    accepted = (
        f"a region such as 'us-east-1' or 'europe-west1', or a family: {', '.join(REGION_FAMILIES)}"
    )
    if not isinstance(text, str):
        raise GrammarError(f"residency must be text, got {text!r}", accepted=accepted)
    value = text.strip().lower()
    if value in REGION_FAMILIES or _REGION_RE.match(value):
        return value
    raise GrammarError(
        f"{text!r} is neither a region nor a region family{did_you_mean(value, REGION_FAMILIES)}",
        accepted=accepted,
    )


def region_matches(residency: str, region: str) -> bool:
    """True when ``region`` satisfies a residency requirement."""
    if residency == region:
        return True
    prefixes = REGION_FAMILIES.get(residency)
    return prefixes is not None and region.startswith(prefixes)
