"""An eventual map on aws: the build provisions the capacity the plan priced and ships the level.

The builder never decides consistency: the table gets the read capacity the
plan records (half the units of strong reads, what eventual reads cost), and
the Lambda's own ``skaal.lock`` carries the served level the runtime reads
(``Binding.consistency``, see ``tests/runtime/servers/test_dynamodb_consistency.py``).
The program runs under Pulumi's mocks.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.plan.lock import read_lock
from skaal.plan.model import Plan
from skaal.solver import solve
from tests.builder.aws_support import AwsRun, app_context, run_program, write_with_layer


def _plan(consistency: str | None) -> tuple[App, Plan]:
    app = App("reads")
    declared = {"reads": "100/s", "writes": "10/s", "size": "1GB", "availability": "99.99%"}
    if consistency is not None:
        declared["consistency"] = consistency
    app.storage(**declared)(types.new_class("Views", (Map[str, str],)))  # type: ignore[call-overload]

    @app.function()
    async def view(key: str) -> str | None:
        return None

    return app, solve(app.blueprint(), load_catalog("aws"))


def _built(consistency: str | None, folder: Path) -> tuple[Plan, AwsRun, Path]:
    app, plan = _plan(consistency)
    artifacts = build_aws(app_context(app.blueprint(), plan, "reads:app"))
    root = write_with_layer(artifacts, folder)
    return plan, run_program(root), root


@pytest.mark.parametrize(
    ("consistency", "reads"),
    [
        ("eventual", 72),  # ceil(100 x 0.5 / 0.7) RCUs: half a unit per eventual read
        (None, 143),  # ceil(100 / 0.7): strong reads, as an undeclared map always had
    ],
)
def test_the_table_gets_the_read_capacity_the_plan_priced(
    consistency: str | None, reads: int, tmp_path: Path
) -> None:
    plan, run, root = _built(consistency, tmp_path)
    binding = plan.binding("Views")
    assert (binding.backend, binding.mode) == ("dynamodb", "provisioned")
    assert binding.provisioned is not None
    assert binding.provisioned.reads_per_s == reads
    table = run.named("Views").inputs
    assert (table["billingMode"], table["readCapacity"]) == ("PROVISIONED", reads)
    targets = {t.name: t.inputs for t in run.of_type("aws:appautoscaling/target:Target")}
    assert targets["Views-read-scaling"]["minCapacity"] == reads
    shipped = read_lock(root / "app" / "skaal.lock")  # what the Lambda runtime opens
    assert shipped == plan
    assert shipped is not None
    assert shipped.binding("Views").consistency == (consistency or "strong")
