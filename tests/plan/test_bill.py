"""bill_of: every line of a plan priced from the lock, adding up to the plan's total exactly."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from pydantic import BaseModel

from skaal import App, Collection, Index, Map
from skaal.catalog import catalog_for_target
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import PRICE_COMPONENTS
from skaal.declare.app_ref import load_app
from skaal.errors import PlanError
from skaal.plan import bill
from skaal.plan.bill import GROUPINGS, bill_of, compare_bills, group_bill
from skaal.plan.lock import read_lock, write_lock
from skaal.plan.model import Plan
from skaal.solver import solve
from skaal.testing import backend, catalog
from tests.solver._factories import blueprint, res

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "app.py").is_file())


def _example(name: str, target: str) -> Plan:
    app = load_app(f"examples/{name}/app.py:app", cwd=ROOT)
    return solve(app.blueprint(), catalog_for_target(target))


def _provisioned_dynamodb() -> Plan:
    app = App("orders")

    @app.storage(size="5GB", reads="300/s", writes="50/s")
    class Orders(Map[str, str]): ...

    return solve(app.blueprint(), catalog_for_target("aws"), pins={"Orders": "dynamodb"})


def _check(plan: Plan) -> None:
    bill = bill_of(plan)
    assert bill.total == plan.total_monthly_cost  # exactly, not approximately
    for by in GROUPINGS:
        assert sum(g.monthly for g in group_bill(bill.lines, by)) == pytest.approx(bill.total)
    for binding in plan.bindings:
        own = [line.monthly for line in bill.lines if line.owner == binding.resource]
        assert round(sum(own), 6) == binding.monthly_cost
    for instance in plan.instances:
        own = [line.monthly for line in bill.lines if line.owner == instance.id]
        assert round(sum(own), 6) == instance.fixed_monthly
    for line in bill.lines:
        assert line.price.source
        assert line.price.as_of
        assert line.monthly == pytest.approx(line.price.amount * line.quantity, abs=1e-5)


@pytest.mark.parametrize("target", ["local", "aws", "gcp"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_bill_adds_up_to_its_plan(example: str, target: str) -> None:
    _check(_example(example, target))


def test_the_shop_on_aws_itemises_its_shared_instance_and_network() -> None:
    plan = _example("shop", "aws")
    assert plan.instances
    assert plan.network
    bill = bill_of(plan)
    instance = plan.instances[0]
    fee = next(line for line in bill.lines if line.owner == instance.id)
    assert fee.item == "instance fee"
    assert fee.component == f"instance {instance.instance_class}"
    assert fee.price.source == "https://aws.amazon.com/rds/postgresql/pricing/"
    nat = next(line for line in bill.lines if line.item == "NAT gateway")
    assert (nat.owner_kind, nat.quantity, nat.unit) == ("network", 730.0, "hour")
    assert nat.price.source == "https://aws.amazon.com/vpc/pricing/"
    _check(plan)


def test_provisioned_dynamodb_is_priced_from_its_mode() -> None:
    plan = _provisioned_dynamodb()
    binding = plan.binding("Orders")
    assert (binding.backend, binding.mode) == ("dynamodb", "provisioned")
    bill = bill_of(plan)
    reads = next(line for line in bill.lines if line.item == "provisioned reads")
    assert binding.provisioned is not None
    assert reads.quantity == binding.provisioned.reads_per_s
    assert reads.price.source == "https://aws.amazon.com/dynamodb/pricing/provisioned/"
    assert {line.mode for line in bill.lines} == {"provisioned"}
    _check(plan)


def test_the_lock_alone_prices_the_bill(tmp_path: Path) -> None:
    plan = _provisioned_dynamodb()
    stored = read_lock(write_lock(plan, tmp_path / "skaal.lock"))
    assert stored is not None
    assert bill_of(stored) == bill_of(plan)
    used = {(p.backend, p.mode) for p in stored.prices}
    assert used == {("dynamodb", "provisioned")}


def test_group_bill_by_each_key() -> None:
    bill = bill_of(_example("shop", "aws"))
    by_backend = {g.key: g for g in group_bill(bill.lines, "backend")}
    assert by_backend["network"].monthly == pytest.approx(36.5)
    assert by_backend["network"].lines == 2
    items = {g.key for g in group_bill(bill.lines, "item")}
    assert {"instance fee", "storage", "NAT gateway"} <= items
    resources = [g.key for g in group_bill(bill.lines, "resource")]
    assert resources[-2:] == ["rds-postgres#1", "network us-east-1"]


def test_each_regions_network_is_billed_under_its_region() -> None:
    app = App("two-regions")
    for name, residency in (("EuCarts", "eu"), ("UsCarts", "us")):
        app.storage(backend="rds-postgres", residency=residency)(
            types.new_class(name, (Map[str, int],))
        )
    plan = solve(app.blueprint(), load_catalog("aws"))
    bill = bill_of(plan)
    by_owner = {g.key: g for g in group_bill(bill.lines, "resource")}
    for region in ("eu-west-1", "us-east-1"):
        network = by_owner[f"network {region}"]
        assert (network.lines, network.monthly) == (2, pytest.approx(36.5))
    nat = [line for line in bill.lines if line.item == "NAT gateway"]
    assert [line.owner for line in nat] == ["network eu-west-1", "network us-east-1"]
    assert {line.price.source for line in nat} == {"https://aws.amazon.com/vpc/pricing/"}
    _check(plan)


def _two(b_price: float) -> object:
    return catalog(
        backends=[
            backend("a", kinds=("map",), per_gb_month=1.0),
            backend("b", kinds=("map",), per_gb_month=b_price),
        ]
    )


def test_the_reoptimise_saving_broken_down_adds_up_to_the_recorded_saving() -> None:
    bp = blueprint(res("Carts", size_gb=10.0), res("Orders", size_gb=2.0))
    before = solve(bp, _two(2.0))  # type: ignore[arg-type]
    held = solve(bp, _two(0.5), previous=before)  # type: ignore[arg-type]
    fresh = solve(bp, _two(0.5), reoptimize=True)  # type: ignore[arg-type]
    assert held.reoptimize_savings > 0
    for by in GROUPINGS:
        deltas = compare_bills(bill_of(held), bill_of(fresh), by)
        assert sum(d.delta for d in deltas) == pytest.approx(-held.reoptimize_savings)
    (carts, orders) = compare_bills(bill_of(held), bill_of(fresh), "resource")
    assert (carts.key, carts.current, carts.other, carts.delta) == ("Carts", 10.0, 5.0, -5.0)
    assert (orders.key, orders.delta) == ("Orders", -1.0)
    assert compare_bills(bill_of(fresh), bill_of(fresh), "item") == ()


def test_a_line_without_a_recorded_price_is_a_plan_error() -> None:
    plan = _provisioned_dynamodb()
    with pytest.raises(PlanError, match="no price for the 'per_gb_month' line of Orders"):
        bill_of(plan.model_copy(update={"prices": ()}))


def test_every_catalog_component_has_an_item() -> None:
    assert set(PRICE_COMPONENTS) <= set(bill._ITEMS)


def _eventual_dynamodb(mode: str) -> Plan:
    """A map read eventually consistent, on DynamoDB in ``mode``."""
    app = App("views")

    @app.storage(size="1GB", reads="100/s", writes="0.01/s", consistency="eventual")
    class Views(Map[str, str]): ...

    aws = catalog_for_target("aws")
    dynamodb = aws.backend("dynamodb")
    only = dynamodb.model_copy(update={"modes": tuple(m for m in dynamodb.modes if m.name == mode)})
    narrowed = aws.model_copy(update={"backends": (only,)})
    return solve(app.blueprint(), narrowed)


@pytest.mark.parametrize(
    ("mode", "item", "unit", "quantity"),
    [
        # 100 reads/s x 2.628 = 262.8 M reads, half a read request unit each
        ("on-demand", "eventual reads", "million read units", 131.4),
        # ceil(100 x 0.5 / 0.7) read capacity units
        ("provisioned", "provisioned eventual reads", "read unit/s-month", 72.0),
    ],
)
def test_eventual_reads_are_billed_in_read_units_with_their_factor(
    mode: str, item: str, unit: str, quantity: float
) -> None:
    plan = _eventual_dynamodb(mode)
    assert plan.binding("Views").consistency == "eventual"
    bill = bill_of(plan)
    (reads,) = [line for line in bill.lines if line.factor is not None]
    assert (reads.item, reads.unit, reads.quantity) == (item, unit, quantity)
    assert reads.component.startswith("eventual ")
    assert reads.price.amount == {"on-demand": 0.125, "provisioned": 0.0949}[mode]
    assert reads.factor is not None
    assert reads.factor.factor == 0.5
    assert reads.factor.source == f"https://aws.amazon.com/dynamodb/pricing/{mode}/"
    data = reads.to_json()
    assert data["eventual_read_factor"]["factor"] == 0.5
    assert data["unit_price"] * data["quantity"] == pytest.approx(data["monthly"], abs=1e-6)
    others = [line for line in bill.lines if line.factor is None]
    assert all(line.to_json()["eventual_read_factor"] is None for line in others)
    assert bill.as_of() == ("2026-11-22" if mode == "on-demand" else "2026-12-03", "2026-12-04")
    _check(plan)


def test_eventual_read_units_without_their_factor_are_a_plan_error() -> None:
    plan = _eventual_dynamodb("on-demand")
    used = plan.prices[0]
    bare = used.model_copy(update={"price": used.price.model_copy(update={"eventual_reads": None})})
    with pytest.raises(PlanError, match="no price for the 'eventual per_million_reads' line"):
        bill_of(plan.model_copy(update={"prices": (bare,)}))


class _Order(BaseModel):
    id: str
    owner: str


def _indexed_dynamodb() -> Plan:
    app = App("orders")

    @app.storage(size="4GB", reads="10/s", writes="5/s", consistency="eventual")
    class Orders(Collection[_Order]):
        by_owner = Index("owner")
        by_id = Index("id")

    return solve(app.blueprint(), catalog_for_target("aws"), pins={"Orders": "dynamodb"})


def test_index_lines_are_billed_at_the_tables_unit_price_with_their_factor() -> None:
    plan = _indexed_dynamodb()
    assert plan.binding("Orders").mode == "provisioned"
    bill = bill_of(plan)
    copied = {line.item: line for line in bill.lines if line.copies is not None}
    # ceil(10 x 0.5 / 0.7) = 8 eventual read and ceil(5 / 0.7) = 8 write units, twice over
    assert {item: (line.quantity, line.unit) for item, line in copied.items()} == {
        "index storage": (8.0, "GB-month"),
        "index provisioned eventual reads": (16.0, "read unit/s-month"),
        "index provisioned writes": (16.0, "write/s-month"),
    }
    for line in copied.values():
        assert line.component.startswith("indexes ")
        assert line.copies is not None
        assert line.copies.factor == 1.0
        assert line.copies.source.startswith("https://docs.aws.amazon.com/amazondynamodb/")
        table = next(t for t in bill.lines if t.component == line.component.split(" ", 1)[1])
        assert line.price == table.price  # the table's published unit price
        assert line.quantity == 2 * table.quantity
        assert line.to_json()["index_copies"]["factor"] == 1.0
    assert copied["index provisioned eventual reads"].factor is not None  # half a unit, too
    assert all(line.to_json()["index_copies"] is None for line in bill.lines if not line.copies)
    assert bill.as_of() == ("2026-12-03", "2026-12-07")
    _check(plan)


def test_index_lines_without_their_factor_are_a_plan_error() -> None:
    plan = _indexed_dynamodb()
    used = plan.prices[0]
    bare = used.model_copy(update={"price": used.price.model_copy(update={"index_copies": None})})
    with pytest.raises(PlanError, match="no index_copies factor for the 'indexes per_gb_month'"):
        bill_of(plan.model_copy(update={"prices": (bare,)}))
