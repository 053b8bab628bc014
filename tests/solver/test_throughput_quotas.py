"""Per-resource throughput quotas counted in each capacity mode's units.

DynamoDB's default table quotas are 40,000 read and 40,000 write units
(``limits.max_reads_per_s`` and ``max_writes_per_s`` in ``catalogs/aws.toml``).
An eventually consistent read takes half a read unit; provisioned capacity
at 70 % target utilisation provisions ``rate / 0.7`` units.  So a table may
serve 80,000 eventual reads/s on demand, and a provisioned one at most
28,000 reads/s: a plan never provisions a table past its quota (its deploy
would fail), and never refuses a table its quota holds.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from skaal import App, Collection, Map
from skaal.catalog.loader import load_catalog
from skaal.errors import UnsatisfiableError
from skaal.plan.model import Plan
from skaal.solver import solve
from skaal.solver.cost import Pricing, rate_ceilings
from skaal.solver.diagnosis import diagnose_resources, format_diagnosis
from skaal.solver.feasibility import build_problem
from solver.oracle import read_catalog, solve_exact

MONTH_MILLIONS = 2.628  # 2,628,000 seconds in a 730-hour month, in millions


class Product(BaseModel):
    id: str


def _map_app(reads: str, writes: str, **declared: str) -> App:
    app = App("quotas")

    @app.storage(read_latency="< 20ms", durability="persistent", size="10GB", reads=reads,
                 writes=writes, **declared)  # fmt: skip
    class Hot(Map[str, str]): ...

    return app


def _plan(app: App) -> Plan:
    return solve(app.blueprint(), load_catalog("aws"))


def test_a_table_past_its_provisioned_quota_is_on_demand_priced_by_hand() -> None:
    # Provisioned would be cheaper ($25,085.62) but needs ceil(35,000 / 0.7) = 50,000
    # read and ceil(30,000 / 0.7) = 42,858 write units, over the 40,000 of each.
    plan = _plan(_map_app("35000/s", "30000/s"))
    (binding,) = plan.bindings
    assert (binding.backend, binding.mode, binding.provisioned) == ("dynamodb", "on-demand", None)
    reads = 35_000 * MONTH_MILLIONS * 0.125  # million read units x $0.125
    writes = 30_000 * MONTH_MILLIONS * 0.625  # million write units x $0.625
    stored = 10 * 0.25 + 10 * 0.20  # GB-month and continuous backups
    assert plan.total_monthly_cost == pytest.approx(reads + writes + stored, abs=1e-6)
    assert plan.total_monthly_cost == pytest.approx(60_777.00, abs=1e-6)
    oracle = solve_exact(_map_app("35000/s", "30000/s").blueprint(), read_catalog("aws"))
    assert oracle.total == pytest.approx(plan.total_monthly_cost, abs=1e-6)


def test_a_table_provisioned_at_its_quota_exactly_stays_provisioned() -> None:
    (binding,) = _plan(_map_app("28000/s", "28000/s")).bindings
    assert binding.mode == "provisioned"
    assert binding.provisioned is not None
    assert (binding.provisioned.reads_per_s, binding.provisioned.writes_per_s) == (40_000, 40_000)
    (past,) = _plan(_map_app("28001/s", "28000/s")).bindings
    assert (past.mode, past.provisioned) == ("on-demand", None)


def test_eventual_reads_count_half_a_unit_of_the_quota() -> None:
    app = App("catalogue")

    @app.storage(read_latency="< 20ms", durability="persistent", size="50GB",
                 reads="60000/s", writes="50/s", consistency="eventual")  # fmt: skip
    class Products(Collection[Product]): ...

    plan = _plan(app)
    (binding,) = plan.bindings
    assert (binding.backend, binding.mode) == ("dynamodb", "on-demand")
    reads = 60_000 * 0.5 * MONTH_MILLIONS * 0.125  # 30,000 read units a second
    writes = 50 * MONTH_MILLIONS * 0.625
    stored = 50 * 0.25 + 50 * 0.20
    assert plan.total_monthly_cost == pytest.approx(reads + writes + stored, abs=1e-6)
    oracle = solve_exact(app.blueprint(), read_catalog("aws"))
    assert oracle.total == pytest.approx(plan.total_monthly_cost, abs=1e-6)


def test_past_the_quota_the_refusal_quotes_it_in_reads_and_in_units() -> None:
    with pytest.raises(UnsatisfiableError) as eventual:
        _plan(_map_app("90000/s", "10/s", consistency="eventual"))
    assert (
        "dynamodb: reads offers ≤ 80000/s per resource (its quota: 40000 read units), "
        "asked 90000/s" in str(eventual.value)
    )
    with pytest.raises(UnsatisfiableError) as strong:
        _plan(_map_app("50000/s", "10/s"))
    assert "dynamodb: reads offers ≤ 40000/s per resource, asked 50000/s" in str(strong.value)


def test_strong_reads_past_the_quota_are_offered_eventual_reads_where_they_fit() -> None:
    # 70,000 strong reads/s take 70,000 read units, past the 40,000; eventual ones take
    # 35,000: the fix keeps the table durable and the rate as declared
    declared = _map_app("70000/s", "10/s")
    diagnosis = diagnose_resources(build_problem(declared.blueprint(), load_catalog("aws")))
    assert diagnosis is not None
    (resource,) = diagnosis.resources
    fixes = [fix for fix in (resource.fix, *resource.alternatives) if fix]
    (eventual,) = [fix for fix in fixes if fix.relaxations == ('consistency="eventual"',)]
    assert (eventual.backend, eventual.instance_fee) == ("dynamodb", 0.0)
    reads = 70_000 * 0.5 * MONTH_MILLIONS * 0.125  # on demand, half a unit each
    writes = 10 * MONTH_MILLIONS * 0.625
    stored = 10 * 0.25 + 10 * 0.20
    assert eventual.cost == pytest.approx(reads + writes + stored, abs=1e-6)
    assert eventual.cost == pytest.approx(11_518.425, abs=1e-6)
    # the fix is what planning the relaxed declaration costs
    relaxed = _plan(_map_app("70000/s", "10/s", consistency="eventual"))
    assert relaxed.total_monthly_cost == pytest.approx(eventual.cost, abs=1e-6)
    assert '  or: consistency="eventual" → dynamodb at $11,518.42/month\n' in format_diagnosis(
        diagnosis
    )


def test_no_eventual_fix_where_eventual_reads_would_not_fit_either() -> None:
    # 90,000 eventual reads/s are 45,000 units: still past the quota
    app = _map_app("90000/s", "10/s")
    diagnosis = diagnose_resources(build_problem(app.blueprint(), load_catalog("aws")))
    assert diagnosis is not None
    (resource,) = diagnosis.resources
    fixes = [fix for fix in (resource.fix, *resource.alternatives) if fix]
    assert fixes
    assert all(fix.relaxations != ('consistency="eventual"',) for fix in fixes)


def test_a_fix_lowering_eventual_reads_to_the_quota_is_priced_there() -> None:
    app = App("catalogue")

    @app.storage(read_latency="< 5ms", durability="persistent", size="50GB",
                 reads="100000/s", writes="50/s", consistency="eventual")  # fmt: skip
    class Products(Collection[Product]): ...

    diagnosis = diagnose_resources(build_problem(app.blueprint(), load_catalog("aws")))
    assert diagnosis is not None
    (resource,) = diagnosis.resources
    fixes = {fix.backend: fix for fix in (resource.fix, *resource.alternatives) if fix}
    ddb = fixes["dynamodb"]
    assert ddb.relaxations == ('read_latency="<= 10ms"', 'reads="80000/s"')
    # 80,000 eventual reads/s are 40,000 read units, on demand
    reads = 80_000 * 0.5 * MONTH_MILLIONS * 0.125
    writes = 50 * MONTH_MILLIONS * 0.625
    stored = 50 * 0.25 + 50 * 0.20
    assert ddb.cost == pytest.approx(reads + writes + stored, abs=1e-6)
    assert ddb.cost == pytest.approx(13_244.625, abs=1e-6)


def test_units_and_ceilings_of_each_mode_by_hand() -> None:
    ddb = load_catalog("aws").backend("dynamodb")
    on_demand, provisioned = Pricing.of(ddb, "on-demand"), Pricing.of(ddb, "provisioned")
    assert on_demand.units(1_000.0, 10.0) == (1_000.0, 10.0)
    assert on_demand.units(1_000.0, 10.0, eventual=True) == (500.0, 10.0)
    assert provisioned.units(1_000.0, 10.0) == (1_429.0, 15.0)  # ceil(rate / 0.7)
    assert provisioned.units(1_000.0, 0.0, eventual=True) == (715.0, 1.0)  # at least one
    assert on_demand.ceilings(40_000.0, 40_000.0, eventual=True) == (80_000.0, 40_000.0)
    reads, writes = provisioned.ceilings(40_000.0, 40_000.0)
    assert (reads, writes) == pytest.approx((28_000.0, 28_000.0))
    # the loosest mode's, per consistency: what a refusal quotes
    assert rate_ceilings(ddb) == (40_000.0, 40_000.0)
    assert rate_ceilings(ddb, eventual=True) == (80_000.0, 40_000.0)
    # and the least any mode allows: below it, no mode needs checking
    assert rate_ceilings(ddb, loosest=False) == pytest.approx((28_000.0, 28_000.0))
    assert rate_ceilings(ddb, eventual=True, loosest=False) == pytest.approx((56_000.0, 28_000.0))
