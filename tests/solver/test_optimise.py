"""The optimiser on hand-checkable instances: shared fees, capacity, co-location, limits."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from skaal.errors import PlanError, UnsatisfiableError
from skaal.plan.model import Plan
from skaal.solver import GlobalConflict, solve
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.diagnosis import Diagnosis
from skaal.solver.optimise import _one_instance_each
from skaal.solver.placement import _check_held
from skaal.solver.problem import Problem
from skaal.testing import backend, catalog
from tests.solver._factories import blueprint, res, writes_server

DYN = backend("dynamodb", kinds=("map", "collection"), per_gb_month=1.0)


def redis(fee: float, **capacity: float) -> object:
    return backend("redis", kinds=("map",), fixed_monthly=fee, shared=capacity or {"size_gb": 100})


def plan_of(n: int, *, fee: float, **capacity: float) -> Plan:
    specs = [res(f"R{i}", size_gb=1.0) for i in range(n)]
    cat = catalog(backends=[DYN, redis(fee, **capacity)])  # type: ignore[list-item]
    return solve(blueprint(*specs), cat)


def conflicts(err: pytest.ExceptionInfo[UnsatisfiableError]) -> tuple[GlobalConflict, ...]:
    report = err.value.report
    assert isinstance(report, Diagnosis)
    return report.conflicts


def test_shared_instance_wins_only_past_its_fee() -> None:
    # Each resource costs $1 on dynamodb; redis costs $2.50 once for everyone.
    two, three = plan_of(2, fee=2.5), plan_of(3, fee=2.5)
    assert two.backends_used() == ("dynamodb",)
    assert two.total_monthly_cost == pytest.approx(2.0)
    assert three.backends_used() == ("redis",)
    assert three.total_monthly_cost == pytest.approx(2.5)
    assert [i.id for i in three.instances] == ["redis#1"]
    assert "shares redis#1 with" in three.binding("R0").reason


def test_capacity_forces_a_second_instance_and_a_fallback() -> None:
    # 2 GB per instance, 2 instances at $1.50: 4 resources on redis, 1 on dynamodb = $4.
    plan = plan_of(5, fee=1.5, size_gb=2.0, max_instances=2)
    assert plan.total_monthly_cost == pytest.approx(4.0)
    assert plan.status == "optimal"
    assert sorted(len(i.resources) for i in plan.instances) == [2, 2]
    assert sum(b.backend == "dynamodb" for b in plan.bindings) == 1


def test_capacity_not_worth_a_second_instance() -> None:
    # A second instance would host one $1 resource for $1.50: not worth it.
    plan = plan_of(3, fee=1.5, size_gb=2.0, max_instances=2)
    assert plan.total_monthly_cost == pytest.approx(2.5)
    assert len(plan.instances) == 1


def test_collocated_resources_share_the_cheaper_backend_for_both() -> None:
    a = backend("a", kinds=("map",), per_gb_month=1.0)
    b = backend("b", kinds=("map",), per_gb_month=1.5)
    cat = catalog(backends=[a, b, backend("c", kinds=("collection",), per_gb_month=0.1)])
    # Alone, Big goes to a ($10) and Small to b ($1.5 of 1GB on b is dearer: a is $1).
    big, small = res("Big", size_gb=10.0), res("Small", size_gb=1.0, collocate_with="Big")
    plan = solve(blueprint(big, small), cat)
    assert plan.binding("Big").backend == plan.binding("Small").backend == "a"


def test_collocation_with_no_common_backend_is_a_conflict() -> None:
    cat = catalog(backends=[DYN, backend("s3", kinds=("blob",), per_gb_month=0.02)])
    files = res("Files", kind="blob", line=20)
    carts = res("Carts", line=21, collocate_with="Files")
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(files, carts), cat)
    (found,) = conflicts(err)
    assert found.constraint == "collocate_with"
    assert [str(loc) for _, loc in found.declarations] == ["app.py:21", "app.py:20"]
    assert found.relaxation == "drop collocate_with on Carts"


def test_max_backends_changes_the_answer() -> None:
    a = backend("a", kinds=("map",), per_gb_month=1.0)
    b = backend("b", kinds=("map", "collection"), per_gb_month=1.5)
    cat = catalog(backends=[a, b])
    specs = (res("Carts", size_gb=1.0), res("Orders", kind="collection", size_gb=1.0))
    free = solve(blueprint(*specs), cat)
    assert free.backends_used() == ("a", "b")
    assert free.binding("Carts").reason == (
        "cheapest of 2 feasible backends ($1.00/month; next: b $1.50)"
    )
    limited = solve(blueprint(*specs, max_backends=1), cat)
    assert limited.backends_used() == ("b",)
    assert limited.total_monthly_cost == pytest.approx(3.0)
    assert "max_backends=1" in limited.binding("Carts").reason


def test_max_backends_too_small_names_the_smallest_that_works() -> None:
    cat = catalog(backends=[DYN, backend("s3", kinds=("blob",), per_gb_month=0.02)])
    specs = (res("Carts"), res("Files", kind="blob"))
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(*specs, max_backends=1), cat)
    (found,) = conflicts(err)
    assert found.constraint == "max_backends"
    assert found.relaxation == "max_backends=2"
    assert found.declarations[0][1].line == 3


def test_budget_too_small_is_explained() -> None:
    cat = catalog(backends=[DYN])
    specs = (res("Big", size_gb=30.0, line=11), res("Small", size_gb=1.0, line=12))
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(*specs, budget_usd_month=20.0), cat)
    (found,) = conflicts(err)
    assert found.constraint == "budget"
    assert found.relaxation == "raise budget to $31.00/month"
    assert [(n, loc.line) for n, loc in found.declarations][1] == ("Big", 11)
    assert "app.py:3" in str(err.value)


def test_a_budget_conflict_says_only_what_is_proven() -> None:
    # A plan not proven the cheapest is not called the cheapest: with its bound over the
    # budget no plan fits; with its bound within, one the planner did not find may.
    from skaal.solver import conflicts as found  # noqa: PLC0415 - loaded on a failure only
    from skaal.solver.feasibility import build_problem  # noqa: PLC0415

    specs = (res("Big", size_gb=30.0, line=11), res("Small", size_gb=1.0, line=12))
    problem = build_problem(blueprint(*specs, budget_usd_month=20.0), catalog(backends=[DYN]))
    costs = {"Big": 30.0, "Small": 1.0}
    proven = str(found.budget(problem, 31.0, costs))
    assert "the cheapest plan costs $31.00/month, over the budget of $20.00/month" in proven
    above = str(found.budget(problem, 31.0, costs, bound=25.0))
    assert (
        "every plan costs at least $25.00/month (the cheapest found: $31.00), over the "
        "budget of $20.00/month" in above
    )
    within = str(found.budget(problem, 31.0, costs, bound=15.0))
    assert (
        "the cheapest plan found costs $31.00/month, over the budget of $20.00/month; every "
        "plan costs at least $15.00, so one within the budget may exist" in within
    )
    assert "fix: raise budget to $31.00/month" in within


def test_budget_that_fits_changes_nothing() -> None:
    specs = (res("Big", size_gb=30.0),)
    plan = solve(blueprint(*specs, budget_usd_month=31.0), catalog(backends=[DYN]))
    assert plan.total_monthly_cost == pytest.approx(30.0)


def test_shared_capacity_too_small_for_forced_resources_is_a_conflict() -> None:
    only = backend("redis", kinds=("map",), fixed_monthly=1.0, shared={"resources": 2})
    specs = [res(f"R{i}", line=30 + i) for i in range(3)]
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(*specs), catalog(backends=[only]))
    (found,) = conflicts(err)
    assert found.constraint == "server capacity"
    assert {n for n, _ in found.declarations} == {"R0", "R1", "R2"}


def test_placement_stops_on_a_server_past_its_quota_or_a_unit_on_no_instance() -> None:
    # The last guard of placement (placement._check_held): a packing bug must end in
    # an error naming the server, never in a plan the provider would refuse
    # (past the quota) or one priced without an instance's fee (a unit on none).
    server = writes_server(("small", 2.0, 10.0), quota=1)
    shape = server.shapes[0]
    a, b = (Unit((n,), (UnitOption("pg", 0, 0),), (SCALE, SCALE, SCALE, SCALE)) for n in "ab")
    problem = cast(Problem, SimpleNamespace(blueprint=blueprint(res("A"))))
    servers = {"pg": server}
    _check_held(problem, {"pg": [a, b]}, {"pg": [(shape, [a, b])]}, servers)
    with pytest.raises(PlanError, match="opened instances of pg using 2 units of its quota of 1"):
        _check_held(problem, {"pg": [a, b]}, {"pg": [(shape, [a]), (shape, [b])]}, servers)
    with pytest.raises(PlanError, match="lost track of resources on pg"):
        _check_held(problem, {"pg": [a, b]}, {"pg": [(shape, [a])]}, servers)


@pytest.mark.parametrize(("count", "one_instance"), [(3, True), (4, False)])
def test_one_instance_bound_holds_units_filling_one_instance_to_the_brim(
    count: int, one_instance: bool
) -> None:
    """Step 2 settles a component only when one instance holds the units of the cheapest
    set: three units of 100 writes/s fill one of 300 exactly; a fourth goes further."""
    server = writes_server(("small", 10.0, 300.0))
    units = [
        Unit((f"u{i}",), (UnitOption("pg", 0, 0), UnitOption("dyn", 50 * SCALE, 0)), usage)
        for i, usage in enumerate([(SCALE, 0, 100 * SCALE, SCALE)] * count)
    ]
    found = _one_instance_each(units, {"pg": server})
    if not one_instance:
        assert found is None  # left to the pooled relaxation
        return
    assert found is not None
    assert found.cost == found.lower == server.min_fee_micro
    assert [[u.name for u in members] for _, members in found.bins["pg"]] == [["u0", "u1", "u2"]]
