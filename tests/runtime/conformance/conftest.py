"""Fixtures of the backend conformance suite: fresh, isolated stores per test.

Every backend, present and future, must pass every test in this folder.  A
backend joins the suite by its record in :data:`skaal.registry.DEFAULT_REGISTRY`:
``BACKENDS`` below is every registered implementation with a runtime factory,
for the kinds of its record the suite covers (its native commands are in
``native_probes.py``).  Stores are opened through the
real provider (``skaal.runtime.backends.create_provider``) on a temporary
data directory, with an injected clock so TTL, visibility timeouts and retry
back-off are tested without sleeping.

Server-backed implementations (``SERVERS``) connect to the server named by a
``SKAAL_TEST_...`` variable (CI starts them: ``.ci/services/``) and skip with
the reason when it is absent.  Each test gets its own key prefix (Redis) or
schema (PostgreSQL), removed when the provider closes, so tests are isolated
and leave nothing behind.  Those backends honour the injected clock too.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from pydantic import BaseModel
from redis.asyncio import Redis

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.registry import DEFAULT_REGISTRY
from skaal.runtime.backends import create_provider
from skaal.runtime.backends.gcp_common import GcpBackendError
from skaal.runtime.clients import (
    BlobClient,
    CollectionClient,
    MapClient,
    QueueClient,
    RetryPolicy,
    TopicClient,
)
from skaal.runtime.codecs import KeyCodec, ValueCodec
from skaal.runtime.ports import BackendSettings

#: The kinds the suite covers (secrets have their own tests per backend).
SUITE_KINDS = ("map", "collection", "blob", "queue", "topic")

#: implementation name → kinds it must pass the suite for: every registered one.
BACKENDS: dict[str, tuple[str, ...]] = {
    impl.name: kinds
    for impl in DEFAULT_REGISTRY
    if impl.runtime is not None and (kinds := tuple(k for k in SUITE_KINDS if k in impl.kinds))
}

#: server-backed implementation → (variable with its test server, script starting one).
SERVERS: dict[str, tuple[str, str]] = {
    "redis": ("SKAAL_TEST_REDIS_URL", ".ci/services/10-redis.sh"),
    "postgres": ("SKAAL_TEST_POSTGRES_DSN", ".ci/services/20-postgres.sh"),
    "firestore": ("SKAAL_TEST_FIRESTORE_EMULATOR_HOST", ".ci/services/40-gcp.sh"),
    "gcs": ("SKAAL_TEST_STORAGE_EMULATOR_HOST", ".ci/services/40-gcp.sh"),
    "pubsub": ("SKAAL_TEST_PUBSUB_EMULATOR_HOST", ".ci/services/40-gcp.sh"),
    "dynamodb": ("SKAAL_TEST_AWS_ENDPOINT_URL", ".ci/services/30-moto.sh"),
    "s3": ("SKAAL_TEST_AWS_ENDPOINT_URL", ".ci/services/30-moto.sh"),
    "sqs": ("SKAAL_TEST_AWS_ENDPOINT_URL", ".ci/services/30-moto.sh"),
    "sns": ("SKAAL_TEST_AWS_ENDPOINT_URL", ".ci/services/30-moto.sh"),
}

#: implementations whose time is the server's: ``clock.advance`` also sleeps, at most
#: this long (SQS visibility and delays run on its clock; 10.5 s covers the suite's waits).
WALL_CLOCK: dict[str, float] = {"sqs": 10.5, "pubsub": 10.5}

#: implementations whose queue ``depth`` is the cloud service's estimate, not an exact
#: count, and the error each raises where no estimate exists (Pub/Sub: Cloud Monitoring,
#: which its emulator lacks).  Every other queue backend counts exactly.
ESTIMATED_DEPTH: dict[str, type[Exception]] = {"pubsub": GcpBackendError}


def server_env(implementation: str) -> dict[str, str]:
    """Settings env for a server-backed store in a fresh namespace; skips without a server."""
    if implementation not in SERVERS:
        return {}
    variable, script = SERVERS[implementation]
    address = os.environ.get(variable)
    if not address:
        pytest.skip(f"{variable} not set: start {implementation} (see {script})")
    unique = uuid.uuid4().hex[:12]
    if implementation in ("firestore", "gcs", "pubsub"):  # emulators: a fresh name prefix
        host = variable.removeprefix("SKAAL_TEST_")
        return {host: address, "SKAAL_GCP_NAME_PREFIX": f"t{unique}"}
    if implementation in ("dynamodb", "s3", "sqs", "sns"):  # moto: fresh names, created on use
        # moto runs requests in parallel without item locks, so its ADD and
        # conditional writes are not atomic (DynamoDB's are): one call at a time.
        return {
            "SKAAL_AWS_MAX_CONCURRENCY": "1",
            "SKAAL_AWS_ENDPOINT_URL": address,
            "SKAAL_AWS_CREATE_TABLES": "1",
            "SKAAL_AWS_NAME_PREFIX": f"t{unique}",
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        }
    if implementation == "redis":
        return {"SKAAL_REDIS_URL": address, "SKAAL_REDIS_PREFIX": f"test:{unique}:"}
    return {"SKAAL_POSTGRES_DSN": address, "SKAAL_POSTGRES_SCHEMA": f"test_{unique}"}


async def drop_namespace(implementation: str, env: dict[str, str]) -> None:
    """Remove everything a test stored on a server (its key prefix or schema)."""
    if implementation == "redis":
        client = Redis.from_url(env["SKAAL_REDIS_URL"])
        keys = [k async for k in client.scan_iter(match=env["SKAAL_REDIS_PREFIX"] + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    elif implementation == "postgres":
        conn = await asyncpg.connect(env["SKAAL_POSTGRES_DSN"])
        await conn.execute(f'DROP SCHEMA IF EXISTS "{env["SKAAL_POSTGRES_SCHEMA"]}" CASCADE')
        await conn.close()


class _Cleaning:
    """A provider that also drops its test namespace when it closes."""

    def __init__(self, provider: Any, implementation: str, env: dict[str, str]) -> None:
        self._provider = provider
        self._implementation = implementation
        self._env = env

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    async def close(self) -> None:
        await self._provider.close()
        await drop_namespace(self._implementation, self._env)


def implementations(kind: str) -> list[str]:
    return [name for name, kinds in BACKENDS.items() if kind in kinds]


class FakeClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleep_cap = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.sleep_cap:
            time.sleep(min(seconds, self.sleep_cap))


class Todo(BaseModel):
    id: str
    owner: str
    done: bool = False
    priority: int = 0
    tags: list[str] = []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _spec(name: str, kind: Any, **extra: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="conformance.py", line=1),
        **extra,
    )


async def _open(implementation: str, tmp_path: Path, clock: FakeClock) -> Any:
    env = server_env(implementation)
    clock.sleep_cap = WALL_CLOCK.get(implementation, 0.0)
    settings = BackendSettings(
        app="conformance",
        data_dir=tmp_path / "data",
        project_dir=tmp_path,
        env=env,
        clock=clock,
    )
    provider = create_provider(implementation, settings)
    await provider.open()
    return _Cleaning(provider, implementation, env) if env else provider


@pytest_asyncio.fixture(params=implementations("map"))
async def make_map(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Any]:
    """``make_map(key_type, value_type)`` → a fresh ``MapClient`` on this backend."""
    provider = await _open(request.param, tmp_path, clock)
    stores: list[Any] = []

    async def make(
        key_type: Any = str, value_type: Any = str, name: str = "M"
    ) -> MapClient[Any, Any]:
        store = provider.key_value(_spec(name, "map"))
        await store.open()
        stores.append(store)
        return MapClient(
            store,
            resource=name,
            keys=KeyCodec(key_type, resource=name),
            values=ValueCodec(value_type, resource=name),
        )

    yield make
    for store in stores:
        await store.close()
    await provider.close()


@pytest_asyncio.fixture(params=implementations("collection"))
async def todos(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[CollectionClient[Todo]]:
    provider = await _open(request.param, tmp_path, clock)
    indexes = ("done", "owner", "priority", "tags")
    store = provider.documents(_spec("Todos", "collection", key_field="id", indexes=indexes))
    await store.open()
    yield CollectionClient(store, resource="Todos", model=Todo, key_field="id", indexes=indexes)
    await store.close()
    await provider.close()


@pytest_asyncio.fixture(params=implementations("blob"))
async def blobs(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[BlobClient]:
    provider = await _open(request.param, tmp_path, clock)
    store = provider.blobs(_spec("Uploads", "blob"))
    await store.open()
    yield BlobClient(store, resource="Uploads")
    await store.close()
    await provider.close()


@pytest_asyncio.fixture(params=implementations("queue"))
async def queue(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[QueueClient[dict[str, int]]]:
    provider = await _open(request.param, tmp_path, clock)
    store = provider.queue(_spec("Jobs", "queue"))
    await store.open()
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0, visibility_timeout=30.0)
    yield QueueClient(
        store, resource="Jobs", values=ValueCodec(dict[str, int], resource="Jobs"), policy=policy
    )
    await store.close()
    await provider.close()


@pytest.fixture
def expect_depth(
    request: pytest.FixtureRequest, queue: QueueClient[dict[str, int]]
) -> Callable[[int], Awaitable[None]]:
    """``await expect_depth(n)``: the queue's depth is ``n`` -- what its backend promises."""
    implementation = request.node.callspec.params["queue"]

    async def check(expected: int) -> None:
        if implementation in ESTIMATED_DEPTH:
            with pytest.raises(ESTIMATED_DEPTH[implementation], match="estimate"):
                await queue.depth()
            return
        assert await queue.depth() == expected

    return check


@pytest_asyncio.fixture(params=implementations("topic"))
async def topic(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[TopicClient[str]]:
    provider = await _open(request.param, tmp_path, clock)
    store = provider.topic(_spec("Events", "topic"))
    await store.open()
    yield TopicClient(store, resource="Events", values=ValueCodec(str, resource="Events"))
    await store.close()
    await provider.close()
