"""Functions follow their data; a function kept away from it pays the inter-region transfer.

The rule is :mod:`skaal.solver.regions`; the oracle states it again
(:mod:`solver.oracle_regions`) and must agree on the total to the cent.
Figures are checked by hand from ``catalogs/aws.toml``: Lambda's
``inter_region_per_gb`` is $0.02.
"""

from __future__ import annotations

import types

import pytest

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.plan.model import Plan, Transfer
from skaal.solver import solve
from solver.oracle import audit, read_catalog, solve_exact


def _app(*, function_residency: str | None = None, functions: int = 1) -> App:
    app = App("eu-shop")
    carts = types.new_class("Carts", (Map[str, int],))
    app.storage(durability="persistent", residency="eu", reads="10/s", writes="2/s")(carts)

    async def count(key: str) -> int | None:
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    async def total(key: str) -> int | None:
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    declare = app.function(residency=function_residency) if function_residency else app.function()
    declare(count)
    if functions == 2:
        declare(total)
    return app


def test_a_function_without_residency_runs_next_to_the_eu_data_it_uses() -> None:
    plan = solve(_app().blueprint(), load_catalog("aws"))
    assert plan.binding("Carts").region == "eu-west-1"
    count = plan.binding("count")
    assert count.region == "eu-west-1"
    assert count.transfers is None
    assert not [line for line in count.cost if line.component == "inter_region_per_gb"]
    assert "runs in eu-west-1, next to the data it uses" in count.reason


def test_a_forced_split_shows_and_prices_the_transfer() -> None:
    blueprint = _app(function_residency="us").blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    count = plan.binding("count")
    assert count.region == "us-east-1"
    # (10 reads/s + 2 writes/s) x 2,628,000 s x 4,000 bytes / 1e9 = 126.144 GB a month
    assert count.transfers == (Transfer(resource="Carts", region="eu-west-1", gb_month=126.144),)
    (line,) = [line for line in count.cost if line.component == "inter_region_per_gb"]
    assert line.quantity == pytest.approx(126.144)
    assert line.monthly == pytest.approx(0.02 * 126.144)  # $2.52288
    assert count.monthly_cost == pytest.approx(sum(x.monthly for x in count.cost))
    assert "reaches Carts (eu-west-1) in another region: 126 GB/month" in count.reason
    assert "$2.52/month" in count.reason
    own = sum(b.monthly_cost for b in plan.bindings)
    fees = sum(i.fixed_monthly for i in plan.instances) + sum(x.monthly for x in plan.network)
    assert plan.total_monthly_cost == pytest.approx(own + fees)
    used = next(u for u in plan.prices if u.backend == "lambda")
    assert used.price.inter_region_per_gb is not None
    assert used.price.inter_region_per_gb.amount == 0.02


def test_functions_sharing_data_share_its_transfer() -> None:
    plan = solve(_app(function_residency="us", functions=2).blueprint(), load_catalog("aws"))
    for name in ("count", "total"):
        transfers = plan.binding(name).transfers
        assert transfers is not None
        assert transfers[0].gb_month == pytest.approx(126.144 / 2)


@pytest.mark.parametrize("residency", [None, "us"])
def test_the_oracle_agrees_on_regions_and_transfer(residency: str | None) -> None:
    blueprint = _app(function_residency=residency).blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    data = read_catalog("aws")
    answer = solve_exact(blueprint, data)
    assert answer.total is not None
    assert answer.total == pytest.approx(plan.total_monthly_cost, abs=0.005)
    assert audit(plan, blueprint, data) == []
    moved = plan.binding("count").model_copy(update={"region": "ap-southeast-1"})
    wrong = plan.model_copy(update={"bindings": (plan.binding("Carts"), moved)})
    assert any("count in ap-southeast-1" in p for p in audit(wrong, blueprint, data))


def test_the_local_target_places_nothing_by_region() -> None:
    plan = solve(_app().blueprint(), load_catalog("local"))
    assert {b.region for b in plan.bindings} == {plan.region}
    assert all(b.transfers is None for b in plan.bindings)


def test_replanning_a_split_plan_is_identical() -> None:
    blueprint = _app(function_residency="us").blueprint()
    catalog = load_catalog("aws")
    first = solve(blueprint, catalog)
    again = solve(blueprint, catalog, previous=first)
    assert again.canonical_json() == first.canonical_json()


def test_a_schema_6_lock_cannot_carry_transfers() -> None:

    plan = solve(_app(function_residency="us").blueprint(), load_catalog("aws"))
    data = plan.model_dump()
    data["schema_version"] = 6
    with pytest.raises(ValueError, match="schema 6 has no transfers"):
        Plan.model_validate(data)
    for binding in data["bindings"]:
        binding["transfers"] = None
        binding["cost"] = [c for c in binding["cost"] if c["component"] != "inter_region_per_gb"]
    for used in data["prices"]:
        used["price"]["inter_region_per_gb"] = None
    older = Plan.model_validate(data)  # read as written, its hash without the new fields
    assert "transfers" not in older.canonical_json()
    assert "inter_region_per_gb" not in older.canonical_json()


def _two_regions(*, shared: bool) -> App:
    """An eu and a us map pinned to RDS PostgreSQL: two regions of one server backend."""
    app = App("two-regions")
    for name, residency in (("EuCarts", "eu"), ("UsCarts", "us" if shared else "eu")):
        carts = types.new_class(name, (Map[str, int],))
        app.storage(
            backend="rds-postgres",
            durability="persistent",
            residency=residency,
            reads="10/s",
            writes="2/s",
        )(carts)
    return app


def test_a_shared_instance_never_holds_two_regions() -> None:
    catalog = load_catalog("aws")
    together = solve(_two_regions(shared=False).blueprint(), catalog)
    (one,) = together.instances
    assert one.resources == ("EuCarts", "UsCarts")
    blueprint = _two_regions(shared=True).blueprint()
    plan = solve(blueprint, catalog)
    assert plan.binding("EuCarts").region == "eu-west-1"
    assert plan.binding("UsCarts").region == "us-east-1"
    eu, us = plan.instances
    assert (eu.id, eu.resources) == ("rds-postgres#1", ("EuCarts",))
    assert (us.id, us.resources) == ("rds-postgres#2", ("UsCarts",))
    assert plan.binding("EuCarts").instance == eu.id
    assert plan.binding("UsCarts").instance == us.id
    # each region pays its own instance and its own network (NAT gateway and address,
    # (0.045 + 0.005) x 730 = $36.50): one more of each than the single-region app
    assert plan.total_monthly_cost == pytest.approx(
        together.total_monthly_cost + us.fixed_monthly + 36.50, abs=0.005
    )
    assert sorted({line.region for line in plan.network}) == ["eu-west-1", "us-east-1"]
    data = read_catalog("aws")
    answer = solve_exact(blueprint, data)
    assert answer.total == pytest.approx(plan.total_monthly_cost, abs=0.005)
    assert len(answer.instances) == 2
    assert audit(plan, blueprint, data) == []
    merged = one.model_copy(update={"id": eu.id, "resources": ("EuCarts", "UsCarts")})
    us_binding = plan.binding("UsCarts").model_copy(update={"instance": eu.id})
    wrong = plan.model_copy(
        update={
            "instances": (merged,),
            "bindings": (plan.binding("EuCarts"), us_binding),
            "total_monthly_cost": plan.total_monthly_cost - us.fixed_monthly,
        }
    )
    assert "an instance of rds-postgres holds resources of eu-west-1, us-east-1" in audit(
        wrong, blueprint, data
    )
