"""Kill the Redis server mid-test: the client recovers and keeps every acknowledged write.

The test runs its own ``redis-server`` (the binary .ci/services/10-redis.sh
installs) with ``--appendonly yes --appendfsync always``: Redis then fsyncs
each write before replying, which is the durability this test holds it to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skaal.runtime.backends.redis import RedisProvider
from skaal.runtime.ports import BackendSettings
from tests.runtime.servers._failover import WriteLoad
from tests.runtime.servers._private import PrivateRedis, redis_binary

pytestmark = pytest.mark.asyncio


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(redis_binary(), tmp_path)
    server.start()
    yield server
    server.kill()


async def test_client_recovers_and_loses_no_acknowledged_write(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = BackendSettings(
        app="failover",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"SKAAL_REDIS_URL": private_redis.url},
        clock=time.time,
    )
    provider = RedisProvider(settings)
    await provider.open()
    load = WriteLoad(provider)
    await load.start()
    await load.until(50)
    private_redis.kill()
    at_crash = len(load.acked)
    await asyncio.sleep(0.3)
    private_redis.start()
    await load.until(at_crash + 50)
    await load.stop(timeout=20)  # the writer never saw an error
    await load.assert_nothing_lost()
    keys, after = [], None
    while True:
        chunk = await load.store.scan(limit=100, after=after)
        keys += [k for k, _ in chunk.items]
        if chunk.next is None:
            break
        after = chunk.next
    assert set(keys) >= {f"k{i:05d}" for i in load.acked}
    await provider.close()
