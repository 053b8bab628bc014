"""Several servers of one implementation: each created once and wired into its variable.

A plan may put PostgreSQL resources on two catalog backends (``rds-postgres``
and ``rds-postgres-multi-az``) and Redis resources on two instances of one
(a shared instance full).  Each program must create one server per server of
the plan (:func:`skaal.plan.wiring.servers`) and give every function the
connection URL of each server in that server's own variable, each server
the size the plan records for it.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from skaal import App, Map
from skaal.builder.stacks.gcp import EnvMemorystore
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog.loader import load_catalog
from skaal.plan.model import Plan
from skaal.plan.wiring import ServerWiring, credentials_env, servers, wire
from skaal.solver import solve
from tests.builder.awkward_catalogs import awkward
from tests.builder.aws_support import app_context, write_with_layer
from tests.builder.aws_support import run_program as run_aws
from tests.builder.gcp_mocks import CONFIG
from tests.builder.gcp_mocks import run_stack as run_gcp

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
    made = {}
    for name in sorted(PINS[provider]):
        durability = "ephemeral" if name in ("Sessions", "Tokens") else "persistent"
        made[name] = app.storage(durability=durability)(types.new_class(name, (Map[str, str],)))
    ledger, orders, sessions, tokens = (made[n] for n in ("Ledger", "Orders", "Sessions", "Tokens"))

    @app.function()
    async def touch(key: str) -> None:  # uses every store: its service reaches every server
        for store in (ledger, orders, sessions, tokens):
            await store.get(key)

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
    return plan, run_aws(folder)


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
    variables = function.inputs["environment"]["variables"]
    for server in found["postgres"]:
        database = databases[_ref(server)]
        address = database.outputs["address"]
        assert variables[server.env] == f"postgresql://skaal@{address}:5432/skaal"
        secret = database.outputs["masterUserSecrets"][0]["secretArn"]
        assert variables[credentials_env(server.env)] == secret
        # sized as the plan says
        (instance,) = [i for i in plan.instances if i.id == server.id]
        assert database.inputs["instanceClass"] == instance.parameters["instance_class"]
        assert database.inputs["allocatedStorage"] == instance.disk_gb
    for server in found["redis"]:
        address = caches[_ref(server)].outputs["primaryEndpointAddress"]
        assert variables[server.env] == f"rediss://{address}:6379/0"
        (instance,) = [i for i in plan.instances if i.id == server.id]
        assert caches[_ref(server)].inputs["nodeType"] == instance.parameters["node_type"]


def _ref(server: ServerWiring) -> str:
    return server.id.replace("#", "-").lower()


def test_gcp_creates_one_cloud_sql_and_one_memorystore_per_server() -> None:
    app, plan = _plan("gcp")
    found = _by_implementation(plan)
    stack = gcp_stack(app.blueprint(), plan)
    run = run_gcp(stack, CONFIG)
    sql = run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert sorted(r.name for r in sql) == sorted(s.id for s in found["postgres"])
    redis = run.of_type("gcp:redis/instance:Instance")
    assert sorted(r.name for r in redis) == sorted(s.id for s in found["redis"])
    assert len({r.inputs["name"] for r in [*sql, *redis]}) == 4
    web = run.named("fn_touch").inputs["template"]  # the one function using the servers
    (volume,) = web["volumes"]  # one /cloudsql volume with every instance's socket
    assert sorted(volume["cloudSqlInstance"]["instances"]) == sorted(
        f"acme-prod:us-central1:{r.inputs['name']}" for r in sql
    )
    env = {e["name"]: e for e in web["containers"][0]["envs"]}
    urls = {r.name: r for r in run.of_type("gcp:secretmanager/secret:Secret")}
    for server in found["postgres"]:
        secret = urls[f"{server.id}-url"].inputs["secretId"]
        assert env[server.env]["valueSource"]["secretKeyRef"]["secret"] == secret
    (touch,) = [s for s in stack.services if s.key == "fn_touch"]
    for server in found["redis"]:
        # each variable is read from its own instance's outputs
        assert EnvMemorystore(name=server.env, instance=server.id) in touch.env, server.env
        assert env[server.env]["value"].startswith("redis://")
    grants = [
        r.inputs["condition"]["expression"]
        for r in run.of_type("gcp:projects/iAMMember:IAMMember")
        if r.inputs["role"] == "roles/cloudsql.client"
    ]
    assert sorted(grants) == sorted(
        f"resource.name == 'projects/acme-prod/instances/{r.inputs['name']}'" for r in sql
    )
