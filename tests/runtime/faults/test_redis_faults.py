"""Redis under faults: frozen, unreachable, slow, killed; no write lost or applied twice.

A private ``redis-server`` for the module (``appendfsync always``: a reply
means the write is on disk), reached through a :class:`FaultProxy` per test.
A second provider talks to the server directly to see what was really
stored.  The client's deadline is :data:`DEADLINE` seconds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from skaal.runtime.backends.redis import RedisKeyValue, RedisProvider
from skaal.runtime.backends.redis_support import RedisUnavailableError
from skaal.runtime.errors import DeadlineExceededError, OutcomeUnknownError
from skaal.runtime.ports import QueueBackend
from tests.runtime.faults._support import DEADLINE, SLACK, bounded, eventually, settings
from tests.runtime.faults.proxy import FaultProxy
from tests.runtime.servers._failover import resource_spec
from tests.runtime.servers._private import PrivateRedis, redis_binary

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(redis_binary(), tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.kill()


@pytest_asyncio.fixture
async def proxy(server: PrivateRedis) -> AsyncIterator[FaultProxy]:
    server.thaw()
    async with FaultProxy(server.port) as proxy:
        yield proxy
    server.thaw()


class Pair:
    """The store under test (through the proxy) and a direct view of the same keys."""

    def __init__(self, client: RedisProvider, direct: RedisProvider) -> None:
        self.client, self.direct = client, direct
        self.kv: RedisKeyValue = client.key_value(resource_spec("M", "map"))
        self.seen: RedisKeyValue = direct.key_value(resource_spec("M", "map"))
        self.queue: QueueBackend = client.queue(resource_spec("Q", "queue"))

    async def open(self) -> None:
        for store in (self.kv, self.seen, self.queue):
            await store.open()
        # load the scripts, so that a fault below hits the operation itself
        await self.kv.increment("warm", 1)
        await self.kv.compare_and_set("warm-cas", None, b"x")
        await self.queue.ack(await self.queue.send(b"warm"))


@pytest_asyncio.fixture
async def pair(server: PrivateRedis, proxy: FaultProxy, tmp_path: Path) -> AsyncIterator[Pair]:
    prefix = f"faults:{uuid.uuid4().hex[:8]}:"
    via = f"redis://127.0.0.1:{proxy.port}/0"
    client = RedisProvider(
        settings(tmp_path, {"SKAAL_REDIS_URL": via, "SKAAL_REDIS_PREFIX": prefix})
    )
    direct = RedisProvider(
        settings(tmp_path, {"SKAAL_REDIS_URL": server.url, "SKAAL_REDIS_PREFIX": prefix})
    )
    await client.open()
    await direct.open()
    opened = Pair(client, direct)
    await opened.open()
    yield opened
    proxy.thaw()
    server.thaw()
    await client.close()
    await direct.close()


def assert_deadline(error: BaseException | None, operation: str, seconds: float) -> None:
    assert isinstance(error, DeadlineExceededError), repr(error)
    assert error.operation == operation
    assert error.deadline == DEADLINE
    assert "map 'M' on redis at redis://127.0.0.1" in error.resource
    assert f"{operation} on map 'M'" in str(error)
    assert f"after {DEADLINE:g} s" in str(error)
    assert seconds <= DEADLINE + SLACK


async def test_frozen_server_increment_times_out_and_counts_once(
    server: PrivateRedis, pair: Pair
) -> None:
    server.freeze()
    try:
        outcome = await bounded(pair.kv.increment("new", 1))
    finally:
        server.thaw()
    assert_deadline(outcome.error, "increment", outcome.seconds)
    assert "may have been applied" in str(outcome.error)
    # the request reached the server before it froze: applied once when it resumes
    assert await eventually(lambda: pair.seen.get("new"), b"1") == b"1"
    assert await pair.kv.increment("new", 1) == 2  # the client recovered


async def test_frozen_server_compare_and_set_is_a_timeout_not_a_false(
    server: PrivateRedis, pair: Pair
) -> None:
    server.freeze()
    try:
        outcome = await bounded(pair.kv.compare_and_set("cas", None, b"v"))
    finally:
        server.thaw()
    assert_deadline(outcome.error, "compare_and_set", outcome.seconds)
    assert await eventually(lambda: pair.seen.get("cas"), b"v") == b"v"
    assert await pair.kv.compare_and_set("cas", b"v", b"w") is True


async def test_lost_reply_increment_is_retried_and_applied_once(
    proxy: FaultProxy, pair: Pair
) -> None:
    proxy.lose_next_reply()
    outcome = await bounded(pair.kv.increment("n", 5))
    assert outcome.error is None
    assert outcome.value == 5
    assert await pair.seen.get("n") == b"5"


async def test_lost_reply_compare_and_set_answers_what_was_done(
    proxy: FaultProxy, pair: Pair
) -> None:
    proxy.lose_next_reply()
    outcome = await bounded(pair.kv.compare_and_set("c", None, b"first"))
    assert outcome.error is None
    assert outcome.value is True
    assert await pair.seen.get("c") == b"first"


async def test_lost_reply_send_enqueues_once(proxy: FaultProxy, pair: Pair) -> None:
    proxy.lose_next_reply()
    outcome = await bounded(pair.queue.send(b"once"))
    assert outcome.error is None
    got = await pair.queue.receive(max_messages=10, visibility_timeout=30)
    assert [(d.id, d.body) for d in got] == [(outcome.value, b"once")]


async def test_lost_reply_delete_is_not_sent_twice(proxy: FaultProxy, pair: Pair) -> None:
    await pair.kv.set("d", b"1")
    proxy.lose_next_reply()
    outcome = await bounded(pair.kv.delete("d"))
    assert isinstance(outcome.error, OutcomeUnknownError), repr(outcome.error)
    assert "delete on map 'M'" in str(outcome.error)
    assert await pair.seen.get("d") is None


async def test_stalled_link_read_times_out_then_recovers(proxy: FaultProxy, pair: Pair) -> None:
    await pair.kv.set("r", b"v")
    proxy.freeze()
    outcome = await bounded(pair.kv.get("r"))
    proxy.thaw()
    assert_deadline(outcome.error, "get", outcome.seconds)
    assert "nothing was changed" in str(outcome.error)
    assert await pair.kv.get("r") == b"v"


async def test_added_latency_keeps_counts_exact(proxy: FaultProxy, pair: Pair) -> None:
    # Calls may queue for a connection behind one another, each paying the
    # latency both ways: 10 x 2 x 10 ms stays far inside one deadline even on
    # a loaded machine, while every reply still crosses the slow link.
    proxy.delay = 0.01
    answers = await asyncio.wait_for(
        asyncio.gather(*(pair.kv.increment("slow", 1) for _ in range(10))), DEADLINE + SLACK
    )
    assert sorted(answers) == list(range(1, 11))
    assert await pair.seen.get("slow") == b"10"


async def test_dropped_connections_lose_nothing_and_apply_nothing_twice(
    proxy: FaultProxy, pair: Pair
) -> None:
    proxy.delay = 0.002

    async def drops() -> None:
        for _ in range(2):
            await asyncio.sleep(0.02)
            proxy.drop()

    burst = asyncio.gather(*(pair.kv.increment("burst", 1) for _ in range(20)))
    answers, _ = await asyncio.wait_for(asyncio.gather(burst, drops()), 3 * DEADLINE)
    assert sorted(answers) == list(range(1, 21))
    assert await pair.seen.get("burst") == b"20"
    assert proxy.connections > 1  # the client did reconnect


async def test_killed_server_is_a_clear_error_then_recovers(
    server: PrivateRedis, pair: Pair
) -> None:
    await pair.kv.set("kept", b"1")
    assert await pair.kv.increment("count", 1) == 1
    server.kill()
    try:
        outcome = await bounded(pair.kv.increment("count", 1))
        assert isinstance(outcome.error, RedisUnavailableError | DeadlineExceededError), repr(
            outcome.error
        )
        assert "increment on map 'M'" in str(outcome.error)
        assert outcome.seconds <= DEADLINE + SLACK
    finally:
        server.start()
    assert await pair.kv.get("kept") == b"1"  # acknowledged before the kill: on disk
    assert await pair.kv.increment("count", 1) == 2  # the failed call was not applied
