"""Two environments of one app on one Redis server keep apart (``SKAAL_ENV``).

The runtime names what it stores after the environment it serves: the
Redis key prefix is ``skaal:<app>-<env>:``, so ``dev`` and ``staging``
sharing a server (or an account) never read each other's data.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.solver import solve

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[3]


def redis_url() -> str:
    url = os.environ.get("SKAAL_TEST_REDIS_URL")
    if not url:
        pytest.skip("SKAAL_TEST_REDIS_URL not set: start redis (see .ci/services/10-redis.sh)")
    return url


async def test_environments_sharing_a_redis_server_keep_apart(tmp_path: Path) -> None:
    url = redis_url()
    name = f"envs{uuid.uuid4().hex[:8]}"
    app = App(name)

    @app.storage(backend="redis", durability="ephemeral")
    class Visits(Map[str, int]):
        pass

    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "local-servers.toml"))
    assert plan.binding("Visits").implementation == "redis"
    for env_name, times in (("dev", 1), ("staging", 3)):
        env = {"SKAAL_REDIS_URL": url, "SKAAL_ENV": env_name}
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
            for _ in range(times):
                await Visits.increment("home")
    client = Redis.from_url(url)
    try:
        assert await client.get(f"skaal:{name}-dev:m:Visits:v:home") == b"1"
        assert await client.get(f"skaal:{name}-staging:m:Visits:v:home") == b"3"
        assert await client.get(f"skaal:{name}:m:Visits:v:home") is None
        keys = [k async for k in client.scan_iter(match=f"skaal:{name}*")]
        await client.delete(*keys)
    finally:
        await client.aclose()
