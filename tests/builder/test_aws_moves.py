"""An aws build of a lock with a pending move: both ends, the runtime on the origin, the copier.

``Invoices`` (a durable collection) is planned on DynamoDB, then pinned to
RDS PostgreSQL: the lock records the move.  Its build must create the
DynamoDB table exactly as the build before the move did (same key, name and
settings, retained and deletion-protected, but no longer protected in
Pulumi's state, so that the deploy after the switch may drop it from the
stack), the RDS instance the plan places it on, roles covering both ends,
and the migration function with a role on the moving resource's two ends
only.  After ``skaal migrate`` switches the lock, the build no longer has the
table (retained by Pulumi: left in the account) nor the migration function.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skaal.builder.inputs import check_lock
from skaal.builder.stacks.aws import AwsStack, Function
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.aws_moves import MIGRATION_FUNCTION, MIGRATION_TIMEOUT_S
from skaal.builder.targets.aws_servers import server_ref
from skaal.builder.targets.aws_stack import aws_stack
from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.errors import BuildError
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.plan.model import Plan
from skaal.plan.moves import serving_plan, switched
from skaal.plan.wiring import migration_function_name
from tests.builder.aws_support import AwsRun, app_context, run_program, write_with_layer

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


@app.storage()
class Carts(Map[str, Order]): ...


@app.function(http=True)
async def bill(owner: str) -> int:
    return len((await Invoices.find(limit=10)).items)


@app.function(http=True)
async def cart(owner: str) -> Order | None:
    return await Carts.get(owner)
"""


def _plan(project: Path, **pins: str) -> Plan:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    lock = FileLockStore(project / "skaal.lock")
    return plan_blueprint(blueprint, load_catalog("aws"), lock=lock, pins=pins).plan


def _stack(project: Path, plan: Plan) -> AwsStack:
    app = load_app("shop.py:app", cwd=project)
    return aws_stack(app_context(app.blueprint(), plan, "shop:app"))


def _run(project: Path, plan: Plan, folder: Path) -> AwsRun:
    app = load_app("shop.py:app", cwd=project)
    artifacts = build_aws(app_context(app.blueprint(), plan, "shop:app"))
    return run_program(write_with_layer(artifacts, folder))


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan, Plan]:
    project = tmp_path_factory.mktemp("moves")
    (project / "shop.py").write_text(APP)
    before = _plan(project, Invoices="dynamodb", Carts="dynamodb")
    moving = _plan(project, Invoices="rds-postgres", Carts="dynamodb")
    assert moving.binding("Invoices").moving_from is not None
    return project, before, moving


def _on_a_gone_server(plan: Plan, resource: str) -> Any:
    """``resource`` on a PostgreSQL server the plan no longer has (an origin on a server)."""
    return plan.binding("Invoices").model_copy(
        update={
            "resource": resource,
            "kind": "map",
            "moving_from": None,
            "instance": "rds-postgres#9",
        }
    )


def _lambda(run: AwsRun, function: str) -> str:
    """The Lambda name of declared ``function`` (its environment's ``SKAAL_FUNCTION``)."""
    (found,) = [
        f.inputs["name"]
        for f in run.of_type("aws:lambda/function:Function")
        if f.inputs["environment"]["variables"].get("SKAAL_FUNCTION") == function
    ]
    name: str = found
    return name


def _function(stack: AwsStack, name: str) -> Function:
    (found,) = [f for f in stack.functions if f.name == name]
    return found


def test_the_origin_is_provisioned_as_before_the_move(plans: tuple[Path, Plan, Plan]) -> None:
    project, before, moving = plans
    old, new = _stack(project, before), _stack(project, moving)
    (origin,) = [t for t in new.tables if t.resource == "Invoices"]
    assert origin.retiring
    same = origin.model_copy(update={"retiring": False})
    assert same == next(t for t in old.tables if t.resource == "Invoices")
    assert [d.backend for d in new.databases] == ["rds-postgres"]  # the destination
    assert new.networks  # the server's VPC
    settled = _stack(project, switched(moving, ["Invoices"]))
    assert [t.resource for t in settled.tables] == ["Carts"]  # dropped after the switch
    assert all(f.name != MIGRATION_FUNCTION for f in settled.functions)
    assert all(f.name != MIGRATION_FUNCTION for f in old.functions)


def test_roles_cover_both_ends_and_the_copier_only_the_move(
    plans: tuple[Path, Plan, Plan],
) -> None:
    project, _, moving = plans
    stack = _stack(project, moving)
    bill = _function(stack, "bill")
    assert bill.vpc  # reaches the destination's server
    refs = {r.ref for s in bill.statements for r in s.resources if not isinstance(r, str)}
    assert "Invoices" in refs  # the origin table
    server = server_ref(moving.binding("Invoices").instance or "Invoices")
    assert server in refs  # the destination server's credentials
    copier = _function(stack, MIGRATION_FUNCTION)
    assert copier.lambda_name == migration_function_name("shop")
    assert copier.timeout_s == MIGRATION_TIMEOUT_S
    assert copier.route is None
    assert copier.vpc
    assert copier.env["SKAAL_USED_RESOURCES"] == "Invoices"
    granted = {
        (s.sid, r.ref) for s in copier.statements for r in s.resources if not isinstance(r, str)
    }
    assert ("TableInvoices", "Invoices") in granted
    assert not any(ref == "Carts" for _, ref in granted)  # nothing on the other resources
    server = server_ref(moving.binding("Invoices").instance or "Invoices")
    assert any(ref == server for _, ref in granted)  # the destination's credentials


def test_the_program_creates_both_ends_and_the_migration_lambda(
    plans: tuple[Path, Plan, Plan], tmp_path: Path
) -> None:
    project, _, moving = plans
    run = _run(project, moving, tmp_path)
    tables = {t.name: t for t in run.of_type("aws:dynamodb/table:Table")}
    assert set(tables) == {"Invoices", "Carts"}
    # retained, not protected: the deploy after the switch drops it from the stack and
    # leaves it, with its data, in the account (a protected one would fail that deploy)
    assert tables["Invoices"].retain
    assert not tables["Invoices"].protect
    assert tables["Invoices"].inputs["deletionProtectionEnabled"] is True
    assert tables["Carts"].protect
    assert run.of_type("aws:rds/instance:Instance")
    lambdas = {f.inputs["name"]: f for f in run.of_type("aws:lambda/function:Function")}
    copier = lambdas[migration_function_name("shop")]
    assert copier.inputs["timeout"] == MIGRATION_TIMEOUT_S
    assert copier.inputs["vpcConfig"]["subnetIds"]
    policy = run.named(f"{migration_function_name('shop')}-policy").inputs["policy"]
    statements: list[dict[str, Any]] = json.loads(policy)["Statement"]
    resources = {r for s in statements for r in s["Resource"]} - {"*"}
    carts = tables["Carts"].outputs["arn"]
    assert tables["Invoices"].outputs["arn"] in resources
    assert carts not in resources
    # the functions ship the lock with the move: their runtime serves the origin
    shipped = read_lock(tmp_path / "app" / "skaal.lock")
    assert shipped == moving
    assert serving_plan(shipped).binding("Invoices").implementation == "dynamodb"
    # and their roles reach both ends: the origin table and the destination's credentials
    bill = json.loads(run.named(f"{_lambda(run, 'bill')}-policy").inputs["policy"])["Statement"]
    reached = {r for s in bill for r in s["Resource"]}
    assert tables["Invoices"].outputs["arn"] in reached
    (database,) = run.of_type("aws:rds/instance:Instance")
    assert database.outputs["masterUserSecrets"][0]["secretArn"] in reached
    assert database.outputs["masterUserSecrets"][0]["secretArn"] in resources


def test_the_build_accepts_the_move_on_aws_and_refuses_what_it_cannot_provision(
    plans: tuple[Path, Plan, Plan],
) -> None:
    project, _, moving = plans
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    aws = load_catalog("aws")
    assert check_lock(moving, lock="skaal.lock", blueprint=blueprint, catalog=aws, target="aws")
    # an origin on a server the plan no longer has: the lock does not record its size
    back = moving.model_copy(
        update={
            "bindings": tuple(
                b.model_copy(update={"moving_from": _on_a_gone_server(moving, b.resource)})
                if b.resource == "Carts"
                else b
                for b in moving.bindings
            )
        }
    )
    with pytest.raises(
        BuildError,
        match=r"Carts .*: its origin is on postgres server rds-postgres#9, which the plan no",
    ):
        _stack(project, back)
    assert read_lock(project / "skaal.lock") == moving


SPLIT = APP.replace(
    "@app.storage()\nclass Invoices", '@app.storage(residency="eu")\nclass Invoices'
).replace("@app.function(http=True)\nasync def bill", "@app.function(http=False)\nasync def bill")


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan]:
    """Invoices (in the eu) and Carts (in the us) both moving from DynamoDB to RDS."""
    project = tmp_path_factory.mktemp("split")
    (project / "shop.py").write_text(SPLIT)
    _plan(project, Invoices="dynamodb", Carts="dynamodb")
    moving = _plan(project, Invoices="rds-postgres", Carts="rds-postgres")
    assert {b.resource: b.region for b in moving.bindings if b.moving_from} == {
        "Carts": "us-east-1",
        "Invoices": "eu-west-1",
    }
    return project, moving


def test_moves_of_two_regions_get_a_migration_function_each(split: tuple[Path, Plan]) -> None:
    project, moving = split
    stack = _stack(project, moving)
    copiers = {f.region: f for f in stack.functions if f.name.startswith(MIGRATION_FUNCTION)}
    assert set(copiers) == {"eu-west-1", "us-east-1"}
    assert stack.region == "us-east-1"
    home, away = copiers["us-east-1"], copiers["eu-west-1"]
    assert home.name == MIGRATION_FUNCTION  # the stack region's keeps the plain names
    # the same Lambda name in each region (skaal migrate invokes it there); IAM is global
    assert home.lambda_name == away.lambda_name == migration_function_name("shop")
    assert len({home.id, away.id}) == len({home.role_name, away.role_name}) == 2
    assert len({f.name for f in stack.functions}) == len(stack.functions)
    assert (home.env["SKAAL_USED_RESOURCES"], away.env["SKAAL_USED_RESOURCES"]) == (
        "Carts",
        "Invoices",
    )
    networks = {n.ref: n.region for n in stack.networks}
    assert networks[home.network or ""] == "us-east-1"
    assert networks[away.network or ""] == "eu-west-1"
    for copier, own, other in ((home, "Carts", "Invoices"), (away, "Invoices", "Carts")):
        refs = {r.ref for s in copier.statements for r in s.resources if not isinstance(r, str)}
        assert own in refs
        assert other not in refs
        assert server_ref(moving.binding(own).instance or own) in refs
        assert server_ref(moving.binding(other).instance or other) not in refs


def test_the_program_creates_one_migration_lambda_per_region(
    split: tuple[Path, Plan], tmp_path: Path
) -> None:
    project, moving = split
    run = _run(project, moving, tmp_path)
    name = migration_function_name("shop")
    copiers = [f for f in run.of_type("aws:lambda/function:Function") if f.inputs["name"] == name]
    assert len(copiers) == 2
    tables = {t.name: t.outputs["arn"] for t in run.of_type("aws:dynamodb/table:Table")}
    for copier in copiers:
        used = copier.inputs["environment"]["variables"]["SKAAL_USED_RESOURCES"]
        policy = run.named(f"{copier.name}-policy").inputs["policy"]
        granted = {r for s in json.loads(policy)["Statement"] for r in s["Resource"]}
        assert tables[used] in granted
        assert not {arn for table, arn in tables.items() if table != used} & granted


def test_a_move_between_two_tables_of_one_resource_is_refused_saying_why(
    plans: tuple[Path, Plan, Plan],
) -> None:
    project, _, moving = plans
    carts = moving.binding("Carts")
    across = moving.model_copy(
        update={
            "bindings": tuple(
                b.model_copy(
                    update={"moving_from": carts.model_copy(update={"region": "eu-west-1"})}
                )
                if b.resource == "Carts"
                else b
                for b in moving.bindings
            )
        }
    )
    with pytest.raises(BuildError, match=r"Carts .*: both ends are dynamodb: .*replacing") as e:
        _stack(project, across)
    assert "skaal plan --pin Carts=dynamodb" in str(e.value)
