"""Traces exported with ``[tool.skaal] traces = true`` are priced on each function's binding.

The rule is :mod:`skaal.solver.traces`.  Figures from the catalogs: X-Ray
$5.00 per million traces recorded (aws), Cloud Trace $0.20 per million spans
ingested (gcp); a month is 2,628,000 s, so 10 invocations/s are 26.28
million a month.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.errors import PlanError, UnsatisfiableError
from skaal.plan.bill import bill_of
from skaal.plan.lock import lock_text, read_lock, write_lock
from skaal.plan.model import Plan
from skaal.solver import solve

MILLIONS = 26.28  # 10/s for a month, in millions


def _app(*, budget: float | None = None) -> App:
    app = App("traced", budget=f"${budget}/month") if budget is not None else App("traced")
    notes = types.new_class("Notes", (Map[str, str],))
    tags = types.new_class("Tags", (Map[str, str],))
    app.storage()(notes)
    app.storage()(tags)

    async def note(key: str) -> str | None:
        await tags.get(key)  # type: ignore[attr-defined]
        return await notes.get(key)  # type: ignore[no-any-return, attr-defined]

    app.function(invocations="10/s")(note)
    return app


def _pair(catalog: str) -> tuple[Plan, Plan]:
    blueprint = _app().blueprint()
    return solve(blueprint, load_catalog(catalog)), solve(
        blueprint, load_catalog(catalog), traces=True
    )


def test_xray_prices_one_trace_per_invocation_on_aws() -> None:
    plain, traced = _pair("aws")
    assert plain.traces is False
    assert not [c for c in plain.binding("note").cost if "trace" in c.component]
    assert traced.traces is True
    (line,) = [c for c in traced.binding("note").cost if c.component == "per_million_traces"]
    assert line.quantity == pytest.approx(MILLIONS)
    assert line.monthly == pytest.approx(5.00 * MILLIONS)  # $131.40
    binding = traced.binding("note")
    assert binding.monthly_cost == pytest.approx(sum(c.monthly for c in binding.cost))
    assert traced.total_monthly_cost == pytest.approx(plain.total_monthly_cost + line.monthly)
    # the same placements: the line costs the same wherever the function runs
    assert [(b.resource, b.backend) for b in traced.bindings] == [
        (b.resource, b.backend) for b in plain.bindings
    ]
    lam = next(u for u in traced.prices if u.backend == "lambda")
    assert lam.price.per_million_traces is not None
    assert lam.price.per_million_traces.source == "https://aws.amazon.com/xray/pricing/"


def test_cloud_trace_prices_the_spans_of_each_invocation_on_gcp() -> None:
    plain, traced = _pair("gcp")
    (line,) = [c for c in traced.binding("note").cost if c.component == "per_million_spans"]
    # its own span and one per map it uses: 3 spans an invocation
    assert line.quantity == pytest.approx(3 * MILLIONS)
    assert line.monthly == pytest.approx(0.20 * 3 * MILLIONS)  # $15.768
    assert traced.total_monthly_cost == pytest.approx(plain.total_monthly_cost + line.monthly)


def test_the_local_target_prices_no_traces() -> None:
    plain, traced = _pair("local")
    assert traced.total_monthly_cost == plain.total_monthly_cost
    assert not [c for b in traced.bindings for c in b.cost if "trace" in c.component]


def test_traces_enter_the_plan_hash_and_the_lock(tmp_path: Path) -> None:
    plain, traced = _pair("aws")
    assert plain.content_hash() != traced.content_hash()
    # written only when on, as older locks were: they keep their hash
    assert "\ntraces = " not in lock_text(plain)
    stored = read_lock(write_lock(traced, tmp_path / "skaal.lock"))
    assert stored is not None
    assert stored.traces is True
    assert stored.content_hash() == traced.content_hash()
    edited = (tmp_path / "skaal.lock").read_text().replace("\ntraces = true\n", "\n")
    (tmp_path / "edited.lock").write_text(edited)
    with pytest.raises(PlanError, match="edited by hand"):
        read_lock(tmp_path / "edited.lock")


def test_the_bill_lists_the_traces_with_their_source() -> None:
    _, traced = _pair("aws")
    bill = bill_of(traced)
    (line,) = [x for x in bill.lines if x.component == "per_million_traces"]
    assert (line.owner, line.item, line.unit) == ("note", "traces recorded", "million traces")
    assert line.price.amount == 5.00
    assert bill.total == traced.total_monthly_cost


def test_a_budget_counts_the_traces() -> None:
    plain, traced = _pair("aws")
    between = round((plain.total_monthly_cost + traced.total_monthly_cost) / 2, 2)
    blueprint = _app(budget=between).blueprint()
    assert solve(blueprint, load_catalog("aws")).total_monthly_cost == plain.total_monthly_cost
    with pytest.raises(UnsatisfiableError):
        solve(blueprint, load_catalog("aws"), traces=True)
