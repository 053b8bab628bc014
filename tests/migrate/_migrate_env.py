"""Helpers of the migration tests: a project whose map or collection moves between real backends.

Server-backed ends connect to the servers of the conformance suite
(``SKAAL_TEST_REDIS_URL``, ``SKAAL_TEST_POSTGRES_DSN``: ``.ci/services/``),
each test in its own key prefix or schema, removed afterwards; they skip
naming the script when the server is absent (and fail in CI).
"""

from __future__ import annotations

import os
import uuid

import pytest

SERVERS = {
    "redis": ("SKAAL_TEST_REDIS_URL", ".ci/services/10-redis.sh"),
    "postgres": ("SKAAL_TEST_POSTGRES_DSN", ".ci/services/20-postgres.sh"),
}

APP = """
from pydantic import BaseModel
from skaal import App, BlobStore, Collection, Index, Map, Queue

app = App("shop")


class Order(BaseModel):
    id: str
    owner: str
    total: int


@app.storage(size="1GB", durability="ephemeral")
class Orders(Map[str, Order]):
    pass


@app.storage()
class Invoices(Collection[Order]):
    by_owner = Index("owner")


@app.blob()
class Receipts(BlobStore): ...


@app.queue()
class Jobs(Queue[str]): ...
"""


def server_env(*implementations: str) -> dict[str, str]:
    """Connection variables for each server implementation, in a fresh namespace."""
    env: dict[str, str] = {}
    unique = uuid.uuid4().hex[:12]
    for implementation in implementations:
        if implementation not in SERVERS:
            continue
        variable, script = SERVERS[implementation]
        address = os.environ.get(variable)
        if not address:
            pytest.skip(f"{variable} not set: start {implementation} (see {script})")
        if implementation == "redis":
            env |= {"SKAAL_REDIS_URL": address, "SKAAL_REDIS_PREFIX": f"mig:{unique}:"}
        else:
            env |= {"SKAAL_POSTGRES_DSN": address, "SKAAL_POSTGRES_SCHEMA": f"mig_{unique}"}
    return env


async def drop_namespaces(env: dict[str, str]) -> None:
    if "SKAAL_REDIS_URL" in env:
        from redis.asyncio import Redis

        client = Redis.from_url(env["SKAAL_REDIS_URL"])
        keys = [k async for k in client.scan_iter(match=env["SKAAL_REDIS_PREFIX"] + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    if "SKAAL_POSTGRES_DSN" in env:
        import asyncpg

        conn = await asyncpg.connect(env["SKAAL_POSTGRES_DSN"])
        await conn.execute(f'DROP SCHEMA IF EXISTS "{env["SKAAL_POSTGRES_SCHEMA"]}" CASCADE')
        await conn.close()
