"""Adopting a server that replaces the one the build created is a move: the data is copied.

A map planned on the ``rds-postgres`` server the build creates, then adopted
onto an existing RDS instance (``existing=``), stays on the same backend,
yet its data is in the created server and the adopted one is empty.  The
plan records the move, names both ends in ``skaal plan``, and ``skaal
migrate`` copies every item from the created server into the adopted one
(each reached through its own connection variable), verifies and switches.
Real PostgreSQL (two databases standing for the two servers) and moto's
Secrets Manager for the adopted server's credentials.  Needs
SKAAL_TEST_POSTGRES_DSN and SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from click.testing import CliRunner

from skaal import App, Map
from skaal.catalog import load_catalog
from skaal.cli.main import cli
from skaal.migrate import migrate
from skaal.pipeline import FileLockStore, MemoryLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.plan.moves import pending_moves, serving_plan, switched
from skaal.plan.wiring import credentials_env, servers
from skaal.runtime import Runtime
from tests.runtime.servers.test_aws_moto import aws_env, raw

SERVER = "arn:aws:rds:us-east-1:123456789012:db:legacy-shop"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-db-AbCdEf"


def _app(name: str, existing: str | None) -> App:
    app = App(name)
    placed = {"existing": existing} if existing else {"backend": "rds-postgres"}

    @app.storage(size="1GB", **placed)  # type: ignore[arg-type]
    class Orders(Map[str, int]): ...

    return app


def test_adopting_a_server_in_place_of_the_created_one_is_a_move() -> None:
    lock, catalog = MemoryLockStore(), load_catalog("aws")
    plan_blueprint(_app("shop", None).blueprint(), catalog, lock=lock)
    adopted = _app("shop", f"{SERVER} secret={SECRET}").blueprint()
    first = plan_blueprint(adopted, catalog, lock=lock).plan
    (move,) = pending_moves(first)
    assert move.moving_from is not None
    assert (move.moving_from.backend, move.moving_from.instance, move.moving_from.adopted) == (
        "rds-postgres",
        "rds-postgres#1",
        None,
    )
    assert (move.backend, move.instance, move.adopted) == ("rds-postgres", None, "legacy-shop")
    other = _app("shop", f"{SERVER.replace('legacy-shop', 'new-shop')} secret={SECRET}")
    (again,) = pending_moves(plan_blueprint(other.blueprint(), catalog, lock=lock).plan)
    assert again.moving_from == move.moving_from  # the data is still on the created server
    done = switched(first, ["Orders"])  # migrated into legacy-shop; then adopting another
    (onward,) = pending_moves(
        plan_blueprint(other.blueprint(), catalog, lock=MemoryLockStore(done)).plan
    )
    assert (onward.moving_from and onward.moving_from.adopted, onward.adopted) == (
        "legacy-shop",
        "new-shop",
    )


def _carts(existing: str | None) -> App:
    app = App("shop")
    placed = {"existing": existing} if existing else {"backend": "dynamodb"}

    @app.storage(**placed)  # type: ignore[arg-type]
    class Carts(Map[str, int]): ...

    return app


def test_a_dynamodb_table_adopted_in_place_of_the_created_one_is_a_move() -> None:
    lock, catalog = MemoryLockStore(), load_catalog("aws")
    plan_blueprint(_carts(None).blueprint(), catalog, lock=lock)
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/legacy-carts"
    (move,) = pending_moves(plan_blueprint(_carts(table).blueprint(), catalog, lock=lock).plan)
    assert move.moving_from is not None
    assert (move.moving_from.backend, move.backend) == ("dynamodb", "dynamodb")
    assert (move.moving_from.adopted, move.adopted) == (None, "legacy-carts")


def test_the_two_ends_are_reached_through_their_own_variables() -> None:
    lock, catalog = MemoryLockStore(), load_catalog("aws")
    plan_blueprint(_app("shop", None).blueprint(), catalog, lock=lock)
    created = lock.plan
    assert created is not None
    moving = plan_blueprint(
        _app("shop", f"{SERVER} secret={SECRET}").blueprint(), catalog, lock=lock
    ).plan
    (source,) = servers(serving_plan(moving))
    (target,) = servers(switched(moving, ["Orders"]))
    assert (source.env, source.primary) == ("SKAAL_POSTGRES_DSN", True)
    assert (target.env, target.primary) == ("SKAAL_POSTGRES_DSN_ORDERS", False)


def test_skaal_plan_lists_the_move_into_the_adopted_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "shop.py"
    app.write_text(
        "import os\n"
        "from skaal import App, Map\n"
        "app = App('shop')\n"
        f"E = {f'{SERVER} secret={SECRET}'!r}\n"
        "placed = {'existing': E} if os.environ.get('ADOPT') else {'backend': 'rds-postgres'}\n"
        "@app.storage(**placed)\n"
        "class Orders(Map[str, int]): ...\n"
    )
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["plan", "shop.py:app", "--target", "aws"]).exit_code == 0
    result = runner.invoke(cli, ["plan", "shop.py:app", "--target", "aws"], env={"ADOPT": "1"})
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "~ Orders rds-postgres → rds-postgres (created → adopted legacy-shop)" in out
    assert (
        "move: Orders moves from rds-postgres (rds-postgres#1) (pinned) to rds-postgres "
        "(adopted legacy-shop): holds data" in out
    )
    shown = runner.invoke(
        cli, ["plan", "shop.py:app", "--target", "aws", "--json", "--no-write"], env={"ADOPT": "1"}
    )
    (move,) = json.loads(shown.stdout)["moves"]
    assert move == {
        "resource": "Orders",
        "from": "rds-postgres",
        "to": "rds-postgres",
        "from_adopted": None,
        "to_adopted": "legacy-shop",
    }


@pytest_asyncio.fixture
async def databases() -> AsyncIterator[tuple[str, str]]:
    """Two fresh databases on the tests' server: the created server and the adopted one."""
    dsn = os.environ.get("SKAAL_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("SKAAL_TEST_POSTGRES_DSN not set: start it (see .ci/services/20-postgres.sh)")
    names = [f"mig_{uuid.uuid4().hex[:10]}_{end}" for end in ("created", "adopted")]
    admin = await asyncpg.connect(dsn)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield tuple(urlunsplit(urlsplit(dsn)._replace(path=f"/{n}")) for n in names)  # type: ignore[misc]
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.asyncio
async def test_migrate_copies_the_created_servers_data_into_the_adopted_one(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    created_dsn, adopted_dsn = databases
    env = aws_env()
    parts = urlsplit(adopted_dsn)
    secret = raw("secretsmanager", env).create_secret(
        Name=f"legacy-shop-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": parts.username, "password": "any"}),
    )["ARN"]
    name = f"adopt{uuid.uuid4().hex[:6]}"
    lock, catalog = tmp_path / "skaal.lock", load_catalog("aws")
    before = _app(name, None)
    plan = plan_blueprint(before.blueprint(), catalog, lock=FileLockStore(lock)).plan
    (created,) = servers(plan)
    env[created.env] = created_dsn
    async with Runtime.open(before, plan, env=env, project_dir=tmp_path) as runtime:
        orders: Map[str, int] = runtime.client_named("Orders")  # type: ignore[assignment]
        for i in range(250):
            await orders.set(f"o-{i:03}", i)

    after = _app(name, f"{SERVER} secret={secret}")
    moving = plan_blueprint(after.blueprint(), catalog, lock=FileLockStore(lock)).plan
    assert [b.resource for b in pending_moves(moving)] == ["Orders"]
    (adopted,) = [s for s in servers(moving) if s.id == "Orders"]
    env |= {adopted.env: adopted_dsn, credentials_env(adopted.env): secret}

    (result,) = await migrate(after.blueprint(), lock, env=env, project_dir=tmp_path, batch=100)
    assert (result.resource, result.source, result.target) == (
        "Orders",
        "postgres@us-east-1 (rds-postgres#1)",
        "postgres@us-east-1 (adopted legacy-shop)",
    )
    done = read_lock(lock)
    assert done is not None
    assert pending_moves(done) == ()
    async with Runtime.open(after, done, env=env, project_dir=tmp_path) as runtime:
        orders = runtime.client_named("Orders")  # type: ignore[assignment]
        assert await orders.get("o-123") == 123
    connection = await asyncpg.connect(adopted_dsn)
    try:
        count = await connection.fetchval(f'SELECT count(*) FROM "skaal_{name}"."map_Orders"')
    finally:
        await connection.close()
    assert count == 250  # in the adopted server itself
