"""The constraint-value grammar: every accepted spelling, every rejected one, and properties."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skaal.model import grammar
from skaal.model.grammar import Bound, GrammarError

# -- latency ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "strict"),
    [
        ("< 10ms", 10.0, True),
        ("<10ms", 10.0, True),
        ("<= 2 ms", 2.0, False),
        ("<=2ms", 2.0, False),
        ("10ms", 10.0, False),
        ("< 1s", 1000.0, True),
        ("1.5s", 1500.0, False),
        ("500us", 0.5, False),
        ("500µs", 0.5, False),
        ("0.5ms", 0.5, False),
        ("1e3ms", 1000.0, False),
        ("< 1e-05ms", 1e-05, True),
        (".5ms", 0.5, False),
        ("  < 10 ms  ", 10.0, True),
    ],
)
def test_latency_forms(text: str, value: float, strict: bool) -> None:
    assert grammar.parse_latency(text) == Bound(value=value, strict=strict)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10", "has no unit"),
        ("< 10", "has no unit"),
        ("< 10 msec", "did you mean 'ms'?"),
        ("< 10 MS", "did you mean 'ms'?"),
        ("10 S", "did you mean 's'?"),
        ("10 usec", "did you mean 'us'?"),
        ("10 hours", "unknown latency unit 'hours'"),
        ("fast", "is not a latency bound"),
        ("> 10ms", "is not a latency bound"),
        ("< -1ms", "is not a latency bound"),
        ("", "is not a latency bound"),
        ("<= 0ms", "must be positive"),
        (10, "must be text, got 10 (int)"),
        (10.0, "must be text, got 10.0 (float)"),
    ],
)
def test_latency_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_latency(text)
    assert fragment in str(info.value)
    assert "units: us, ms, s" in info.value.accepted


def test_bound_boundaries() -> None:
    strict = grammar.parse_latency("< 10ms")
    inclusive = grammar.parse_latency("<= 10ms")
    assert strict.admits(9.999)
    assert not strict.admits(10.0)
    assert inclusive.admits(10.0)
    assert not inclusive.admits(10.001)
    assert grammar.parse_latency("10ms") == inclusive
    assert str(strict) == "< 10"
    assert str(inclusive) == "<= 10"


# -- size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gigabytes"),
    [
        ("20GB", 20.0),
        ("20 GB", 20.0),
        ("1.5TB", 1500.0),
        ("1PB", 1e6),
        ("100MB", 0.1),
        ("1KB", 1e-6),
        ("1000B", 1e-6),
        ("512MiB", 512 * 1024**2 / 1e9),
        ("1GiB", 1024**3 / 1e9),
        ("1TiB", 1024**4 / 1e9),
        ("1KiB", 1024 / 1e9),
    ],
)
def test_size_forms(text: str, gigabytes: float) -> None:
    assert math.isclose(grammar.parse_size(text), gigabytes, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("20gb", "unknown size unit 'gb' (did you mean 'GB'?)"),
        ("20 Gb", "did you mean 'GB'?"),
        ("1 kB", "did you mean 'KB'?"),
        ("1 mib", "did you mean 'MiB'?"),
        ("20G", "did you mean 'GB'?"),
        ("20 gigabytes", "unknown size unit 'gigabytes'"),
        ("20", "has no unit"),
        ("0GB", "must be positive"),
        ("-1GB", "is not a size"),
        ("lots", "is not a size"),
        (20, "must be text, got 20 (int)"),
    ],
)
def test_size_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_size(text)
    assert fragment in str(info.value)
    assert "GB" in info.value.accepted


# -- rate -------------------------------------------------------------------------

_MONTH = 730 * 3600.0


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("300/s", 300.0),
        ("300 / s", 300.0),
        ("100/sec", 100.0),
        ("100/second", 100.0),
        ("100/seconds", 100.0),
        ("10/min", 10 / 60),
        ("60/minute", 1.0),
        ("60/minutes", 1.0),
        ("2k/h", 2000 / 3600),
        ("2K/h", 2000 / 3600),
        ("7/hr", 7 / 3600),
        ("7/hours", 7 / 3600),
        ("1M/day", 1e6 / 86400),
        ("2/days", 2 / 86400),
        ("3/week", 3 / (7 * 86400)),
        ("3/w", 3 / (7 * 86400)),
        ("5M/month", 5e6 / _MONTH),
        ("1/mo", 1 / _MONTH),
        ("0/s", 0.0),
        ("0.5/s", 0.5),
    ],
)
def test_rate_forms(text: str, per_second: float) -> None:
    assert math.isclose(grammar.parse_rate(text), per_second, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("300/m", "did you mean 'min' or 'month'?"),
        ("300/S", "did you mean 's'?"),
        ("300/Min", "did you mean 'min'?"),
        ("300/fortnight", "unknown rate period 'fortnight'"),
        ("300", "is not a rate"),
        ("300 per second", "is not a rate"),
        ("1,000/s", "is not a rate"),
        ("-1/s", "is not a rate"),
        ("2g/s", "is not a rate"),
        (300, "must be text, got 300 (int)"),
    ],
)
def test_rate_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_rate(text)
    assert fragment in str(info.value)
    assert "'300/s'" in info.value.accepted


# -- duration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400.0),
        ("30 days", 30 * 86400.0),
        ("1 day", 86400.0),
        ("12h", 12 * 3600.0),
        ("2hr", 7200.0),
        ("1 hour", 3600.0),
        ("5m", 300.0),
        ("5min", 300.0),
        ("3 minutes", 180.0),
        ("90s", 90.0),
        ("10 sec", 10.0),
        ("10 seconds", 10.0),
        ("2w", 14 * 86400.0),
        ("2 weeks", 14 * 86400.0),
        ("250ms", 0.25),
    ],
)
def test_duration_forms(text: str, seconds: float) -> None:
    assert math.isclose(grammar.parse_duration(text), seconds, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("30 msec", "did you mean 'ms'?"),
        ("2 W", "did you mean 'w'?"),
        ("1 H", "did you mean 'h'?"),
        ("2 fortnights", "unknown duration unit 'fortnights'"),
        ("30", "has no unit"),
        ("0s", "must be positive"),
        ("forever", "is not a duration"),
        ("-5m", "is not a duration"),
        (30, "must be text, got 30 (int)"),
    ],
)
def test_duration_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_duration(text)
    assert fragment in str(info.value)
    assert "'30d'" in info.value.accepted


# -- percent and money ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"), [("99.9%", 99.9), ("99.99 %", 99.99), ("100%", 100.0), ("50%", 50.0)]
)
def test_percent_forms(text: str, value: float) -> None:
    assert grammar.parse_percent(text) == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("99.9", "is not a percentage"),
        ("0%", "outside (0%, 100%]"),
        ("100.01%", "outside (0%, 100%]"),
        ("-1%", "is not a percentage"),
        ("three nines", "is not a percentage"),
        (99.9, "must be text, got 99.9 (float)"),
    ],
)
def test_percent_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_percent(text)
    assert fragment in str(info.value)
    assert "'99.9%'" in info.value.accepted


@pytest.mark.parametrize(
    ("text", "dollars"),
    [
        ("$200/month", 200.0),
        ("$50/mo", 50.0),
        ("$ 60 / month", 60.0),
        ("$0.5/month", 0.5),
        ("200 USD/month", 200.0),
        ("200 usd/mo", 200.0),
        ("$1,200/month", 1200.0),
        ("$1,200,000.50/month", 1200000.5),
    ],
)
def test_money_forms(text: str, dollars: float) -> None:
    assert grammar.parse_money(text) == dollars


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("200/month", "has no currency"),
        ("$200", "is not a monthly amount"),
        ("$200/year", "is not a monthly amount"),
        ("€200/month", "is not a monthly amount"),
        ("$1,20/month", "is not a monthly amount"),
        ("USD 60/month", "is not a monthly amount"),
        (200, "must be text, got 200 (int)"),
    ],
)
def test_money_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_money(text)
    assert fragment in str(info.value)
    assert "'$200/month'" in info.value.accepted


# -- enumerations and residency ---------------------------------------------------


@pytest.mark.parametrize("level", grammar.DURABILITY_LEVELS)
def test_durability_levels(level: str) -> None:
    assert grammar.parse_durability(level) == level
    assert grammar.parse_durability(f" {level.upper()} ") == level


def test_enumerations_are_ordered_weakest_first() -> None:
    assert grammar.DURABILITY_LEVELS == ("ephemeral", "persistent", "durable")
    assert grammar.CONSISTENCY_LEVELS == ("eventual", "strong")
    assert grammar.ACCESS_PATTERNS == ("point", "prefix")


@pytest.mark.parametrize(
    ("parse", "text", "fragment", "accepted"),
    [
        (grammar.parse_durability, "durible", "did you mean 'durable'?", "persistent"),
        (grammar.parse_durability, "forever", "unknown durability 'forever'", "durable"),
        (grammar.parse_durability, 3, "durability must be text, got 3", "ephemeral"),
        (grammar.parse_consistency, "strng", "did you mean 'strong'?", "eventual | strong"),
        (grammar.parse_consistency, "linearizable", "unknown consistency", "strong"),
        (grammar.parse_consistency, True, "must be text", "eventual"),
        (grammar.parse_access, "prefx", "did you mean 'prefix'?", "point | prefix"),
        (grammar.parse_access, "random", "unknown access pattern 'random'", "point"),
        (grammar.parse_access, None, "must be text, got None", "prefix"),
    ],
)
def test_enumeration_rejects(parse: object, text: object, fragment: str, accepted: str) -> None:
    assert callable(parse)
    with pytest.raises(GrammarError) as info:
        parse(text)
    assert fragment in str(info.value)
    assert accepted in info.value.accepted


@pytest.mark.parametrize("level", ["eventual", "strong", "STRONG"])
def test_consistency_levels(level: str) -> None:
    assert grammar.parse_consistency(level) == level.lower()


@pytest.mark.parametrize("pattern", ["point", "prefix", "Prefix"])
def test_access_patterns(pattern: str) -> None:
    assert grammar.parse_access(pattern) == pattern.lower()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("us-east-1", "us-east-1"),
        ("eu-west-1", "eu-west-1"),
        ("europe-west1", "europe-west1"),
        ("us-central1", "us-central1"),
        ("asia-northeast1", "asia-northeast1"),
        ("ap-southeast-2", "ap-southeast-2"),
        ("eu", "eu"),
        ("EU", "eu"),
        ("us", "us"),
        ("local", "local"),
    ],
)
def test_residency_forms(text: str, value: str) -> None:
    assert grammar.parse_residency(text) == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("mars", "neither a region nor a region family"),
        ("us_east_1", "neither a region nor a region family"),
        ("asai", "did you mean 'asia'?"),
        ("", "neither a region"),
        (1, "residency must be text, got 1"),
    ],
)
def test_residency_rejects(text: object, fragment: str) -> None:
    with pytest.raises(GrammarError) as info:
        grammar.parse_residency(text)
    assert fragment in str(info.value)
    assert "us-east-1" in info.value.accepted
    assert "eu" in info.value.accepted


@pytest.mark.parametrize(
    ("residency", "region", "matches"),
    [
        ("eu", "eu-west-1", True),
        ("eu", "europe-west1", True),
        ("eu", "us-east-1", False),
        ("us", "us-central1", True),
        ("us-east-1", "us-east-1", True),
        ("us-east-1", "us-east-2", False),
        ("au", "ap-southeast-2", True),
        ("au", "ap-northeast-1", False),
        ("asia", "asia-east1", True),
        ("local", "local", True),
    ],
)
def test_region_matches(residency: str, region: str, matches: bool) -> None:
    assert grammar.region_matches(residency, region) is matches


# -- properties -------------------------------------------------------------------

_decimal_text = st.builds(
    lambda n, places: f"{n / 10**places:.{places}f}",
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=3),
)


@given(
    number=_decimal_text,
    unit=st.sampled_from(["us", "ms", "s"]),
    op=st.sampled_from(["<", "<=", ""]),
    space=st.sampled_from(["", " "]),
)
def test_any_formatted_latency_parses_to_its_value(
    number: str, unit: str, op: str, space: str
) -> None:
    text = f"{op}{space}{number}{space}{unit}"
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if float(number) * factor > grammar.MAX_LATENCY_MS:
        with pytest.raises(GrammarError, match="largest accepted, 1 day"):
            grammar.parse_latency(text)
        return
    bound = grammar.parse_latency(text)
    assert math.isclose(bound.value, float(number) * factor, rel_tol=1e-12)
    assert bound.strict is (op == "<")
    again = grammar.parse_latency(f"{bound}ms")
    assert again.strict is bound.strict
    assert math.isclose(again.value, bound.value, rel_tol=1e-5)


@given(number=_decimal_text, unit=st.sampled_from(["KB", "MB", "GB", "TB", "MiB", "GiB"]))
def test_any_formatted_size_parses_to_its_value(number: str, unit: str) -> None:
    factor = {"KB": 1e-6, "MB": 1e-3, "GB": 1.0, "TB": 1e3, "MiB": 2**20 / 1e9, "GiB": 2**30 / 1e9}
    if float(number) * factor[unit] > grammar.MAX_SIZE_GB:
        with pytest.raises(GrammarError, match="largest accepted, 1e9GB"):
            grammar.parse_size(f"{number}{unit}")
        return
    assert math.isclose(grammar.parse_size(f"{number}{unit}"), float(number) * factor[unit])


@given(number=_decimal_text, period=st.sampled_from(["s", "min", "h", "day", "month"]))
def test_any_formatted_rate_parses_to_its_value(number: str, period: str) -> None:
    seconds = {"s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0, "month": _MONTH}[period]
    assert math.isclose(grammar.parse_rate(f"{number}/{period}"), float(number) / seconds)


@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none()))
def test_parsers_only_ever_raise_grammar_errors(value: object) -> None:
    for parse in (
        grammar.parse_latency,
        grammar.parse_size,
        grammar.parse_rate,
        grammar.parse_duration,
        grammar.parse_percent,
        grammar.parse_money,
        grammar.parse_durability,
        grammar.parse_consistency,
        grammar.parse_access,
        grammar.parse_residency,
    ):
        try:
            parse(value)
        except GrammarError as exc:
            accepted = exc.accepted
        else:
            continue
        assert accepted


# -- bounds: every number is finite and at most the documented largest ----------------


@pytest.mark.parametrize(
    ("parse", "text", "largest"),
    [
        (grammar.parse_size, "1e400GB", "1e9GB"),
        (grammar.parse_size, "2e9GB", "1e9GB"),
        (grammar.parse_size, "1e308PB", "1e9GB"),  # finite text, infinite once scaled
        (grammar.parse_rate, "1e309/s", "1e9/s"),
        (grammar.parse_rate, "1e308k/s", "1e9/s"),
        (grammar.parse_rate, "2e9/s", "1e9/s"),
        (grammar.parse_latency, "< 1e400ms", "1 day"),
        (grammar.parse_latency, "86401s", "1 day"),
        (grammar.parse_duration, "1e400s", "36500 days"),
        (grammar.parse_duration, "36501 days", "36500 days"),
        (grammar.parse_money, "$" + "9" * 400 + "/month", "$1e9/month"),
        (grammar.parse_money, "$2,000,000,000/month", "$1e9/month"),
    ],
)
def test_numbers_beyond_the_documented_bounds_are_rejected(
    parse: Callable[[object], object], text: str, largest: str
) -> None:
    with pytest.raises(GrammarError) as info:
        parse(text)
    assert f"is more than the largest accepted, {largest}" in info.value.message
    assert len(info.value.message) < 200  # a 400-digit number is shown shortened


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (grammar.parse_size, "1e9GB", grammar.MAX_SIZE_GB),
        (grammar.parse_size, "1000PB", 1e9),
        (grammar.parse_rate, "1e9/s", grammar.MAX_RATE_PER_S),
        (grammar.parse_duration, "36500 days", grammar.MAX_DURATION_S),
        (grammar.parse_money, "$1,000,000,000/month", grammar.MAX_MONEY_USD_MONTH),
        (lambda text: grammar.parse_latency(text).value, "<= 86400s", grammar.MAX_LATENCY_MS),
    ],
)
def test_the_largest_documented_values_are_accepted(
    parse: Callable[[object], object], text: str, value: float
) -> None:
    assert parse(text) == value


def test_percent_of_infinity_is_rejected() -> None:
    with pytest.raises(GrammarError, match="outside"):
        grammar.parse_percent("1e400%")
