"""The network's fixed fee is paid once per region whose VPC a plan needs, and weighed exactly.

The rule is :mod:`skaal.solver.vpc` (and :mod:`skaal.plan.network` for the
lines); the oracle states it again (:mod:`solver.oracle`) and must agree on
the total to the cent.  Figures: the aws NAT gateway and its address, a
month of 730 hours, (0.045 + 0.005) x 730 = $36.50 per region.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from msgspec.structs import replace

from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Backend
from skaal.plan.model import Plan
from skaal.plan.network import network_lines
from skaal.solver import solve
from skaal.solver.assemble import total_cost
from skaal.solver.feasibility import build_problem
from skaal.solver.optimise import Assignment, optimise
from skaal.solver.optimise import floor as relaxed_floor
from skaal.solver.problem import Problem
from skaal.solver.rebound import Rebounds
from skaal.solver.vpc import cheapest_with_network
from skaal.testing import backend, catalog, instance_class
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog, solve_exact
from tests.solver._factories import blueprint, res

NAT = 36.50


def _regions(plan: Plan) -> dict[str, float]:
    paid: dict[str, float] = {}
    for line in plan.network:
        assert line.region is not None
        paid[line.region] = paid.get(line.region, 0.0) + line.monthly
    return paid


def _cache(name: str, residency: str) -> object:
    return res(name, read_latency="< 1ms", durability="ephemeral", residency=residency)


def test_caches_in_two_regions_pay_two_networks() -> None:
    app = blueprint(
        res("Sessions", read_latency="< 1ms", durability="ephemeral", residency="us"),
        res("Carts", read_latency="< 1ms", durability="ephemeral", residency="eu"),
    )
    plan = solve(app, load_catalog("aws"))
    assert {b.resource: (b.backend, b.region) for b in plan.bindings} == {
        "Carts": ("elasticache-redis", "eu-west-1"),
        "Sessions": ("elasticache-redis", "us-east-1"),
    }
    assert _regions(plan) == pytest.approx({"eu-west-1": NAT, "us-east-1": NAT})
    # one line per component and region, in region order
    assert [(line.region, line.component) for line in plan.network] == [
        ("eu-west-1", "nat_gateway_hours"),
        ("eu-west-1", "public_ipv4_hours"),
        ("us-east-1", "nat_gateway_hours"),
        ("us-east-1", "public_ipv4_hours"),
    ]
    assert plan.network == network_lines(plan.bindings, plan.provider)
    own = sum(b.monthly_cost for b in plan.bindings) + sum(i.fixed_monthly for i in plan.instances)
    assert plan.total_monthly_cost == pytest.approx(own + 2 * NAT)
    data = read_catalog("aws")
    answer = solve_exact(app, data)
    assert answer.total == pytest.approx(plan.total_monthly_cost, abs=0.005)
    assert audit(plan, app, data) == []


def test_the_audit_counts_the_networks_by_region() -> None:
    app = blueprint(
        res("Sessions", read_latency="< 1ms", durability="ephemeral", residency="us"),
        res("Carts", read_latency="< 1ms", durability="ephemeral", residency="eu"),
    )
    plan = solve(app, load_catalog("aws"))
    once = tuple(line for line in plan.network if line.region == "us-east-1")
    short = plan.model_copy(
        update={
            "network": once,
            "total_monthly_cost": plan.total_monthly_cost - NAT,
        }
    )
    assert any("network paid in" in p for p in audit(short, app, read_catalog("aws")))


def test_gcp_memorystore_in_two_regions_pays_two_connectors() -> None:
    app = blueprint(
        res("Sessions", read_latency="< 1ms", durability="ephemeral", residency="us"),
        res("Carts", read_latency="< 1ms", durability="ephemeral", residency="eu"),
    )
    plan = solve(app, load_catalog("gcp"))
    regions = {b.region for b in plan.bindings if b.backend.startswith("memorystore")}
    assert len(regions) == 2
    connector = 2 * 0.008376 * 730  # two e2-micro instances a month
    assert _regions(plan) == pytest.approx(dict.fromkeys(regions, connector))
    assert {line.component for line in plan.network} == {"vpc_connector_instance_hours"}
    data = read_catalog("gcp")
    assert solve_exact(app, data).total == pytest.approx(plan.total_monthly_cost, abs=0.005)
    assert audit(plan, app, data) == []


def _redis() -> Backend:
    server = backend(
        "redis",
        kinds=("map",),
        regions=("us-east-1", "eu-west-1"),
        classes=[instance_class("node", price=10.0, size_gb=500.0)],
    )
    return server.model_copy(update={"requires": ("vpc",)})


def _split() -> tuple[object, object]:
    cat = catalog(
        provider="aws",
        backends=[
            _redis(),
            backend(
                "dynamodb", kinds=("map",), regions=("us-east-1", "eu-west-1"), per_gb_month=1.0
            ),
        ],
    )
    app = blueprint(
        res("Cheap", size_gb=20.0, residency="us"),
        res("Dear", size_gb=100.0, residency="eu"),
    )
    return cat, app


def test_one_region_may_pay_its_network_while_another_avoids_it() -> None:
    # Each map alone on redis: its instance $10 + its region's network $36.50.
    #   both on redis:       10 + 10 + 2 x 36.50            = 93.00
    #   both on dynamodb:    20 + 100                        = 120.00
    #   Cheap on dynamodb, Dear on redis (eu): 20 + 10 + 36.50 = 66.50  <- the optimum
    #   Cheap on redis (us), Dear on dynamodb: 10 + 36.50 + 100 = 146.50
    # With one all-or-nothing network decision the planner could only choose
    # 93.00 or 120.00.
    cat, app = _split()
    plan = solve(app, cat)  # type: ignore[arg-type]
    assert plan.binding("Cheap").backend == "dynamodb"
    assert plan.binding("Dear").backend == "redis"
    assert plan.binding("Dear").region == "eu-west-1"
    assert _regions(plan) == pytest.approx({"eu-west-1": NAT})
    assert plan.total_monthly_cost == pytest.approx(66.50)


def test_the_network_fee_shows_in_the_reason_of_a_resource_it_keeps_off_a_server() -> None:
    cat, app = _split()
    plan = solve(app, cat)  # type: ignore[arg-type]
    reason = plan.binding("Cheap").reason
    assert "redis would cost $46.50 with its instance and network fees" in reason


def test_a_region_whose_network_is_paid_adds_no_fee_to_the_next_server() -> None:
    # Both maps in the eu: one network serves both instances.
    cat = catalog(
        provider="aws",
        backends=[
            _redis(),
            backend("dynamodb", kinds=("map",), regions=("eu-west-1",), per_gb_month=1.0),
        ],
    )
    app = blueprint(
        res("A", size_gb=100.0, residency="eu"), res("B", size_gb=100.0, residency="eu")
    )
    plan = solve(app, cat)
    assert {b.backend for b in plan.bindings} == {"redis"}
    assert _regions(plan) == pytest.approx({"eu-west-1": NAT})
    assert plan.total_monthly_cost == pytest.approx(10.0 + NAT)


def _unproven(slack: float) -> Callable[[Problem, Rebounds | None], Assignment]:
    """The optimiser, with its answer labelled ``best_found`` and a bound ``slack`` below
    its own costs (as when placement leaves a packing gap)."""

    def optimised(problem: Problem, rebounds: Rebounds | None) -> Assignment:
        found = optimise(problem, rebounds)
        own = sum(
            next(o.cost for o in r.options if o.backend == found.backends[r.spec.name])
            for r in problem.resources
        ) + sum(shape.fee for shape in found.shapes.values())
        return replace(found, proven=False, lower_bound=own - slack)

    return optimised


def test_the_bound_of_a_best_found_plan_counts_the_fee_of_every_region_it_must_pay() -> None:
    # Both caches have only ElastiCache in their own region: every plan pays
    # two networks, so the bound is the optimiser's plus two fees.
    app = blueprint(
        res("Sessions", read_latency="< 1ms", durability="ephemeral", residency="us"),
        res("Carts", read_latency="< 1ms", durability="ephemeral", residency="eu"),
    )
    problem = build_problem(app, load_catalog("aws"))
    found = cheapest_with_network(problem, _unproven(10.0))
    assert found.lower_bound == pytest.approx(total_cost(problem, found) - 10.0)


def test_a_subset_whose_relaxation_reaches_the_best_plan_is_not_optimised(
    tmp_path: Path,
) -> None:
    # The gcp users draw of 10 (seed 7): the optimum uses Memorystore and pays
    # its connector; without it, the floor of own costs is below that plan but
    # the linear relaxation (instance fees counted) is above it, so only the
    # unrestricted problem is optimised.  The plan is the oracle's optimum.
    app = draw_blueprint(write_app(tmp_path / "app.py", "users", 10, seed=7))
    problem = build_problem(app, load_catalog("gcp"))
    asked: list[Problem] = []

    def counted(problem: Problem, rebounds: Rebounds | None) -> Assignment:
        asked.append(problem)
        return optimise(problem, rebounds)

    found = cheapest_with_network(problem, counted)
    assert len(asked) == 1
    assert found.proven
    answer = solve_exact(app, read_catalog("gcp"))
    assert answer.total is not None
    assert total_cost(problem, found) == pytest.approx(answer.total, abs=0.01)


@pytest.mark.parametrize("name", ["aws", "gcp"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_relaxed_floor_never_exceeds_the_optimum(name: str, seed: int, tmp_path: Path) -> None:
    app = draw_blueprint(write_app(tmp_path / "app.py", "users", 50, seed=seed))
    problem = build_problem(app, load_catalog(name))
    found = optimise(problem)
    assert found.proven
    own = sum(
        next(o.cost for o in r.options if o.backend == found.backends[r.spec.name])
        for r in problem.resources
    )
    objective = own + sum(shape.fee for shape in found.shapes.values())
    assert 0.0 < relaxed_floor(problem) <= objective + 1e-6
