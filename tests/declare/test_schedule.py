"""``Cron`` and ``Every``: what they accept, and errors that point at the line that built them."""

from __future__ import annotations

import sys

import pytest

from skaal import App, Cron, DeclarationError, Every
from skaal.blueprint.model import ScheduleSpec


def lineno() -> int:
    return sys._getframe(1).f_lineno


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "0 * * * *",
        "*/15 * * * *",
        "0-30/5 * * * *",
        "0 9 * * mon-fri",
        "0 9 * jan-mar MON",
        "0 0 1,15 * *",
        "59 23 31 12 7",
        "0 0 * * 0",
        "5 4 * * sun",
        "  0   12  *  *  *  ",
    ],
)
def test_cron_accepts(expression: str) -> None:
    cron = Cron(expression)
    assert cron.spec() == ScheduleSpec(cron=" ".join(expression.split()), timezone="UTC")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * * *", "expected 5 fields, found 4"),
        ("* * * * * *", "expected 5 fields, found 6"),
        ("@daily", "expected 5 fields, found 1"),
        ("", "expected 5 fields, found 0"),
        ("60 * * * *", "60 is outside 0-59 in the minute field"),
        ("0 24 * * *", "24 is outside 0-23 in the hour field"),
        ("0 0 0 * *", "0 is outside 1-31 in the day-of-month field"),
        ("0 0 32 * *", "32 is outside 1-31 in the day-of-month field"),
        ("0 0 * 13 *", "13 is outside 1-12 in the month field"),
        ("0 0 * * 8", "8 is outside 0-7 in the day-of-week field"),
        ("0 5-3 * * *", "range '5-3' in the hour field runs backwards"),
        ("0 0 * dec-jan *", "range 'dec-jan' in the month field runs backwards"),
        ("*/0 * * * *", "step '0' in the minute field must be a positive number"),
        ("*/x * * * *", "step 'x' in the minute field"),
        ("*/5/2 * * * *", "step '5/2' in the minute field"),
        ("0 0 * foo *", "'foo' is not a number in the month field"),
        ("0 0 mon * *", "'mon' is not a number in the day-of-month field"),
        ("0 0 * * jan", "'jan' is not a number in the day-of-week field"),
        ("5- * * * *", "'' is not a number in the minute field"),
        ("1,,2 * * * *", "'' is not a number in the minute field"),
        ("1-2-3 * * * *", "'2-3' is not a number in the minute field"),
        ("-1 * * * *", "'' is not a number in the minute field"),
    ],
)
def test_cron_rejects(expression: str, fragment: str) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        Cron(expression)
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert f"invalid cron expression {expression!r}: {fragment}" in text
    assert "minute hour day-of-month month day-of-week" in text


def test_cron_rejects_non_text() -> None:
    with pytest.raises(DeclarationError) as info:
        Cron(5)  # type: ignore[arg-type]
    assert "invalid cron expression 5" in str(info.value)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
def test_cron_time_zones(zone: str) -> None:
    assert Cron("0 * * * *", timezone=zone).spec().timezone == zone


@pytest.mark.parametrize("zone", ["paris", "", "Europe/", "utc+1", 3])
def test_cron_rejects_bad_time_zones(zone: object) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        Cron("0 * * * *", timezone=zone)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: invalid time zone {zone!r}" in text
    assert "'Europe/Paris'" in text


@pytest.mark.parametrize(
    ("period", "seconds"), [("1m", 60.0), ("5m", 300.0), ("1h", 3600.0), ("2 days", 172800.0)]
)
def test_every_accepts(period: str, seconds: float) -> None:
    assert Every(period).spec() == ScheduleSpec(every_s=seconds)


@pytest.mark.parametrize(
    ("period", "fragment"),
    [
        ("30s", "Every('30s') is shorter than one minute"),
        ("59s", "Every('59s') is shorter than one minute"),
        ("500ms", "Every('500ms') is shorter than one minute"),
        ("5 msec", "invalid period for Every: unknown duration unit 'msec' (did you mean 'ms'?)"),
        ("often", "invalid period for Every: 'often' is not a duration"),
        (5, "invalid period for Every: a duration must be text, got 5 (int)"),
    ],
)
def test_every_rejects(period: object, fragment: str) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        Every(period)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert fragment in text


def test_schedule_needs_a_trigger() -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.schedule("0 * * * *")  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert "@app.schedule needs a Cron(...) or Every(...), got '0 * * * *'" in text


def test_scheduled_functions_are_recorded() -> None:
    app = App("demo")

    @app.schedule(Cron("0 3 * * *", timezone="Europe/Paris"), timeout="5m")
    def nightly() -> None: ...

    @app.schedule(Every("10m"))
    def poll() -> None: ...

    blueprint = app.blueprint()
    spec = blueprint.resource("nightly")
    assert spec.kind == "function"
    assert spec.schedule == ScheduleSpec(cron="0 3 * * *", timezone="Europe/Paris")
    assert spec.http is False
    assert spec.requirements.timeout_s == 300.0
    assert blueprint.resource("poll").schedule == ScheduleSpec(every_s=600.0)
