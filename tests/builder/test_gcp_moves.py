"""A gcp build of a lock with pending moves: both ends, the runtime on the origin, the runner.

``Invoices`` (a collection) and ``Carts`` (a map) are planned on Firestore,
then ``Invoices`` is pinned to Cloud SQL: the lock records the move.  Its
build must keep the Firestore database and the ``Invoices`` collection
exactly as before (same logical names and ids), create the Cloud SQL
instance, grant the services using ``Invoices`` both ends, and add the
migration runner: a Cloud Run service in the ``migrate`` role, running as
an account of its own granted both ends of the move and nothing else,
invoked by no account of the stack, its URL a stack output.  When every
Firestore resource moves (``Carts`` to Memorystore too), the database is
retiring: retained, not protected, so the deploy after the switch drops it
from the stack and leaves it in the project.  After the switch the build
has neither the origin nor the runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from skaal.builder.inputs import check_lock
from skaal.builder.model import BuildContext
from skaal.builder.stacks.gcp import MIGRATION_URL_OUTPUT, GcpStack, Service
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.gcp_basis import MIGRATION_ACCOUNT
from skaal.builder.targets.gcp_moves import RUNNER_TIMEOUT_S
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog import load_catalog
from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.errors import BuildError
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.plan.model import Plan
from skaal.plan.moves import ORIGIN_COMPONENT, serving_plan, switched
from tests.builder._pulumi import Run
from tests.builder.aws_support import app_context
from tests.builder.gcp_mocks import CONFIG, PROJECT, run_artifacts, run_stack

APP = """
from pydantic import BaseModel
from skaal import App, Collection, Index, Map

app = App("shop")


class Order(BaseModel):
    id: str
    owner: str
    total: int


@app.storage()
class Invoices(Collection[Order]):
    by_owner = Index("owner")


@app.storage(durability="ephemeral")
class Carts(Map[str, Order]): ...


@app.function(http=True)
async def bill(owner: str) -> int:
    return len((await Invoices.find(limit=10)).items)


@app.function(http=True)
async def cart(owner: str) -> Order | None:
    return await Carts.get(owner)
"""

SERVICE = "gcp:cloudrunv2/service:Service"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
RUNNER_MEMBER = f"serviceAccount:shop-migrate@{PROJECT}.iam.gserviceaccount.com"


def _plans(folder: Path, *moves: dict[str, str]) -> tuple[Path, list[Plan]]:
    """The plans of the app in ``folder``, one per set of pins, each from the lock before."""
    (folder / "shop.py").write_text(APP)
    blueprint = load_app("shop.py:app", cwd=folder).blueprint()
    lock = FileLockStore(folder / "skaal.lock")
    return folder, [
        plan_blueprint(blueprint, load_catalog("gcp"), lock=lock, pins=pins).plan for pins in moves
    ]


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan, Plan]:
    folder = tmp_path_factory.mktemp("gcp-moves")
    project, (before, moving) = _plans(
        folder,
        {"Invoices": "firestore", "Carts": "firestore"},
        {"Invoices": "cloudsql-postgres", "Carts": "firestore"},
    )
    assert moving.binding("Invoices").moving_from is not None
    return project, before, moving


def _stack(project: Path, plan: Plan) -> GcpStack:
    return gcp_stack(load_app("shop.py:app", cwd=project).blueprint(), plan)


def _context(project: Path, plan: Plan) -> BuildContext:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    return app_context(blueprint, plan, "shop:app", target="gcp")


def _runner(stack: GcpStack) -> Service:
    (found,) = [s for s in stack.services if s.key == stack.migration_runner]
    return found


def _env(service: Service) -> dict[str, str]:
    return {e.name: getattr(e, "value", "") for e in service.env}


def _members(run: Run, member: str) -> set[tuple[str, str]]:
    """(type, role) of every IAM binding to ``member``."""
    return {
        (r.type, r.inputs["role"])
        for r in run.resources
        if "iam" in r.type.lower() and r.inputs.get("member") == member
    }


def test_the_origin_is_provisioned_as_before_the_move(plans: tuple[Path, Plan, Plan]) -> None:
    project, before, moving = plans
    old, new = _stack(project, before), _stack(project, moving)
    (database,) = new.firestore
    (previous,) = old.firestore
    # the same database, collections, indexes and TTL policies (the runner adds a grant)
    assert database.model_copy(update={"grants": ()}) == previous.model_copy(update={"grants": ()})
    assert not database.retiring  # Carts stays in it
    assert [c.key for c in new.cloud_sql]  # the destination
    assert not old.cloud_sql
    assert old.migration_runner is None
    settled = _stack(project, switched(moving, ["Invoices"]))
    assert settled.migration_runner is None
    assert all(s.account != MIGRATION_ACCOUNT for s in settled.services)
    assert [c for _, c in settled.firestore[0].ttl_collections] != [
        c for _, c in database.ttl_collections
    ]  # the origin collection left the stack


def test_the_runner_reaches_both_ends_of_the_move_and_nothing_else(
    plans: tuple[Path, Plan, Plan],
) -> None:
    project, _, moving = plans
    stack = _stack(project, moving)
    runner = _runner(stack)
    env = _env(runner)
    assert env["SKAAL_CLOUD_RUN_ROLE"] == "migrate"
    assert env["SKAAL_USED_RESOURCES"] == "Invoices"
    assert env["SKAAL_READABLE_SECRETS"] == ""
    assert runner.invoker is None  # no account of the stack may call it
    assert runner.timeout == f"{RUNNER_TIMEOUT_S}s"
    assert runner.max_instances == 1
    (sql,) = stack.cloud_sql
    assert runner.sql_instances == (sql.key,)  # the destination's socket
    assert any(g.member == MIGRATION_ACCOUNT for g in sql.client_grants)
    assert any(g.member == MIGRATION_ACCOUNT for g in sql.url_grants)
    assert any(g.member == MIGRATION_ACCOUNT for g in stack.firestore[0].grants)  # the origin
    # the function using Invoices reaches both ends too; the one using Carts only Carts
    bill = next(s for s in stack.services if s.key == "fn_bill")
    cart = next(s for s in stack.services if s.key == "fn_cart")
    assert bill.sql_instances == (sql.key,)
    assert cart.sql_instances == ()


def test_the_program_creates_both_ends_and_the_runner(
    plans: tuple[Path, Plan, Plan],
) -> None:
    project, _, moving = plans
    run = run_artifacts(build_gcp(_context(project, moving)), CONFIG)
    (database,) = run.of_type("gcp:firestore/database:Database")
    assert database.name == "firestore"
    assert database.inputs["name"] == "(default)"
    assert database.protect  # Carts stays in it
    ttl = {r.inputs["collection"] for r in run.of_type("gcp:firestore/field:Field")}
    origin = _stack(project, serving_plan(moving)).firestore[0].ttl_collections
    assert {c for _, c in origin} <= ttl  # the origin collection, named as before
    assert run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    services = {s.name: s for s in run.of_type(SERVICE)}
    runner = services[MIGRATION_ACCOUNT]
    assert runner.inputs["name"] == "shop-skaal-migrate"
    assert runner.inputs["template"]["serviceAccount"] == (
        f"shop-migrate@{PROJECT}.iam.gserviceaccount.com"
    )
    assert runner.inputs["template"]["volumes"]  # the Cloud SQL socket
    invokers = [
        r
        for r in run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
        if r.name.startswith("migrate")
    ]
    assert invokers == []  # only the operator's identity
    assert _members(run, RUNNER_MEMBER) == {
        (PROJECT_MEMBER, "roles/datastore.user"),
        (PROJECT_MEMBER, "roles/cloudsql.client"),
        ("gcp:secretmanager/secretIamMember:SecretIamMember", "roles/secretmanager.secretAccessor"),
    }
    # the mocks' address of the runner service (tests/builder/gcp_mocks.py)
    assert run.exports[MIGRATION_URL_OUTPUT] == "https://shop-skaal-migrate-xyz-uc.a.run.app"


def test_listed_operators_may_invoke_the_runner(plans: tuple[Path, Plan, Plan]) -> None:
    project, _, moving = plans
    config = {**CONFIG, "skaal:migrationInvokers": "user:ops@example.com, group:sre@example.com"}
    run = run_stack(_stack(project, moving), config)
    granted = {
        (r.inputs["member"], r.inputs["role"])
        for r in run.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
        if r.name.startswith("migrate-operator")
    }
    assert granted == {
        ("user:ops@example.com", "roles/run.invoker"),
        ("group:sre@example.com", "roles/run.invoker"),
    }


def test_the_shipped_lock_serves_the_origin(plans: tuple[Path, Plan, Plan], tmp_path: Path) -> None:
    project, _, moving = plans
    artifacts = build_gcp(_context(project, moving))
    (shipped,) = [a.content for a in artifacts.files if a.path == "skaal.lock"]
    assert isinstance(shipped, str)
    (tmp_path / "skaal.lock").write_text(shipped)
    lock = read_lock(tmp_path / "skaal.lock")
    assert lock == moving
    assert serving_plan(lock).binding("Invoices").implementation == "firestore"
    (stack_yaml,) = [a.content for a in artifacts.files if a.path == "infra/Pulumi.dev.yaml"]
    assert "pulumi config set skaal:migrationInvokers" in str(stack_yaml)


def test_a_database_of_origins_only_is_retained_not_protected(tmp_path: Path) -> None:
    project, (_, moving) = _plans(
        tmp_path,
        {"Invoices": "firestore", "Carts": "firestore"},
        {"Invoices": "cloudsql-postgres", "Carts": "memorystore-redis"},
    )
    stack = _stack(project, moving)
    (database,) = stack.firestore
    assert database.retiring
    runner = _runner(stack)
    assert runner.connector is not None  # Memorystore is reached through the VPC connector
    assert _env(runner)["SKAAL_USED_RESOURCES"] == "Carts,Invoices"
    run = run_stack(stack, CONFIG)
    (created,) = run.of_type("gcp:firestore/database:Database")
    # retained, not protected: the deploy after the switch drops it from the stack and
    # leaves it, with its data, in the project (a protected one would fail that deploy)
    assert created.retain
    assert not created.protect
    assert created.inputs["deletionPolicy"] == "ABANDON"
    assert created.inputs["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
    settled = _stack(project, switched(moving, ["Invoices", "Carts"]))
    assert settled.firestore == ()
    assert settled.migration_runner is None


def test_the_build_accepts_the_move_and_refuses_what_it_cannot_provision(
    plans: tuple[Path, Plan, Plan],
) -> None:
    project, _, moving = plans
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    gcp = load_catalog("gcp")
    assert check_lock(moving, lock="skaal.lock", blueprint=blueprint, catalog=gcp, target="gcp")
    # an origin on a server the plan no longer has: the lock does not record its size
    on_server: Any = moving.binding("Invoices").model_copy(
        update={
            "resource": "Carts",
            "kind": "map",
            "moving_from": None,
            "instance": "cloudsql-postgres#9",
        }
    )
    back = moving.model_copy(
        update={
            "bindings": tuple(
                b.model_copy(update={"moving_from": on_server}) if b.resource == "Carts" else b
                for b in moving.bindings
            )
        }
    )
    with pytest.raises(
        BuildError,
        match=r"gcp build cannot provision: Carts .*cloudsql-postgres#9, which the plan no",
    ):
        _stack(project, back)


def test_the_plan_prices_the_kept_origin(plans: tuple[Path, Plan, Plan]) -> None:
    _, before, moving = plans
    binding = moving.binding("Invoices")
    (line,) = [c for c in binding.cost if c.component == ORIGIN_COMPONENT]
    assert line.monthly == before.binding("Invoices").monthly_cost
    assert line.monthly > 0
    after = switched(moving, ["Invoices"])
    assert not [c for c in after.binding("Invoices").cost if c.component == ORIGIN_COMPONENT]
    assert after.total_monthly_cost == pytest.approx(moving.total_monthly_cost - line.monthly)


def test_skaal_build_takes_the_moving_gcp_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    plan = ["plan", "shop.py:app", "--target", "gcp", "--pin", "Carts=firestore"]
    assert runner.invoke(cli, [*plan, "--pin", "Invoices=firestore"]).exit_code == 0
    moved = runner.invoke(cli, [*plan, "--pin", "Invoices=cloudsql-postgres"])
    assert moved.exit_code == 0, moved.output
    built = runner.invoke(cli, ["build", "shop.py:app", "--target", "gcp", "--out", "out"])
    assert built.exit_code == 0, built.output
    stack = json.loads((tmp_path / "out" / "gcp" / "infra" / "stack.json").read_text())
    assert stack["migration_runner"] == MIGRATION_ACCOUNT
