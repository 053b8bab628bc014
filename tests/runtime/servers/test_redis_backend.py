"""The redis backend beyond the conformance suite: real TTLs, errors, isolation, run."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.runtime.backends.redis import RedisKeyValue, RedisProvider
from skaal.runtime.backends.redis_support import (
    RedisBackendError,
    RedisConnection,
    RedisUnavailableError,
)
from skaal.runtime.retry import RetryPolicy
from skaal.solver import solve
from skaal.testing import AppClient
from tests.runtime.servers._redis import settings, spec

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[3]


def redis_url() -> str:
    url = os.environ.get("SKAAL_TEST_REDIS_URL")
    if not url:
        pytest.skip("SKAAL_TEST_REDIS_URL not set: start redis (see .ci/services/10-redis.sh)")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture
async def provider(tmp_path: Path) -> AsyncIterator[RedisProvider]:
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    env = {"SKAAL_REDIS_URL": redis_url(), "SKAAL_REDIS_PREFIX": prefix}
    provider = RedisProvider(settings(env, tmp_path))
    await provider.open()
    yield provider
    client = provider.connection.client
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await provider.close()


async def opened(provider: RedisProvider, name: str = "M") -> RedisKeyValue:
    store = provider.key_value(spec(name))
    await store.open()
    return store


async def test_server_side_ttl_with_the_system_clock(provider: RedisProvider) -> None:
    store = await opened(provider)
    await store.set("short", b"1", ttl=0.3)
    await store.set("kept", b"2")
    assert await store.get("short") == b"1"
    remaining = await provider.connection.client.pttl(provider.connection.key("m", "M", "v:short"))
    assert 0 < remaining <= 300
    await asyncio.sleep(0.6)
    assert await store.get("short") is None
    assert not await store.contains("short")
    page = await store.scan(limit=10)
    assert [k for k, _ in page.items] == ["kept"]
    # the scan dropped the expired key from the ordered index
    members = await provider.connection.client.zrange(
        provider.connection.key("m", "M", "keys"), 0, -1
    )
    assert members == [b"kept"]


async def test_increment_with_ttl_then_without_clears_it(provider: RedisProvider) -> None:
    store = await opened(provider)
    assert await store.increment("n", 2, ttl=60) == 2
    key = provider.connection.key("m", "M", "v:n")
    assert await provider.connection.client.pttl(key) > 0
    assert await store.increment("n", 3) == 5
    assert await provider.connection.client.pttl(key) == -1
    assert await store.get("n") == b"5"  # the codec's form of an int: decimal text


async def test_resources_and_prefixes_are_isolated(provider: RedisProvider, tmp_path: Path) -> None:
    a, b = await opened(provider, "A"), await opened(provider, "B")
    await a.set("k", b"a")
    assert await b.get("k") is None
    other = RedisProvider(
        settings({"SKAAL_REDIS_URL": redis_url(), "SKAAL_REDIS_PREFIX": "other:"}, tmp_path)
    )
    await other.open()
    try:
        assert await (await opened(other, "A")).get("k") is None
    finally:
        await other.close()


async def test_named_subscription_is_shared_by_name(provider: RedisProvider) -> None:
    topic = provider.topic(spec("Events", "topic"))
    await topic.open()
    first = await topic.subscribe("mail")
    again = await topic.subscribe("mail")  # same name, same consumer group
    assert await topic.publish(b"x") == 1
    got = [await first.get(timeout=0.2), await again.get(timeout=0.05)]
    assert sorted(got, key=lambda v: v is None) == [b"x", None]
    await first.close()
    assert await topic.publish(b"y") == 0
    await topic.close()


async def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    policy = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02)
    conn = RedisConnection(settings({"SKAAL_REDIS_URL": url}, tmp_path), policy=policy)
    with pytest.raises(RedisUnavailableError, match=r"connect on redis at .* unreachable") as err:
        await conn.open()
    assert err.value.fix is not None
    assert "SKAAL_REDIS_URL" in err.value.fix
    await conn.close()


async def test_bad_url_and_server_errors_are_mapped(
    provider: RedisProvider, tmp_path: Path
) -> None:
    conn = RedisConnection(settings({"SKAAL_REDIS_URL": "http://nowhere"}, tmp_path))
    with pytest.raises(RedisBackendError, match="not a Redis URL"):
        await conn.open()
    store = await opened(provider)
    await store.set("text", b'"not a number"')
    with pytest.raises(RedisBackendError, match=r"increment on map 'M' .* failed"):
        await store.increment("text", 1)


async def test_password_is_not_shown(tmp_path: Path) -> None:
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    policy = RetryPolicy(attempts=1)
    conn = RedisConnection(settings({"SKAAL_REDIS_URL": url}, tmp_path), policy=policy)
    with pytest.raises(RedisUnavailableError) as err:
        await conn.open()
    assert "s3cret" not in str(err.value)
    await conn.close()


app = App("redis-run")


@app.storage(backend="redis", durability="ephemeral")
class Visits(Map[str, int]):
    """Counters pinned to Redis."""


@app.function()
async def hit(page: str) -> int:
    return await Visits.increment(page)


async def test_a_plan_binding_redis_serves_the_map_from_the_server(tmp_path: Path) -> None:
    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "local-servers.toml"))
    assert {b.resource: b.implementation for b in plan.bindings}["Visits"] == "redis"
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    env = {"SKAAL_REDIS_URL": redis_url(), "SKAAL_REDIS_PREFIX": prefix}
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
        assert await Visits.increment("home") == 1
        assert await Visits.increment("home", 3) == 4
    async with AppClient(app, plan=plan, env=env, data_dir=tmp_path) as client:
        assert await client.call("hit", page="home") == 5

    client = Redis.from_url(redis_url())
    try:
        assert await client.get(f"{prefix}m:Visits:v:home") == b"5"
        await client.delete(f"{prefix}m:Visits:v:home", f"{prefix}m:Visits:keys")
    finally:
        await client.aclose()


async def test_concurrent_receivers_take_disjoint_messages(provider: RedisProvider) -> None:
    queue = provider.queue(spec("Jobs", "queue"))
    await queue.open()
    sent = await asyncio.gather(*(queue.send(str(i).encode()) for i in range(40)))
    batches = await asyncio.gather(
        *(queue.receive(max_messages=10, visibility_timeout=30) for _ in range(4))
    )
    ids = [d.id for batch in batches for d in batch]
    assert sorted(ids) == sorted(sent)
    assert len(set(ids)) == 40
    assert await queue.receive(max_messages=10, visibility_timeout=30) == []
    assert await queue.depth() == 40
