"""A Region's quota on provisioned capacity, shared by every table provisioned there.

DynamoDB lets one account provision 80,000 read and 80,000 write capacity
units per Region, all tables together (``quota_read_units`` and
``quota_write_units`` of the provisioned mode in ``catalogs/aws.toml``).  A
write-heavy table provisioned at 70 % target utilisation takes
``ceil(writes / 0.7)`` of them: three tables of 20,000 writes/s would take
3 x 28,572 = 85,716.  The plan keeps two provisioned and bills the third
on-demand, which is what an account without a quota request can deploy.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from msgspec.structs import replace
from pydantic import BaseModel

from skaal import App, Collection, Index, Map
from skaal.catalog.loader import load_catalog
from skaal.errors import CatalogError, UnsatisfiableError
from skaal.plan.model import Plan
from skaal.solver import solve
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog, solve_exact

MONTH_MILLIONS = 2.628  # 2,628,000 seconds in a 730-hour month, in millions


class Order(BaseModel):
    id: str
    owner: str
    status: str


def _tables(count: int, writes: str = "20000/s") -> App:
    """``count`` (2 or 3) maps only DynamoDB may hold (``backend=``), each writing ``writes``."""
    app = App("ledgers")
    declared = {
        "read_latency": "< 20ms", "durability": "persistent", "size": "1GB",
        "reads": "10/s", "writes": writes, "backend": "dynamodb",
    }  # fmt: skip

    @app.storage(**declared)
    class Ledger0(Map[str, str]): ...

    @app.storage(**declared)
    class Ledger1(Map[str, str]): ...

    if count == 3:

        @app.storage(**declared)
        class Ledger2(Map[str, str]): ...

    return app


def _child(tmp_path: Path, body: str) -> Path:
    """A catalog extending the bundled aws one with ``body`` (TOML)."""
    path = tmp_path / "child.toml"
    path.write_text(f'schema_version = 2\nname = "child"\nextends = "aws"\n{body}')
    return path


def _provisioned_writes(plan: Plan) -> int:
    return sum(b.provisioned.writes_per_s for b in plan.bindings if b.provisioned is not None)


def test_three_write_heavy_tables_keep_two_provisioned_priced_by_hand() -> None:
    app = _tables(3)
    plan = solve(app.blueprint(), load_catalog("aws"))
    modes = sorted(b.mode or "" for b in plan.bindings)
    assert modes == ["on-demand", "provisioned", "provisioned"]
    assert _provisioned_writes(plan) == 2 * 28_572 <= 80_000
    (moved,) = [b for b in plan.bindings if b.mode == "on-demand"]
    assert moved.reason.endswith(
        "; not provisioned: the 3 tables cheapest provisioned on dynamodb in us-east-1 would "
        "pass what one account may provision there (80,000 write units); the 2 saving the "
        "most stay provisioned"
    )
    stored = 1 * 0.25 + 1 * 0.20  # GB-month and continuous backups, either mode
    provisioned = 15 * 0.0949 + 28_572 * 0.4745 + stored  # ceil(10 / 0.7), ceil(20,000 / 0.7)
    on_demand = 10 * MONTH_MILLIONS * 0.125 + 20_000 * MONTH_MILLIONS * 0.625 + stored
    assert provisioned == pytest.approx(13_559.2875, abs=1e-9)
    assert on_demand == pytest.approx(32_853.735, abs=1e-9)
    assert plan.total_monthly_cost == pytest.approx(2 * provisioned + on_demand, abs=1e-6)
    # only the mode of a table fixed on DynamoDB changes: the knapsack proves it cheapest
    assert (plan.status, plan.lower_bound) == ("optimal", None)
    oracle = solve_exact(app.blueprint(), read_catalog("aws"))
    assert (oracle.status, oracle.total) == ("optimal", pytest.approx(plan.total_monthly_cost))
    assert audit(plan, app.blueprint(), read_catalog("aws")) == []


def test_re_planning_past_the_quota_gives_the_same_plan() -> None:
    app = _tables(3)
    plan = solve(app.blueprint(), load_catalog("aws"))
    again = solve(app.blueprint(), load_catalog("aws"), previous=plan)
    assert again.content_hash() == plan.content_hash()


def test_tables_within_the_quota_all_stay_provisioned() -> None:
    plan = solve(_tables(2).blueprint(), load_catalog("aws"))
    assert [b.mode for b in plan.bindings] == ["provisioned", "provisioned"]
    assert plan.status == "optimal"


def test_a_raised_quota_keeps_every_table_provisioned_and_the_oracle_flags_it(
    tmp_path: Path,
) -> None:
    # An account with a quota request granted plans all three provisioned; the same
    # plan read against the default quota passes it, and the oracle's audit says so.
    raised = _child(tmp_path, "[backends.dynamodb.modes.provisioned]\nquota_write_units = 90000\n")
    app = _tables(3)
    plan = solve(app.blueprint(), load_catalog(str(raised)))
    assert [b.mode for b in plan.bindings] == ["provisioned"] * 3
    assert audit(plan, app.blueprint(), read_catalog(str(raised))) == []
    assert audit(plan, app.blueprint(), read_catalog("aws")) == [
        "dynamodb provisioned: 85716 write units provisioned in us-east-1 > quota 80000"
    ]


_PROVISIONED_ONLY = """\
schema_version = 2
name = "provisioned-only"
provider = "aws"
region = "us-east-1"

[backends.tables]
description = "DynamoDB, provisioned capacity only."
kinds = ["map"]
implementation = "dynamodb"
regions = ["us-east-1"]

[backends.tables.performance]
read_latency_ms = 10.0
write_latency_ms = 15.0
durability = "durable"
consistency = ["strong"]
availability = 99.99

[backends.tables.modes.provisioned]
target_utilisation = 0.7
quota_read_units = 80000
quota_write_units = 80000

[backends.tables.modes.provisioned.price]
region = "us-east-1"

[backends.tables.modes.provisioned.price.per_read_per_s_month]
amount = 0.0949
source = "https://aws.amazon.com/dynamodb/pricing/provisioned/"
as_of = "2026-12-03"

[backends.tables.modes.provisioned.price.per_write_per_s_month]
amount = 0.4745
source = "https://aws.amazon.com/dynamodb/pricing/provisioned/"
as_of = "2026-12-03"
"""


def test_tables_with_no_other_mode_past_the_quota_get_no_plan(tmp_path: Path) -> None:
    # A backend billed provisioned only: nothing can move, and the error says how
    # many units are asked, the quota, and the catalog key to raise.
    path = tmp_path / "provisioned-only.toml"
    path.write_text(_PROVISIONED_ONLY)
    app = App("ledgers")

    @app.storage(read_latency="< 20ms", size="1GB", reads="10/s", writes="27000/s")
    class Ledger0(Map[str, str]): ...

    @app.storage(read_latency="< 20ms", size="1GB", reads="10/s", writes="27000/s")
    class Ledger1(Map[str, str]): ...

    @app.storage(read_latency="< 20ms", size="1GB", reads="10/s", writes="27000/s")
    class Ledger2(Map[str, str]): ...

    with pytest.raises(UnsatisfiableError) as raised:
        solve(app.blueprint(), load_catalog(str(path)))
    text = str(raised.value)
    assert "3 resources can only be provisioned on tables in mode 'provisioned'" in text
    assert "115,716 write units, the quota 80,000" in text  # 3 x ceil(27,000 / 0.7)
    assert (
        "raise quota_read_units / quota_write_units in [backends.tables.modes.provisioned]" in text
    )


def test_a_quota_on_a_mode_that_provisions_nothing_is_refused(tmp_path: Path) -> None:
    bad = _child(tmp_path, "[backends.dynamodb.modes.on-demand]\nquota_write_units = 1000\n")
    with pytest.raises(CatalogError) as raised:
        load_catalog(str(bad))
    text = str(raised.value)
    assert "quota_write_units counts provisioned capacity units" in text
    assert "add target_utilisation" in text


def test_a_users_draw_past_a_lowered_quota_is_valid_and_its_bound_holds(tmp_path: Path) -> None:
    # The aws users draw of 100 (seed 5) provisions 41,430 write units; with the quota
    # lowered to 20,000 most of them go on-demand or elsewhere.  The plan is valid by
    # the oracle's rules, and its lower bound (the Lagrangian one of
    # skaal/solver/mode_quotas.py) is at most the optimum the oracle proves with the
    # quota in its programme, which the plan meets.
    lowered = _child(tmp_path, "[backends.dynamodb.modes.provisioned]\nquota_write_units = 20000\n")
    blueprint = draw_blueprint(write_app(tmp_path / "u100_5.py", "users", 100, seed=5))
    plan = solve(blueprint, load_catalog(str(lowered)))
    assert 0 < _provisioned_writes(plan) <= 20_000
    assert audit(plan, blueprint, read_catalog(str(lowered))) == []
    oracle = solve_exact(blueprint, read_catalog(str(lowered)))
    assert oracle.status == "optimal"
    assert oracle.total == pytest.approx(plan.total_monthly_cost, abs=1e-6)
    assert plan.lower_bound is not None
    assert plan.lower_bound <= oracle.total
    unbounded = solve(blueprint, load_catalog("aws"))  # 41,430 units fit the default quota
    assert plan.lower_bound > unbounded.total_monthly_cost  # the bound counts the quota


def test_a_collection_s_indexes_count_against_the_quota_as_they_are_provisioned() -> None:
    # Two collections of 10,000 writes/s with two indexes each: a table provisions
    # ceil(10,000 / 0.7) = 14,286 write units and each index as many again, so each
    # takes 42,858 of the quota: both would take 85,716.  One stays provisioned.
    app = App("shop")
    fields = {"by_owner": Index("owner"), "by_status": Index("status")}
    for name in ("Orders", "Returns"):
        store = app.storage(backend="dynamodb", durability="durable", size="4GB",
                            reads="10/s", writes="10000/s")  # fmt: skip
        store(types.new_class(name, (Collection[Order],), exec_body=lambda ns: ns.update(fields)))
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert sorted(b.mode or "" for b in plan.bindings) == ["on-demand", "provisioned"]
    assert _provisioned_writes(plan) == 14_286  # the table's own units, as the build sets them
    assert audit(plan, app.blueprint(), read_catalog("aws")) == []
    oracle = solve_exact(app.blueprint(), read_catalog("aws"))
    assert oracle.total == pytest.approx(plan.total_monthly_cost, abs=1e-6)


def test_a_budget_between_the_bound_and_the_plan_is_not_called_too_small(tmp_path: Path) -> None:
    # The aws users draw of 300 (seed 2) plans $347,624.89 within the quota, proven to
    # cost at least $346,927.37: under a budget of $347,000 the conflict says a plan
    # within it may exist, rather than that the cheapest plan costs more.
    blueprint = draw_blueprint(write_app(tmp_path / "u300_2.py", "users", 300, seed=2))
    with pytest.raises(UnsatisfiableError) as raised:
        solve(replace(blueprint, budget_usd_month=347_000.0), load_catalog("aws"))
    text = str(raised.value)
    assert "the cheapest plan found costs $347,624.89/month, over the budget of $347,000.00" in text
    assert "every plan costs at least $346,927.37, so one within the budget may exist" in text
