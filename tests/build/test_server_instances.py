"""Several servers of one implementation: each created once and wired into its variable.

A plan may put PostgreSQL resources on two catalog backends (``rds-postgres``
and ``rds-postgres-multi-az``) and Redis resources on two instances of one
(a shared instance full).  Each program must create one server per server of
the plan (:func:`skaal.build.wiring.servers`) and give every function the
connection URL of each server in that server's own variable.  The size
of each server created is the one the bundled catalog prices.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import pulumi
import pytest

from skaal import App, Map
from skaal.build.targets.aws import CACHE_NODE_TYPE, DATABASE_CLASS, build_aws
from skaal.build.targets.gcp_program import render_program
from skaal.build.targets.gcp_servers import CLOUD_SQL_TIER, MEMORYSTORE_GB
from skaal.build.wiring import ServerWiring, servers, wire
from skaal.catalog.loader import load_catalog
from skaal.plan.model import Plan
from skaal.solver import solve
from tests.build.awkward_catalogs import awkward
from tests.build.aws_support import app_context, write_with_layer
from tests.build.aws_support import run_program as run_aws
from tests.build.gcp_mocks import CONFIG
from tests.build.gcp_mocks import run_program as run_gcp

#: resource -> the backend it is pinned to, per provider
PINS = {
    "aws": {
        "Orders": "rds-postgres",
        "Ledger": "rds-postgres-multi-az",
        "Sessions": "elasticache-redis",
        "Tokens": "elasticache-redis",
    },
    "gcp": {
        "Orders": "cloudsql-postgres",
        "Ledger": "cloudsql-postgres-twin",
        "Sessions": "memorystore-redis",
        "Tokens": "memorystore-redis",
    },
}


def _plan(provider: str) -> tuple[App, Plan]:
    app = App("servers")
    for name in sorted(PINS[provider]):
        durability = "ephemeral" if name in ("Sessions", "Tokens") else "persistent"
        app.storage(durability=durability)(types.new_class(name, (Map[str, str],)))

    @app.function()
    async def touch(key: str) -> None: ...

    plan = solve(app.blueprint(), awkward(load_catalog(provider)), pins=PINS[provider])
    return app, plan


def _by_implementation(plan: Plan) -> dict[str, list[ServerWiring]]:
    found: dict[str, list[ServerWiring]] = {}
    for server in servers(plan):
        found.setdefault(server.implementation, []).append(server)
    return found


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_the_plans_have_two_servers_of_each_implementation(provider: str) -> None:
    _, plan = _plan(provider)
    found = _by_implementation(plan)
    assert [len(found["postgres"]), len(found["redis"])] == [2, 2]
    variables = wire(plan).connection_envs()
    assert len(set(variables)) == 4
    assert {"SKAAL_POSTGRES_DSN", "SKAAL_REDIS_URL"} <= set(variables)


@pytest.fixture
def aws_run(tmp_path: Path) -> tuple[Plan, Any]:
    app, plan = _plan("aws")
    context = app_context(app.blueprint(), plan, "servers:app")
    folder = write_with_layer(build_aws(context), tmp_path)
    pulumi.runtime.set_all_config({"skaal:postgresPassword": "pw"})
    try:
        return plan, run_aws(folder)
    finally:
        pulumi.runtime.set_all_config({})


def test_aws_creates_one_rds_instance_and_one_cache_per_server(aws_run: tuple[Plan, Any]) -> None:
    plan, run = aws_run
    found = _by_implementation(plan)
    databases = {r.name: r for r in run.of_type("aws:rds/instance:Instance")}
    caches = {r.name: r for r in run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")}
    assert len(databases) == len(caches) == 2
    assert len({d.inputs["identifier"] for d in databases.values()}) == 2
    assert len({c.inputs["replicationGroupId"] for c in caches.values()}) == 2
    multi_az = {
        server.backend: databases[_ref(server)].inputs["multiAz"] for server in found["postgres"]
    }
    assert multi_az == {"rds-postgres": False, "rds-postgres-multi-az": True}
    (function,) = [
        f for f in run.of_type("aws:lambda/function:Function") if f.name == "servers-touch"
    ]
    variables = function.inputs["environment"]["value"]["variables"]
    for server in found["postgres"]:
        address = databases[_ref(server)].outputs["address"]
        assert variables[server.env] == f"postgresql://skaal:pw@{address}:5432/skaal"
    for server in found["redis"]:
        address = caches[_ref(server)].outputs["primaryEndpointAddress"]
        assert variables[server.env] == f"rediss://{address}:6379/0"


def _ref(server: ServerWiring) -> str:
    return server.id.replace("#", "-").lower()


def test_gcp_creates_one_cloud_sql_and_one_memorystore_per_server() -> None:
    app, plan = _plan("gcp")
    found = _by_implementation(plan)
    source = render_program(app.blueprint(), plan)
    run = run_gcp(source, CONFIG)
    sql = run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert sorted(r.name for r in sql) == sorted(s.id for s in found["postgres"])
    redis = run.of_type("gcp:redis/instance:Instance")
    assert sorted(r.name for r in redis) == sorted(s.id for s in found["redis"])
    assert len({r.inputs["name"] for r in [*sql, *redis]}) == 4
    web = run.named("web").inputs["template"]
    (volume,) = web["volumes"]  # one /cloudsql volume with every instance's socket
    assert sorted(volume["cloudSqlInstance"]["instances"]) == sorted(
        f"acme-prod:us-central1:{r.inputs['name']}" for r in sql
    )
    env = {e["name"]: e for e in web["containers"][0]["envs"]}
    urls = {r.name: r for r in run.of_type("gcp:secretmanager/secret:Secret")}
    for server in found["postgres"]:
        secret = urls[f"{server.id}-url"].inputs["secretId"]
        assert env[server.env]["valueSource"]["secretKeyRef"]["secret"] == secret
    for server in found["redis"]:
        # each variable is read from its own instance's outputs
        var = "r_" + server.id.replace("#", "_").replace("-", "_")
        wired = (
            rf"'name': '{server.env}',\s+'value': pulumi\.Output\.concat\(\"redis://\", {var}\.host"
        )
        assert re.search(wired, source), server.env
        assert env[server.env]["value"].startswith("redis://")
    grants = [
        r.inputs["condition"]["expression"]
        for r in run.of_type("gcp:projects/iAMMember:IAMMember")
        if r.inputs["role"] == "roles/cloudsql.client"
    ]
    assert sorted(grants) == sorted(
        f"resource.name == 'projects/acme-prod/instances/{r.inputs['name']}'" for r in sql
    )


@pytest.mark.parametrize(
    ("provider", "sizes"),
    [
        ("aws", {"postgres": DATABASE_CLASS, "redis": CACHE_NODE_TYPE}),
        ("gcp", {"postgres": CLOUD_SQL_TIER, "redis": f"{MEMORYSTORE_GB} GB"}),
    ],
)
def test_the_servers_created_are_the_size_the_catalog_prices(
    provider: str, sizes: dict[str, str]
) -> None:
    # The plan records no size: the programs create one fixed size per engine,
    # which must be the one every bundled server backend is priced for.
    catalog = load_catalog(provider)
    checked = [b for b in catalog.backends if b.implementation in sizes]
    assert checked
    for backend in checked:
        assert sizes[backend.implementation] in backend.description, backend.name
