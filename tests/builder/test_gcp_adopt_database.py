"""An adopted Cloud SQL instance on gcp: read, never created; its secret and socket granted.

The app adopts an existing Cloud SQL (PostgreSQL) instance named by its
connection name, with the Secret Manager secret holding its connection URL;
its program runs under Pulumi's mocks.  The instance is a read
(``DatabaseInstance.get``), no database, user or URL secret is created, the
service that uses it reads that secret (and only it), mounts the
instance's socket and holds ``roles/cloudsql.client`` conditioned on that
instance; an instance of another project stops the deployment.
"""

from __future__ import annotations

import pytest

from skaal import App, Map
from skaal.builder.model import BuildContext
from skaal.builder.stacks.gcp import GcpStack
from skaal.builder.targets.gcp import build_gcp
from skaal.catalog.loader import load_catalog
from skaal.errors import DeployError
from skaal.plan.wiring import servers
from skaal.solver import solve
from tests.builder import gcp_mocks

PROJECT = gcp_mocks.PROJECT
SERVER = f"{PROJECT}:us-central1:legacy-shop"
SECRET = f"projects/{PROJECT}/secrets/shop-db-url"


class Orders(Map[str, int]): ...


def _context(existing: str, configured: dict[str, str] | None = None) -> BuildContext:
    app = App("shop")
    app.storage(existing=existing)(Orders)

    @app.function()
    async def report(key: str) -> int | None:
        return await Orders.get(key)

    plan = solve(app.blueprint(), load_catalog("gcp"), existing=configured or {})
    return BuildContext(
        blueprint=app.blueprint(),
        plan=plan,
        app_ref="shop:app",
        target="gcp",
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
        existing=configured or {},
    )


def test_the_adopted_instance_is_read_and_only_its_secret_and_socket_granted() -> None:
    context = _context(f"{SERVER} secret={SECRET}")
    assert not context.plan.instances
    artifacts = build_gcp(context)
    stack = GcpStack.model_validate_json(str(artifacts.file("infra/stack.json").content))
    assert not stack.cloud_sql
    (adopted,) = stack.adopted_cloud_sql
    assert (adopted.instance, adopted.url_secret) == ("legacy-shop", SECRET)
    run = gcp_mocks.run_artifacts(artifacts, gcp_mocks.CONFIG)
    (instance,) = run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert instance.read_id == f"projects/{PROJECT}/instances/legacy-shop"
    assert not run.of_type("gcp:sql/database:Database")
    assert not run.of_type("gcp:sql/user:User")
    assert not run.of_type("gcp:secretmanager/secret:Secret")
    readers = run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert [r.inputs["secretId"] for r in readers] == ["shop-db-url"]
    assert {r.inputs["role"] for r in readers} == {"roles/secretmanager.secretAccessor"}
    clients = [
        m
        for m in run.of_type("gcp:projects/iAMMember:IAMMember")
        if m.inputs["role"] == "roles/cloudsql.client"
    ]
    assert clients
    assert {m.inputs["condition"]["expression"] for m in clients} == {
        f"resource.name == 'projects/{PROJECT}/instances/legacy-shop'"
    }
    services = run.of_type("gcp:cloudrunv2/service:Service")
    (template,) = [s.inputs["template"] for s in services if s.inputs["template"].get("volumes")]
    (volume,) = template["volumes"]
    assert volume["cloudSqlInstance"]["instances"] == [f"{PROJECT}:us-central1:legacy-shop"]
    (variable,) = servers(context.plan)
    envs = {e["name"]: e for c in template["containers"] for e in c.get("envs", [])}
    assert envs[variable.env]["valueSource"]["secretKeyRef"]["secret"] == "shop-db-url"


def test_an_instance_of_another_project_stops_the_deployment() -> None:
    other = "other-proj:us-central1:legacy-shop secret=projects/other-proj/secrets/url"
    artifacts = build_gcp(_context(other))
    with pytest.raises(DeployError, match="not the deploying project acme-prod"):
        gcp_mocks.run_artifacts(artifacts, gcp_mocks.CONFIG)


def test_an_instance_adopted_by_the_configuration_is_read_too() -> None:
    app_existing = f"{SERVER} secret={SECRET}"
    context = _context("legacy-orders-table", {"Orders": app_existing})
    stack = GcpStack.model_validate_json(str(build_gcp(context).file("infra/stack.json").content))
    assert [a.instance for a in stack.adopted_cloud_sql] == ["legacy-shop"]
