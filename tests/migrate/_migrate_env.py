"""Helpers of the migration tests: a project whose map or collection moves between real backends.

Server-backed ends connect to the servers of the conformance suite
(``SKAAL_TEST_REDIS_URL``, ``SKAAL_TEST_POSTGRES_DSN``: ``.ci/services/``),
each test in its own key prefix or schema, removed afterwards; they skip
naming the script when the server is absent (and fail in CI).
"""

from __future__ import annotations

import os
import uuid

import asyncpg
import pytest
from redis.asyncio import Redis

SERVERS = {
    "redis": ("SKAAL_TEST_REDIS_URL", ".ci/services/10-redis.sh"),
    "postgres": ("SKAAL_TEST_POSTGRES_DSN", ".ci/services/20-postgres.sh"),
    "dynamodb": ("SKAAL_TEST_AWS_ENDPOINT_URL", ".ci/services/30-moto.sh"),
    "s3": ("SKAAL_TEST_AWS_ENDPOINT_URL", ".ci/services/30-moto.sh"),
    "firestore": ("SKAAL_TEST_FIRESTORE_EMULATOR_HOST", ".ci/services/40-gcp.sh"),
    "gcs": ("SKAAL_TEST_STORAGE_EMULATOR_HOST", ".ci/services/40-gcp.sh"),
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
        elif implementation == "postgres":
            env |= {"SKAAL_POSTGRES_DSN": address, "SKAAL_POSTGRES_SCHEMA": f"mig_{unique}"}
        elif implementation in ("dynamodb", "s3"):  # moto: fresh names, created on use
            env |= {
                "SKAAL_AWS_MAX_CONCURRENCY": "1",
                "SKAAL_AWS_ENDPOINT_URL": address,
                "SKAAL_AWS_CREATE_TABLES": "1",
                "SKAAL_AWS_NAME_PREFIX": f"m{unique}",
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            }
        else:  # the GCP emulators: a fresh name prefix
            env |= {
                variable.removeprefix("SKAAL_TEST_"): address,
                "SKAAL_GCP_NAME_PREFIX": f"m{unique}",
            }
    return env


async def drop_namespaces(env: dict[str, str]) -> None:
    if "SKAAL_REDIS_URL" in env:
        client = Redis.from_url(env["SKAAL_REDIS_URL"])
        keys = [k async for k in client.scan_iter(match=env["SKAAL_REDIS_PREFIX"] + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    if "SKAAL_POSTGRES_DSN" in env:
        conn = await asyncpg.connect(env["SKAAL_POSTGRES_DSN"])
        await conn.execute(f'DROP SCHEMA IF EXISTS "{env["SKAAL_POSTGRES_SCHEMA"]}" CASCADE')
        await conn.close()
