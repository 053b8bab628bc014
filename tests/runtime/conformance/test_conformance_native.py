"""``native()``: every backend hands out its real client and the resource's own names.

For each implementation and kind of the suite (``BACKENDS``): the store's
``native()`` record holds the client class of that backend (the same object
Skaal uses), names the implementation, resource and kind, and a native
command through it (``native_probes``) sees what Skaal wrote to this
resource and not what it wrote to a second resource on the same provider;
what the native command writes, Skaal reads back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from skaal.native import Native
from skaal.runtime.clients import (
    BlobClient,
    CollectionClient,
    MapClient,
    QueueClient,
    RetryPolicy,
    TopicClient,
)
from skaal.runtime.codecs import KeyCodec, ValueCodec
from tests.runtime.conformance import native_probes as probes
from tests.runtime.conformance.conftest import BACKENDS, FakeClock, Todo, _open, _spec

pytestmark = pytest.mark.asyncio

PAIRS = [(impl, kind) for impl, kinds in BACKENDS.items() for kind in kinds]


class Stores:
    """Two resources of one kind on one provider: ``mine`` and ``other``."""

    def __init__(self, implementation: str, kind: str, provider: Any) -> None:
        self.implementation, self.kind, self.provider = implementation, kind, provider
        self.opened: list[Any] = []

    async def store(self, name: str) -> Any:
        match self.kind:
            case "map":
                store = self.provider.key_value(_spec(name, "map"))
            case "collection":
                spec = _spec(name, "collection", key_field="id", indexes=("owner",))
                store = self.provider.documents(spec)
            case "blob":
                store = self.provider.blobs(_spec(name, "blob"))
            case "queue":
                store = self.provider.queue(_spec(name, "queue"))
            case _:
                store = self.provider.topic(_spec(name, "topic"))
        await store.open()
        self.opened.append(store)
        return store


@pytest_asyncio.fixture(params=PAIRS, ids=[f"{i}-{k}" for i, k in PAIRS])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Stores]:
    implementation, kind = request.param
    provider = await _open(implementation, tmp_path, clock)
    pair = Stores(implementation, kind, provider)
    yield pair
    for store in reversed(pair.opened):
        await store.close()
    await provider.close()


async def test_native_is_the_backends_own_client(stores: Stores) -> None:
    store = await stores.store("Mine")
    native = await store.native()
    assert isinstance(native, Native)
    assert isinstance(native.client, probes.client_type(stores.implementation))
    assert (native.backend, native.resource, native.kind) == (
        stores.implementation,
        "Mine",
        stores.kind,
    )
    if stores.implementation == "memory":  # no physical names: the data live in the store
        assert native.client is store
        assert (native.name, dict(native.names)) == ("Mine", {})
    else:
        assert native.name == next(iter(native.names.values()))
    if stores.implementation in ("dynamodb", "s3", "sqs", "sns"):
        assert probes.boto_service(native) == stores.implementation
    if stores.implementation == "sqlite":
        assert await native.client.run(lambda conn: isinstance(conn, sqlite3.Connection))
    other = await (await stores.store("Other")).native()
    assert other.name != native.name
    with pytest.raises(TypeError):
        native.names["extra"] = "x"  # type: ignore[index]


async def test_native_commands_and_skaal_see_each_other(stores: Stores) -> None:
    mine, other = await stores.store("Mine"), await stores.store("Other")
    check = {
        "map": _map,
        "collection": _collection,
        "blob": _blob,
        "queue": _queue,
        "topic": _topic,
    }[stores.kind]
    await check(mine, other)


def _map_client(store: Any, name: str) -> MapClient[str, str]:
    return MapClient(
        store,
        resource=name,
        keys=KeyCodec(str, resource=name),
        values=ValueCodec(str, resource=name),
    )


async def _map(mine_store: Any, other_store: Any) -> None:
    mine, other = _map_client(mine_store, "Mine"), _map_client(other_store, "Other")
    await mine.set("a", "from skaal")
    await other.set("b", "elsewhere")
    read, write = probes.MAP
    native = await mine_store.native()
    assert await read(native, "a") == b'"from skaal"'
    assert await read(native, "b") is None
    await write(native, "n", b'"native"')
    assert await mine.get("n") == "native"
    assert await other.get("n") is None


def _todos(store: Any, name: str) -> CollectionClient[Todo]:
    return CollectionClient(store, resource=name, model=Todo, key_field="id", indexes=("owner",))


async def _collection(mine_store: Any, other_store: Any) -> None:
    mine, other = _todos(mine_store, "Mine"), _todos(other_store, "Other")
    await mine.put(Todo(id="1", owner="ada"))
    await other.put(Todo(id="2", owner="bob"))
    read, write = probes.DOCUMENTS
    native = await mine_store.native()
    stored = await read(native, "1")
    assert stored is not None
    assert Todo.model_validate_json(stored) == Todo(id="1", owner="ada")
    assert await read(native, "2") is None
    document = Todo(id="3", owner="cy").model_dump_json().encode()
    await write(native, "3", document)
    assert await mine.get("3") == Todo(id="3", owner="cy")
    assert await other.get("3") is None


async def _blob(mine_store: Any, other_store: Any) -> None:
    mine, other = BlobClient(mine_store, resource="Mine"), BlobClient(other_store, resource="Other")
    await mine.put("a.txt", b"from skaal", content_type="text/plain")
    await other.put("b.txt", b"elsewhere", content_type="text/plain")
    read, write = probes.BLOBS
    native = await mine_store.native()
    assert await read(native, "a.txt") == b"from skaal"
    assert await read(native, "b.txt") is None
    if native.backend == "filesystem":  # a native delete: Skaal no longer finds the blob
        await write(native, "a.txt", b"")
        assert await mine.stat("a.txt") is None
    else:
        await write(native, "n.txt", b"native")
        assert await mine.get("n.txt") == b"native"
        assert await other.stat("n.txt") is None
    assert await other.get("b.txt") == b"elsewhere"


def _jobs(store: Any, name: str) -> QueueClient[dict[str, int]]:
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0, visibility_timeout=30.0)
    values = ValueCodec(dict[str, int], resource=name)
    return QueueClient(store, resource=name, values=values, policy=policy)


async def _queue(mine_store: Any, other_store: Any) -> None:
    mine, other = _jobs(mine_store, "Mine"), _jobs(other_store, "Other")
    await mine.send({"n": 1})
    await other.send({"n": 2})
    native = await mine_store.native()
    assert [json.loads(b) for b in await probes.queue_bodies(native)] == [{"n": 1}]
    await probes.queue_send(native, b'{"n": 3}')
    received: list[dict[str, int]] = []
    for _ in range(20):  # cloud queues hand out a few messages per call
        received += [d.body for d in await mine.receive(max_messages=10)]
        if len(received) >= 2:
            break
    assert sorted(m["n"] for m in received) == [1, 3]
    assert [d.body for d in await other.receive(max_messages=10)] == [{"n": 2}]


async def _topic(mine_store: Any, other_store: Any) -> None:
    mine = TopicClient(mine_store, resource="Mine", values=ValueCodec(str, resource="Mine"))
    other = TopicClient(other_store, resource="Other", values=ValueCodec(str, resource="Other"))
    audit = await mine.subscribe("audit")
    elsewhere = await other.subscribe("elsewhere")
    native = await mine_store.native()
    names = await probes.topic_subscriptions(native)
    assert len(names) == 1
    assert "audit" in names[0]
    await probes.topic_publish(native, b'"native"')
    assert await audit.get(timeout=10) == "native"
    assert await elsewhere.get(timeout=0.2) is None
