"""The quotas on provisioned capacity as rows of the pooled relaxation.

Where the relaxation couples DynamoDB's units (its table quota could be
passed), each table provisioned there takes its units of the Region's quota
and may take its other mode instead; the relaxation solved with the quota as
rows bounds every plan within it, and the Lagrangian bound of
``skaal/solver/mode_quotas.py`` is not computed.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skaal import App, Map
from skaal.blueprint.model import Blueprint
from skaal.catalog.loader import load_catalog
from skaal.solver import highs, mode_quotas, pooled, quota_bound, solve
from skaal.solver.count_rows import count_rows
from skaal.solver.feasibility import build_problem
from skaal.solver.highs import quiet_highs
from skaal.solver.mode_rows import QuotedTable, mode_rows
from skaal.solver.opening import Opening
from skaal.solver.quota_bound import QuotaBound
from skaal.solver.vpc import _Within
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog, solve_exact

MONTH_MILLIONS = 2.628  # 2,628,000 seconds in a 730-hour month, in millions
POOL = ("dynamodb", "provisioned", "us-east-1")


def _child(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "child.toml"
    path.write_text(f'schema_version = 2\nname = "child"\nextends = "aws"\n{body}')
    return path


def _ledgers(count: int) -> App:
    """``count`` maps only DynamoDB may hold, each writing 20,000 a second."""
    app = App("ledgers")
    for index in range(count):
        store = app.storage(read_latency="< 20ms", durability="persistent", size="1GB",
                            reads="10/s", writes="20000/s", backend="dynamodb")  # fmt: skip
        store(types.new_class(f"Ledger{index}", (Map[str, str],)))
    return app


def test_each_table_takes_its_units_and_costs_more_in_its_other_mode_priced_by_hand() -> None:
    # Three tables of 20,000 writes/s provision 3 x ceil(20,000 / 0.7) = 85,716 write
    # units, past the 80,000 of us-east-1; on-demand each costs what the catalog's
    # per-request prices say more (storage and backups the same in both modes).
    problem = build_problem(_ledgers(3).blueprint(), load_catalog("aws"))
    rows = mode_rows(problem, {"dynamodb"})
    assert rows is not None
    assert rows.rooms == {POOL: (80_000.0, 80_000.0)}
    provisioned = 15 * 0.0949 + 28_572 * 0.4745  # ceil(10 / 0.7) read units, write units
    on_demand = 10 * MONTH_MILLIONS * 0.125 + 20_000 * MONTH_MILLIONS * 0.625
    extra = round((on_demand - provisioned) * 1_000_000)
    assert extra == pytest.approx(19_294_447_500, abs=2)
    for name in ("Ledger0", "Ledger1", "Ledger2"):
        assert rows.tables[name]["dynamodb"] == QuotedTable(POOL, 15, 28_572, pytest.approx(extra))
    # two tables could not pass the quota: no rows; nor without DynamoDB coupled
    two = build_problem(_ledgers(2).blueprint(), load_catalog("aws"))
    assert mode_rows(two, {"dynamodb"}) is None
    assert mode_rows(problem, set()) is None


def _lowered_linear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Blueprint]:
    """The aws users draw of 100 (seed 5) and a catalog cutting DynamoDB's tables to 40
    (its 52 maps and collections able to use it could pass that: DynamoDB's units are
    coupled) and its write units to 20,000, the pooled relaxation solved linear as past
    4,000 columns."""
    lowered = _child(
        tmp_path,
        "[backends.dynamodb.counts.tables]\nquota = 40\n\n"
        "[backends.dynamodb.modes.provisioned]\nquota_write_units = 20000\n",
    )
    monkeypatch.setattr(
        pooled, "solve_pooled", functools.partial(pooled.solve_pooled, max_exact_columns=-1)
    )
    return lowered, draw_blueprint(write_app(tmp_path / "u100_5.py", "users", 100, seed=5))


def test_the_rows_bound_every_plan_within_the_quota_and_replace_the_lagrangian(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (_lowered_linear) The plan meets the oracle's optimum with both quotas in its
    # programme; the bound holds below it, above the cheapest plan without the write
    # quota, and the Lagrangian bound is never computed.
    lowered, blueprint = _lowered_linear(tmp_path, monkeypatch)
    catalog = load_catalog(str(lowered))
    rows = count_rows(build_problem(blueprint, catalog))
    assert rows is not None
    assert rows.backends == {"dynamodb"}

    def no_lagrangian(*_: object) -> float:
        raise AssertionError("the Lagrangian bound was computed")

    monkeypatch.setattr(mode_quotas, "_lagrangian", no_lagrangian)
    plan = solve(blueprint, catalog)
    assert audit(plan, blueprint, read_catalog(str(lowered))) == []
    oracle = solve_exact(blueprint, read_catalog(str(lowered)))
    assert oracle.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(oracle.total, abs=1e-6)
    assert plan.lower_bound is not None
    assert plan.lower_bound <= oracle.total + 1e-6
    tables_only = _child(tmp_path, "[backends.dynamodb.counts.tables]\nquota = 40\n")
    unbounded = solve_exact(blueprint, read_catalog(str(tables_only)))
    assert plan.lower_bound > unbounded.total + 1_000  # the write quota counts in it
    # solved beside placement on a spare CPU, or when asked on one: the same plan
    monkeypatch.setattr(quota_bound, "spare_cpu", lambda: not highs.spare_cpu())
    again = solve(blueprint, catalog)
    assert again.content_hash() == plan.content_hash()


def test_with_no_bound_within_the_quota_the_lagrangian_one_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The relaxation with the quota as rows reaching no optimum (tables with no other
    # mode past it) gives no bound: the Lagrangian one is computed, as before the rows.
    lowered, blueprint = _lowered_linear(tmp_path, monkeypatch)
    monkeypatch.setattr(quota_bound.QuotaBound, "value", lambda _: None)
    computed: list[float] = []
    lagrangian = mode_quotas._lagrangian

    def counted(*args: Any) -> float:
        computed.append(lagrangian(*args))
        return computed[-1]

    monkeypatch.setattr(mode_quotas, "_lagrangian", counted)
    plan = solve(blueprint, load_catalog(str(lowered)))
    assert len(computed) == 1
    assert plan.lower_bound == pytest.approx(computed[0])
    assert plan.lower_bound < plan.total_monthly_cost


def test_a_bound_known_at_once_is_never_solved_for_and_keeps_the_higher() -> None:
    known = QuotaBound(100.0).above(120.0)
    assert known.value() == 120.0
    assert QuotaBound(130.0).above(120.0).value() == 130.0
    assert QuotaBound(None).value() is None


def test_the_network_s_bound_within_the_quotas_takes_the_least_over_the_regions() -> None:
    # Every set of regions counts max(a, within + b): within the optimiser's bound within
    # the quotas (at least its bound without them), b what that set pays the network.
    within = _Within(lambda: 1_000.0, 900.0, [(-float("inf"), 64.0), (1_030.0, 0.0)])
    assert within() == 1_030.0
    assert _Within(lambda: 800.0, 900.0, [(-float("inf"), 64.0)])() == 964.0
    assert _Within(lambda: None, 900.0, [(-float("inf"), 64.0)])() is None


def test_a_forked_opening_counts_its_own_rows_added() -> None:
    # the row "unit column 0 at most 1 x instance column 1", broken by (1, 0)
    opening = Opening()
    opening.append(0, 1.0, (1,))
    fork = opening.forked()
    assert fork.broken([1.0, 0.0]) == opening.broken([1.0, 0.0]) == [0]
    copy = quiet_highs()
    copy.addVars(2, np.zeros(2), np.ones(2))
    fork.add(copy, [0])
    assert copy.getNumRow() == 1
    assert fork.broken([1.0, 0.0]) == []
    assert opening.broken([1.0, 0.0]) == [0]  # the relaxation it was forked from has none
