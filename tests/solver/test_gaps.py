"""The oracle stopped by a node limit, and the split of a gap between plan and bound.

:func:`solver.oracle.solve_exact` with ``node_limit`` answers ``best_found``
(or ``optimal`` when the limit is not reached) with a proven bound; a bound
below the optimum and a plan above it are checked against the unlimited
oracle on a ``users`` draw.  :class:`solver.gaps.Gap` splits a gap into the
part that is surely the plan's, the part that is surely the bound's and the
rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.blueprint.model import Blueprint
from solver.draws import draw_blueprint, write_app
from solver.gaps import Gap, gap
from solver.oracle import read_catalog, solve_exact

CENT = 0.005


def _users(n: int, folder: Path) -> Blueprint:
    path = write_app(folder / f"users{n}.py", "users", n)
    return draw_blueprint(path)


def test_a_gap_is_split_into_the_plans_part_the_bounds_part_and_the_unknown() -> None:
    # planner: plan 110, bound 90; oracle: plan 104, bound 97 -> optimum in [97, 104]
    row = Gap("best_found", 110.0, 90.0, "best_found", 104.0, 97.0)
    assert row.plan_above == pytest.approx(6.0)
    assert row.bound_below == pytest.approx(7.0)
    assert row.unknown == pytest.approx(7.0)
    # an oracle worse on both sides tells nothing: the whole gap stays unknown
    worse = Gap("best_found", 110.0, 90.0, "best_found", 120.0, 80.0)
    assert (worse.plan_above, worse.bound_below, worse.unknown) == (0.0, 0.0, 20.0)


def test_the_oracle_stopped_by_nodes_brackets_the_optimum(tmp_path: Path) -> None:
    blueprint = _users(100, tmp_path)
    catalog = read_catalog("aws")
    exact = solve_exact(blueprint, catalog)
    stopped = solve_exact(blueprint, catalog, node_limit=1)
    assert exact.status == "optimal"
    assert exact.total is not None
    assert exact.bound == exact.total
    assert stopped.status in ("optimal", "best_found")
    assert stopped.total is not None
    assert stopped.bound is not None
    assert stopped.bound <= exact.total + CENT <= stopped.total + 2 * CENT
    again = solve_exact(blueprint, catalog, node_limit=1)
    assert (again.status, again.total) == (stopped.status, stopped.total)
    assert again.bound == stopped.bound


def test_an_optimal_plan_leaves_no_gap_on_either_side(tmp_path: Path) -> None:
    row = gap(_users(100, tmp_path), "aws", nodes=1)
    assert row.status == "optimal"
    assert row.plan == row.bound
    assert row.plan_above <= CENT
    assert row.bound_below <= CENT
