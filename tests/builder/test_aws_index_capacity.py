"""An indexed collection on aws: each global secondary index gets the capacity its plan line prices.

The plan prices a collection's ``n`` indexes as ``n`` more copies of the
table's provisioned read and write units (the ``indexes per_read_per_s_month``
and ``indexes per_write_per_s_month`` lines, ``catalogs/aws.toml``'s
``index_copies``): that is what the build provisions, since it gives every
index the table's own capacity.  The program runs under Pulumi's mocks.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from skaal import App, Collection, Index
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.builder.aws_support import app_context, run_program, write_with_layer


class Order(BaseModel):
    id: str
    owner: str
    status: str


def _orders() -> App:
    """Orders, provisioned on dynamodb (15 read and 8 write units) with two indexes."""
    app = App("orders")

    @app.storage(size="4GB", reads="10/s", writes="5/s", backend="dynamodb")
    class Orders(Collection[Order]):
        by_owner = Index("owner")
        by_status = Index("status")

    @app.function()
    async def count(owner: str) -> int:
        return 0

    return app


def test_each_index_gets_the_capacity_its_plan_line_prices(tmp_path: Path) -> None:
    app = _orders()
    plan = solve(app.blueprint(), load_catalog("aws"))
    binding = plan.binding("Orders")
    assert binding.mode == "provisioned"
    assert binding.provisioned is not None
    units = (binding.provisioned.reads_per_s, binding.provisioned.writes_per_s)
    assert units == (15, 8)  # ceil(10 / 0.7), ceil(5 / 0.7)
    artifacts = build_aws(app_context(app.blueprint(), plan, "orders:app"))
    table = run_program(write_with_layer(artifacts, tmp_path)).named("Orders").inputs
    assert (table["readCapacity"], table["writeCapacity"]) == units
    indexes = table["globalSecondaryIndexes"]
    assert sorted(i["name"] for i in indexes) == ["by_owner", "by_status"]
    assert {i["projectionType"] for i in indexes} == {"ALL"}  # each a full copy of the items
    built = {
        "indexes per_read_per_s_month": sum(i["readCapacity"] for i in indexes),
        "indexes per_write_per_s_month": sum(i["writeCapacity"] for i in indexes),
    }
    priced = {line.component: line.quantity for line in binding.cost}
    assert (
        built
        == {name: priced[name] for name in built}
        == {
            "indexes per_read_per_s_month": 30,
            "indexes per_write_per_s_month": 16,
        }
    )


def test_each_index_scales_like_its_table(tmp_path: Path) -> None:
    # An index left at its floor throttles the table's writes once a burst passes it:
    # each gets the table's target tracking, from its floor to twice it.
    app = _orders()
    plan = solve(app.blueprint(), load_catalog("aws"))
    artifacts = build_aws(app_context(app.blueprint(), plan, "orders:app"))
    run = run_program(write_with_layer(artifacts, tmp_path))
    targets = {t.name: t.inputs for t in run.of_type("aws:appautoscaling/target:Target")}
    policies = {p.name for p in run.of_type("aws:appautoscaling/policy:Policy")}
    for index in ("by_owner", "by_status"):
        for dimension, floor in (("read", 15), ("write", 8)):
            target = targets[f"Orders-{index}-{dimension}-scaling"]
            assert target["resourceId"].endswith(f"/index/{index}")
            assert target["scalableDimension"] == (
                f"dynamodb:index:{dimension.capitalize()}CapacityUnits"
            )
            assert (target["minCapacity"], target["maxCapacity"]) == (floor, 2 * floor)
            assert f"Orders-{index}-{dimension}-target" in policies
    assert targets["Orders-read-scaling"]["scalableDimension"] == "dynamodb:table:ReadCapacityUnits"
    assert len(targets) == 6  # the table and its two indexes, reads and writes


def test_a_deploy_leaves_the_capacity_autoscaling_reached(tmp_path: Path) -> None:
    # The plan's units create the table and its indexes and are autoscaling's floor;
    # afterwards autoscaling owns the capacity, so the engine keeps the state's
    # capacities on an update instead of lowering a scaled-up table to its floor.
    app = _orders()
    plan = solve(app.blueprint(), load_catalog("aws"))
    artifacts = build_aws(app_context(app.blueprint(), plan, "orders:app"))
    table = run_program(write_with_layer(artifacts, tmp_path)).named("Orders")
    assert table.ignore_changes == (
        "readCapacity",
        "writeCapacity",
        "globalSecondaryIndexes[*].readCapacity",
        "globalSecondaryIndexes[*].writeCapacity",
    )
    # each path names an input the program sets: a misspelt one would ignore nothing
    for index in table.inputs["globalSecondaryIndexes"]:
        assert {"readCapacity", "writeCapacity"} <= set(index)
    assert {"readCapacity", "writeCapacity"} <= set(table.inputs)
