"""A build creates everything where the plan put it, and never drops a declared residency.

An app whose every resource declares ``residency="eu"`` plans into an EU
region; its aws and gcp stacks are built there (the provider, the stack
config, the functions' ``SKAAL_REGION``), not in the catalog's default
region.  On aws a plan spread over several regions builds one provider per
region, every resource on its own region's provider
(:mod:`skaal.builder.regions`); on gcp every resource is created in its
planned region, and what one stack cannot wire across regions (Firestore in
two locations, Memorystore reached from another region) is refused with how
to fix it.  The local target has no regions.
"""

from __future__ import annotations

import types
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from skaal import App, BlobStore, Every, Map
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog.loader import load_catalog
from skaal.cli.main import cli
from skaal.errors import BuildError
from skaal.plan.bill import bill_of
from skaal.plan.wiring import FIRESTORE_DATABASES_ENV, firestore_database
from skaal.runtime.runtime import _provider_groups
from skaal.solver import solve
from tests.builder._pulumi import Run
from tests.builder.aws_support import app_context, region_of, run_program, write_with_layer
from tests.builder.billable import unmatched, unpriced
from tests.builder.gcp_mocks import CONFIG, PROJECT
from tests.builder.gcp_mocks import run_stack as run_gcp_stack
from tests.builder.programs import created


def _app(*, everywhere: bool, function_residency: str | None = None) -> App:
    app = App("eu-shop")
    carts = types.new_class("Carts", (Map[str, int],))
    app.storage(durability="persistent", residency="eu")(carts)

    async def count(key: str) -> int | None:
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    residency = "eu" if everywhere else function_residency
    (app.function(residency=residency) if residency else app.function())(count)

    return app


def test_an_eu_app_builds_its_aws_stack_in_the_eu(tmp_path: Path) -> None:
    app = _app(everywhere=True)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.region == "us-east-1"  # the catalog's default region
    assert {b.region for b in plan.bindings} == {"eu-west-1"}
    artifacts = build_aws(app_context(app.blueprint(), plan, "shop:app"))
    assert artifacts.file("Pulumi.prod.yaml").content == "config:\n  aws:region: eu-west-1\n"
    run = run_program(write_with_layer(artifacts, tmp_path))
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "eu-west-1"
    for function in run.of_type("aws:lambda/function:Function"):
        assert function.inputs["environment"]["variables"]["SKAAL_REGION"] == "eu-west-1"


def test_an_eu_app_builds_its_gcp_stack_in_the_eu() -> None:
    app = _app(everywhere=True)
    plan = solve(app.blueprint(), load_catalog("gcp"))
    (region,) = {b.region for b in plan.bindings}
    assert region.startswith("europe-")
    artifacts = build_gcp(
        msgspec.structs.replace(app_context(app.blueprint(), plan, "shop:app"), target="gcp")
    )
    assert f"gcp:region: {region}" in artifacts.file("infra/Pulumi.dev.yaml").content
    run = run_gcp_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    located = [
        (item.name, item.inputs[key])
        for item in run.resources
        for key in ("region", "location", "locationId")
        if key in item.inputs
    ]
    assert located
    assert {value.lower() for _, value in located} == {region}


def test_a_function_without_residency_follows_its_eu_data() -> None:
    plan = solve(_app(everywhere=False).blueprint(), load_catalog("aws"))
    assert {b.region for b in plan.bindings} == {"eu-west-1"}


def _split_app(*, tally_http: bool = False) -> App:
    """Carts in the eu, Orders and TOKEN anywhere, count kept in the us by its residency."""
    app = App("split-shop")
    carts = types.new_class("Carts", (Map[str, int],))
    orders = types.new_class("Orders", (Map[str, int],))
    app.storage(durability="persistent", residency="eu")(carts)
    app.storage(durability="persistent")(orders)
    app.secret("TOKEN")

    async def count(key: str) -> int | None:
        await orders.get(key)  # type: ignore[attr-defined]
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    async def tally(key: str) -> int | None:
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    app.function(residency="us")(count)
    app.function(http=tally_http)(tally)
    return app


def test_a_plan_across_regions_builds_one_provider_per_region(tmp_path: Path) -> None:
    app = _split_app()
    plan = solve(app.blueprint(), load_catalog("aws"))
    placed = {b.resource: b.region for b in plan.bindings}
    assert placed == {
        "Carts": "eu-west-1",
        "Orders": "us-east-1",
        "TOKEN": "us-east-1",
        "count": "us-east-1",
        "tally": "eu-west-1",  # no residency: next to the one map it uses
    }
    artifacts = build_aws(app_context(app.blueprint(), plan, "shop:app"))
    # the stack's region is the one of the most functions, ties to the catalog's default
    assert artifacts.file("Pulumi.prod.yaml").content == "config:\n  aws:region: us-east-1\n"
    run = run_program(write_with_layer(artifacts, tmp_path))
    providers = {p.name: p.inputs["region"] for p in run.of_type("pulumi:providers:aws")}
    assert providers == {"aws": "us-east-1", "aws-eu-west-1": "eu-west-1"}
    tables = {t.inputs["name"]: region_of(run, t) for t in run.of_type("aws:dynamodb/table:Table")}
    assert sorted(tables.values()) == ["eu-west-1", "us-east-1"]
    assert [v for k, v in tables.items() if "carts" in k] == ["eu-west-1"]
    (secret,) = run.of_type("aws:secretsmanager/secret:Secret")
    assert region_of(run, secret) == "us-east-1"
    functions = {f.name: f for f in run.of_type("aws:lambda/function:Function")}
    where = {name: region_of(run, f) for name, f in functions.items()}
    assert sorted(where.values()) == ["eu-west-1", "us-east-1", "us-east-1"]  # and _http
    layers = {region_of(run, lv) for lv in run.of_type("aws:lambda/layerVersion:LayerVersion")}
    assert layers == {"eu-west-1", "us-east-1"}
    for name, function in functions.items():
        # each function's layer is its region's, and each log group is beside its function
        (layer,) = function.inputs["layers"]
        assert where[name] == ("eu-west-1" if "eu-west-1" in str(layer) else "us-east-1")
    for logs in run.of_type("aws:cloudwatch/logGroup:LogGroup"):
        owner = logs.inputs["name"].removeprefix("/aws/lambda/")
        assert region_of(run, logs) == where[owner]


def test_the_runtime_reaches_each_resource_in_its_region(tmp_path: Path) -> None:

    app = _split_app()
    plan = solve(app.blueprint(), load_catalog("aws"))
    specs = list(app.blueprint().resources)
    groups = _provider_groups(plan, [s for s in specs if s.kind == "map"])
    assert {key: [s.name for s in members] for key, (_, _, members) in groups.items()} == {
        "dynamodb@eu-west-1": ["Carts"],
        "dynamodb@us-east-1": ["Orders"],
    }


def test_a_split_the_stack_cannot_wire_is_refused_with_a_fix() -> None:
    # tally is an HTTP function following its data to the eu; the HTTP API is in the us
    app = _split_app(tally_http=True)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("tally").region == "eu-west-1"
    with pytest.raises(BuildError) as caught:
        build_aws(app_context(app.blueprint(), plan, "shop:app"))
    message = str(caught.value)
    assert "HTTP function tally is planned in eu-west-1, and the HTTP API" in message
    assert "residency='us-east-1'" in (caught.value.fix or "")


def _gcp_split_app() -> App:
    """Carts on Cloud SQL in the eu, Orders (Firestore) and Photos in the us; count (HTTP)
    kept in the us by its residency, tally (scheduled) following Carts to the eu."""
    app = App("split-shop")
    carts = types.new_class("Carts", (Map[str, int],))
    orders = types.new_class("Orders", (Map[str, int],))
    app.storage(backend="cloudsql-postgres", durability="persistent", residency="eu")(carts)
    app.storage(backend="firestore", durability="persistent")(orders)
    app.blob()(types.new_class("Photos", (BlobStore,)))

    async def count(key: str) -> int | None:
        await orders.get(key)  # type: ignore[attr-defined]
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    async def tally() -> None:
        await carts.get("total")  # type: ignore[attr-defined]

    app.function(residency="us", http=True)(count)
    app.schedule(Every("1h"))(tally)
    return app


def _located(run: Run, type_: str, key: str) -> dict[str, str]:
    return {item.name: str(item.inputs[key]).lower() for item in run.of_type(type_)}


def test_a_gcp_plan_across_regions_builds_each_resource_in_its_region() -> None:
    app = _gcp_split_app()
    plan = solve(app.blueprint(), load_catalog("gcp"))
    placed = {b.resource: b.region for b in plan.bindings}
    eu, us = placed["Carts"], placed["Orders"]
    assert eu.startswith("europe-")
    assert us.startswith("us-")
    assert placed == {"Carts": eu, "Orders": us, "Photos": us, "count": us, "tally": eu}
    artifacts = build_gcp(
        msgspec.structs.replace(app_context(app.blueprint(), plan, "shop:app"), target="gcp")
    )
    # the stack's region is the one of the HTTP functions (the API Gateway's and web's)
    assert f"gcp:region: {us}" in artifacts.file("infra/Pulumi.dev.yaml").content
    run = run_gcp_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    services = _located(run, "gcp:cloudrunv2/service:Service", "location")
    assert services == {"web": us, "fn_count": us, "fn_tally": eu}
    invokers = _located(run, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "location")
    assert invokers == {f"{name}-invoker": region for name, region in services.items()}
    assert set(_located(run, "gcp:sql/databaseInstance:DatabaseInstance", "region").values()) == {
        eu
    }
    assert _located(run, "gcp:storage/bucket:Bucket", "location") == {"Photos": us}
    assert _located(run, "gcp:firestore/database:Database", "locationId") == {"firestore": us}
    (gateway,) = run.of_type("gcp:apigateway/gateway:Gateway")
    assert gateway.inputs["region"] == us
    # count (us) reaches Carts through the Cloud SQL connection of its eu instance
    (count,) = [s for s in run.of_type("gcp:cloudrunv2/service:Service") if s.name == "fn_count"]
    (volume,) = count.inputs["template"]["volumes"]
    assert volume["cloudSqlInstance"]["instances"]


def test_firestore_in_two_locations_gets_a_database_per_location() -> None:
    # Carts (eu) and Orders (no residency: the catalog's default region); count (us) uses Carts
    app = _app(everywhere=False, function_residency="us")
    orders = types.new_class("Orders", (Map[str, int],))
    app.storage(durability="persistent")(orders)
    plan = solve(app.blueprint(), load_catalog("gcp"))
    assert {b.implementation for b in plan.bindings if b.kind == "map"} == {"firestore"}
    eu, us = plan.binding("Carts").region, plan.binding("Orders").region
    assert eu != us
    run = run_gcp_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    databases = {
        d.name: (d.inputs["name"], d.inputs["locationId"])
        for d in run.of_type("gcp:firestore/database:Database")
    }
    # the stack's region keeps (default); the eu gets a database of its own
    assert databases == {
        "firestore": ("(default)", us),
        f"firestore-{eu}": (f"eu-shop-{eu}", eu),
    }
    fields = {f.name: f.inputs["database"] for f in run.of_type("gcp:firestore/field:Field")}
    assert fields == {"Carts-ttl": f"eu-shop-{eu}", "Orders-ttl": "(default)"}
    grants = {
        g.name: g.inputs["condition"]["expression"]
        for g in run.of_type("gcp:projects/iAMMember:IAMMember")
        if "firestore" in g.name
    }
    # count uses Carts only: it may open the eu database, not the (default) one
    assert grants == {
        f"firestore-{eu}-user-count": (
            f"resource.name == 'projects/{PROJECT}/databases/eu-shop-{eu}'"
        ),
    }
    (service,) = [s for s in run.of_type("gcp:cloudrunv2/service:Service") if s.name == "fn_count"]
    envs = {e["name"]: e["value"] for e in service.inputs["template"]["containers"][0]["envs"]}
    env = {FIRESTORE_DATABASES_ENV: envs[FIRESTORE_DATABASES_ENV]}
    assert env[FIRESTORE_DATABASES_ENV] == f"{eu}=eu-shop-{eu}"
    # the runtime opens each resource's database by the location the plan gave it
    assert firestore_database(env, eu) == f"eu-shop-{eu}"
    assert firestore_database(env, us) == "(default)"
    assert firestore_database({}, eu) == "(default)"


def test_memorystore_reached_from_another_region_is_refused() -> None:
    app = App("far-cache")
    sessions = types.new_class("Sessions", (Map[str, int],))
    app.storage(backend="memorystore-redis", durability="ephemeral", residency="eu")(sessions)

    async def look(key: str) -> int | None:
        return await sessions.get(key)  # type: ignore[no-any-return, attr-defined]

    app.function(residency="us")(look)
    plan = solve(app.blueprint(), load_catalog("gcp"))
    assert plan.binding("look").region != plan.binding("Sessions").region
    with pytest.raises(BuildError) as caught:
        build_gcp(
            msgspec.structs.replace(app_context(app.blueprint(), plan, "shop:app"), target="gcp")
        )
    assert "reaches Sessions on Memorystore" in str(caught.value)
    assert "VPC connector" in str(caught.value)


def test_the_plan_says_when_it_spans_regions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    (tmp_path / "app.py").write_text(
        "from skaal import App, Map\n"
        'app = App("eu-shop")\n'
        '@app.storage(durability="persistent", residency="eu")\n'
        "class Carts(Map[str, int]): ...\n"
        '@app.function(residency="us")\n'
        "async def count(key: str) -> int | None:\n"
        "    return await Carts.get(key)\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "app.py:app", "--target", "aws", "--no-write"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "this plan spans 2 regions (eu-west-1, us-east-1)" in said
    # (1 read/s + 1 write/s, defaults) x 2,628,000 s x 4,000 bytes = 21.0 GB at $0.02
    assert "exchange 21 GB/month with data in another region ($0.42/month" in said


def _two_vpcs() -> App:
    """An eu and a us cache on ElastiCache, and a function beside each."""
    app = App("two-vpcs")
    sessions = types.new_class("Sessions", (Map[str, int],))
    cache = types.new_class("Cache", (Map[str, int],))
    app.storage(backend="elasticache-redis", durability="ephemeral", residency="eu")(sessions)
    app.storage(backend="elasticache-redis", durability="ephemeral")(cache)

    async def look(key: str) -> int | None:
        return await sessions.get(key)  # type: ignore[no-any-return, attr-defined]

    async def peek(key: str) -> int | None:
        return await cache.get(key)  # type: ignore[no-any-return, attr-defined]

    app.function(http=False)(look)
    app.function(http=False)(peek)
    return app


def test_servers_in_two_regions_build_one_network_per_region(tmp_path: Path) -> None:
    app = _two_vpcs()
    plan = solve(app.blueprint(), load_catalog("aws"))
    placed = {b.resource: b.region for b in plan.bindings}
    assert placed == {
        "Cache": "us-east-1",
        "Sessions": "eu-west-1",
        "look": "eu-west-1",  # next to the server it reaches
        "peek": "us-east-1",
    }
    assert sorted({line.region for line in plan.network}) == ["eu-west-1", "us-east-1"]
    artifacts = build_aws(app_context(app.blueprint(), plan, "shop:app"))
    run = run_program(write_with_layer(artifacts, tmp_path))

    def where(type_: str) -> list[str | None]:
        return sorted(region_of(run, r) or "" for r in run.of_type(type_))

    both = ["eu-west-1", "us-east-1"]
    assert where("aws:ec2/vpc:Vpc") == both
    assert where("aws:ec2/natGateway:NatGateway") == both
    assert where("aws:ec2/eip:Eip") == both
    assert where("aws:elasticache/replicationGroup:ReplicationGroup") == both
    functions = {f.name: f for f in run.of_type("aws:lambda/function:Function")}
    for name in ("look", "peek"):  # each function in its region's VPC
        function = next(f for key, f in functions.items() if name in key)
        assert region_of(run, function) == placed[name]
        assert function.inputs["vpcConfig"]["subnetIds"]
    # the plan's total is the bill of what the program creates: one network per region
    bill = bill_of(plan)
    assert bill.total == plan.total_monthly_cost
    nat = {line.owner: line.monthly for line in bill.lines if line.item == "NAT gateway"}
    assert nat == {"network eu-west-1": 32.85, "network us-east-1": 32.85}
    resources = created(artifacts, plan, tmp_path / "again")
    assert unpriced(resources, plan) == ()
    assert unmatched(resources, plan) == ()


def test_a_function_reaching_a_server_of_another_region_is_still_refused() -> None:
    app = App("far")
    sessions = types.new_class("Sessions", (Map[str, int],))
    app.storage(backend="elasticache-redis", durability="ephemeral", residency="eu")(sessions)

    async def look(key: str) -> int | None:
        return await sessions.get(key)  # type: ignore[no-any-return, attr-defined]

    app.function(http=False, residency="us")(look)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("look").region == "us-east-1"
    with pytest.raises(BuildError) as caught:
        build_aws(app_context(app.blueprint(), plan, "shop:app"))
    assert "look (in us-east-1) reaches Sessions on server" in str(caught.value)
    assert "which only its region's VPC reaches" in str(caught.value)
