"""The Google Cloud backends under faults, on private emulators: frozen, killed, restarted.

The module runs its own Firestore and Pub/Sub emulators (Google's, as CI
does) and a ``gcp-storage-emulator`` on free loopback ports, and freezes
them (SIGSTOP) in the middle of a write and of a read, or kills one
(SIGKILL) and starts it again.  The call deadline is short
(``SKAAL_CALL_DEADLINE``): every failure must come back within it, naming
the resource, the operation and the deadline, and nothing answered or
stored may have been applied twice.

The emulators keep everything in memory, so a killed one comes back empty:
a kill is checked as "a clear error, then recovery", not as "no
acknowledged write lost".  Needs the emulators that ``.ci/services/40-gcp.sh``
installs (and sets ``SKAAL_TEST_FIRESTORE_EMULATOR_HOST`` for).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends import create_provider
from skaal.runtime.ports import BackendSettings
from tests.runtime.faults._emulators import (
    FaultyServer,
    FirestoreEmulator,
    GcsEmulator,
    PubsubEmulator,
    assert_timed_out,
    failure,
)
from tests.runtime.faults._support import DEADLINE, SLACK, set_up

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FaultyServer]]:
    if not os.environ.get("SKAAL_TEST_FIRESTORE_EMULATOR_HOST"):
        pytest.skip(
            "SKAAL_TEST_FIRESTORE_EMULATOR_HOST not set: install the emulators "
            "(see .ci/services/40-gcp.sh)"
        )
    servers: dict[str, FaultyServer] = {
        "firestore": FirestoreEmulator(),
        "pubsub": PubsubEmulator(),
        "gcs": GcsEmulator(),
    }
    try:
        with ThreadPoolExecutor(len(servers)) as pool:  # the JVMs start in parallel
            list(pool.map(lambda s: s.start(), servers.values()))
        asyncio.run(warm_up(servers, tmp_path_factory.mktemp("warm")))
        yield servers
    finally:
        for server in servers.values():
            server.close()


async def warm_up(servers: dict[str, FaultyServer], tmp_path: Path) -> None:
    """One of each call the tests make, with a long deadline: a cold JVM answers slowly."""
    firestore = await open_provider("firestore", servers["firestore"], tmp_path, deadline=60)
    counter = firestore.key_value(spec("Warm", "map"))
    await counter.increment("n", 1)
    await counter.increment("n", 1)
    await counter.get("n")
    await firestore.close()
    pubsub = await open_provider("pubsub", servers["pubsub"], tmp_path, deadline=60)
    topic = pubsub.topic(spec("Warm", "topic"))
    await topic.open()
    sub = await topic.subscribe("warm")
    await topic.publish(b"warm")
    await sub.get(timeout=5)
    queue = pubsub.queue(spec("Warm", "queue"))
    await queue.open()
    await queue.send(b"warm")
    await queue.receive(max_messages=1, visibility_timeout=1)
    await pubsub.close()


_HOST = {
    "firestore": "FIRESTORE_EMULATOR_HOST",
    "pubsub": "PUBSUB_EMULATOR_HOST",
    "gcs": "STORAGE_EMULATOR_HOST",
}


def spec(name: str, kind: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


async def open_provider(
    implementation: str, server: FaultyServer, tmp_path: Path, *, deadline: float = DEADLINE
) -> Any:
    address = f"127.0.0.1:{server.port}"
    env = {
        _HOST[implementation]: f"http://{address}" if implementation == "gcs" else address,
        "SKAAL_GCP_NAME_PREFIX": f"f{uuid.uuid4().hex[:10]}",
        "SKAAL_CALL_DEADLINE": str(deadline),
    }
    settings = BackendSettings(
        app="faults", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=time.time
    )
    provider = create_provider(implementation, settings)
    await provider.open()
    return provider


async def until(probe: Any, *, seconds: float) -> Any:
    """Call the coroutine function ``probe`` until it stops raising, for at most ``seconds``."""
    end = time.monotonic() + seconds
    while True:
        try:
            return await probe()
        except SkaalRuntimeError:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


# -- Firestore -----------------------------------------------------------------------
async def test_a_frozen_firestore_increment_fails_in_time_and_is_applied_at_most_once(
    emulators: dict[str, FaultyServer], tmp_path: Path
) -> None:
    server = emulators["firestore"]
    provider = await open_provider("firestore", server, tmp_path)
    counter = provider.key_value(spec("Counters", "map"))
    assert await counter.increment("hits", 1) == 1
    assert await counter.increment("hits", 1) == 2  # the server-side Increment path
    with server.frozen():
        error, elapsed = await failure(counter.increment("hits", 1))
    assert_timed_out(error, elapsed, operation="increment", resource="Counters")
    await asyncio.sleep(DEADLINE)  # let the thawed emulator finish what it had received
    stored = int(await counter.get("hits") or b"0")
    assert stored in (2, 3)  # the frozen increment landed once, or not at all
    assert await counter.increment("hits", 1) == stored + 1
    await provider.close()


async def test_a_frozen_firestore_read_fails_in_time_and_reads_again_after(
    emulators: dict[str, FaultyServer], tmp_path: Path
) -> None:
    server = emulators["firestore"]
    provider = await open_provider("firestore", server, tmp_path)
    store = provider.key_value(spec("Carts", "map"))
    await store.set("cart", b"3 apples")
    with server.frozen():
        error, elapsed = await failure(store.get("cart"))
    assert_timed_out(error, elapsed, operation="read a key", resource="Carts")
    assert await store.get("cart") == b"3 apples"
    await provider.close()


# -- Pub/Sub --------------------------------------------------------------------------
async def test_a_frozen_publish_fails_in_time_and_the_topic_publishes_again(
    emulators: dict[str, FaultyServer], tmp_path: Path
) -> None:
    server = emulators["pubsub"]
    provider = await open_provider("pubsub", server, tmp_path)
    topic = provider.topic(spec("Events", "topic"))
    await set_up(topic.open)
    sub = await topic.subscribe("audit")
    with server.frozen():
        error, elapsed = await failure(topic.publish(b"during"))
    assert isinstance(error, SkaalRuntimeError), error
    assert elapsed < DEADLINE + SLACK
    assert "Events" in str(error)
    # the ordering key paused by the failure was resumed: publishing works again
    await asyncio.sleep(DEADLINE)
    assert await topic.publish(b"after") == 1
    received = []
    for _ in range(3):
        body = await sub.get(timeout=1)
        if body is None:
            break
        received.append(body)
    assert received[-1:] == [b"after"]
    assert received.count(b"during") <= 1  # never a second copy of the frozen publish
    await provider.close()


async def test_a_frozen_queue_send_is_delivered_at_most_as_one_id(
    emulators: dict[str, FaultyServer], tmp_path: Path
) -> None:
    server = emulators["pubsub"]
    provider = await open_provider("pubsub", server, tmp_path)
    queue = provider.queue(spec("Jobs", "queue"))
    await set_up(queue.open)
    with server.frozen():
        error, elapsed = await failure(queue.send(b"job-1"))
    assert_timed_out(error, elapsed, operation="publish", resource="Jobs")
    sent = await queue.send(b"job-2")
    received: list[Any] = []
    for _ in range(10):
        received += await queue.receive(max_messages=10, visibility_timeout=30)
        if any(d.id == sent for d in received):
            break
    assert [d.body for d in received if d.id == sent] == [b"job-2"]
    assert len({d.id for d in received if d.body == b"job-1"}) <= 1
    await provider.close()


# -- Cloud Storage ----------------------------------------------------------------------
async def test_a_frozen_gcs_read_fails_in_time_and_reads_again_after(
    emulators: dict[str, FaultyServer], tmp_path: Path
) -> None:
    server = emulators["gcs"]
    provider = await open_provider("gcs", server, tmp_path)
    blobs = provider.blobs(spec("Uploads", "blob"))
    await set_up(blobs.open)

    async def body() -> AsyncIterator[bytes]:
        yield b"hello"

    await blobs.put("a.txt", body(), content_type="text/plain", metadata={})
    with server.frozen():
        error, elapsed = await failure(blobs.stat("a.txt"))
    assert_timed_out(error, elapsed, operation="stat a blob", resource="Uploads")
    info = await blobs.stat("a.txt")
    assert info is not None
    assert info.size == 5
    await provider.close()


async def test_a_killed_gcs_is_a_clear_error_and_a_restarted_one_serves_again(
    emulators: dict[str, FaultyServer], tmp_path: Path
) -> None:
    server = emulators["gcs"]
    provider = await open_provider("gcs", server, tmp_path)
    blobs = provider.blobs(spec("Uploads", "blob"))
    await set_up(blobs.open)
    server.kill()
    try:
        error, elapsed = await failure(blobs.stat("a.txt"))
        assert isinstance(error, SkaalRuntimeError), error
        assert elapsed < DEADLINE + SLACK
        assert "Uploads" in str(error)
    finally:
        server.start()

    async def body() -> AsyncIterator[bytes]:
        yield b"back"

    await blobs.open()  # in memory: the restarted emulator is empty, the bucket is made again
    info = await blobs.put("a.txt", body(), content_type="text/plain", metadata={})
    assert info.size == 4
    await provider.close()
