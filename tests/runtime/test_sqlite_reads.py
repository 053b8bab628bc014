"""The SQLite backend's split connections: writes on the writer thread, point reads inline.

Reads go through a separate ``query_only`` connection on the event-loop
thread; these tests pin down what that must never break: a read after an
awaited write sees it, also across many interleaved tasks, and reads never
write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.sqlite import SqliteKeyValue, SqliteProvider
from skaal.runtime.ports import BackendSettings


def _spec(name: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind="map",
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


@pytest_asyncio.fixture
async def provider(tmp_path: Path) -> AsyncIterator[SqliteProvider]:
    settings = BackendSettings(
        app="reads",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={},
        clock=lambda: 1_800_000_000.0,
        durability="durable",
    )
    db = SqliteProvider(settings)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


@pytest_asyncio.fixture
async def store(provider: SqliteProvider) -> AsyncIterator[SqliteKeyValue]:
    kv = provider.key_value(_spec("Things"))
    await kv.open()
    yield kv
    await kv.close()


@pytest.mark.asyncio
async def test_a_read_after_an_awaited_write_sees_it(store: SqliteKeyValue) -> None:
    for i in range(300):
        await store.set("k", str(i).encode())
        assert await store.get("k") == str(i).encode()
        assert await store.get_many(["k", "absent"]) == {"k": str(i).encode()}
    assert await store.delete("k") is True
    assert await store.get("k") is None
    assert await store.contains("k") is False


@pytest.mark.asyncio
async def test_interleaved_tasks_read_their_own_writes(store: SqliteKeyValue) -> None:
    async def worker(n: int) -> None:
        for i in range(50):
            key = f"w{n}"
            await store.set(key, f"{n}:{i}".encode())
            assert await store.get(key) == f"{n}:{i}".encode()
            assert await store.increment(f"c{n}", 1) == i + 1
            assert await store.get(f"c{n}") == str(i + 1).encode()

    await asyncio.gather(*(worker(n) for n in range(8)))


@pytest.mark.asyncio
async def test_point_reads_run_on_the_calling_thread_and_writes_do_not(
    provider: SqliteProvider, store: SqliteKeyValue
) -> None:
    caller = threading.get_ident()
    seen: list[int] = []
    provider.reader.set_trace_callback(lambda _: seen.append(threading.get_ident()))
    provider.conn.set_trace_callback(lambda _: seen.append(-threading.get_ident()))
    await store.set("k", b"v")
    writes = list(seen)
    seen.clear()
    assert await store.get("k") == b"v"
    assert seen
    assert set(seen) == {caller}
    assert writes
    assert all(t < 0 and -t != caller for t in writes)


@pytest.mark.asyncio
async def test_the_reader_cannot_write(provider: SqliteProvider, store: SqliteKeyValue) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        provider.reader.execute('DELETE FROM "map:Things"')


@pytest.mark.asyncio
async def test_another_connection_sees_committed_writes(
    provider: SqliteProvider, store: SqliteKeyValue
) -> None:
    await store.set("k", b"durable")
    other = sqlite3.connect(provider.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        row = other.execute('SELECT value FROM "map:Things" WHERE key = ?', ("k",)).fetchone()
        assert row == (b"durable",)
    finally:
        other.close()
