"""Reduced-cost fixing (skaal.solver.fixing) and the cut-off of solve_units."""

from __future__ import annotations

import itertools
import random

import pytest

from skaal.solver.bounds import Shared, lagrangian, relaxed
from skaal.solver.decompose import Unit, UnitOption
from skaal.solver.fixing import fix

_BACKENDS = ("dyn", "s1", "s2")


def _pooled_plans(part: list[Unit], shared: dict[str, Shared]) -> list[tuple[int, tuple[str, ...]]]:
    """(cost, backend per unit) of every plan whose shared loads fit its paid instances.

    Pooled capacity is a relaxation of per-instance packing, so this covers
    every plan the planner could build.
    """
    plans = []
    for combo in itertools.product(*([o.backend for o in u.options] for u in part)):
        cost = sum(
            next(o.cost for o in u.options if o.backend == b)
            for u, b in zip(part, combo, strict=True)
        )
        feasible = True
        for s, spec in shared.items():
            hosted = [u for u, b in zip(part, combo, strict=True) if b == s]
            if not hosted:
                continue
            loads = [sum(u.usage[d] for u in hosted) for d in range(4)]
            needed = max(
                (-(-load // cap) for load, cap in zip(loads, spec.capacity, strict=True) if cap),
                default=1,
            )
            needed = max(needed, 1)
            if needed > spec.max_instances:
                feasible = False
                break
            cost += spec.fee * needed
        if feasible:
            plans.append((cost, combo))
    return plans


def _random_part(rng: random.Random) -> tuple[list[Unit], dict[str, Shared]]:
    shared = {
        s: Shared(
            s,
            rng.randint(0, 30),
            (rng.choice((None, 10)), None, None, rng.choice((None, 3))),
            rng.randint(1, 2),
        )
        for s in ("s1", "s2")
    }
    part = []
    for i in range(rng.randint(2, 5)):
        picked = rng.sample(_BACKENDS, rng.randint(1, 3))
        options = sorted(
            (UnitOption(b, rng.randint(0, 40), _BACKENDS.index(b)) for b in picked),
            key=lambda o: (o.cost, o.rank),
        )
        part.append(Unit((f"u{i}",), tuple(options), (rng.randint(0, 8), 0, 0, 1)))
    return part, shared


@pytest.mark.parametrize("seed", range(60))
def test_fixing_keeps_every_option_of_every_cheaper_plan(seed: int) -> None:
    rng = random.Random(seed)
    part, shared = _random_part(rng)
    plans = _pooled_plans(part, shared)
    if not plans:
        return
    optimum = min(cost for cost, _ in plans)
    upper = optimum + rng.choice((0, 1, 5, 20))
    # Any λ ≥ 0 on a declared capacity gives a valid bound, hence a valid fixing.
    lam = {
        pair: rng.choice((0.0, 0.5, 3.0))
        for pair in (("s1", 0), ("s1", 3), ("s2", 0), ("s2", 3))
        if shared[pair[0]].capacity[pair[1]] is not None
    }
    kept = fix(part, shared, lam, upper)
    cheaper = [combo for cost, combo in plans if cost < upper]
    if kept is None:
        assert not cheaper
        return
    allowed = {u.name: {o.backend for o in u.options} for u in kept}
    for combo in cheaper:
        for unit, backend in zip(part, combo, strict=True):
            assert backend in allowed[unit.name], (seed, unit.name, backend)


def test_fixing_at_the_bound_proves_the_known_plan() -> None:
    # Capacity 10, sizes 5, 4, 6 with savings 10, 40, 30: the plan costing 10
    # meets the Lagrangian bound, so no cheaper plan exists.
    shared = {"redis": Shared("redis", 0, (10, None, None, None), 1)}
    part = [
        Unit((n,), (UnitOption("redis", 0, 1), UnitOption("dyn", cost, 0)), (size, 0, 0, 1))
        for n, cost, size in (("a", 10, 5), ("b", 40, 4), ("c", 30, 6))
    ]
    start, _ = relaxed(part, shared)  # type: ignore[misc]
    bound, lam = lagrangian(part, shared, start)
    assert bound == 10
    assert fix(part, shared, lam, 10) is None
    loose = fix(part, shared, lam, 11)
    assert loose is not None
    # Only a cheaper plan than 11 is sought: b must stay on redis (moving it costs 40).
    assert [o.backend for o in loose[1].options] == ["redis"]


def test_solve_units_stops_at_a_cutoff_with_a_valid_bound() -> None:
    # A binding knapsack: without a cutoff it is solved; with a cutoff below
    # its optimum the outcome is cut, and its lower bound reaches the cutoff
    # without exceeding the optimum.
    from skaal.solver import Deadline
    from skaal.solver.decompose import units
    from skaal.solver.feasibility import build_problem
    from skaal.solver.optimise import CUT, _shared_specs, solve_units
    from tests.solver.test_bounds_and_limits import _knapsack_app

    bp, cat = _knapsack_app(7, 3)
    problem = build_problem(bp, cat)  # type: ignore[arg-type]
    shared = _shared_specs(problem)
    found, _ = units(problem)
    deadline = Deadline.after(10.0)
    full = solve_units(found, shared, deadline, problem)
    assert full.proven
    assert full.cost < CUT
    cut = solve_units(found, shared, deadline, problem, exact=False, cutoff=full.cost // 2)
    assert cut.cost == CUT
    assert full.cost // 2 <= cut.lower <= full.cost
    loose = solve_units(found, shared, deadline, problem, cutoff=full.cost + 1)
    assert (loose.cost, loose.lower) == (full.cost, full.cost)


def test_a_plan_proven_by_z3_rounds_is_the_same_on_every_call() -> None:
    # The 100-resource binding-capacity benchmark app needs z3 to prove its
    # optimum.  z3 gets a fresh context and a work budget (not a time slice)
    # per round, so repeated calls in one process give the same plan.
    from skaal.solver import solve
    from solver import generate

    drafts = generate.generate_drafts(100, 7, coupling=0.2, collocations=1, residency=0.1)
    catalog = generate.generate_catalog(7, scale=1.0)
    blueprint = generate.build_blueprint(drafts)
    plans = [solve(blueprint, catalog) for _ in range(3)]
    assert {p.status for p in plans} == {"optimal"}
    assert len({p.content_hash() for p in plans}) == 1
