"""SQLite under a held write lock: a clear error within the deadline, nothing half-applied.

Another connection (as a ``sqlite3`` shell or a second server would) holds
the file's write lock with ``BEGIN IMMEDIATE``.  Writes must give up within
the call deadline, counted from the call even when they queue behind each
other, and the inline reader must keep answering from the last commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from skaal.runtime.backends.sqlite import SqliteKeyValue, SqliteProvider, database_path
from skaal.runtime.errors import DeadlineExceededError
from tests.runtime.faults._support import DEADLINE, SLACK, bounded, settings
from tests.runtime.servers._failover import resource_spec

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteKeyValue]:
    provider = SqliteProvider(settings(tmp_path, {}))
    await provider.open()
    kv = provider.key_value(resource_spec("M", "map"))
    await kv.open()
    yield kv
    await provider.close()


def hold_write_lock(tmp_path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(database_path(settings(tmp_path, {})), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_locked_file_write_times_out_then_recovers(
    store: SqliteKeyValue, tmp_path: Path
) -> None:
    await store.set("k", b"old")
    other = hold_write_lock(tmp_path)
    try:
        outcome = await bounded(store.set("k", b"new"))
        assert await store.get("k") == b"old"  # reads go on beside the lock
    finally:
        other.execute("ROLLBACK")
        other.close()
    error = outcome.error
    assert isinstance(error, DeadlineExceededError), repr(error)
    assert error.operation == "set"
    assert error.resource.startswith("sqlite file ")
    assert "nothing was changed" in str(error)
    assert error.fix is not None
    assert "write transaction" in error.fix
    assert outcome.seconds <= DEADLINE + SLACK
    assert await store.get("k") == b"old"
    await store.set("k", b"new")
    assert await store.get("k") == b"new"


async def test_queued_writes_share_one_deadline(store: SqliteKeyValue, tmp_path: Path) -> None:
    other = hold_write_lock(tmp_path)
    try:
        outcomes = await asyncio.gather(*(bounded(store.increment("n", 1)) for _ in range(4)))
    finally:
        other.execute("ROLLBACK")
        other.close()
    for outcome in outcomes:
        assert isinstance(outcome.error, DeadlineExceededError), repr(outcome.error)
        # each waited at most its own deadline, not the sum of the ones queued before it
        assert outcome.seconds <= DEADLINE + SLACK
    assert await store.get("n") is None
    assert await store.increment("n", 1) == 1
