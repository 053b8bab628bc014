"""Fixtures of the backend conformance suite: fresh, isolated stores per test.

Every backend, present and future, must pass every test in this folder.  A
backend joins the suite by one entry in ``BACKENDS`` below: its
implementation name → the kinds it serves.  Stores are opened through the
real provider (``skaal.runtime.backends.create_provider``) on a temporary
data directory, with an injected clock so TTL, visibility timeouts and retry
back-off are tested without sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import BaseModel

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends import create_provider
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

#: implementation name → kinds it must pass the suite for.  Add a backend here.
BACKENDS: dict[str, tuple[str, ...]] = {
    "memory": ("map", "collection", "queue", "topic"),
    "sqlite": ("map", "collection", "queue"),
    "filesystem": ("blob",),
}


def implementations(kind: str) -> list[str]:
    return [name for name, kinds in BACKENDS.items() if kind in kinds]


class FakeClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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
    settings = BackendSettings(
        app="conformance",
        data_dir=tmp_path / "data",
        project_dir=tmp_path,
        env={},
        clock=clock,
    )
    provider = create_provider(implementation, settings)
    await provider.open()
    return provider


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
