"""PostgreSQL under faults: stalled, lost replies, killed connections, a crashed server.

A private cluster for the module (``fsync=on``), reached through a
:class:`FaultProxy` per test; a second provider talks to it directly to see
what was committed.  The client's deadline is :data:`DEADLINE` seconds.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import pytest_asyncio

from skaal.runtime.backends.postgres import PostgresKeyValue, PostgresProvider
from skaal.runtime.backends.postgres_support import PostgresUnavailableError
from skaal.runtime.errors import DeadlineExceededError, OutcomeUnknownError
from tests.runtime.faults._support import DEADLINE, SLACK, bounded, settings
from tests.runtime.faults.proxy import FaultProxy
from tests.runtime.servers._failover import resource_spec
from tests.runtime.servers._private import PrivatePostgres, postgres_binaries

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    bin_dir, user = postgres_binaries()
    home = Path(tempfile.mkdtemp(prefix="skaal-pg-faults-"))
    try:
        postgres = PrivatePostgres(bin_dir, user, home)
        postgres.start()
        yield postgres
        postgres.crash()
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest_asyncio.fixture
async def proxy(server: PrivatePostgres) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(server.port) as proxy:
        yield proxy


class Pair:
    """The map under test (through the proxy) and a direct view of the same table."""

    def __init__(self, client: PostgresProvider, direct: PostgresProvider) -> None:
        self.client, self.direct = client, direct
        self.kv: PostgresKeyValue = client.key_value(resource_spec("M", "map"))
        self.seen: PostgresKeyValue = direct.key_value(resource_spec("M", "map"))


@pytest_asyncio.fixture
async def pair(server: PrivatePostgres, proxy: FaultProxy, tmp_path: Path) -> AsyncIterator[Pair]:
    schema = f"faults_{uuid.uuid4().hex[:8]}"
    via = server.dsn.replace(f":{server.port}/", f":{proxy.port}/")
    env = {"SKAAL_POSTGRES_SCHEMA": schema}
    client = PostgresProvider(settings(tmp_path, {**env, "SKAAL_POSTGRES_DSN": via}))
    direct = PostgresProvider(settings(tmp_path, {**env, "SKAAL_POSTGRES_DSN": server.dsn}))
    await direct.open()
    await client.open()
    opened = Pair(client, direct)
    await opened.seen.open()
    await opened.kv.open()
    # prepare the statements on the client's connection, so a fault hits the operation
    await opened.kv.increment("warm", 1)
    await opened.kv.set("warm", b"1")
    await opened.kv.get("warm")
    yield opened
    proxy.thaw()
    await client.close()
    await direct.close()


def assert_deadline(error: BaseException | None, operation: str, seconds: float) -> None:
    assert isinstance(error, DeadlineExceededError), repr(error)
    assert error.operation == operation
    assert error.deadline == DEADLINE
    assert "map 'M' on postgres at postgresql://postgres@127.0.0.1" in error.resource
    assert f"after {DEADLINE:g} s" in str(error)
    assert seconds <= DEADLINE + SLACK


async def test_held_reply_times_out_and_is_not_sent_again(proxy: FaultProxy, pair: Pair) -> None:
    proxy.hold_replies()
    outcome = await bounded(pair.kv.increment("n", 1))
    proxy.thaw()
    assert_deadline(outcome.error, "increment", outcome.seconds)
    assert "it was not sent twice" in str(outcome.error)
    assert await pair.seen.get("n") == b"1"  # committed once, by the only attempt
    assert await pair.kv.increment("n", 1) == 2  # a fresh connection serves the next call


async def test_lost_reply_increment_is_an_unknown_outcome_not_a_double(
    proxy: FaultProxy, pair: Pair
) -> None:
    proxy.lose_next_reply()
    outcome = await bounded(pair.kv.increment("n", 1))
    assert isinstance(outcome.error, OutcomeUnknownError), repr(outcome.error)
    assert "increment on map 'M'" in str(outcome.error)
    assert await pair.seen.get("n") == b"1"


async def test_lost_reply_set_is_retried(proxy: FaultProxy, pair: Pair) -> None:
    proxy.lose_next_reply()
    outcome = await bounded(pair.kv.set("s", b"v"))
    assert outcome.error is None
    assert await pair.seen.get("s") == b"v"
    assert proxy.connections >= 2  # the retry used a new connection


async def test_stalled_link_read_times_out_then_recovers(proxy: FaultProxy, pair: Pair) -> None:
    await pair.kv.set("r", b"v")
    proxy.freeze()
    outcome = await bounded(pair.kv.get("r"))
    proxy.thaw()
    assert_deadline(outcome.error, "get", outcome.seconds)
    assert await pair.kv.get("r") == b"v"


async def test_killed_connection_mid_transaction_rolls_back(
    server: PrivatePostgres, pair: Pair
) -> None:
    await pair.kv.set("locked", b"7")
    holder = await asyncpg.connect(server.dsn)
    try:
        schema = pair.client.connection.schema
        lock = holder.transaction()
        await lock.start()
        await holder.execute(f'SELECT 1 FROM {schema}."map_M" WHERE key = $1 FOR UPDATE', "locked")
        blocked = asyncio.create_task(bounded(pair.kv.increment("locked", 1)))
        pid = await _waiting_backend(holder)
        await holder.execute("SELECT pg_terminate_backend($1)", pid)
        outcome = await blocked
        await lock.rollback()
    finally:
        await holder.close()
    assert isinstance(outcome.error, OutcomeUnknownError), repr(outcome.error)
    assert await pair.seen.get("locked") == b"7"  # the killed transaction rolled back
    assert await pair.kv.increment("locked", 1) == 8


async def _waiting_backend(conn: Any) -> int:
    """The pid of the backend waiting on a row lock (polled for at most the deadline)."""
    sql = "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' LIMIT 1"
    for _ in range(int(DEADLINE / 0.01)):
        pid = await conn.fetchval(sql)
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError("no backend waited on the lock")


async def test_added_latency_keeps_counts_exact(proxy: FaultProxy, pair: Pair) -> None:
    proxy.delay = 0.01
    answers = await asyncio.wait_for(
        asyncio.gather(*(pair.kv.increment("slow", 1) for _ in range(16))), DEADLINE + SLACK
    )
    assert sorted(answers) == list(range(1, 17))


async def test_crashed_server_is_a_clear_error_then_recovers(
    server: PrivatePostgres, pair: Pair
) -> None:
    await pair.kv.set("kept", b"1")
    await asyncio.to_thread(server.crash)
    try:
        outcome = await bounded(pair.kv.get("kept"))
        assert isinstance(outcome.error, PostgresUnavailableError | DeadlineExceededError), repr(
            outcome.error
        )
        assert "get on map 'M'" in str(outcome.error)
        assert outcome.seconds <= DEADLINE + SLACK
    finally:
        await asyncio.to_thread(server.start)
    recovered = await bounded(pair.kv.get("kept"), limit=15)
    for _ in range(20):  # crash recovery may still refuse the first connections
        if recovered.error is None:
            break
        await asyncio.sleep(0.25)
        recovered = await bounded(pair.kv.get("kept"))
    assert recovered.value == b"1"  # committed before the crash: kept
