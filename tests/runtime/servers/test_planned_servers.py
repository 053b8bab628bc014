"""Two planned servers of one implementation are two servers at run time.

A catalog that lets one Redis (or PostgreSQL) server hold only one of the
app's resources makes the solver open a second instance; the runtime must
then store each resource on the server the plan put it on, reached through
that server's own variable (:func:`skaal.plan.wiring.servers`).  Two Redis
"servers" are two database numbers of the test server, two PostgreSQL ones
two databases of it: each test reads both back with a plain client and finds
each resource's data in its own place only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.plan.model import Plan
from skaal.plan.wiring import servers
from skaal.runtime import Runtime
from skaal.runtime.clients import MapClient
from skaal.solver import solve

pytestmark = pytest.mark.asyncio

_CATALOG = """\
schema_version = 2
name = "two-servers"
extends = "local-servers"
description = "local-servers where one {backend} server holds one resource, two at most"

[backends.{backend}.server]
quota = 2

[backends.{backend}.server.classes.local]
size_gb = 1.0
reads_per_s = 50000.0
writes_per_s = 2000.0
resources = 1
"""


def _variable(name: str, script: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} not set: start the server (see .ci/services/{script})")
    return value


def _two_server_plan(tmp_path: Path, backend: str) -> tuple[App, Plan]:
    path = tmp_path / "two-servers.toml"
    path.write_text(_CATALOG.format(backend=backend))
    app = App("instances")

    @app.storage(backend=backend, durability="ephemeral")
    class First(Map[str, str]): ...

    @app.storage(backend=backend, durability="ephemeral")
    class Second(Map[str, str]): ...

    plan = solve(app.blueprint(), load_catalog(path))
    assert plan.binding("First").instance != plan.binding("Second").instance
    return app, plan


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


async def _write_both(app: App, plan: Plan, env: dict[str, str], tmp_path: Path) -> None:
    async with Runtime.open(app, plan, env=env, data_dir=tmp_path) as runtime:
        first = runtime.client_named("First")
        second = runtime.client_named("Second")
        assert isinstance(first, MapClient)
        assert isinstance(second, MapClient)
        await first.set("k", "on-first")
        await second.set("k", "on-second")
        assert await first.get("k") == "on-first"
        assert await second.get("k") == "on-second"


@pytest_asyncio.fixture
async def redis_dbs() -> AsyncIterator[tuple[str, str]]:
    base = _variable("SKAAL_TEST_REDIS_URL", "10-redis.sh")
    urls = (_with_path(base, "/5"), _with_path(base, "/6"))
    yield urls
    for url in urls:
        client = Redis.from_url(url)
        try:
            keys = [k async for k in client.scan_iter(match="test:instances:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


async def test_each_redis_resource_lives_on_its_planned_server(
    tmp_path: Path, redis_dbs: tuple[str, str]
) -> None:
    app, plan = _two_server_plan(tmp_path, "redis")
    first, second = servers(plan)
    assert (first.env, second.env) == ("SKAAL_REDIS_URL", "SKAAL_REDIS_URL_REDIS_2")
    prefix = f"test:instances:{uuid.uuid4().hex[:8]}:"
    env = {first.env: redis_dbs[0], second.env: redis_dbs[1], "SKAAL_REDIS_PREFIX": prefix}
    await _write_both(app, plan, env, tmp_path)
    found: dict[str, set[str]] = {}
    for server, url in zip((first, second), redis_dbs, strict=True):
        client = Redis.from_url(url)
        try:
            keys = [k.decode() async for k in client.scan_iter(match=prefix + "m:*:v:*")]
        finally:
            await client.aclose()
        found[server.id] = {key.split(":")[-3] for key in keys}
    assert found == {first.id: set(first.resources), second.id: set(second.resources)}
    assert {*first.resources, *second.resources} == {"First", "Second"}


async def test_redis_refuses_to_start_without_the_second_servers_variable(
    tmp_path: Path, redis_dbs: tuple[str, str]
) -> None:
    app, plan = _two_server_plan(tmp_path, "redis")
    env = {"SKAAL_REDIS_URL": redis_dbs[0], "SKAAL_REDIS_PREFIX": "test:instances:x:"}
    with pytest.raises(SkaalRuntimeError) as caught:
        async with Runtime.open(app, plan, env=env, data_dir=tmp_path):
            pass
    message = caught.value.render()
    assert "SKAAL_REDIS_URL_REDIS_2 is not set" in message
    assert servers(plan)[1].resources[0] in message


@pytest_asyncio.fixture
async def postgres_dbs() -> AsyncIterator[tuple[str, str]]:
    base = _variable("SKAAL_TEST_POSTGRES_DSN", "20-postgres.sh")
    names = [f"skaal_inst_{uuid.uuid4().hex[:8]}_{n}" for n in (1, 2)]
    admin = await asyncpg.connect(base)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield (_with_path(base, f"/{names[0]}"), _with_path(base, f"/{names[1]}"))
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_each_postgres_resource_lives_on_its_planned_server(
    tmp_path: Path, postgres_dbs: tuple[str, str]
) -> None:
    app, plan = _two_server_plan(tmp_path, "postgres")
    first, second = servers(plan)
    assert (first.env, second.env) == ("SKAAL_POSTGRES_DSN", "SKAAL_POSTGRES_DSN_POSTGRES_2")
    env = {first.env: postgres_dbs[0], second.env: postgres_dbs[1]}
    await _write_both(app, plan, env, tmp_path)
    found: dict[str, set[str]] = {}
    for server, dsn in zip((first, second), postgres_dbs, strict=True):
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'skaal_instances'"
            )
            found[server.id] = set()
            for row in rows:
                table = row["table_name"]
                value = await conn.fetchval(
                    f'SELECT value FROM skaal_instances."{table}" WHERE key = $1', "k"
                )
                assert value is not None
                found[server.id].add(table.removeprefix("map_"))
        finally:
            await conn.close()
    assert found == {first.id: set(first.resources), second.id: set(second.resources)}
    assert {*first.resources, *second.resources} == {"First", "Second"}
