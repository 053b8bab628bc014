"""The pubsub queue beyond the conformance suite, on Google's Pub/Sub emulator.

Long retries through the delayed topic, the dead-letter policy's own
forwarding, peeking at dead letters, several processes, missing topics.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.plan.pubsub import queue_names
from skaal.runtime.backends.gcp_common import GcpBackendError
from skaal.runtime.backends.pubsub import PubsubProvider
from skaal.runtime.backends.pubsub_queue import PubsubQueue
from skaal.runtime.clients import QueueClient, RetryPolicy
from skaal.runtime.codecs import ValueCodec
from skaal.runtime.ports import BackendSettings
from skaal.serve.workers import QueueWorker

pytestmark = pytest.mark.asyncio


def emulator() -> str:
    host = os.environ.get("SKAAL_TEST_PUBSUB_EMULATOR_HOST")
    if not host:
        pytest.skip(
            "SKAAL_TEST_PUBSUB_EMULATOR_HOST not set: start the Pub/Sub emulator "
            "(see .ci/services/40-gcp.sh)"
        )
    return host


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def spec(name: str, **requirements: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind="queue",
        requirements=Requirements(**requirements),
        location=SourceLocation(file="t", line=1),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def provider(tmp_path: Path, clock: Clock) -> AsyncIterator[PubsubProvider]:
    env = {"PUBSUB_EMULATOR_HOST": emulator(), "SKAAL_GCP_NAME_PREFIX": f"q{uuid.uuid4().hex[:10]}"}
    settings = BackendSettings(
        app="ps-queue", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=clock
    )
    provider = PubsubProvider(settings)
    await provider.open()
    yield provider
    await provider.close()


async def opened(provider: PubsubProvider, name: str = "Jobs", **req: Any) -> PubsubQueue:
    queue = provider.queue(spec(name, **req))
    await queue.open()
    return queue


async def test_names_are_the_queue_and_its_companions(provider: PubsubProvider) -> None:
    queue = await opened(provider)
    prefix = provider.settings.env["SKAAL_GCP_NAME_PREFIX"]
    assert queue.names == queue_names(f"{prefix}-ps-queue-jobs")
    assert (queue.names.delayed, queue.names.dead) == (
        f"{prefix}-ps-queue-jobs-delayed",
        f"{prefix}-ps-queue-jobs-dead",
    )


async def test_a_long_retry_goes_through_the_delayed_topic_keeping_id_and_attempts(
    provider: PubsubProvider, clock: Clock
) -> None:
    queue = await opened(provider)
    sent = await queue.send(b"\x00\xffbody")
    (first,) = await queue.receive(max_messages=1, visibility_timeout=30)
    assert (first.id, first.attempt) == (sent, 1)
    await queue.retry(first.id, delay=3600)  # past Pub/Sub's 600 s ack deadline
    clock.now += 3599
    assert await queue.receive(max_messages=1, visibility_timeout=30) == []
    clock.now += 1
    (again,) = await queue.receive(max_messages=1, visibility_timeout=30)
    assert (again.id, again.body, again.attempt) == (sent, b"\x00\xffbody", 2)
    await queue.ack(again.id)
    assert await queue.receive(max_messages=1, visibility_timeout=30) == []


async def test_a_delayed_message_is_never_delivered_early(
    provider: PubsubProvider, clock: Clock
) -> None:
    queue = await opened(provider)
    sent = await queue.send(b"later", delay=0.5)
    await asyncio.sleep(1.0)  # Pub/Sub's time passes; the runtime's clock says it is not due
    assert await queue.receive(max_messages=5, visibility_timeout=30) == []
    clock.now += 0.5
    await asyncio.sleep(0.1)
    (due,) = await queue.receive(max_messages=5, visibility_timeout=30)
    assert (due.id, due.attempt) == (sent, 1)


async def test_the_dead_letter_policy_forwards_messages_nobody_acknowledges(
    provider: PubsubProvider,
) -> None:
    queue = await opened(provider, max_attempts=2)  # Pub/Sub's policy needs 5 at least
    await queue.send(b"poison")
    for attempt in range(1, 6):
        (delivery,) = await queue.receive(max_messages=1, visibility_timeout=1)
        assert delivery.attempt == attempt
        await asyncio.sleep(1.2)
    # the sixth delivery does not happen: Pub/Sub forwards the message instead
    assert await queue.receive(max_messages=1, visibility_timeout=1) == []
    (letter,) = await queue.dead_letters(limit=10)
    assert (letter.body, letter.attempts) == (b"poison", 5)
    assert "dead-letter policy" in letter.error


async def test_dead_letters_are_peeked_not_consumed(provider: PubsubProvider) -> None:
    queue = await opened(provider)
    ids = [await queue.send(f"m{i}".encode()) for i in range(3)]
    for delivery in await queue.receive(max_messages=3, visibility_timeout=30):
        await queue.dead_letter(delivery.id, error=f"failed {delivery.body.decode()}")
    first = await queue.dead_letters(limit=10)
    second = await queue.dead_letters(limit=10)
    assert sorted((d.id, d.error, d.attempts) for d in first) == sorted(
        (i, f"failed m{n}", 1) for n, i in enumerate(ids)
    )
    assert sorted(d.id for d in second) == sorted(ids)
    assert len(await queue.dead_letters(limit=2)) == 2


async def test_another_process_receives_what_one_sent(provider: PubsubProvider) -> None:
    sender = await opened(provider)
    sent = await sender.send(b"job")
    other = PubsubProvider(provider.settings)
    await other.open()
    try:
        receiver = await opened(other)
        (delivery,) = await receiver.receive(max_messages=1, visibility_timeout=30)
        assert delivery.id == sent
        await sender.ack(sent)  # not received by this process: nothing to settle
        await receiver.ack(sent)
        assert await receiver.receive(max_messages=1, visibility_timeout=1) == []
    finally:
        await other.close()


async def test_depth_on_the_emulator_says_there_is_no_estimate(provider: PubsubProvider) -> None:
    queue = await opened(provider)
    with pytest.raises(GcpBackendError, match="Cloud Monitoring's backlog estimate"):
        await queue.depth()


async def test_missing_topics_outside_an_emulator_are_an_error(provider: PubsubProvider) -> None:
    queue = provider.queue(spec("Never"))
    queue._create = False  # as on Google, where the deploy stage creates them
    with pytest.raises(GcpBackendError, match="does not exist") as err:
        await queue.open()
    assert err.value.command == "skaal deploy"


async def test_a_queue_worker_consumes_a_pubsub_queue(provider: PubsubProvider) -> None:
    """The serving plane's pull worker (``skaal run``) on a Pub/Sub queue."""
    queue = await opened(provider)
    client = QueueClient(
        queue,
        resource="Jobs",
        values=ValueCodec(str, resource="Jobs"),
        policy=RetryPolicy(max_attempts=1),
    )
    handled: list[str] = []

    async def handler(job: str) -> None:
        if job == "bad":
            raise RuntimeError("bad job")
        handled.append(job)

    for job in ("a", "bad", "b"):
        await client.send(job)
    worker = QueueWorker("run_job", handler, client, visibility_timeout=30)
    worker.start()
    for _ in range(100):
        if worker.acked + worker.dead == 3:
            break
        await asyncio.sleep(0.05)
    await worker.stop()
    assert sorted(handled) == ["a", "b"]
    assert (worker.acked, worker.dead) == (2, 1)
    (dead,) = await client.dead_letters()
    assert (dead.body, dead.error) == ("bad", "RuntimeError: bad job")
