"""A collection's secondary indexes, priced from the catalog's ``index_copies`` factor.

On the ``dynamodb`` backend each index is a global secondary index projecting
every attribute: it stores every item again, each write to the table writes
it too, and a provisioned table gives it the table's own read and write
capacity (``skaal/programs/aws/data.py``).  ``catalogs/aws.toml`` says so with
``index_copies = { factor = 1.0 }`` in both modes, so a collection with ``n``
indexes pays ``n`` more copies of its storage, writes and provisioned units;
backups (billed on the table's size) and on-demand reads (a get reads the
table, a query one index) are paid once.  Every figure below is computed by
hand from the catalog's published amounts:

=========================  =========  ============
us-east-1                  on-demand  provisioned
=========================  =========  ============
per GB-month stored        0.25       0.25
per million read units     0.125
per million write units    0.625
per read unit/s-month                 0.0949
per write unit/s-month                0.4745
per GB-month of backups    0.20       0.20
=========================  =========  ============
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from pydantic import BaseModel

from skaal import App, Collection, Index, Map
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Catalog
from skaal.plan.model import Plan
from skaal.solver import solve
from skaal.solver.cost import Pricing, monthly_quantities, workload
from skaal.testing import backend, catalog, mode
from solver.oracle import audit, read_catalog, solve_exact


class Order(BaseModel):
    id: str
    owner: str
    status: str


def _orders(*, reads: str, writes: str, indexed: bool = True, **declared: Any) -> App:
    """``Orders``, 4 GB durable on dynamodb, indexed by owner and status unless not ``indexed``."""
    app = App("shop")
    store = app.storage(
        backend="dynamodb", durability="durable", size="4GB", reads=reads, writes=writes, **declared
    )
    fields = {"by_owner": Index("owner"), "by_status": Index("status")} if indexed else {}
    store(types.new_class("Orders", (Collection[Order],), exec_body=lambda ns: ns.update(fields)))
    return app


def _lines(plan: Plan, resource: str = "Orders") -> dict[str, tuple[float, float]]:
    return {c.component: (c.quantity, c.monthly) for c in plan.binding(resource).cost}


def _agrees_with_the_oracle(app: App, plan: Plan) -> None:
    oracle = solve_exact(app.blueprint(), read_catalog("aws"))
    assert oracle.total == pytest.approx(plan.total_monthly_cost, abs=0.005)
    assert audit(plan, app.blueprint(), read_catalog("aws")) == []


def test_two_indexes_on_demand_are_two_more_copies_of_storage_and_writes() -> None:
    app = _orders(reads="0.5/s", writes="0.2/s")
    plan = solve(app.blueprint(), load_catalog("aws"))
    binding = plan.binding("Orders")
    assert (binding.backend, binding.mode, binding.provisioned) == ("dynamodb", "on-demand", None)
    assert _lines(plan) == {
        "per_gb_month": (4.0, 1.0),  # 4 GB x $0.25
        "indexes per_gb_month": (8.0, 2.0),  # 2 indexes x 4 GB x $0.25
        "per_million_reads": (1.314, 0.16425),  # 0.5/s x 2.628 = 1.314 M x $0.125
        "per_million_writes": (0.5256, 0.3285),  # 0.2/s x 2.628 = 0.5256 M x $0.625
        "indexes per_million_writes": (1.0512, 0.657),  # 2 x 0.5256 M x $0.625
        "backup_per_gb_month": (4.0, 0.8),  # the table's size only: 4 GB x $0.20
    }
    # 1.00 + 2.00 + 0.16425 + 0.3285 + 0.657 + 0.80; without the indexes it was $2.29275
    assert plan.total_monthly_cost == 4.94975
    _agrees_with_the_oracle(app, plan)


def test_two_indexes_provisioned_are_billed_three_times_the_tables_capacity() -> None:
    app = _orders(reads="10/s", writes="5/s")
    plan = solve(app.blueprint(), load_catalog("aws"))
    binding = plan.binding("Orders")
    assert (binding.backend, binding.mode) == ("dynamodb", "provisioned")
    # ceil(10 / 0.7) = 15 read and ceil(5 / 0.7) = 8 write units: the table's, and what the
    # build gives each of its two indexes, so AWS bills 45 read and 24 write units
    assert binding.provisioned is not None
    assert (binding.provisioned.reads_per_s, binding.provisioned.writes_per_s) == (15, 8)
    assert _lines(plan) == {
        "per_gb_month": (4.0, 1.0),
        "indexes per_gb_month": (8.0, 2.0),
        "per_read_per_s_month": (15.0, 1.4235),  # 15 x $0.0949
        "indexes per_read_per_s_month": (30.0, 2.847),  # 2 x 15 x $0.0949
        "per_write_per_s_month": (8.0, 3.796),  # 8 x $0.4745
        "indexes per_write_per_s_month": (16.0, 7.592),  # 2 x 8 x $0.4745
        "backup_per_gb_month": (4.0, 0.8),
    }
    # 1.00 + 2.00 + 1.4235 + 2.847 + 3.796 + 7.592 + 0.80; without the indexes, $7.0195
    assert plan.total_monthly_cost == 19.4585
    # on demand it would be 3.00 + 3.285 (26.28 M reads) + 3 x 8.2125 (13.14 M writes) + 0.80
    on_demand = Pricing.of(load_catalog("aws").backend("dynamodb"), "on-demand")
    load = workload(app.blueprint().resource("Orders"))
    assert on_demand.total(monthly_quantities(load)) == 31.7225
    _agrees_with_the_oracle(app, plan)


def test_an_eventual_collections_indexes_copy_its_eventual_read_units() -> None:
    # ceil(300 x 0.5 / 0.7) = 215 read units, given to each index too
    app = _orders(reads="300/s", writes="40/s", consistency="eventual")
    plan = solve(app.blueprint(), load_catalog("aws"))
    lines = _lines(plan)
    assert lines["eventual per_read_per_s_month"] == (215.0, 20.4035)
    assert lines["indexes eventual per_read_per_s_month"] == (430.0, 40.807)
    _agrees_with_the_oracle(app, plan)


@pytest.mark.parametrize(
    ("reads", "writes", "mode", "total"),
    [
        ("0.5/s", "0.2/s", "on-demand", 2.29275),  # 1.00 + 0.16425 + 0.3285 + 0.80
        ("10/s", "5/s", "provisioned", 7.0195),  # 1.00 + 1.4235 + 3.796 + 0.80
    ],
)
def test_a_collection_or_map_without_indexes_is_priced_as_before(
    reads: str, writes: str, mode: str, total: float
) -> None:
    app = _orders(reads=reads, writes=writes, indexed=False)

    @app.storage(backend="dynamodb", durability="durable", size="4GB", reads=reads, writes=writes)
    class Carts(Map[str, str]): ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    for name in ("Orders", "Carts"):
        binding = plan.binding(name)
        assert binding.mode == mode
        assert binding.monthly_cost == total
        assert not [c for c in binding.cost if c.component.startswith("indexes ")]
    _agrees_with_the_oracle(app, plan)


def test_alike_collections_with_and_without_indexes_are_priced_apart() -> None:
    # same declarations, so the filter's cost cache must tell them apart by their indexes
    app = _orders(reads="0.5/s", writes="0.2/s")

    @app.storage(backend="dynamodb", durability="durable", size="4GB", reads="0.5/s",
                 writes="0.2/s")  # fmt: skip
    class Plain(Collection[Order]): ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    assert (plan.binding("Orders").monthly_cost, plan.binding("Plain").monthly_cost) == (
        4.94975,
        2.29275,
    )
    assert (
        workload(app.blueprint().resource("Orders")).key()
        != workload(app.blueprint().resource("Plain")).key()
    )


def _tables(copies: float | None) -> Catalog:
    """DynamoDB's two modes without backups, each with ``index_copies`` at ``copies``."""
    return catalog(
        provider="aws",
        backends=[
            backend(
                "dynamodb",
                kinds=("map", "collection"),
                capabilities=("secondary_index",),
                modes=[
                    mode(
                        "on-demand",
                        per_gb_month=0.25,
                        per_million_reads=0.125,
                        per_million_writes=0.625,
                        index_copies=copies,
                    ),
                    mode(
                        "provisioned",
                        target_utilisation=0.7,
                        per_gb_month=0.25,
                        per_read_per_s_month=0.0949,
                        per_write_per_s_month=0.4745,
                        index_copies=copies,
                    ),
                ],
            )
        ],
    )


def test_a_catalog_without_the_factor_prices_indexes_as_nothing() -> None:
    without = _tables(None)
    assert "index_copies" not in without.canonical_json()  # hashed as before the factor
    for indexed in (True, False):  # provisioned: 4 GB + 15 read and 8 write units, no backups
        app = _orders(reads="10/s", writes="5/s", indexed=indexed)
        assert solve(app.blueprint(), without).total_monthly_cost == 6.2195  # 1 + 1.4235 + 3.796


def test_a_share_of_a_copy_prices_each_index_at_that_share() -> None:
    # half a copy per index: two indexes bill one more copy of the table's units
    plan = solve(_orders(reads="10/s", writes="5/s").blueprint(), _tables(0.5))
    assert _lines(plan) == {
        "per_gb_month": (4.0, 1.0),
        "indexes per_gb_month": (4.0, 1.0),
        "per_read_per_s_month": (15.0, 1.4235),
        "indexes per_read_per_s_month": (15.0, 1.4235),
        "per_write_per_s_month": (8.0, 3.796),
        "indexes per_write_per_s_month": (8.0, 3.796),
    }
    assert plan.total_monthly_cost == 12.439


def test_the_aws_catalog_states_the_factor_in_both_modes() -> None:
    dynamodb = load_catalog("aws").backend("dynamodb")
    for priced in dynamodb.modes:
        copies = priced.price.index_copies
        assert copies is not None
        assert copies.factor == 1.0
        assert copies.source.startswith("https://docs.aws.amazon.com/amazondynamodb/")
    for name in ("gcp", "local", "local-servers"):  # their catalogs and plans hash as before
        assert "index_copies" not in load_catalog(name).canonical_json(), name
