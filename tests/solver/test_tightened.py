"""Instances tightened after placement: each on its cheapest shape, pairs merged when cheaper.

:func:`skaal.solver.place.tightened` only ever lowers the fees of a packing
and keeps every unit on an instance that holds it; the ``users`` draw of
200 resources, which it once took $75 off, plans at its optimum on the
integer model per shape, valid by the oracle's own rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.catalog.loader import load_catalog
from skaal.solver import pooled, solve
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.place import tightened
from skaal.solver.servers import Server
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog
from tests.solver._factories import labels, writes_server


def _server() -> Server:
    """small: 10 writes/s for $2; medium: 20 for $3; large: 100 for $50."""
    return writes_server(("small", 2.0, 10.0), ("medium", 3.0, 20.0), ("large", 50.0, 100.0))


def _unit(name: str, writes: float) -> Unit:
    return Unit((name,), (UnitOption("pg", 0, 0),), (SCALE, SCALE, round(writes * SCALE), SCALE))


def test_an_instance_larger_than_its_units_need_takes_the_cheapest_shape_holding_them() -> None:
    server = _server()
    small, _, large = server.shapes
    # 8 writes/s on a large instance ($50): a small one ($2) holds them.
    bins = tightened([(large, [_unit("a", 8.0)])], server.shapes)
    assert labels(bins) == [("small", ["a"])]
    # 30 writes/s: only large holds them, so it stays.
    bins = tightened([(large, [_unit("b", 30.0)]), (small, [])], server.shapes)
    assert labels(bins) == [("large", ["b"])]


def test_two_instances_one_cheaper_shape_holds_are_merged() -> None:
    server = _server()
    small = server.shapes[0]
    # Two small instances ($2 + $2) with 6 and 9 writes/s: one medium ($3) holds 15.
    bins = tightened([(small, [_unit("a", 6.0)]), (small, [_unit("b", 9.0)])], server.shapes)
    assert labels(bins) == [("medium", ["a", "b"])]
    # Four smalls of 6 writes/s ($8): a pair into a medium (12 of 20, $3), then
    # that medium and a small into one medium (18 of 20): a medium and a
    # small, $5.
    four = [(small, [_unit(f"u{i}", 6.0)]) for i in range(4)]
    bins = tightened(four, server.shapes)
    assert sorted(label for label, _ in labels(bins)) == ["medium", "small"]
    assert sum(shape.fee for shape, _ in bins) == pytest.approx(5.0)
    assert sorted(u for _, members in labels(bins) for u in members) == ["u0", "u1", "u2", "u3"]


def test_a_tight_packing_is_left_alone() -> None:
    server = _server()
    small = server.shapes[0]
    # 10 + 10 writes/s: a medium ($3) would hold 20 for less than $4.
    # 11 + 10 writes/s: none holds 21 for less than $4 + ... (large is $50).
    tight = [(small, [_unit("a", 10.0)]), (server.shapes[1], [_unit("b", 11.0)])]
    assert labels(tightened(tight, server.shapes)) == [("medium", ["b"]), ("small", ["a"])]


@pytest.mark.parametrize("name", ["aws"])
def test_the_users_draw_of_200_plans_valid_and_at_its_optimum_per_shape(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_app(tmp_path / "users200.py", "users", 200)
    blueprint = draw_blueprint(path)
    # The optimum the oracle proves (solver.oracle's solve_exact, 29 s of
    # HiGHS on the development machine; $372,997.95 before ElastiCache's
    # cache.r7g.4xlarge to 16xlarge were in the catalog).
    optimum = 367_236.31
    # Its model has more unit columns than MAX_SHAPE_COLUMNS: pooled per
    # server, its plan is best found, $9.42 above the optimum, with a bound
    # below it.
    plan = solve(blueprint, load_catalog(name))
    assert audit(plan, blueprint, read_catalog(name)) == []
    assert plan.lower_bound is not None
    assert plan.lower_bound <= optimum <= plan.total_monthly_cost
    assert plan.total_monthly_cost == pytest.approx(367_245.73, abs=0.01)
    # Per shape (on the catalog before the larger cache nodes): $373,094.53
    # before the instances were tightened, then $373,019.34 (best found) until
    # the pooled relaxation counted the units over half an instance that cannot
    # share one (skaal.solver.pooled_model.weight): now proven optimal, at the optimum.
    monkeypatch.setattr(pooled, "MAX_SHAPE_COLUMNS", pooled.MAX_EXACT_COLUMNS)
    per_shape = solve(blueprint, load_catalog(name))
    assert audit(per_shape, blueprint, read_catalog(name)) == []
    assert per_shape.lower_bound is None
    assert per_shape.total_monthly_cost == pytest.approx(optimum, abs=0.01)
