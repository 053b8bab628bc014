"""What the builds create of the identities the catalogs count, against what they state.

A function runs as an identity of its own: an IAM role on aws (a second one,
for EventBridge Scheduler, when it runs on a schedule), a service account on
gcp.  The catalogs count them against IAM's 1,000 roles per account and a
project's 100 service accounts, and reserve what the build creates for the
app itself (``reserved`` of ``[backends.lambda.counts.roles]`` and
``[backends.cloud-run.counts.service-accounts]``); on aws, a function the
HTTP API routes to is an integration of that API too, of 300
(``[backends.lambda.counts.integrations]``).  Each program runs here,
under Pulumi's mocks, for an app using every feature that adds one (HTTP, a
schedule, a queue consumer, a pending data move): it creates exactly what the
planner counted, so a plan the planner keeps within the quota deploys.
"""

from __future__ import annotations

from pathlib import Path

from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog import load_catalog
from skaal.catalog.model import CountQuota
from skaal.declare.app_ref import load_app
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.model import Plan
from tests.builder.aws_support import app_context, run_program, write_with_layer
from tests.builder.gcp_mocks import CONFIG, run_stack

APP = """
from skaal import App, Every, Map, Queue

app = App("shop")


@app.storage(durability="persistent")
class Invoices(Map[str, str]): ...


@app.queue()
class Jobs(Queue[str]): ...


@app.function(http=True)
async def bill(owner: str) -> str | None:
    return await Invoices.get(owner)


@app.schedule(Every("1h"))
async def sweep() -> None: ...


@app.consumer(Jobs)
async def work(job: str) -> None: ...
"""


def _moving(project: Path, catalog: str, origin: str, server: str) -> Plan:
    """The app planned with ``Invoices`` on ``origin``, then pinned to ``server``: the lock
    holds a pending move, for which the build adds a migration runner."""
    (project / "shop.py").write_text(APP, encoding="utf-8")
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    lock = FileLockStore(project / "skaal.lock")
    for pinned in (origin, server):
        plan = plan_blueprint(
            blueprint, load_catalog(catalog), lock=lock, pins={"Invoices": pinned}
        ).plan
    assert plan.binding("Invoices").moving_from is not None
    return plan


def _quota(catalog: str, backend: str, name: str) -> CountQuota:
    counts = {b.name: b for b in load_catalog(catalog).backends}[backend].counts
    return next(quota for quota in counts if quota.name == name)


def test_the_aws_build_creates_the_roles_and_integrations_the_planner_counts(
    tmp_path: Path,
) -> None:
    plan = _moving(tmp_path, "aws", "dynamodb", "rds-postgres")
    blueprint = load_app("shop.py:app", cwd=tmp_path).blueprint()
    artifacts = build_aws(app_context(blueprint, plan, "shop:app"))
    run = run_program(write_with_layer(artifacts, tmp_path / "out"))
    functions = [s for s in blueprint.resources if s.kind == "function"]
    roles = run.of_type("aws:iam/role:Role")
    quota = _quota("aws", "lambda", "roles")
    counted = sum(quota.used_by(s.kind, scheduled=s.schedule is not None) for s in functions)
    assert counted == 4  # bill, work, sweep and its scheduler's
    assert len(roles) == counted + quota.reserved  # the HTTP default route's, the mover's
    # the HTTP API's integrations (and routes): one per function it routes to, bill; the
    # default route's one more (HTTP API: 300 integrations, not raised)
    quota = _quota("aws", "lambda", "integrations")
    counted = sum(quota.used_by(s.kind, routed=s.routed) for s in functions)
    assert counted == 1
    integrations = run.of_type("aws:apigatewayv2/integration:Integration")
    assert len(integrations) == counted + quota.reserved
    assert len(run.of_type("aws:apigatewayv2/route:Route")) == len(integrations)  # 300, raised


def test_the_gcp_build_creates_the_service_accounts_the_planner_counts(tmp_path: Path) -> None:
    plan = _moving(tmp_path, "gcp", "firestore", "cloudsql-postgres")
    blueprint = load_app("shop.py:app", cwd=tmp_path).blueprint()
    run = run_stack(gcp_stack(blueprint, plan), CONFIG)
    accounts = run.of_type("gcp:serviceaccount/account:Account")
    quota = _quota("gcp", "cloud-run", "service-accounts")
    counted = sum(quota.used_by(s.kind) for s in blueprint.resources if s.kind == "function")
    assert counted == 3
    # the web service's, the runner's, the scheduler and push invoker's, the gateway's
    assert len(accounts) == counted + quota.reserved
