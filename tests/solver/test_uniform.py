"""The exact search for components of alike units (skaal/solver/uniform.py) against HiGHS."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from skaal.blueprint.model import Blueprint
from skaal.catalog.loader import load_catalog
from skaal.solver import solve, uniform
from skaal.solver.decompose import SCALE, Group, Unit, UnitOption
from skaal.solver.pooled import solve_pooled
from skaal.solver.servers import Server, server_of
from skaal.solver.uniform import solve_uniform
from skaal.testing import backend
from solver.draws import draw_blueprint, write_app
from tests.solver._child_plan import plan_in_child
from tests.solver._factories import writes_class

CENT = 0.005


def _server(name: str, classes: list[tuple[float, float]], quota: int) -> Server:
    """A server whose classes are (monthly price, writes/s); resources limit at 50."""
    return server_of(
        backend(  # type: ignore[arg-type]
            name,
            kinds=("map",),
            quota=quota,
            classes=[
                writes_class(f"c{i}", price, writes, resources=50)
                for i, (price, writes) in enumerate(classes)
            ],
        )
    )


def _group(name: str, size: int, writes: float, options: list[tuple[str, float]]) -> Group:
    ranked = tuple(
        UnitOption(b, round(cost * SCALE), rank)
        for rank, (b, cost) in enumerate(sorted(options, key=lambda o: (o[1], o[0])))
    )
    usage = (SCALE, SCALE, round(writes * SCALE), SCALE)
    return Group(tuple(Unit((f"{name}{i}",), ranked, usage) for i in range(size)))


def _case(seed: int) -> tuple[list[Group], dict[str, Server]]:
    """Alike units over two or three servers, some units with a dedicated option."""
    draw = random.Random(seed)
    servers: dict[str, Server] = {}
    for s in range(draw.randint(2, 3)):
        classes = sorted(
            (round(draw.uniform(5, 80), 2), float(draw.choice((20, 40, 50, 100, 150))))
            for _ in range(draw.randint(1, 3))
        )
        servers[f"s{s}"] = _server(f"s{s}", classes, quota=draw.choice((2, 4, 40)))
    # Capacities are multiples of the units' writes: then pooling capacity per
    # shape loses nothing, and the pooled relaxation's optimum is a plan's.
    writes = float(draw.choice((1, 5, 10)))
    grouped = []
    for g in range(draw.randint(2, 5)):
        names = draw.sample(sorted(servers), draw.randint(1, len(servers)))
        options = [(n, round(draw.uniform(0, 0.5), 3)) for n in names]
        if draw.random() < 0.7:
            options.append(("dyn", round(draw.uniform(0.2, 3.0), 3)))
        grouped.append(_group(f"g{g}u", draw.randint(1, 120), writes, options))
    return grouped, servers


@pytest.mark.parametrize("seed", range(60))
def test_the_search_finds_the_pooled_optimum(seed: int) -> None:
    grouped, servers = _case(seed)
    exact = solve_pooled(grouped, servers)
    found = solve_uniform(grouped, servers)
    if exact.infeasible:
        assert found is None
        return
    assert exact.proven
    if found is None:  # a quota bound the cheapest cover: the caller asks HiGHS
        return
    assert found.proven
    assert abs(found.bound - exact.bound) <= CENT
    # The answer is a plan: every unit placed once, each shape's instances hold their units.
    for group, row in zip(grouped, found.counts or (), strict=True):
        assert sum(n for _, _, n in row) == len(group.units)
    for name, shapes in found.instances.items():
        load = sum(n for row in found.counts or () for b, _, n in row if b == name)
        writes = grouped[0].usage[2]
        room = 0
        for shape, count in shapes:
            capacity = shape.capacity[2]
            assert capacity is not None
            room += count * min(capacity // writes, 50)
        assert load <= room
        assert sum(count for _, count in shapes) <= servers[name].quota


def test_the_search_answers_most_feasible_cases_without_highs() -> None:
    feasible = [seed for seed in range(60) if not solve_pooled(*_case(seed)).infeasible]
    answered = [seed for seed in feasible if solve_uniform(*_case(seed)) is not None]
    assert len(feasible) >= 40
    assert len(answered) >= len(feasible) - 6  # the others: a quota binds the cheapest cover


def test_units_of_different_usage_are_left_to_the_pooled_relaxation() -> None:
    servers = {"s0": _server("s0", [(10.0, 100.0)], quota=4)}
    grouped = [
        _group("a", 3, 1.0, [("s0", 0.1), ("dyn", 1.0)]),
        _group("b", 3, 2.0, [("s0", 0.1), ("dyn", 1.0)]),
    ]
    assert solve_uniform(grouped, servers) is None


def test_a_search_past_its_work_limit_is_left_to_the_pooled_relaxation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grouped, servers = _case(0)
    assert solve_uniform(grouped, servers) is not None
    monkeypatch.setattr(uniform, "MAX_FLOWS", 0)
    assert solve_uniform(grouped, servers) is None


def _profiles(n: int, seed: int, folder: Path) -> Blueprint:
    path = write_app(folder / f"profiles{n}_{seed}.py", "profiles", n, seed=seed)
    return draw_blueprint(path)


@pytest.mark.parametrize("name", ["aws", "gcp"])
@pytest.mark.parametrize(("n", "seed"), [(300, 1), (300, 2), (1000, 3), (1000, 2026)])
def test_profiles_draws_plan_the_same_with_and_without_highs(
    name: str, n: int, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = _profiles(n, seed, tmp_path)
    catalog = load_catalog(name)
    searched = solve(blueprint, catalog)
    monkeypatch.setattr(uniform, "MAX_FLOWS", 0)  # every component goes to HiGHS
    pooled = solve(blueprint, catalog)
    assert searched.status == pooled.status == "optimal"
    assert abs(searched.total_monthly_cost - pooled.total_monthly_cost) <= CENT


@pytest.mark.parametrize("name", ["aws", "gcp"])
def test_planning_alike_maps_loads_neither_numpy_nor_highs(name: str, tmp_path: Path) -> None:
    path = write_app(tmp_path / "alike.py", "profiles", 1000)
    assert plan_in_child(path, name) == {"status": "optimal", "loaded": []}
