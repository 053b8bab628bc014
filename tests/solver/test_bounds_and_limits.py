"""Binding capacity proven by bounds, max_backends by enumeration, and the deadline."""

from __future__ import annotations

import itertools
import random

import pytest

from skaal.errors import UnsatisfiableError
from skaal.solver import Deadline, solve, solve_problem
from skaal.solver.bounds import Shared, lower_bound, relaxed, upper_bound
from skaal.solver.decompose import Unit, UnitOption
from skaal.solver.feasibility import build_problem
from skaal.testing import backend, catalog
from tests.solver._factories import blueprint, res


def _unit(name: str, cost_shared: int, cost_dedicated: int, size: int) -> Unit:
    options = sorted(
        (UnitOption("redis", cost_shared, 1), UnitOption("dyn", cost_dedicated, 0)),
        key=lambda o: (o.cost, o.rank),
    )
    return Unit((name,), tuple(options), (size, 0, 0, 1))


def test_lagrangian_bound_is_the_knapsack_lp_bound() -> None:
    # One instance, capacity 10, fee 0.  Savings 60, 100, 120 for sizes 1, 2, 3... scaled:
    # sizes 5, 4, 6 with savings 10, 40, 30.  LP: densities 10, 5, 2 -> take 4 (40),
    # then 6 fully (30) = 10 units used; the LP optimum saves 70 and so does the integer one.
    shared = {"redis": Shared("redis", 0, (10, None, None, None), 1)}
    part = [_unit("a", 0, 10, 5), _unit("b", 0, 40, 4), _unit("c", 0, 30, 6)]
    start, floor = relaxed(part, shared)  # type: ignore[misc]
    assert floor == 0  # capacity ignored: everything on redis for free
    ub = upper_bound(part, shared, start)
    assert ub is not None
    assert ub[2] == 10  # b and c packed, a dedicated
    assert lower_bound(part, shared, start) == 10  # proven without z3


def test_lower_bound_is_fractional_when_the_knapsack_is_not_tight() -> None:
    # Capacity 10; sizes 6, 6, 6 with savings 60 each: integer keeps one (cost 120),
    # the LP keeps 10/6 of one (cost 180 - 100 = 80).
    shared = {"redis": Shared("redis", 0, (10, None, None, None), 1)}
    part = [_unit(n, 0, 60, 6) for n in "abc"]
    start, _ = relaxed(part, shared)  # type: ignore[misc]
    assert upper_bound(part, shared, start) is not None
    assert lower_bound(part, shared, start) == 80


def _knapsack_app(n: int, seed: int) -> tuple[object, object]:
    rng = random.Random(seed)
    specs = [res(f"R{i}", size_gb=rng.choice((1.0, 2.0, 3.0, 5.0))) for i in range(n)]
    cat = catalog(
        backends=[
            backend("dynamodb", kinds=("map",), per_gb_month=1.0),
            backend(
                "redis",
                kinds=("map",),
                fixed_monthly=2.0,
                shared={"size_gb": 7.0, "max_instances": 2},
            ),
        ]
    )
    return blueprint(*specs), cat


def _brute_force(n: int, seed: int) -> float:
    bp, _ = _knapsack_app(n, seed)
    sizes = [r.requirements.size_gb or 0.0 for r in bp.resources]  # type: ignore[attr-defined]
    best = float("inf")
    for slots in itertools.product((0, 1, 2), repeat=n):  # 0 = dynamodb, i = redis#i
        loads = [sum(s for s, k in zip(sizes, slots, strict=True) if k == i) for i in (1, 2)]
        if max(loads) > 7.0:
            continue
        cost = sum(s for s, k in zip(sizes, slots, strict=True) if k == 0)
        best = min(best, cost + 2.0 * sum(1 for load in loads if load > 0))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_binding_capacity_matches_brute_force(seed: int) -> None:
    bp, cat = _knapsack_app(7, seed)
    plan = solve(bp, cat)  # type: ignore[arg-type]
    assert plan.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(_brute_force(7, seed))


def _brute_force_limit(problem: object, limit: int) -> float | None:
    resources = problem.resources  # type: ignore[attr-defined]
    best: float | None = None
    for choice in itertools.product(*(r.options for r in resources)):
        if len({o.backend for o in choice}) <= limit:
            cost = sum(o.cost for o in choice)
            best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize(("seed", "limit"), [(s, k) for s in range(6) for k in (1, 2)])
def test_max_backends_matches_brute_force(seed: int, limit: int) -> None:
    rng = random.Random(seed)
    backends = [
        backend(f"b{i}", kinds=("map",), per_gb_month=rng.choice((0.5, 1.0, 1.5, 2.0)))
        for i in range(5)
    ]
    specs = [res(f"R{i}", size_gb=float(rng.randint(1, 9)), backend=None) for i in range(6)]
    problem = build_problem(blueprint(*specs, max_backends=limit), catalog(backends=backends))
    # Narrow each resource to a random subset of backends, as constraints would.
    from dataclasses import replace

    narrowed = tuple(
        replace(r, options=tuple(o for o in r.options if rng.random() < 0.6) or r.options[:1])
        for r in problem.resources
    )
    problem = replace(problem, resources=narrowed)
    expected = _brute_force_limit(problem, limit)
    if expected is None:
        with pytest.raises(UnsatisfiableError):
            solve_problem(problem)
        return
    plan = solve_problem(problem)
    assert plan.status == "optimal"
    assert len(plan.backends_used()) <= limit
    assert plan.total_monthly_cost == pytest.approx(expected)


def test_max_backends_infeasible_names_the_smallest_limit() -> None:
    cat = catalog(
        backends=[
            backend("dynamodb", kinds=("map",), per_gb_month=1.0),
            backend("s3", kinds=("blob",), per_gb_month=0.02),
            backend("sqs", kinds=("queue",), per_million_writes=0.4),
        ]
    )
    specs = (res("Carts"), res("Files", kind="blob"), res("Jobs", kind="queue"))
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(*specs, max_backends=2), cat)
    assert "max_backends=3" in str(err.value)


def test_an_expired_deadline_still_returns_the_known_plan() -> None:
    # Binding capacity that the bounds cannot prove, and no time left for z3:
    # the packing is returned as best_found instead of an error.
    bp, cat = _knapsack_app(12, 3)
    expired = Deadline(at=0.0, clock=lambda: 1.0)
    plan = solve(bp, cat, deadline=expired)  # type: ignore[arg-type]
    proven = solve(bp, cat)  # type: ignore[arg-type]
    assert plan.status in ("best_found", "optimal")
    assert plan.total_monthly_cost >= proven.total_monthly_cost - 1e-9
    assert proven.status == "optimal"


def test_deadline_counts_down_on_its_clock() -> None:
    now = [100.0]
    deadline = Deadline.after(2.0, clock=lambda: now[0])
    assert deadline.remaining_ms() == 2000
    now[0] = 101.5
    assert deadline.remaining() == pytest.approx(0.5)
    now[0] = 103.0
    assert deadline.expired()
    assert deadline.remaining() == 0.0
