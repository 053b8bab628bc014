"""A move between two PostgreSQL servers of one plan, the origin's server kept: real PostgreSQL.

``Users`` and ``Orders`` are planned on the aws Multi-AZ RDS server, then
``Orders`` is pinned to a single-AZ one while ``Users`` stays.  The build
gives each server its own variable (:func:`skaal.plan.wiring.servers`, the
new server the plain ``SKAAL_POSTGRES_DSN``); the runtime, which serves
``Orders`` from its origin until the switch, must read the Multi-AZ server
from that server's own variable, not from the plain one.  Two databases of
the test server stand for the two RDS servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.migrate import migrate
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.plan.wiring import servers
from skaal.runtime.runtime import Runtime

pytestmark = pytest.mark.asyncio

APP = """
from skaal import App, Map

app = App("shop")


@app.storage()
class Users(Map[str, int]): ...


@app.storage()
class Orders(Map[str, int]): ...
"""


@pytest_asyncio.fixture
async def databases() -> AsyncIterator[tuple[str, str]]:
    """Two fresh databases (the kept server's, the new server's) on the test server."""
    dsn = os.environ.get("SKAAL_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("SKAAL_TEST_POSTGRES_DSN not set: start postgres (.ci/services/20-postgres.sh)")
    names = [f"srv_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = await asyncpg.connect(dsn)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        base = dsn.rsplit("/", 1)[0]
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _orders(dsn: str) -> int:
    """How many Orders entries the database ``dsn`` holds (0 without its table)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name ILIKE '%orders%'"
        )
        total = 0
        for row in tables:
            total += await conn.fetchval(
                f'SELECT count(*) FROM "{row["table_schema"]}"."{row["table_name"]}"'
            )
        return total
    finally:
        await conn.close()


async def test_the_origin_server_is_read_from_its_own_variable(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    kept, new = databases
    (tmp_path / "shop.py").write_text(APP)
    app = load_app("shop.py:app", cwd=tmp_path)
    lock = FileLockStore(tmp_path / "skaal.lock")
    aws = load_catalog("aws")
    multi = "rds-postgres-multi-az"
    plan_blueprint(app.blueprint(), aws, lock=lock, pins={"Users": multi, "Orders": multi})
    moving = plan_blueprint(
        app.blueprint(), aws, lock=lock, pins={"Users": multi, "Orders": "rds-postgres"}
    ).plan
    origin = moving.binding("Orders").moving_from
    assert origin is not None
    assert origin.instance is not None
    variables = {s.id: s.env for s in servers(moving)}
    destination = moving.binding("Orders").instance
    assert destination is not None
    assert variables[destination] == "SKAAL_POSTGRES_DSN"  # the new server sorts first
    env = {variables[origin.instance]: kept, variables[destination]: new}

    async with Runtime.open(app, moving, env=env, project_dir=tmp_path) as runtime:
        orders = runtime.store_named("Orders")
        await orders.set_many({f"o{i}": b"%d" % i for i in range(7)})
    assert await _orders(kept) == 7  # written to the origin, on the kept server
    assert await _orders(new) == 0

    (result,) = await migrate(app.blueprint(), tmp_path / "skaal.lock", env=env)
    assert result.copied == 7
    assert result.switched
    switched = read_lock(tmp_path / "skaal.lock")
    assert switched.binding("Orders").moving_from is None
    assert await _orders(new) == 7
    async with Runtime.open(app, switched, env=env, project_dir=tmp_path) as runtime:
        assert await runtime.store_named("Orders").get("o3") == b"3"


async def test_a_retiring_origin_server_is_copied_to_the_destination_not_onto_itself(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    """Orders leaves ``rds-postgres#1`` (which then holds nothing: Users is on DynamoDB) for
    the Multi-AZ server.  Seen with the move switched, the plan has only the Multi-AZ server,
    which would take the plain variable -- the origin's: the copy must still reach it by its
    own variable in the deployed lock."""
    kept, new = databases
    (tmp_path / "shop.py").write_text(APP)
    app = load_app("shop.py:app", cwd=tmp_path)
    lock = FileLockStore(tmp_path / "skaal.lock")
    aws = load_catalog("aws")
    plan_blueprint(
        app.blueprint(), aws, lock=lock, pins={"Users": "dynamodb", "Orders": "rds-postgres"}
    )
    moving = plan_blueprint(
        app.blueprint(),
        aws,
        lock=lock,
        pins={"Users": "dynamodb", "Orders": "rds-postgres-multi-az"},
    ).plan
    (retiring,) = moving.retiring
    variables = {s.id: s.env for s in servers(moving)}
    destination = moving.binding("Orders").instance
    assert destination is not None
    assert variables[retiring.id] == "SKAAL_POSTGRES_DSN"  # the origin sorts first
    env = {variables[retiring.id]: kept, variables[destination]: new}
    blueprint = app.blueprint()
    orders = blueprint.model_copy(
        update={"resources": tuple(s for s in blueprint.resources if s.name == "Orders")}
    )

    async with Runtime.open(orders, moving, env=env, project_dir=tmp_path) as runtime:
        await runtime.store_named("Orders").set_many({f"o{i}": b"%d" % i for i in range(5)})
    assert await _orders(kept) == 5

    (result,) = await migrate(blueprint, tmp_path / "skaal.lock", env=env)
    assert result.copied == 5
    assert result.switched
    assert await _orders(new) == 5  # on the Multi-AZ server, not copied onto the origin
    assert await _orders(kept) == 5  # the origin keeps its data
