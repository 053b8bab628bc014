"""Cloud builds of a pending move whose origin is on a server the plan still has.

``Users`` and ``Orders`` are planned on one PostgreSQL server (RDS, Cloud
SQL), then ``Orders`` is pinned to the provider's table service (DynamoDB,
Firestore) while ``Users`` stays on the server.  The server is provisioned
anyway, so the origin's data stays on it: the build keeps the server exactly
as before the move (same id, class, volume), creates the destination and
gives the migration runner the server's network, socket and credentials.
A move between two PostgreSQL servers (Multi-AZ to single-AZ) gets both
servers and their own variables, and the runtime reads each server from the
variable the build sets for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from skaal.builder.model import BuildContext
from skaal.builder.stacks.aws import AwsStack
from skaal.builder.stacks.gcp import GcpStack
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.aws_moves import MIGRATION_FUNCTION
from skaal.builder.targets.aws_stack import aws_stack
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.gcp_basis import MIGRATION_ACCOUNT
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog import load_catalog
from skaal.cli.render import render_moves
from skaal.declare.app_ref import load_app
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.bill import bill_of
from skaal.plan.lock import lock_text, read_lock
from skaal.plan.model import Plan
from skaal.plan.moves import switched
from skaal.plan.wiring import servers
from skaal.programs.local.program import size_of
from tests.builder.aws_support import app_context, run_program, write_with_layer
from tests.builder.gcp_mocks import CONFIG, PROJECT, run_artifacts

APP = """
from pydantic import BaseModel
from skaal import App, Map

app = App("shop")


class Order(BaseModel):
    id: str
    total: int


@app.storage()
class Users(Map[str, Order]): ...


@app.storage()
class Orders(Map[str, Order]): ...


@app.function(http=True)
async def order(key: str) -> Order | None:
    return await Orders.get(key)


@app.function(http=True)
async def user(key: str) -> Order | None:
    return await Users.get(key)
"""

RUNNER_MEMBER = f"serviceAccount:shop-migrate@{PROJECT}.iam.gserviceaccount.com"


def _plans(folder: Path, catalog: str, *moves: dict[str, str]) -> tuple[Path, list[Plan]]:
    """The plans of the app in ``folder``, one per set of pins, each from the lock before."""
    (folder / "shop.py").write_text(APP)
    blueprint = load_app("shop.py:app", cwd=folder).blueprint()
    lock = FileLockStore(folder / "skaal.lock")
    return folder, [
        plan_blueprint(blueprint, load_catalog(catalog), lock=lock, pins=pins).plan
        for pins in moves
    ]


def _aws(project: Path, plan: Plan) -> AwsStack:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    return aws_stack(app_context(blueprint, plan, "shop:app"))


def _gcp(project: Path, plan: Plan) -> GcpStack:
    return gcp_stack(load_app("shop.py:app", cwd=project).blueprint(), plan)


@pytest.fixture(scope="module")
def aws_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan, Plan]:
    project, (before, moving) = _plans(
        tmp_path_factory.mktemp("aws-server-moves"),
        "aws",
        {"Users": "rds-postgres", "Orders": "rds-postgres"},
        {"Users": "rds-postgres", "Orders": "dynamodb"},
    )
    origin = moving.binding("Orders").moving_from
    assert origin is not None
    assert origin.instance == moving.binding("Users").instance
    return project, before, moving


def test_the_plan_keeps_the_volume_holding_the_origin(aws_plans: tuple[Path, Plan, Plan]) -> None:
    _, before, moving = aws_plans
    (was,), (now,) = before.instances, moving.instances
    assert now.id == was.id
    assert now.resources == ("Users",)
    # the origin's data is still on it, and RDS never shrinks a volume
    assert now.disk_gb == was.disk_gb
    # after the switch the next plan sizes it for what it holds
    assert switched(moving, ["Orders"]).instances == moving.instances


def test_the_server_keeping_the_origin_is_built_as_before(
    aws_plans: tuple[Path, Plan, Plan],
) -> None:
    project, before, moving = aws_plans
    old, new = _aws(project, before), _aws(project, moving)
    assert new.databases == old.databases  # same id, class, volume, variable: not replaced
    (table,) = new.tables
    assert table.resource == "Orders"  # the destination
    assert not table.retiring
    copier = next(f for f in new.functions if f.name == MIGRATION_FUNCTION)
    (database,) = new.databases
    assert copier.vpc
    assert copier.network == database.network
    assert copier.env["SKAAL_USED_RESOURCES"] == "Orders"
    refs = {r.ref for s in copier.statements for r in s.resources if not isinstance(r, str)}
    assert {"Orders", database.id} <= refs  # the table and the server's credentials
    assert "Users" not in refs
    # the function using Orders reaches both ends: the server's credentials and the table
    order = next(f for f in new.functions if f.name == "order")
    assert order.vpc
    assert {"Orders", database.id} <= {
        r.ref for s in order.statements for r in s.resources if not isinstance(r, str)
    }


def test_the_program_keeps_the_rds_instance_and_adds_the_table(
    aws_plans: tuple[Path, Plan, Plan], tmp_path: Path
) -> None:
    project, before, moving = aws_plans
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    runs = [
        run_program(
            write_with_layer(build_aws(app_context(blueprint, plan, "shop:app")), tmp_path / name)
        )
        for name, plan in (("before", before), ("moving", moving))
    ]
    (old,), (new,) = (run.of_type("aws:rds/instance:Instance") for run in runs)
    assert (new.name, new.inputs) == (old.name, old.inputs)
    assert new.protect
    assert new.retain
    moved = runs[1]
    (table,) = moved.of_type("aws:dynamodb/table:Table")
    copiers = [
        f
        for f in moved.of_type("aws:lambda/function:Function")
        if f.inputs["environment"]["variables"].get("SKAAL_FUNCTION") == MIGRATION_FUNCTION
    ]
    (copier,) = copiers
    assert copier.inputs["vpcConfig"]["subnetIds"]
    policy = json.loads(moved.named(f"{copier.inputs['name']}-policy").inputs["policy"])
    granted = {r for s in policy["Statement"] for r in s["Resource"]}
    assert table.outputs["arn"] in granted
    assert new.outputs["masterUserSecrets"][0]["secretArn"] in granted


@pytest.fixture(scope="module")
def hop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan]:
    """Orders moving from the Multi-AZ server (keeping Users) to a single-AZ one."""
    project, (_, moving) = _plans(
        tmp_path_factory.mktemp("aws-hop"),
        "aws",
        {"Users": "rds-postgres-multi-az", "Orders": "rds-postgres-multi-az"},
        {"Users": "rds-postgres-multi-az", "Orders": "rds-postgres"},
    )
    return project, moving


def test_a_move_between_two_servers_gets_both_and_their_own_variables(
    hop: tuple[Path, Plan],
) -> None:
    project, moving = hop
    origin = moving.binding("Orders").moving_from
    assert origin is not None
    assert origin.backend == "rds-postgres-multi-az"
    stack = _aws(project, moving)
    kept, destination = (
        next(d for d in stack.databases if d.backend == backend)
        for backend in ("rds-postgres-multi-az", "rds-postgres")
    )
    assert kept.multi_az
    assert not destination.multi_az
    assert kept.env != destination.env
    copier = next(f for f in stack.functions if f.name == MIGRATION_FUNCTION)
    refs = {r.ref for s in copier.statements for r in s.resources if not isinstance(r, str)}
    assert {kept.id, destination.id} <= refs  # both servers' credentials
    # each server has one variable in the build's view and in the switched one's
    # (the runtime names them from the plan it is given, moves included)
    named = [{s.id: s.env for s in servers(v)} for v in (moving, switched(moving, ["Orders"]))]
    assert named[0] == named[1]
    assert named[0][origin.instance or ""] == kept.env


@pytest.fixture(scope="module")
def gcp_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan, Plan]:
    project, (before, moving) = _plans(
        tmp_path_factory.mktemp("gcp-server-moves"),
        "gcp",
        {"Users": "cloudsql-postgres", "Orders": "cloudsql-postgres"},
        {"Users": "cloudsql-postgres", "Orders": "firestore"},
    )
    assert moving.binding("Orders").moving_from is not None
    return project, before, moving


def _context(project: Path, plan: Plan) -> BuildContext:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    return app_context(blueprint, plan, "shop:app", target="gcp")


def test_the_cloud_sql_instance_keeping_the_origin_is_built_as_before(
    gcp_plans: tuple[Path, Plan, Plan],
) -> None:
    project, before, moving = gcp_plans
    old, new = _gcp(project, before), _gcp(project, moving)
    (was,), (sql,) = old.cloud_sql, new.cloud_sql
    unchanged = ("key", "name", "region", "tier", "availability_type", "disk_size", "database")
    assert {f: getattr(sql, f) for f in unchanged} == {f: getattr(was, f) for f in unchanged}
    assert new.firestore  # the destination
    runner = next(s for s in new.services if s.key == new.migration_runner)
    assert runner.sql_instances == (sql.key,)  # the origin's socket
    assert any(g.member == MIGRATION_ACCOUNT for g in sql.client_grants)
    assert any(g.member == MIGRATION_ACCOUNT for g in sql.url_grants)
    assert any(g.member == MIGRATION_ACCOUNT for g in new.firestore[0].grants)
    order = next(s for s in new.services if s.key == "fn_order")
    assert order.sql_instances == (sql.key,)  # still served from the origin


def test_the_gcp_program_keeps_the_instance_and_grants_the_runner(
    gcp_plans: tuple[Path, Plan, Plan],
) -> None:
    project, before, moving = gcp_plans
    old, new = (run_artifacts(build_gcp(_context(project, p)), CONFIG) for p in (before, moving))
    (was,), (sql,) = (r.of_type("gcp:sql/databaseInstance:DatabaseInstance") for r in (old, new))
    assert (sql.name, sql.inputs) == (was.name, was.inputs)
    assert new.of_type("gcp:firestore/database:Database")
    granted = {
        r.inputs["role"]
        for r in new.resources
        if "iam" in r.type.lower() and r.inputs.get("member") == RUNNER_MEMBER
    }
    assert {"roles/cloudsql.client", "roles/datastore.user"} <= granted


@pytest.fixture(scope="module")
def retiring(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan, Plan]:
    """Orders leaving the Multi-AZ server, which then holds nothing else (Users on DynamoDB)."""
    project, (before, moving) = _plans(
        tmp_path_factory.mktemp("aws-retiring"),
        "aws",
        {"Users": "dynamodb", "Orders": "rds-postgres-multi-az"},
        {"Users": "dynamodb", "Orders": "rds-postgres"},
    )
    return project, before, moving


def test_a_server_left_by_the_plan_is_kept_in_the_lock_and_billed(
    retiring: tuple[Path, Plan, Plan],
) -> None:
    project, before, moving = retiring
    (was,) = before.instances
    (kept,) = moving.retiring
    assert kept.model_copy(update={"resources": was.resources}) == was  # sized as before
    assert kept.resources == ("Orders",)  # the origins it keeps
    assert [i.id for i in moving.instances] == ["rds-postgres#1"]
    # billed until the switch: its fixed fees (the origin's own lines are its cost line)
    after = switched(moving, ["Orders"])
    assert after.retiring == ()
    origin_line = moving.binding("Orders").monthly_cost - after.binding("Orders").monthly_cost
    assert moving.total_monthly_cost == pytest.approx(
        after.total_monthly_cost + kept.fixed_monthly + origin_line
    )
    # skaal cost explains it: its fee lines, priced as the previous plan recorded them
    bill = bill_of(moving)
    assert bill.total == moving.total_monthly_cost
    assert any(line.owner == f"{kept.id} (retiring)" for line in bill.lines)
    # the lock records it, and reads back as written
    text = (project / "skaal.lock").read_text()
    assert "[[retiring]]" in text
    assert read_lock(project / "skaal.lock") == moving
    before_text = lock_text(before)
    assert "retiring" not in before_text  # written (and hashed) only when a server is kept
    assert "retiring" not in before.canonical_json()
    assert "retiring" not in before.json_data()  # skaal plan --json, as before
    assert [i["id"] for i in moving.json_data()["retiring"]] == [kept.id]


def test_the_retiring_server_is_built_as_before_with_its_own_variable(
    retiring: tuple[Path, Plan, Plan], tmp_path: Path
) -> None:
    project, before, moving = retiring
    old, new = _aws(project, before), _aws(project, moving)
    (was,) = old.databases
    kept = next(d for d in new.databases if d.id == was.id)
    # same name, class, volume, Multi-AZ: not replaced (its variable is now its own: the new
    # server sorts first and takes the plain one)
    assert kept.model_copy(update={"env": was.env}) == was
    (destination,) = [d for d in new.databases if d.id != was.id]
    assert not destination.multi_az
    assert destination.env != kept.env  # each server its own variable
    copier = next(f for f in new.functions if f.name == MIGRATION_FUNCTION)
    refs = {r.ref for s in copier.statements for r in s.resources if not isinstance(r, str)}
    assert {kept.id, destination.id} <= refs  # both servers' credentials
    assert {kept.env, destination.env} <= set(copier.outputs)
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    runs = [
        run_program(
            write_with_layer(build_aws(app_context(blueprint, plan, "shop:app")), tmp_path / name)
        )
        for name, plan in (("before", before), ("moving", moving))
    ]
    (was_rds,) = runs[0].of_type("aws:rds/instance:Instance")
    now = {r.name: r for r in runs[1].of_type("aws:rds/instance:Instance")}
    assert set(now) == {was.id, destination.id}
    assert now[was.id].inputs == was_rds.inputs
    assert now[was.id].protect  # the deploy after the switch stops at it: never deleted


def test_the_gcp_build_keeps_a_retiring_cloud_sql_instance(tmp_path: Path) -> None:
    project, (before, moving) = _plans(
        tmp_path,
        "gcp",
        {"Users": "firestore", "Orders": "cloudsql-postgres-ha"},
        {"Users": "firestore", "Orders": "cloudsql-postgres"},
    )
    (kept,) = moving.retiring
    old, new = _gcp(project, before), _gcp(project, moving)
    (was,) = old.cloud_sql
    now = {c.key: c for c in new.cloud_sql}
    assert set(now) == {kept.id, moving.binding("Orders").instance}
    unchanged = ("name", "region", "tier", "availability_type", "disk_size", "database")
    assert {f: getattr(now[kept.id], f) for f in unchanged} == {
        f: getattr(was, f) for f in unchanged
    }
    runner = next(s for s in new.services if s.key == new.migration_runner)
    assert set(runner.sql_instances) == set(now)  # both ends' sockets
    assert all(
        any(g.member == MIGRATION_ACCOUNT for g in sql.client_grants) for sql in now.values()
    )
    # under the mocks: the kept instance is created with the inputs it had, and protected
    old_run, new_run = (
        run_artifacts(build_gcp(_context(project, p)), CONFIG) for p in (before, moving)
    )
    instance = "gcp:sql/databaseInstance:DatabaseInstance"
    (was_sql,) = old_run.of_type(instance)
    created = {r.name: r for r in new_run.of_type(instance)}
    assert len(created) == 2
    assert created[was_sql.name].inputs == was_sql.inputs
    assert created[was_sql.name].protect


def test_skaal_plan_says_which_server_it_keeps(retiring: tuple[Path, Plan, Plan]) -> None:
    _, _, moving = retiring
    console = Console(record=True, width=300)
    render_moves(console, moving, None)
    (kept,) = moving.retiring
    assert (
        f"kept: server {kept.id} ({kept.backend}, {kept.instance_class}) keeps Orders until "
        f"the switch: ${kept.fixed_monthly:,.2f}/month, billed"
    ) in console.export_text()


def test_a_local_build_sizes_a_retiring_server_as_before(tmp_path: Path) -> None:
    _, (before, moving) = _plans(
        tmp_path,
        "local-servers",
        {"Users": "postgres", "Orders": "postgres"},
        {"Users": "sqlite", "Orders": "sqlite"},
    )
    (was,) = before.instances
    (kept,) = moving.retiring
    assert kept.id == was.id
    assert kept.resources == ("Orders", "Users")
    assert size_of(moving, kept.id) == size_of(before, was.id) != {}
    (server,) = servers(moving)
    assert server.holds == ("Orders", "Users")  # the operator's server keeps their data


def test_a_retiring_server_placed_on_again_keeps_its_volume(tmp_path: Path) -> None:
    multi = "rds-postgres-multi-az"
    _, (before, moving, back) = _plans(
        tmp_path,
        "aws",
        {"Users": multi, "Orders": multi},
        {"Users": "dynamodb", "Orders": "rds-postgres"},
        {"Users": multi, "Orders": "rds-postgres"},  # Orders still pending from the server
    )
    (was,) = before.instances
    assert [i.id for i in moving.retiring] == [was.id]
    assert back.retiring == ()  # the plan has the server again
    again = next(i for i in back.instances if i.id == was.id)
    assert again.resources == ("Users",)
    assert again.disk_gb == was.disk_gb  # Orders' data is still on it
