"""A scheduled function is priced as often as its schedule fires, not at the default 1/s.

The planner counts a cron's fires over 2026 day by day
(:func:`skaal.blueprint.cron.mean_rate`); the oracle counts them again minute
by minute (:func:`solver.oracle_rules.fires_per_second`); both must agree,
and the figures are checked by hand.
"""

from __future__ import annotations

import pytest

from skaal import App, Cron, Every
from skaal.blueprint.cron import CronFields, mean_rate
from skaal.blueprint.model import ScheduleSpec
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from skaal.solver.cost import SECONDS_PER_MONTH
from solver.oracle_rules import fires_per_second

YEAR = 365 * 86400

#: (expression, fires in 2026, counted by hand)
CASES = [
    ("0 * * * *", 365 * 24),  # hourly
    ("*/15 * * * *", 365 * 24 * 4),
    ("0 3 * * *", 365),  # daily
    ("30 9-17 * * mon-fri", 261 * 9),  # 2026 has 261 weekdays
    ("0 0 1 * *", 12),  # monthly
    ("0 0 13 * 5", 52 + 12 - 3),  # Fridays or the 13th (three Fridays are the 13th)
    ("0 0 29 2 *", 0),  # 2026 is not a leap year
    ("0 12 * jan,jul sun", 4 + 4),  # Sundays of January and July 2026
]


@pytest.mark.parametrize(("expression", "fires"), CASES)
def test_a_cron_fires_as_counted_by_hand(expression: str, fires: int) -> None:
    assert CronFields.parse(expression).fires_in(2026) == fires
    assert mean_rate(ScheduleSpec(cron=expression)) == pytest.approx(fires / YEAR)


@pytest.mark.parametrize(("expression", "fires"), CASES[:4])
def test_the_oracle_counts_the_same(expression: str, fires: int) -> None:
    assert fires_per_second(expression, None) == pytest.approx(fires / YEAR)


def test_a_period_fires_once_per_period() -> None:
    assert mean_rate(ScheduleSpec(every_s=60.0)) == pytest.approx(1 / 60)
    assert fires_per_second(None, 60.0) == pytest.approx(1 / 60)


def test_an_hourly_function_is_priced_at_730_invocations_a_month() -> None:
    app = App("reports")

    @app.schedule(Cron("0 * * * *"))
    async def hourly() -> None: ...

    @app.schedule(Every("1h"))
    async def every_hour() -> None: ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    for name in ("hourly", "every_hour"):
        binding = plan.binding(name)
        requests = next(line for line in binding.cost if line.component == "per_million_requests")
        # 730 hours a month, in millions of requests
        assert requests.quantity == pytest.approx(SECONDS_PER_MONTH / 3600 / 1e6, rel=1e-9)
        assert "invocations" not in binding.reason
