"""Property: everything a built program creates is priced by its plan, or free, and sized as priced.

And the converse for the shop on aws: its plan's total is its bill, line by
line, and each line is the price of something its program creates.

Every example is planned and built for every target (local, aws, gcp), and
so are random apps (:mod:`tests.builder.random_apps`, drawn by hypothesis from
a seeded, bounded set) on each bundled catalog and its awkward variant
(several servers of one implementation).  Each generated Pulumi program is
executed under Pulumi's mocks (:mod:`tests.builder.programs`) and every
resource it registers is checked against :mod:`tests.builder.billable`:

* its type is priced by a line of the plan (an implementation and a
  component: ``("dynamodb", "backup_per_gb_month")``), or bills per use
  only with no use declared, or is on the reviewed free list;
* every disk server's volume is the size the plan prices (its volume floor
  and its resources' data, whole GB);
* backups and log retention are set as the plan records and prices them.

The check itself is shown to fail: a resource of an unknown type, an
interface endpoint, a priced type with no line, a volume of another size.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from skaal.builder.model import BuildContext
from skaal.builder.targets import TARGETS
from skaal.catalog.loader import load_catalog
from skaal.declare.app_ref import load_app
from skaal.errors import UnsatisfiableError
from skaal.plan.bill import BillLine, bill_of
from skaal.plan.model import Plan
from skaal.solver import solve
from tests.builder._pulumi import EXAMPLES, ROOT, example_context
from tests.builder.awkward_catalogs import catalog_named
from tests.builder.billable import (
    FREE,
    PRICED,
    Created,
    plan_items,
    priced_volumes,
    storage_mismatches,
    unmatched,
    unpriced,
)
from tests.builder.kept import kept_mismatches
from tests.builder.programs import created
from tests.builder.random_apps import random_app

NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "app.py").is_file())
CATALOGS = ("local", "local-servers", "aws", "gcp", "aws-awkward", "gcp-awkward")
RANDOM_PLANS = 36
"""Random apps run (hypothesis draws a catalog and a seed; a program runs in under a second)."""


def _example(name: str, target: str, folder: Path) -> tuple[Plan, list[Created]]:
    app = load_app(f"examples/{name}/app.py:app", cwd=ROOT)
    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog(target))
    artifacts = TARGETS[target](example_context(name, blueprint, plan, target))
    return plan, created(artifacts, plan, folder)


def _check(plan: Plan, resources: list[Created], what: str) -> None:
    assert resources, f"{what}: the program created nothing"
    problems = unpriced(resources, plan)
    assert not problems, f"{what}:\n" + "\n".join(problems)
    mismatches = storage_mismatches(resources, plan)
    assert not mismatches, f"{what}: {mismatches}"
    kept = kept_mismatches(resources, plan)
    assert not kept, f"{what}: {kept}"


@pytest.mark.parametrize("target", ["local", "aws", "gcp"])
@pytest.mark.parametrize("name", NAMES)
def test_every_example_program_is_priced(name: str, target: str, tmp_path: Path) -> None:
    plan, resources = _example(name, target, tmp_path)
    _check(plan, resources, f"{name} on {target}")


@pytest.mark.parametrize(
    ("target", "component"), [("aws", "per_million_traces"), ("gcp", "per_million_spans")]
)
def test_a_traced_program_is_priced_with_its_traces(
    target: str, component: str, tmp_path: Path
) -> None:
    # [tool.skaal] traces = true: the functions send their traces (X-Ray, Cloud Trace),
    # which the plan prices on each function; the program is checked like any other
    app = load_app("examples/jobs/app.py:app", cwd=ROOT)
    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog(target), traces=True)
    context = msgspec.structs.replace(example_context("jobs", blueprint, plan, target), traces=True)
    resources = created(TARGETS[target](context), plan, tmp_path)
    _check(plan, resources, f"jobs on {target}, traced")
    assert component in {item for _, item in plan_items(plan)}
    traced = {b.resource for b in plan.bindings for c in b.cost if c.component == component}
    assert traced == {b.resource for b in plan.bindings if b.kind == "function"}
    assert unmatched(resources, plan) == ()


@settings(
    max_examples=RANDOM_PLANS,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(catalog_name=st.sampled_from(CATALOGS), seed=st.integers(min_value=0, max_value=10_000))
def test_every_random_plan_program_is_priced(catalog_name: str, seed: int) -> None:
    catalog = catalog_named(catalog_name)
    app = random_app(random.Random(f"priced:{seed}"), f"priced{seed}", catalog)
    blueprint = app.blueprint()
    try:
        plan = solve(blueprint, catalog)
    except UnsatisfiableError:
        assume(False)
        raise  # unreachable: assume(False) ends the example
    context = BuildContext(
        blueprint=blueprint,
        plan=plan,
        app_ref=f"priced{seed}:app",
        target=plan.provider,
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )
    artifacts = TARGETS[plan.provider](context)
    with tempfile.TemporaryDirectory() as folder:
        resources = created(artifacts, plan, Path(folder))
    _check(plan, resources, f"seed {seed} on {catalog_name}")
    event(f"built on {plan.provider}")
    event(f"{len(priced_volumes(plan))} volumes")


# -- the check fails where it should -------------------------------------------------------


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, list[Created]]:
    return _example("shop", "aws", tmp_path_factory.mktemp("shop"))


def test_an_unknown_resource_type_is_flagged(shop: tuple[Plan, list[Created]]) -> None:
    plan, resources = shop
    key = Created("aws:kms/key:Key", "data-key", {"description": "a key nobody priced"})
    (problem,) = unpriced([*resources, key], plan)
    assert "aws:kms/key:Key 'data-key' is neither priced by the plan nor on the free list" in (
        problem
    )


def test_a_free_entry_holds_only_for_its_inputs(shop: tuple[Plan, list[Created]]) -> None:
    plan, resources = shop
    gateways = [r for r in resources if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert gateways, "the shop's VPC has gateway endpoints"
    interface = Created(
        "aws:ec2/vpcEndpoint:VpcEndpoint", "endpoint-sqs", {"vpcEndpointType": "Interface"}
    )
    (problem,) = unpriced([*resources, interface], plan)
    assert "'endpoint-sqs'" in problem
    assert "its free entry does not hold for these inputs" in problem


def test_a_priced_type_without_its_line_is_flagged(shop: tuple[Plan, list[Created]]) -> None:
    plan, resources = shop
    # the shop declares no ElastiCache: a cache its program created would be billed unpriced
    cache = Created("aws:elasticache/replicationGroup:ReplicationGroup", "cache-1", {})
    (problem,) = unpriced([*resources, cache], plan)
    assert "no line of the plan prices it" in problem
    # and a plan that lost its scheduled runs no longer prices the nightly schedule
    without = plan.model_copy(
        update={
            "bindings": tuple(
                b.model_copy(
                    update={
                        "cost": tuple(
                            c for c in b.cost if c.component != "per_million_scheduled_runs"
                        )
                    }
                )
                for b in plan.bindings
            )
        }
    )
    problems = unpriced(resources, without)
    assert len(problems) == 1
    assert "aws:scheduler/schedule:Schedule" in problems[0]


def test_a_volume_of_another_size_is_flagged(shop: tuple[Plan, list[Created]]) -> None:
    plan, resources = shop
    (database,) = [
        r
        for r in resources
        if r.type == "aws:rds/instance:Instance" and not r.inputs.get("replicateSourceDb")
    ]
    # the floor (20 GB) and the shop's data: Orders 5, Products 2, Carts 1
    assert priced_volumes(plan) == (28,)
    assert database.inputs["allocatedStorage"] == 28
    bigger = Created(database.type, database.name, {**database.inputs, "allocatedStorage": 40})
    others = [r for r in resources if r is not database]
    assert storage_mismatches([*others, bigger], plan) == (
        "volumes provisioned [40] GB, priced [28] GB",
    )


def test_backups_or_logs_kept_otherwise_than_priced_are_flagged(
    shop: tuple[Plan, list[Created]],
) -> None:
    plan, resources = shop
    (database,) = [r for r in resources if r.type == "aws:rds/instance:Instance"]
    unsaved = Created(database.type, database.name, {**database.inputs, "backupRetentionPeriod": 0})
    groups = [r for r in resources if r.type == "aws:cloudwatch/logGroup:LogGroup"]
    forever = Created(groups[0].type, groups[0].name, {**groups[0].inputs, "retentionInDays": 0})
    others = [r for r in resources if r is not database and r is not groups[0]]
    assert kept_mismatches([*others, unsaved, forever], plan) == (
        "database backups kept ['None'] days, plan ['7']",
        f"log group {groups[0].name}: 0 days, plan 30",
    )
    # Carts as if the plan put it on DynamoDB with 7 days of backups, but priced no backup
    on_rds = plan.binding("cart.Carts")
    moved = plan.model_copy(
        update={
            "bindings": tuple(
                b.model_copy(update={"implementation": "dynamodb", "instance": None})
                if b is on_rds
                else b
                for b in plan.bindings
            )
        }
    )
    recovered = {"pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": 7}}
    table = Created("aws:dynamodb/table:Table", "cart.Carts", recovered)
    assert kept_mismatches([*resources, table], moved) == (
        "table cart.Carts: backup 7 days, priced: False",
    )
    unrecovered = Created("aws:dynamodb/table:Table", "cart.Carts", {"pointInTimeRecovery": {}})
    assert kept_mismatches([*resources, unrecovered], moved)[0] == (
        "table cart.Carts: point-in-time recovery {}, plan backup 7"
    )


def test_every_free_entry_has_a_reason_and_no_type_is_both() -> None:
    assert not set(FREE) & set(PRICED)
    for name, entry in FREE.items():
        assert len(entry.reason) > 20, name
    for name, priced in PRICED.items():
        assert priced.items, name
        assert priced.idle is None or len(priced.idle) > 20, name


def test_the_plan_items_of_a_plan(shop: tuple[Plan, list[Created]]) -> None:
    items = plan_items(shop[0])
    assert ("postgres", "instance") in items
    assert ("postgres", "per_instance_month") in items
    assert ("network", "nat_gateway_hours") in items
    assert ("lambda", "log_ingestion_per_gb") in items


# -- the shop: the plan's total is the bill of what its aws program creates ------------------


def _carriers(line: BillLine, plan: Plan, resources: list[Created]) -> list[Created]:
    """The created resources the bill ``line`` is the price of."""
    of = {(r.type, r.name): r for r in resources}
    lambdas = {
        r.inputs["environment"]["variables"]["SKAAL_FUNCTION"]: r
        for r in resources
        if r.type == "aws:lambda/function:Function"
    }
    if line.owner_kind == "network":
        kind = {"nat_gateway_hours": "natGateway:NatGateway", "public_ipv4_hours": "eip:Eip"}
        return [r for r in resources if r.type == f"aws:ec2/{kind[line.component]}"]
    if line.owner_kind == "instance":  # its RDS instance, with the secret RDS keeps
        ref = line.owner.replace("#", "-")
        found = [of[("aws:rds/instance:Instance", ref)]]
        if line.component == "per_instance_month":
            found = [r for r in found if r.inputs["manageMasterUserPassword"]]
        return found
    binding = plan.binding(line.owner)
    if binding.implementation == "lambda":
        function = lambdas[line.owner]
        match line.component:
            case "log_ingestion_per_gb" | "log_storage_per_gb_month":
                group = f"/aws/lambda/{function.inputs['name']}"
                return [
                    r
                    for r in resources
                    if r.type == "aws:cloudwatch/logGroup:LogGroup" and r.inputs["name"] == group
                ]
            case "per_million_http_requests":
                return [
                    r
                    for r in resources
                    if r.type == "aws:apigatewayv2/route:Route"
                    and r.inputs["routeKey"] == f"ANY /fn/{line.owner}"
                ]
            case "per_million_scheduled_runs":  # the schedules starting this function
                arn = f":function:{function.inputs['name']}"
                return [
                    r
                    for r in resources
                    if r.type == "aws:scheduler/schedule:Schedule"
                    and r.inputs["target"]["arn"].endswith(arn)
                ]
            case _:
                return [function]
    if binding.instance is not None:  # data on a server: its instance's volume
        return [of[("aws:rds/instance:Instance", binding.instance.replace("#", "-"))]]
    types = {"s3": "aws:s3/bucket:Bucket", "secrets-manager": "aws:secretsmanager/secret:Secret"}
    return [
        r for r in resources if r.type == types[binding.implementation] and r.name == line.owner
    ]


def test_the_shop_total_is_the_bill_of_what_its_aws_program_creates(
    shop: tuple[Plan, list[Created]],
) -> None:
    plan, resources = shop
    bill = bill_of(plan)
    assert bill.total == plan.total_monthly_cost
    assert round(sum(line.monthly for line in bill.lines), 6) == plan.total_monthly_cost
    assert unmatched(resources, plan) == ()
    for line in bill.lines:
        assert _carriers(line, plan, resources), f"{line.owner} {line.component}: nothing built"
    # what the build adds around the resources is on the bill
    items = {line.item for line in bill.lines}
    assert {"logs written", "logs kept", "HTTP API requests", "scheduled runs"} <= items
    assert {"instance secret", "NAT gateway", "public IPv4 address"} <= items
