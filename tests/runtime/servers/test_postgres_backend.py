"""The postgres backend beyond the conformance suite: indexes, locking, errors, run."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from pydantic import BaseModel

from skaal import App, Collection, Index
from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.runtime.backends.postgres import PostgresProvider
from skaal.runtime.backends.postgres_support import (
    PostgresBackendError,
    PostgresConnection,
    PostgresUnavailableError,
    ident,
)
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import RetryPolicy
from skaal.solver import solve

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[3]


def postgres_dsn() -> str:
    dsn = os.environ.get("SKAAL_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip(
            "SKAAL_TEST_POSTGRES_DSN not set: start postgres (see .ci/services/20-postgres.sh)"
        )
    return dsn


def settings(env: dict[str, str], tmp_path: Path, clock: Any = time.time) -> BackendSettings:
    return BackendSettings(
        app="pg-tests", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=clock
    )


def spec(name: str, kind: Any = "map", **extra: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
        **extra,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def drop(schema: str) -> None:
    conn = await asyncpg.connect(postgres_dsn())
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def schema() -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    await drop(name)


@pytest_asyncio.fixture
async def provider(schema: str, tmp_path: Path) -> AsyncIterator[PostgresProvider]:
    env = {"SKAAL_POSTGRES_DSN": postgres_dsn(), "SKAAL_POSTGRES_SCHEMA": schema}
    provider = PostgresProvider(settings(env, tmp_path))
    await provider.open()
    yield provider
    await provider.close()


async def test_declared_indexes_are_real_and_used(provider: PostgresProvider, schema: str) -> None:
    store = provider.documents(spec("Todos", "collection", key_field="id", indexes=("owner",)))
    await store.open()
    for i in range(50):
        await store.put(f"{i:03d}", b"{}", {"owner": "ada" if i % 2 else "bob"})

    async def explain(conn: Any) -> str:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            rows = await conn.fetch(
                f'EXPLAIN SELECT key FROM "{schema}"."col_Todos" '
                "WHERE (fields -> 'owner') = '\"ada\"'::jsonb ORDER BY key"
            )
        return "\n".join(r[0] for r in rows)

    plan = await provider.connection.run("test", "explain", explain)
    assert "col_Todos_by_owner" in plan
    found = await store.find({"owner": "ada"}, limit=100)
    assert len(found.items) == 25


async def test_a_collection_table_from_before_expiry_gains_it(schema: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(postgres_dsn())
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(
            f'CREATE TABLE "{schema}"."col_Todos" (key text COLLATE "C" PRIMARY KEY, '
            "document bytea NOT NULL, fields jsonb NOT NULL)"
        )
        await conn.execute(
            f'INSERT INTO "{schema}"."col_Todos" VALUES ($1, $2, $3::jsonb)', "old", b"{}", "{}"
        )
    finally:
        await conn.close()
    now = [1_800_000_000.0]
    env = {"SKAAL_POSTGRES_DSN": postgres_dsn(), "SKAAL_POSTGRES_SCHEMA": schema}
    provider = PostgresProvider(settings(env, tmp_path, clock=lambda: now[0]))
    await provider.open()
    store = provider.documents(spec("Todos", "collection", key_field="id", indexes=("owner",)))
    await store.open()
    assert await store.get("old") == b"{}"
    await store.put("new", b"[]", {"owner": "ada"}, ttl=10)
    now[0] += 10
    assert await store.get("new") is None
    await store.open()  # opening purges expired documents from the table

    async def count(conn: Any) -> int:
        return int(await conn.fetchval(f'SELECT count(*) FROM "{schema}"."col_Todos"'))

    assert await provider.connection.run("test", "count", count) == 1
    await provider.close()


async def test_opening_twice_at_once_is_idempotent(schema: str, tmp_path: Path) -> None:
    env = {"SKAAL_POSTGRES_DSN": postgres_dsn(), "SKAAL_POSTGRES_SCHEMA": schema}
    providers = [PostgresProvider(settings(env, tmp_path)) for _ in range(3)]
    await asyncio.gather(*(p.open() for p in providers))
    stores = [p.queue(spec("Jobs", "queue")) for p in providers]
    await asyncio.gather(*(s.open() for s in stores))
    await stores[0].send(b"x")
    assert [await s.depth() for s in stores] == [1, 1, 1]
    await asyncio.gather(*(p.close() for p in providers))


async def test_concurrent_receivers_take_disjoint_messages(provider: PostgresProvider) -> None:
    queue = provider.queue(spec("Jobs", "queue"))
    await queue.open()
    for i in range(40):
        await queue.send(str(i).encode())
    batches = await asyncio.gather(
        *(queue.receive(max_messages=10, visibility_timeout=30) for _ in range(4))
    )
    ids = [d.id for batch in batches for d in batch]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert await queue.receive(max_messages=10, visibility_timeout=30) == []


async def test_ttl_on_the_system_clock(provider: PostgresProvider) -> None:
    store = provider.key_value(spec("M"))
    await store.open()
    await store.set("short", b"1", ttl=0.3)
    assert await store.get("short") == b"1"
    await asyncio.sleep(0.5)
    assert await store.get("short") is None
    assert await store.compare_and_set("short", None, b"2")  # expired counts as absent


async def test_long_names_are_shortened_and_distinct(provider: PostgresProvider) -> None:
    long_a, long_b = "billing." + "x" * 80 + ".A", "billing." + "x" * 80 + ".B"
    assert len(ident("map", long_a)) <= 65
    assert ident("map", long_a) != ident("map", long_b)
    a, b = provider.key_value(spec(long_a)), provider.key_value(spec(long_b))
    await a.open()
    await b.open()
    await a.set("k", b"a")
    assert await b.get("k") is None


async def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    dsn = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/postgres"
    policy = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02)
    conn = PostgresConnection(settings({"SKAAL_POSTGRES_DSN": dsn}, tmp_path), policy=policy)
    with pytest.raises(
        PostgresUnavailableError, match=r"connect on postgres at .* unreachable"
    ) as err:
        await conn.open()
    assert "s3cret" not in str(err.value)
    assert err.value.fix is not None
    assert "SKAAL_POSTGRES_DSN" in err.value.fix


async def test_server_errors_are_mapped(provider: PostgresProvider, tmp_path: Path) -> None:
    bad = PostgresConnection(settings({"SKAAL_POSTGRES_DSN": "mysql://x"}, tmp_path))
    with pytest.raises(PostgresBackendError, match="cannot connect"):
        await bad.open()
    store = provider.key_value(spec("M"))
    await store.open()
    await store.set("text", b'"words"')
    with pytest.raises(PostgresBackendError, match=r"increment on map 'M' .* failed"):
        await store.increment("text", 1)


class Note(BaseModel):
    id: str
    author: str


app = App("pg-run")


@app.storage(backend="postgres")
class Notes(Collection[Note]):
    key = "id"
    by_author = Index("author")


async def test_a_plan_binding_postgres_serves_the_collection(schema: str, tmp_path: Path) -> None:
    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "local-servers.toml"))
    assert {b.resource: b.implementation for b in plan.bindings}["Notes"] == "postgres"
    env = {"SKAAL_POSTGRES_DSN": postgres_dsn(), "SKAAL_POSTGRES_SCHEMA": schema}
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
        await Notes.put(Note(id="1", author="ada"))
        await Notes.put(Note(id="2", author="bob"))
        assert [n.id for n in (await Notes.find(author="ada")).items] == ["1"]
    conn = await asyncpg.connect(postgres_dsn())
    try:
        count = await conn.fetchval(f'SELECT count(*) FROM "{schema}"."col_Notes"')
    finally:
        await conn.close()
    assert count == 2
