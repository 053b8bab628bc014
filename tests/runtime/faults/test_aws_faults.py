"""The AWS backends under faults, on a private moto server: frozen, killed, restarted.

The module runs its own ``moto_server`` on a free loopback port and freezes
it (SIGSTOP) in the middle of a write and of a read, or kills it (SIGKILL)
and starts it again.  The call deadline is short (``SKAAL_CALL_DEADLINE``),
so every failure is asserted to come back within it, as an error that names
the resource, the operation and the deadline.  What was answered must be
what is stored: a frozen increment or send is never applied twice.

moto keeps everything in memory, so a killed server comes back empty: a
kill is checked as "a clear error, then recovery once the server is back"
(tables, buckets and queues are created again on open), never as "no
acknowledged write lost" -- that holds only for servers that persist.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends import create_provider
from skaal.runtime.ports import BackendSettings
from tests.runtime.faults._emulators import Moto, assert_timed_out, failure
from tests.runtime.faults._support import DEADLINE, SLACK, bounded, set_up

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = Moto()
    try:
        server.start()
        asyncio.run(warm_up(server, tmp_path_factory.mktemp("warm")))
        yield server
    finally:
        server.close()


async def warm_up(server: Moto, tmp_path: Path) -> None:
    """One call of each service with a long deadline: moto loads each model on first use."""
    kinds = {"map": "key_value", "blob": "blobs", "queue": "queue", "topic": "topic"}
    for implementation, kind in (
        ("dynamodb", "map"),
        ("s3", "blob"),
        ("sqs", "queue"),
        ("sns", "topic"),
    ):
        provider = await open_provider(implementation, server, tmp_path, deadline=60)
        store = getattr(provider, kinds[kind])(spec("Warm", kind))
        await store.open()
        if kind == "map":
            await store.increment("n", 1)
        if kind == "topic":
            subscription = await store.subscribe("warm")
            await store.publish(b"warm")
            await subscription.get(timeout=1)
        await provider.close()


def spec(name: str, kind: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


async def open_provider(
    implementation: str, moto: Moto, tmp_path: Path, *, deadline: float = DEADLINE
) -> Any:
    env = {
        "SKAAL_AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto.port}",
        "SKAAL_AWS_NAME_PREFIX": f"f{uuid.uuid4().hex[:12]}",
        "SKAAL_AWS_CREATE_TABLES": "1",
        "SKAAL_AWS_MAX_CONCURRENCY": "1",  # moto's ADD is atomic only one call at a time
        "SKAAL_CALL_DEADLINE": str(deadline),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    settings = BackendSettings(
        app="faults", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=time.time
    )
    provider = create_provider(implementation, settings)
    await provider.open()
    return provider


@pytest_asyncio.fixture
async def dynamodb(moto: Moto, tmp_path: Path) -> AsyncIterator[Any]:
    provider = await open_provider("dynamodb", moto, tmp_path)
    yield provider
    await provider.close()


async def test_a_frozen_increment_fails_in_time_and_is_applied_at_most_once(
    dynamodb: Any, moto: Moto
) -> None:
    counter = dynamodb.key_value(spec("Counters", "map"))
    await set_up(counter.open)
    assert await counter.increment("hits", 1) == 1
    with moto.frozen():
        error, elapsed = await failure(counter.increment("hits", 1))
    assert_timed_out(error, elapsed, operation="UpdateItem ADD", resource="Counters")
    await asyncio.sleep(DEADLINE)  # let the thawed server finish what it had received
    stored = int(await counter.get("hits") or b"0")
    assert stored in (1, 2)  # the frozen increment landed once, or not at all -- never twice
    assert await counter.increment("hits", 1) == stored + 1


async def test_a_frozen_compare_and_set_never_answers_false_for_a_stored_write(
    dynamodb: Any, moto: Moto
) -> None:
    store = dynamodb.key_value(spec("Flags", "map"))
    await set_up(store.open)
    await set_up(lambda: store.set("flag", b"old"))
    with moto.frozen():
        error, elapsed = await failure(store.compare_and_set("flag", b"old", b"new"))
    assert_timed_out(error, elapsed, operation="PutItem", resource="Flags")
    await asyncio.sleep(DEADLINE)
    # the write landed or not; either way the answer was "unknown", not False
    assert await store.get("flag") in (b"old", b"new")


async def test_a_frozen_read_fails_in_time_and_reads_again_after(dynamodb: Any, moto: Moto) -> None:
    store = dynamodb.key_value(spec("Carts", "map"))
    await set_up(store.open)
    await set_up(lambda: store.set("cart", b"3 apples"))
    with moto.frozen():
        error, elapsed = await failure(store.get("cart"))
    assert_timed_out(error, elapsed, operation="GetItem", resource="Carts")
    assert await store.get("cart") == b"3 apples"


async def test_a_frozen_s3_put_fails_in_time_and_can_be_repeated(
    moto: Moto, tmp_path: Path
) -> None:
    provider = await open_provider("s3", moto, tmp_path)
    blobs = provider.blobs(spec("Uploads", "blob"))
    await set_up(blobs.open)

    async def body(data: bytes) -> AsyncIterator[bytes]:
        yield data

    with moto.frozen():
        error, elapsed = await failure(
            blobs.put("a.txt", body(b"new"), content_type="text/plain", metadata={})
        )
    assert_timed_out(error, elapsed, operation="PutObject", resource="Uploads")
    info = await blobs.put("a.txt", body(b"new"), content_type="text/plain", metadata={})
    assert info.size == 3
    await provider.close()


async def test_a_frozen_sqs_send_is_delivered_at_most_as_one_id(moto: Moto, tmp_path: Path) -> None:
    provider = await open_provider("sqs", moto, tmp_path)
    queue = provider.queue(spec("Jobs", "queue"))
    await set_up(queue.open)
    with moto.frozen():
        error, elapsed = await failure(queue.send(b"job-1"))
    assert_timed_out(error, elapsed, operation="SendMessage", resource="Jobs")
    await asyncio.sleep(DEADLINE)
    sent = await queue.send(b"job-2")
    received = await queue.receive(max_messages=10, visibility_timeout=30)
    bodies = {d.id: d.body for d in received}
    assert bodies[sent] == b"job-2"
    frozen = [d for d in received if d.body == b"job-1"]
    assert len({d.id for d in frozen}) <= 1  # copies of the frozen send share its id
    await provider.close()


async def test_a_frozen_sns_publish_is_never_sent_twice(moto: Moto, tmp_path: Path) -> None:
    provider = await open_provider("sns", moto, tmp_path)
    topic = provider.topic(spec("Events", "topic"))
    await set_up(topic.open)
    subscription = await topic.subscribe("audit")
    with moto.frozen():
        error, elapsed = await failure(topic.publish(b"during"))
    assert_timed_out(error, elapsed, operation="Publish", resource="Events")
    await asyncio.sleep(DEADLINE)
    assert await topic.publish(b"after") == 1
    received = []
    for _ in range(3):
        body = await subscription.get(timeout=1)
        if body is None:
            break
        received.append(body)
    assert b"after" in received
    assert received.count(b"during") <= 1  # a topic message has no id: never a second copy
    await provider.close()


async def test_a_killed_server_is_a_clear_error_and_a_restarted_one_serves_again(
    moto: Moto, tmp_path: Path
) -> None:
    provider = await open_provider("dynamodb", moto, tmp_path)
    counter = provider.key_value(spec("Counters", "map"))
    await set_up(counter.open)
    assert await counter.increment("hits", 1) == 1
    moto.kill()
    try:
        error, elapsed = await failure(counter.increment("hits", 1))
        assert isinstance(error, SkaalRuntimeError), error
        assert elapsed < DEADLINE + SLACK
        assert "Counters" in str(error)
    finally:
        moto.start()
    # moto is in memory: the restarted server is empty, and open() creates the table again
    # (repeated while the fresh server loads its DynamoDB model: open and get are reads or
    # idempotent; the increment is sent once)
    for _ in range(20):
        opened = await bounded(counter.open())
        if opened.error is None and (await bounded(counter.get("hits"))).error is None:
            break
    assert opened.error is None, opened.error
    assert await counter.increment("hits", 1) == 1
    assert await counter.get("hits") == b"1"
    await provider.close()
