"""Pending moves in the plan: recorded by a re-plan, kept while pending, shown by ``skaal plan``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.builder.inputs import check_lock
from skaal.catalog import load_catalog
from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.bill import bill_of
from skaal.plan.lock import lock_text, read_lock
from skaal.plan.model import Plan
from skaal.plan.moves import ORIGIN_COMPONENT, estimate, pending_moves, serving_plan, switched
from skaal.runtime.runtime import Runtime


def _plan(project: Path, **pins: str) -> Plan:
    app = load_app("shop.py:app", cwd=project)
    outcome = plan_blueprint(
        app.blueprint(),
        load_catalog("local-servers"),
        lock=FileLockStore(project / "skaal.lock"),
        pins=pins,
    )
    stored = read_lock(project / "skaal.lock")
    assert stored == outcome.plan  # the lock round-trips the moves exactly
    return outcome.plan


def _moves(plan: Plan) -> dict[str, tuple[str, str]]:
    return {
        b.resource: (b.moving_from.backend, b.backend)
        for b in pending_moves(plan)
        if b.moving_from is not None
    }


def test_a_moved_data_resource_is_a_pending_move(project: Path) -> None:
    _plan(project, Orders="sqlite", Invoices="sqlite", Jobs="sqlite")
    plan = _plan(project, Orders="postgres", Invoices="postgres", Jobs="postgres")
    # the queue's messages are not migrated: drained, not moved
    assert _moves(plan) == {"Orders": ("sqlite", "postgres"), "Invoices": ("sqlite", "postgres")}
    assert "[bindings.moving_from]" in lock_text(plan)


def test_the_origin_is_kept_while_pending_and_the_move_dropped_when_placed_back(
    project: Path,
) -> None:
    _plan(project, Orders="sqlite")
    _plan(project, Orders="postgres")
    assert _moves(_plan(project, Orders="redis")) == {"Orders": ("sqlite", "redis")}
    again = _plan(project, Orders="redis")
    assert again.content_hash() == _plan(project, Orders="redis").content_hash()  # stable
    assert _moves(_plan(project, Orders="sqlite")) == {}


def test_the_first_plan_and_a_plan_without_moves_record_none(project: Path) -> None:
    first = _plan(project, Orders="sqlite")
    assert pending_moves(first) == ()
    assert "moving_from" not in first.canonical_json()  # hashes as before moves existed
    assert pending_moves(_plan(project, Orders="sqlite")) == ()


def test_the_runtime_view_serves_the_origin_until_switched(project: Path) -> None:
    _plan(project, Orders="sqlite")
    plan = _plan(project, Orders="postgres")
    assert serving_plan(plan).binding("Orders").backend == "sqlite"
    done = switched(plan, ["Orders"])
    assert pending_moves(done) == ()
    assert serving_plan(done).binding("Orders").backend == "postgres"
    assert done.content_hash() != plan.content_hash()


def test_estimate_uses_the_declared_size(project: Path) -> None:
    app = load_app("shop.py:app", cwd=project)
    specs = {s.name: s for s in app.blueprint().resources}
    _plan(project, Orders="sqlite")
    orders = _plan(project, Orders="postgres").binding("Orders")
    assert estimate(orders, specs["Orders"]) == "1 GB declared: about 9 min at 2 MB/s"
    assert estimate(orders, specs["Invoices"]).startswith("size not declared")


@pytest.mark.parametrize("as_json", [False, True])
def test_skaal_plan_says_what_moves_and_what_to_run(
    project: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    monkeypatch.chdir(project)
    runner = CliRunner()
    args = ["plan", "shop.py:app", "--catalog", "local-servers"]
    assert runner.invoke(cli, [*args, "--pin", "Orders=sqlite"]).exit_code == 0
    result = runner.invoke(cli, [*args, "--pin", "Orders=postgres", *(["--json"] * as_json)])
    assert result.exit_code == 0, result.output
    if as_json:
        assert '"moves": [' in result.output
        assert '"from": "sqlite"' in result.output
    else:
        text = " ".join(result.output.split())
        assert "Orders moves from sqlite (pinned) to postgres" in text
        assert "holds data (1 GB declared: about 9 min at 2 MB/s)" in text
        assert "served from sqlite until `skaal migrate` copies and switches it" in text


def test_aws_gcp_and_local_builds_take_a_pending_move(project: Path) -> None:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    lock = FileLockStore(project / "skaal.lock")
    aws = load_catalog("aws")
    plan_blueprint(blueprint, aws, lock=lock, pins={"Orders": "dynamodb"})
    moving = plan_blueprint(blueprint, aws, lock=lock, pins={"Orders": "rds-postgres"}).plan
    assert pending_moves(moving)
    assert check_lock(moving, lock="skaal.lock", blueprint=blueprint, catalog=aws, target="aws")
    gcp = load_catalog("gcp")
    plan_blueprint(blueprint, gcp, lock=lock, pins={"Orders": "firestore"})
    on_gcp = plan_blueprint(blueprint, gcp, lock=lock, pins={"Orders": "cloudsql-postgres"}).plan
    assert pending_moves(on_gcp)
    assert check_lock(on_gcp, lock="skaal.lock", blueprint=blueprint, catalog=gcp, target="gcp")
    local = load_catalog("local-servers")
    _plan(project, Orders="sqlite")
    served_locally = _plan(project, Orders="postgres")
    assert pending_moves(served_locally)
    assert check_lock(
        served_locally, lock="skaal.lock", blueprint=blueprint, catalog=local, target="local"
    )


def test_the_runtime_serves_a_pending_move_from_its_origin(project: Path) -> None:
    app = load_app("shop.py:app", cwd=project)
    catalog = load_catalog("local")
    lock = FileLockStore(project / "skaal.lock")
    plan_blueprint(app.blueprint(), catalog, lock=lock, pins={"Orders": "memory"})
    plan = plan_blueprint(app.blueprint(), catalog, lock=lock, pins={"Orders": "sqlite"}).plan
    assert plan.binding("Orders").backend == "sqlite"

    async def served() -> tuple[str, str]:
        async with Runtime.open(app, plan, project_dir=project) as runtime:
            before = runtime.binding("Orders").backend
        async with Runtime.open(app, switched(plan, ["Orders"]), project_dir=project) as runtime:
            return before, runtime.binding("Orders").backend

    assert asyncio.run(served()) == ("memory", "sqlite")


def test_the_origin_is_priced_until_the_switch(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    lock = FileLockStore(project / "skaal.lock")
    aws = load_catalog("aws")
    plan_blueprint(blueprint, aws, lock=lock, pins={"Orders": "dynamodb"})
    moving = plan_blueprint(blueprint, aws, lock=lock, pins={"Orders": "rds-postgres"}).plan
    binding = moving.binding("Orders")
    assert binding.moving_from is not None
    kept = binding.moving_from.monthly_cost
    assert kept > 0
    (line,) = [c for c in binding.cost if c.component == ORIGIN_COMPONENT]
    assert line.monthly == kept
    bill = bill_of(moving)
    assert bill.total == moving.total_monthly_cost
    assert [x.monthly for x in bill.lines if x.component == ORIGIN_COMPONENT] == [kept]
    done = switched(moving, ["Orders"])
    assert not [c for c in done.binding("Orders").cost if c.component == ORIGIN_COMPONENT]
    assert done.total_monthly_cost == pytest.approx(moving.total_monthly_cost - kept)
    assert bill_of(done).total == done.total_monthly_cost
    # a re-plan keeping the move prices the origin once
    again = plan_blueprint(blueprint, aws, lock=lock, pins={"Orders": "rds-postgres"}).plan
    assert again.total_monthly_cost == moving.total_monthly_cost
    monkeypatch.chdir(project)
    cost = CliRunner().invoke(cli, ["cost", "shop.py:app", "--json"])
    assert cost.exit_code == 0, cost.output
    lines = json.loads(cost.output)["lines"]
    (origin,) = [x for x in lines if x["component"] == ORIGIN_COMPONENT]
    assert (origin["owner"], origin["monthly"]) == ("Orders", kept)
    shown = CliRunner().invoke(
        cli, ["plan", "shop.py:app", "--target", "aws", "--pin", "Orders=rds-postgres"]
    )
    assert "kept until the migration switches" in " ".join(shown.output.split())


def test_a_re_plan_holds_each_unchanged_binding_once(project: Path) -> None:
    _plan(project, Orders="sqlite")
    app = load_app("shop.py:app", cwd=project)
    outcome = plan_blueprint(
        app.blueprint(),
        load_catalog("local-servers"),
        lock=FileLockStore(project / "skaal.lock"),
        pins={"Orders": "postgres"},
    )
    assert outcome.previous is not None
    before = {b.resource: b for b in outcome.previous.bindings}
    moved = outcome.plan.binding("Orders")
    assert moved is not before["Orders"]
    assert moved.moving_from is not None
    kept = [b for b in outcome.plan.bindings if b.resource != "Orders"]
    assert kept
    assert all(b is before[b.resource] for b in kept)


def test_a_re_plan_that_changes_nothing_is_the_previous_plan(project: Path) -> None:
    _plan(project, Orders="sqlite")
    app = load_app("shop.py:app", cwd=project)
    outcome = plan_blueprint(
        app.blueprint(),
        load_catalog("local-servers"),
        lock=FileLockStore(project / "skaal.lock"),
        pins={"Orders": "sqlite"},
    )
    assert outcome.plan is outcome.previous
    assert outcome.diff.is_empty
