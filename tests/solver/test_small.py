"""The subset search for components of a few units (skaal/solver/small.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.blueprint.model import Blueprint
from skaal.catalog.loader import load_catalog
from skaal.solver import small, solve, uniform
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.small import solve_small
from solver.draws import draw_blueprint, write_app
from tests.solver._child_plan import plan_in_child
from tests.solver._factories import writes_server

CENT = 0.005


def _unit(name: str, writes: float, dedicated: float | None) -> Unit:
    options = [UnitOption("pg", 0, 0)]
    if dedicated is not None:
        options.append(UnitOption("dyn", round(dedicated * SCALE), 1))
    return Unit((name,), tuple(options), (SCALE, SCALE, round(writes * SCALE), SCALE))


@pytest.mark.parametrize(
    ("large", "total", "shapes"),
    [
        (25.0, 20.0, ["small", "small"]),  # two small instances beat one large
        (15.0, 15.0, ["large"]),  # one large instance holds both
    ],
)
def test_the_cheapest_instances_hold_the_units(
    large: float, total: float, shapes: list[str]
) -> None:
    server = writes_server(("small", 10.0, 100.0), ("large", large, 200.0))
    units = [_unit("a", 60.0, 20.0), _unit("b", 60.0, 20.0)]
    found = solve_small(units, {"pg": server})
    assert found is not None
    placement, bins, cost = found
    assert cost == round(total * SCALE)
    assert [u.members for u in placement["pg"]] == [("a",), ("b",)]
    assert sorted(shape.instance_class.name for shape, _ in bins["pg"]) == shapes


def test_a_unit_no_instance_pays_for_goes_to_its_dedicated_option() -> None:
    server = writes_server(("small", 30.0, 100.0))
    units = [_unit("a", 60.0, 20.0), _unit("b", 60.0, None)]
    found = solve_small(units, {"pg": server})
    assert found is not None
    placement, _, cost = found
    assert cost == round(50.0 * SCALE)
    assert [u.members for u in placement["pg"]] == [("b",)]
    assert [u.members for u in placement["dyn"]] == [("a",)]


def test_units_no_plan_holds_are_left_to_the_caller() -> None:
    server = writes_server(("small", 10.0, 100.0), quota=1)
    units = [_unit("a", 60.0, None), _unit("b", 60.0, None)]
    assert solve_small(units, {"pg": server}) is None


def test_a_search_past_its_work_limit_is_left_to_the_pooled_relaxation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = writes_server(("small", 10.0, 100.0))
    units = [_unit("a", 60.0, 20.0), _unit("b", 60.0, 20.0)]
    assert solve_small(units, {"pg": server}) is not None
    monkeypatch.setattr(small, "MAX_WORK", 8)
    assert solve_small(units, {"pg": server}) is None


def _users(n: int, seed: int, folder: Path) -> Blueprint:
    path = write_app(folder / f"users{n}_{seed}.py", "users", n, seed=seed)
    return draw_blueprint(path)


@pytest.mark.parametrize("name", ["aws", "gcp"])
@pytest.mark.parametrize("n", [6, 10, 14])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_small_users_draws_plan_at_least_as_cheaply_as_with_highs(
    name: str, n: int, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = _users(n, seed, tmp_path)
    catalog = load_catalog(name)
    searched = solve(blueprint, catalog)
    monkeypatch.setattr(small, "MAX_WORK", 0)
    monkeypatch.setattr(uniform, "MAX_FLOWS", 0)
    pooled = solve(blueprint, catalog)
    if pooled.status == "optimal":
        assert searched.status == "optimal"
        assert abs(searched.total_monthly_cost - pooled.total_monthly_cost) <= CENT
    else:
        assert searched.total_monthly_cost <= pooled.total_monthly_cost + CENT


@pytest.mark.parametrize("name", ["aws", "gcp"])
def test_planning_a_small_app_loads_neither_numpy_nor_highs(name: str, tmp_path: Path) -> None:
    path = write_app(tmp_path / "small.py", "users", 10)
    assert plan_in_child(path, name) == {"status": "optimal", "loaded": []}
