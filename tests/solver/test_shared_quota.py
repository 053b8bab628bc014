"""Quotas that several servers share (``quota_group``) or that count units (``quota_units``).

RDS counts Single-AZ and Multi-AZ DB instances under one quota of 40 per
region; ElastiCache counts nodes (a replica is one); Memorystore counts
provisioned GB.  Each test plans a small catalog written here, whose figures
make the answer checkable by hand, with the quota shared and, where it
shows the difference, with each server on a quota of its own.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from skaal.blueprint.model import ResourceSpec
from skaal.catalog import load_catalog
from skaal.errors import UnsatisfiableError
from skaal.plan.model import Plan
from skaal.solver import solve
from skaal.solver.diagnosis import Diagnosis, GlobalConflict
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, solve_exact
from solver.oracle_catalog import read_catalog
from tests.solver._factories import blueprint, res

_HEAD = """\
schema_version = 2
name = "shared"
provider = "aws"
region = "us-east-1"

[backends.store]
description = "a dedicated store: $25 a map"
kinds = ["map"]
implementation = "dynamodb"
regions = ["us-east-1"]
[backends.store.performance]
read_latency_ms = 9.0
write_latency_ms = 9.0
durability = "durable"
availability = 99.9

[backends.store.price]
region = "us-east-1"
fixed_monthly = { amount = 25.0, source = "https://x.example", as_of = "2026-12-05" }
"""

_SERVER = """
[backends.{name}]
description = "a server"
kinds = ["map"]
implementation = "postgres"
regions = ["us-east-1"]
price = {{ region = "us-east-1" }}

[backends.{name}.performance]
read_latency_ms = 2.0
write_latency_ms = 2.0
durability = "{durability}"
availability = 99.9

[backends.{name}.server]
quota = {quota}
{group}

[backends.{name}.server.classes.one]
price = {{ amount = {fee}, source = "https://x.example", as_of = "2026-12-05" }}
resources = {resources}
{units}
"""


def _server(
    name: str,
    fee: float,
    *,
    durability: str = "persistent",
    quota: int = 2,
    group: str = "",
    resources: int = 1,
    units: int = 1,
) -> str:
    return _SERVER.format(
        name=name,
        durability=durability,
        quota=quota,
        group=f'quota_group = "{group}"' if group else "",
        fee=fee,
        resources=resources,
        units=f"quota_units = {units}" if units != 1 else "",
    )


def _catalog(tmp_path: Path, *servers: str) -> Path:
    path = tmp_path / "shared.toml"
    path.write_text(_HEAD + "".join(servers), encoding="utf-8")
    return path


def _plan(path: Path, *specs: object) -> Plan:
    app = blueprint(*specs)  # type: ignore[arg-type]
    plan = solve(app, load_catalog(str(path)))
    assert audit(plan, app, read_catalog(str(path))) == []
    return plan


def _conflict(path: Path, *specs: ResourceSpec) -> GlobalConflict:
    """The one conflict planning ``specs`` against the catalog at ``path`` reports: server
    capacity."""
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(*specs), load_catalog(str(path)))
    report = err.value.report
    assert isinstance(report, Diagnosis)
    (conflict,) = report.conflicts
    assert conflict.constraint == "server capacity"
    return conflict


def _instances(plan: Plan) -> Counter[str]:
    return Counter(i.backend for i in plan.instances)


def test_servers_sharing_a_quota_count_their_instances_together(tmp_path: Path) -> None:
    # Three maps, one per instance: pg at $10 or pg-ha at $20 an instance, or
    # the store at $25.  Two instances each: two on pg and one on pg-ha ($40).
    # Two in all: two on pg and one on the store ($45).
    apart = _catalog(tmp_path, _server("pg", 10.0), _server("pg-ha", 20.0, durability="durable"))
    maps = [res(f"M{i}") for i in range(3)]
    plan = _plan(apart, *maps)
    assert plan.total_monthly_cost == pytest.approx(40.0)
    assert _instances(plan) == {"pg": 2, "pg-ha": 1}
    shared = _catalog(
        tmp_path,
        _server("pg", 10.0, group="db"),
        _server("pg-ha", 20.0, durability="durable", group="db"),
    )
    plan = _plan(shared, *maps)
    assert plan.total_monthly_cost == pytest.approx(45.0)
    assert _instances(plan) == {"pg": 2}
    assert Counter(b.backend for b in plan.bindings) == {"pg": 2, "store": 1}
    (moved,) = (b for b in plan.bindings if b.backend == "store")
    assert moved.reason == (
        "$25.00/month; pg ($0.00) ruled out by the quota it shares with pg-ha"
        " (2 instances, all in use)"
    )


def test_a_shared_quota_too_small_is_proven_with_its_numbers(tmp_path: Path) -> None:
    # Maps that must answer in under 5 ms fit only the servers, one per
    # instance, and the two servers' shared quota opens two instances: no plan,
    # said with the numbers, before any search.
    shared = _catalog(
        tmp_path,
        _server("pg", 10.0, group="db"),
        _server("pg-ha", 20.0, durability="durable", group="db"),
    )
    fast = [res(f"F{i}", read_latency="< 5ms") for i in range(3)]
    conflict = _conflict(shared, *fast)
    assert "3 resources can only be placed on pg or pg-ha" in conflict.detail
    assert "holds 2 resources (2 x 1 on pg or pg-ha (one quota))" in conflict.detail


def test_a_class_using_several_units_of_the_quota_opens_fewer_instances(tmp_path: Path) -> None:
    # A quota of 3 and a class using 2 of it: one instance, not three.  Two
    # maps: one on the server ($10), one on the store ($25); counted one an
    # instance, both on the server ($20).
    maps = [res("A"), res("B")]
    counted = _catalog(tmp_path, _server("cache", 10.0, quota=3))
    assert _plan(counted, *maps).total_monthly_cost == pytest.approx(20.0)
    heavy = _catalog(tmp_path, _server("cache", 10.0, quota=3, units=2))
    plan = _plan(heavy, *maps)
    assert plan.total_monthly_cost == pytest.approx(35.0)
    assert _instances(plan) == {"cache": 1}
    (moved,) = (b for b in plan.bindings if b.backend == "store")
    assert moved.reason.endswith("ruled out by its quota (3 units, all in use)")


def test_a_large_app_fills_the_shared_quota_on_the_cheaper_server(tmp_path: Path) -> None:
    # Thirty alike maps (past the exact subset search, and alike: the uniform
    # search proposes a cover the shared quota refuses, and the pooled
    # relaxation decides), four to an instance, a shared quota of 5: five pg
    # instances hold twenty maps ($50), the store the other ten ($250).
    shared = _catalog(
        tmp_path,
        _server("pg", 10.0, group="db", quota=5, resources=4),
        _server("pg-ha", 20.0, durability="durable", group="db", quota=5, resources=4),
    )
    plan = _plan(shared, *(res(f"M{i}") for i in range(30)))
    assert plan.total_monthly_cost == pytest.approx(300.0)
    assert _instances(plan) == {"pg": 5}
    assert plan.status == "optimal"


def test_servers_stating_different_quotas_for_one_group_are_refused(tmp_path: Path) -> None:
    path = _catalog(
        tmp_path,
        _server("pg", 10.0, group="db", quota=2),
        _server("pg-ha", 20.0, durability="durable", group="db", quota=3),
    )
    with pytest.raises(Exception, match="pg-ha shares quota_group 'db' with pg, whose quota is 2"):
        load_catalog(str(path))


def test_absent_and_default_quota_fields_hash_the_same(tmp_path: Path) -> None:
    # Catalogs written before these fields existed keep their hash, so their
    # locks stay current.
    plain = _catalog(tmp_path, _server("pg", 10.0))
    before = load_catalog(str(plain)).content_hash()
    text = plain.read_text(encoding="utf-8")
    text = text.replace("quota = 2\n", 'quota = 2\nquota_group = ""\n')
    text = text.replace("resources = 1\n", "resources = 1\nquota_units = 1\n")
    plain.write_text(text, encoding="utf-8")
    assert load_catalog(str(plain)).content_hash() == before
    grouped = _catalog(tmp_path, _server("pg", 10.0, group="db"))
    assert load_catalog(str(grouped)).content_hash() != before


def test_units_only_one_server_serves_keep_its_instances_at_a_shared_quota(
    tmp_path: Path,
) -> None:
    # The relaxation's 29 Single-AZ and 12 Multi-AZ instances, rounded up, pass
    # RDS's 40; rounding gave back a Multi-AZ one, and 607 resources only
    # Multi-AZ serves (durable, under 5 ms) had no room: "no plan".  Single-AZ
    # gives back instead, its resources having DynamoDB to go to.
    blueprint = draw_blueprint(write_app(tmp_path / "u15000.py", "users", 15_000, seed=10))
    plan = solve(blueprint, load_catalog("aws"))
    assert audit(plan, blueprint, read_catalog("aws")) == []
    assert _instances(plan)["rds-postgres-multi-az"] == 12
    assert _instances(plan)["rds-postgres"] == 28


def test_a_quota_no_pooled_capacity_fits_is_proven_without_packing(tmp_path: Path) -> None:
    # Class "wide" holds 10 GB and 1 write/s, "busy" 1 GB and 10 writes/s, two
    # instances in all.  Two maps of 6 GB and two of 6 writes/s: per dimension
    # two instances of the best class hold 20 of the 12.2 needed, so counting
    # proves nothing; pooled, the 12 GB need 1.2 wide instances and the 12
    # writes/s 1.2 busy ones, 2.4 > 2: no plan, said as a proof, not as a
    # packing that failed.
    path = tmp_path / "two.toml"
    text = _HEAD + _server("pg", 10.0, quota=2, resources=10).replace(
        "[backends.pg.server.classes.one]",
        "[backends.pg.server.classes.wide]\nsize_gb = 10.0\nwrites_per_s = 1.0",
    )
    text += """
[backends.pg.server.classes.busy]
price = { amount = 10.0, source = "https://x.example", as_of = "2026-12-05" }
size_gb = 1.0
writes_per_s = 10.0
resources = 10
"""
    path.write_text(text, encoding="utf-8")
    fast = "< 5ms"
    specs = [
        res("Big1", read_latency=fast, size_gb=6.0, writes_per_s=0.1),
        res("Big2", read_latency=fast, size_gb=6.0, writes_per_s=0.1),
        res("Hot1", read_latency=fast, size_gb=0.1, writes_per_s=6.0),
        res("Hot2", read_latency=fast, size_gb=0.1, writes_per_s=6.0),
    ]
    conflict = _conflict(path, *specs)
    assert conflict.detail == (
        "4 resources cannot all be placed: the instances pg may run within their quotas"
        " cannot hold the share that has no other backend, even with their capacity pooled"
    )
    assert conflict.relaxation is not None
    assert conflict.relaxation.startswith("raise [backends.pg.server] quota (a quota request)")


def _two_regions(tmp_path: Path, scope: str) -> Path:
    """The store and a server ``pg`` ($10 an instance, one map each, a quota of one
    instance counted per ``scope``), both in us-east-1 and eu-west-1."""
    text = _HEAD + _server("pg", 10.0, quota=1)
    text = text.replace('regions = ["us-east-1"]', 'regions = ["us-east-1", "eu-west-1"]')
    if scope == "account":
        text = text.replace("quota = 1\n", 'quota = 1\nquota_scope = "account"\n')
    path = tmp_path / f"{scope}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_quota_of_the_account_counts_the_instances_of_every_region(tmp_path: Path) -> None:
    # One map in the catalog's region, one that must stay in the EU: counted per
    # region, each region opens its one instance ($20); counted over the account
    # (Cloud SQL's 1,000 instances per project), one instance in all, and the other
    # map goes to the store ($10 + $25)
    maps = [res("Us"), res("Eu", residency="eu")]
    regional = _plan(_two_regions(tmp_path, "region"), *maps)
    assert regional.total_monthly_cost == pytest.approx(20.0)
    assert sorted((b.backend, b.region) for b in regional.bindings) == [
        ("pg", "eu-west-1"),
        ("pg", "us-east-1"),
    ]
    path = _two_regions(tmp_path, "account")
    plan = _plan(path, *maps)
    assert plan.total_monthly_cost == pytest.approx(35.0)
    assert _instances(plan) == {"pg": 1}
    assert Counter(b.backend for b in plan.bindings) == {"pg": 1, "store": 1}
    app = blueprint(*maps)
    assert solve_exact(app, read_catalog(str(path))).total == pytest.approx(35.0)
    # the oracle's audit counts the account's quota over both regions too
    regional_plan_on_account = regional.model_copy(update={"catalog_hash": plan.catalog_hash})
    assert any(
        "2 quota units in all regions > quota 1" in problem
        for problem in audit(regional_plan_on_account, app, read_catalog(str(path)))
    )


def test_servers_sharing_a_quota_state_where_it_counts(tmp_path: Path) -> None:
    path = _catalog(
        tmp_path,
        _server("pg", 10.0, group="db").replace(
            "quota = 2\n", 'quota = 2\nquota_scope = "account"\n'
        ),
        _server("pg-ha", 20.0, durability="durable", group="db"),
    )
    with pytest.raises(Exception, match="counts per region, but a group has one quota") as err:
        load_catalog(str(path))
    assert 'write quota_scope = "account" here' in str(err.value)


def test_a_quota_scope_of_no_known_kind_is_refused_with_the_choices(tmp_path: Path) -> None:
    path = _catalog(
        tmp_path, _server("pg", 10.0).replace("quota = 2\n", 'quota = 2\nquota_scope = "planet"\n')
    )
    with pytest.raises(Exception, match="quota_scope") as err:
        load_catalog(str(path))
    assert "account" in str(err.value)
    assert "region" in str(err.value)
