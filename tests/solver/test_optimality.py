"""The planner's optimum against an independent exact solver.

Three layers, each able to fail on its own:

1. The oracle (:mod:`solver.oracle`, HiGHS) on hand-built problems whose
   optimum is worked out in the comments.
2. The oracle against exhaustive enumeration on random tiny problems.
3. :func:`skaal.solver.solve` against the oracle on 300 seeded random apps
   (3 to 60 resources; coupling, co-location, budgets including infeasible
   ones, ``max_backends``): same total cost to 1e-6, same infeasibility
   verdict, the plan's own placement is feasible and costs what it says, and
   every plan is proven optimal (status ``optimal``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping

import pytest

from skaal.blueprint.model import ResourceSpec, SourceLocation
from skaal.catalog.model import Backend, Capacity, Catalog, Performance, Price, PriceItem
from skaal.plan.model import Plan
from skaal.solver.feasibility import build_problem
from skaal.solver.problem import (
    Option,
    Problem,
    ResourceOptions,
    SharedBackend,
    Workload,
)
from solver import generate
from solver.oracle import DIMENSIONS, OracleResult, evaluate, solve_exact, usage

TOLERANCE = 1e-6

# -- hand-built problems ------------------------------------------------------------


def _backend(name: str, capacity: Capacity | None = None, fee: float = 0.0) -> Backend:
    price = Price(region="us-east-1")
    if fee:
        price = Price(
            region="us-east-1", fixed_monthly=PriceItem(amount=fee, source="x", as_of="2026-11")
        )
    return Backend(
        name=name,
        description=name,
        kinds=("map",),
        implementation="redis",
        performance=Performance(durability="persistent", availability=99.9),
        regions=("us-east-1",),
        shared=capacity,
        price=price,
    )


def _load(size: float = 0.0, reads: float = 0.0, writes: float = 0.0) -> Workload:
    return Workload(
        size_gb=size,
        reads_per_s=reads,
        writes_per_s=writes,
        memory_gb=0.0,
        duration_s=0.0,
        defaulted=(),
    )


def _problem(
    resources: Mapping[str, tuple[Workload, Mapping[str, float]]],
    shared: Mapping[str, tuple[Capacity, float]] = {},
    *,
    collocations: tuple[tuple[str, str], ...] = (),
    budget: float | None = None,
    max_backends: int | None = None,
) -> Problem:
    names = sorted({b for _, costs in resources.values() for b in costs} | set(shared))
    backends = {b: _backend(b, *shared[b]) if b in shared else _backend(b) for b in names}
    catalog = Catalog(
        schema_version=1, name="t", provider="aws", region="us-east-1",
        backends=tuple(backends.values()),
    )  # fmt: skip
    specs = []
    for name in sorted(resources):
        load, costs = resources[name]
        options = tuple(
            sorted(
                (Option(b, c, names.index(b)) for b, c in costs.items()),
                key=lambda o: (o.cost, o.rank),
            )
        )
        spec = ResourceSpec(name=name, kind="map", location=SourceLocation(file="t.py", line=1))
        specs.append(ResourceOptions(spec, load, options, ()))
    used = {o.backend for r in specs for o in r.options}
    return Problem(
        blueprint=generate.build_blueprint(()),
        catalog=catalog,
        resources=tuple(specs),
        shared=tuple(SharedBackend(backends[b], shared[b][1]) for b in sorted(shared) if b in used),
        collocations=collocations,
        budget_usd_month=budget,
        max_backends=max_backends,
    )


def _optimal(result: OracleResult) -> float:
    assert result.status == "optimal", result
    assert result.total is not None
    return result.total


def test_independent_resources_take_their_cheapest_option() -> None:
    problem = _problem({"a": (_load(), {"x": 3.0, "y": 5.0}), "b": (_load(), {"x": 4.0, "y": 2.5})})
    result = solve_exact(problem)
    assert _optimal(result) == pytest.approx(5.5)
    assert dict(result.assignment) == {"a": "x", "b": "y"}


def test_a_shared_instance_is_paid_once_and_capacity_limits_it() -> None:
    # Dedicated "d" costs 15 each; shared "s" costs 1 each plus 20 per instance,
    # two resources per instance.  All dedicated: 45.  Two on one instance and
    # one dedicated: 20 + 2 + 15 = 37.  Three on two instances: 40 + 3 = 43.
    cap = Capacity(resources=2, max_instances=2)
    problem = _problem({r: (_load(), {"d": 15.0, "s": 1.0}) for r in "abc"}, {"s": (cap, 20.0)})
    result = solve_exact(problem)
    assert _optimal(result) == pytest.approx(37.0)
    assert dict(result.instances) == {"s": 1}


def test_capacity_is_checked_per_dimension() -> None:
    # One instance holds 1 GB and 100 reads/s.  a+b fit by size (0.9) but
    # not by reads (120), a+c fit both; b goes dedicated: 10 + 0 + 0 + 7.
    cap = Capacity(size_gb=1.0, reads_per_s=100.0, max_instances=1)
    problem = _problem(
        {
            "a": (_load(size=0.5, reads=60.0), {"d": 9.0, "s": 0.0}),
            "b": (_load(size=0.4, reads=60.0), {"d": 7.0, "s": 0.0}),
            "c": (_load(size=0.5, reads=30.0), {"d": 8.0, "s": 0.0}),
        },
        {"s": (cap, 10.0)},
    )
    result = solve_exact(problem)
    assert _optimal(result) == pytest.approx(17.0)
    assert dict(result.assignment) == {"a": "s", "b": "d", "c": "s"}


def test_max_instances_can_make_a_problem_infeasible() -> None:
    cap = Capacity(resources=1, max_instances=2)
    problem = _problem({r: (_load(), {"s": 0.0}) for r in "abc"}, {"s": (cap, 5.0)})
    assert solve_exact(problem).status == "infeasible"


def test_collocation_forces_a_common_backend() -> None:
    # Apart: a on x (1) and b on y (1) = 2.  Together they can only share z: 4 + 4.
    problem = _problem(
        {"a": (_load(), {"x": 1.0, "z": 4.0}), "b": (_load(), {"y": 1.0, "z": 4.0})},
        collocations=(("a", "b"),),
    )
    assert _optimal(solve_exact(problem)) == pytest.approx(8.0)


def test_collocation_without_a_common_backend_is_infeasible() -> None:
    problem = _problem(
        {"a": (_load(), {"x": 1.0}), "b": (_load(), {"y": 1.0})}, collocations=(("a", "b"),)
    )
    assert solve_exact(problem).status == "infeasible"


def test_max_backends_trades_cost_for_fewer_backends() -> None:
    # Each resource has its own backend at 1 or the common w at 2.  No cap: 3.
    # Two backends: one resource on its own, two on w: 1 + 2 + 2.  One: 6.
    resources: dict[str, tuple[Workload, Mapping[str, float]]] = {
        "a": (_load(), {"x": 1.0, "w": 2.0}),
        "b": (_load(), {"y": 1.0, "w": 2.0}),
        "c": (_load(), {"z": 1.0, "w": 2.0}),
    }
    expected = {None: 3.0, 3: 3.0, 2: 5.0, 1: 6.0}
    for cap, total in expected.items():
        assert _optimal(solve_exact(_problem(resources, max_backends=cap))) == pytest.approx(total)


def test_budget_below_the_optimum_is_infeasible_and_at_it_is_not() -> None:
    resources = {"a": (_load(), {"x": 3.0}), "b": (_load(), {"y": 4.0})}
    assert solve_exact(_problem(resources, budget=6.99)).status == "infeasible"
    assert _optimal(solve_exact(_problem(resources, budget=7.0))) == pytest.approx(7.0)


def test_a_resource_without_options_is_infeasible() -> None:
    problem = _problem({"a": (_load(), {"x": 3.0}), "b": (_load(), {})})
    assert solve_exact(problem).status == "infeasible"


def test_evaluate_reports_every_broken_constraint() -> None:
    cap = Capacity(resources=1, max_instances=1)
    problem = _problem(
        {"a": (_load(), {"s": 1.0, "x": 2.0}), "b": (_load(), {"s": 1.0, "y": 2.0})},
        {"s": (cap, 10.0)},
        collocations=(("a", "b"),),
        budget=5.0,
        max_backends=1,
    )
    total, broken = evaluate(problem, {"a": "s", "b": "y"}, {"s": 1}, {"a": 0})
    assert total == pytest.approx(13.0)
    assert any("not co-located" in b for b in broken)
    assert any("budget" in b for b in broken)
    assert any("max_backends" in b for b in broken)
    _, broken = evaluate(problem, {"a": "s", "b": "s"}, {"s": 1}, {"a": 0, "b": 0})
    assert any("s#1: resources 2 > 1" in b for b in broken)


# -- the oracle against enumeration -------------------------------------------------


def _packings(
    problem: Problem, hosted: list[str], capacity: Capacity
) -> list[tuple[int, dict[str, int]]]:
    """Every way to put ``hosted`` on instances 0..max-1 that fits: (instances used, slots)."""
    by_name = {r.spec.name: r for r in problem.resources}
    found: list[tuple[int, dict[str, int]]] = []
    for combo in itertools.product(range(capacity.max_instances), repeat=len(hosted)):
        placement = dict(zip(hosted, combo, strict=True))
        if any(
            a in placement and p in placement and placement[a] != placement[p]
            for a, p in problem.collocations
        ):
            continue
        loads: dict[int, list[str]] = {}
        for name, slot in placement.items():
            loads.setdefault(slot, []).append(name)
        fits = all(
            getattr(capacity, dim) is None
            or sum(usage(by_name[n], dim) for n in names) <= getattr(capacity, dim) + 1e-9
            for names in loads.values()
            for dim in DIMENSIONS
        )
        if fits and sorted(loads) == list(range(len(loads))):
            found.append((len(loads), placement))
    return found


def _brute_force(problem: Problem) -> float | None:
    """The optimum by trying every assignment and every packing onto instances."""
    shared = {s.backend.name: s for s in problem.shared}
    best: float | None = None
    choices = [[o.backend for o in r.options] for r in problem.resources]
    for combo in itertools.product(*choices):
        assignment = {r.spec.name: b for r, b in zip(problem.resources, combo, strict=True)}
        per_backend: list[list[tuple[int, dict[str, int]]]] = []
        names: list[str] = []
        for name, sb in shared.items():
            capacity = sb.backend.shared
            assert capacity is not None
            hosted = [r for r, b in assignment.items() if b == name]
            if hosted:
                names.append(name)
                per_backend.append(_packings(problem, hosted, capacity))
        for packing in itertools.product(*per_backend):
            instances = {n: count for n, (count, _) in zip(names, packing, strict=True)}
            placement = {r: slot for _, slots in packing for r, slot in slots.items()}
            total, broken = evaluate(problem, assignment, instances, placement)
            if not broken and (best is None or total < best):
                best = total
    return best


def _tiny(rng: random.Random) -> Problem:
    backends = ["d1", "d2", "d3", "s1", "s2"]
    resources: dict[str, tuple[Workload, Mapping[str, float]]] = {}
    for i in range(rng.randint(1, 5)):
        picked = rng.sample(backends, rng.randint(1, 3))
        costs = {b: round(rng.uniform(0, 20), 2) for b in picked}
        load = _load(rng.uniform(0, 1), rng.uniform(0, 100), rng.uniform(0, 50))
        resources[f"r{i}"] = (load, costs)
    shared = {
        s: (
            Capacity(
                size_gb=rng.choice([None, 1.0, 1.5]),
                reads_per_s=rng.choice([None, 150.0]),
                resources=rng.choice([None, 1, 2, 3]),
                max_instances=rng.randint(1, 3),
            ),
            round(rng.uniform(0, 25), 2),
        )
        for s in ("s1", "s2")
    }
    names = sorted(resources)
    pairs = (tuple(rng.sample(names, 2)),) if len(names) >= 2 and rng.random() < 0.3 else ()
    return _problem(
        resources,
        shared,
        collocations=pairs,  # type: ignore[arg-type]
        budget=rng.choice([None, None, round(rng.uniform(5, 60), 2)]),
        max_backends=rng.choice([None, None, 1, 2]),
    )


@pytest.mark.parametrize("seed", range(150))
def test_oracle_matches_enumeration(seed: int) -> None:
    problem = _tiny(random.Random(seed))
    expected = _brute_force(problem)
    result = solve_exact(problem)
    if expected is None:
        assert result.status == "infeasible"
    else:
        assert _optimal(result) == pytest.approx(expected, abs=TOLERANCE)


# -- the planner against the oracle -------------------------------------------------

_CATALOGS = {seed: generate.generate_catalog(seed) for seed in range(6)}


def _instance(index: int) -> tuple[Problem, OracleResult]:
    """Random app ``index``: its problem (with any budget) and the oracle's verdict."""
    rng = random.Random(f"optimality:{index}")
    n = rng.randint(3, 20) if index % 3 else rng.randint(20, 60)
    drafts = generate.generate_drafts(
        n,
        index,
        coupling=rng.choice((0.0, 0.2, 0.5, 0.8, 1.0)),
        collocations=rng.choice((0, 0, 1, n // 8, n // 4)),
        residency=rng.choice((0.0, 0.1, 0.4)),
    )
    catalog = _CATALOGS[index % len(_CATALOGS)]
    max_backends = rng.choice((None, None, None, 3, 5, 8))
    blueprint = generate.build_blueprint(drafts, max_backends=max_backends)
    problem = build_problem(blueprint, catalog)
    oracle = solve_exact(problem)
    budget_factor = rng.choice((None, None, 1.2, 1.0001, 0.95))
    if budget_factor is not None and oracle.total is not None:
        cents = oracle.total * budget_factor * 100
        budget = (math.ceil(cents) if budget_factor >= 1 else math.floor(cents)) / 100
        blueprint = generate.with_limits(blueprint, budget=budget, max_backends=max_backends)
        problem = build_problem(blueprint, catalog)
        oracle = solve_exact(problem)
    return problem, oracle


def _plan_problems(problem: Problem, plan: Plan, oracle: OracleResult) -> list[str]:
    """Everything wrong with ``plan`` as an answer to ``problem`` (empty if it is right).

    A plan marked ``optimal`` must cost exactly the proven optimum; a plan
    marked ``best_found`` (the time limit stopped the proof) must still be a
    valid plan, and can never be cheaper than the optimum.
    """
    found: list[str] = []
    assert oracle.total is not None
    gap = plan.total_monthly_cost - oracle.total
    if plan.status == "optimal" and abs(gap) > TOLERANCE:
        found.append(f"plan total {plan.total_monthly_cost:.6f} != optimum {oracle.total:.6f}")
    if gap < -TOLERANCE:
        found.append(f"plan total {plan.total_monthly_cost:.6f} < optimum {oracle.total:.6f}")
    assignment = {b.resource: b.backend for b in plan.bindings}
    counts: dict[str, int] = {}
    placement: dict[str, int] = {}
    for instance in plan.instances:
        slot = counts.get(instance.backend, 0)
        counts[instance.backend] = slot + 1
        placement.update(dict.fromkeys(instance.resources, slot))
    total, broken = evaluate(problem, assignment, counts, placement)
    found += broken
    if abs(total - plan.total_monthly_cost) > TOLERANCE:
        found.append(f"plan placements cost {total:.6f}, plan says {plan.total_monthly_cost:.6f}")
    found += _packing_problems(problem, plan)
    return found


def _packing_problems(problem: Problem, plan: Plan) -> list[str]:
    """Each shared instance must hold its resources, and co-located pairs share one."""
    found: list[str] = []
    resources = {r.spec.name: r for r in problem.resources}
    shared = {s.backend.name: s.backend.shared for s in problem.shared}
    home: dict[str, str] = {}
    for instance in plan.instances:
        capacity = shared.get(instance.backend)
        if capacity is None:
            found.append(f"instance {instance.id} is not of a shared backend")
            continue
        for dim in DIMENSIONS:
            cap = getattr(capacity, dim)
            load = sum(usage(resources[r], dim) for r in instance.resources)
            if cap is not None and load > cap * (1 + 1e-9):
                found.append(f"instance {instance.id}: {dim} {load:g} > {cap:g}")
        home.update(dict.fromkeys(instance.resources, instance.id))
    for binding in plan.bindings:
        if binding.backend in shared and home.get(binding.resource) != binding.instance:
            found.append(f"{binding.resource} is bound to {binding.instance}, not its instance")
    for a, p in problem.collocations:
        if home.get(a) != home.get(p):
            found.append(f"{a} and {p} are on different instances")
    return found


def test_a_wrong_answer_is_caught() -> None:
    # The comparison must be able to fail: move one resource of an optimal
    # answer to another option and the cost differs; claim a cent more and
    # the total differs.
    problem, oracle = next(
        (p, o)
        for p, o in map(_instance, itertools.count())
        if o.status == "optimal" and any(len({x.cost for x in r.options}) > 1 for r in p.resources)
    )
    assert oracle.total is not None
    res = next(r for r in problem.resources if len({x.cost for x in r.options}) > 1)
    chosen = oracle.assignment[res.spec.name]
    other = next(
        o for o in res.options
        if o.cost != next(x.cost for x in res.options if x.backend == chosen)
    )  # fmt: skip
    wrong = {**oracle.assignment, res.spec.name: other.backend}
    instances = dict(oracle.instances)
    placement = dict(oracle.placement)
    if other.backend in {s.backend.name for s in problem.shared}:
        placement[res.spec.name] = instances.get(other.backend, 0)
        instances[other.backend] = instances.get(other.backend, 0) + 1
    total, _ = evaluate(problem, wrong, instances, placement)
    assert abs(total - oracle.total) > TOLERANCE


def test_the_planner_finds_the_optimum_on_random_apps() -> None:
    from skaal.errors import SkaalError, UnsatisfiableError
    from skaal.solver import solve

    failures: list[str] = []
    unproven: list[str] = []
    verdicts = {"optimal": 0, "infeasible": 0}
    for index in range(300):
        problem, oracle = _instance(index)
        assert oracle.status in verdicts, (index, oracle)
        verdicts[oracle.status] += 1
        try:
            plan = solve(problem.blueprint, problem.catalog)
        except UnsatisfiableError:
            if oracle.status != "infeasible":
                failures.append(f"#{index}: planner says infeasible, optimum is {oracle.total}")
            continue
        except SkaalError as exc:
            failures.append(f"#{index}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        if oracle.status == "infeasible":
            failures.append(
                f"#{index}: planner found {plan.total_monthly_cost}, oracle: infeasible"
            )
            continue
        failures += [f"#{index}: {p}" for p in _plan_problems(problem, plan, oracle)]
        if plan.status != "optimal":
            assert oracle.total is not None
            unproven.append(f"#{index}: {plan.total_monthly_cost:.2f} vs {oracle.total:.2f}")
    assert not failures, f"{len(failures)} of 300 wrong:\n" + "\n".join(failures[:20])
    # Every plan must be proven within the default time limit: the slowest
    # measured (#0, max_backends=8 over 60 resources) takes about 1.5 s.
    assert not unproven, f"{len(unproven)} of 300 unproven: {unproven}"
    assert verdicts["infeasible"] >= 20, verdicts
    assert verdicts["optimal"] >= 200, verdicts
