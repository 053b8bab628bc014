"""A pubsub queue adopting an existing subscription (``existing=``), on the Pub/Sub emulator.

The subscription, its topic and its dead-letter topic are made here as their
owner would; the queue reads them, never creates or changes them, and
refuses a push subscription or one without a dead-letter policy.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from google.cloud import pubsub_v1

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.gcp_common import EMULATOR_PROJECT, GcpBackendError
from skaal.runtime.backends.pubsub import PubsubProvider
from skaal.runtime.ports import BackendSettings
from tests.runtime.servers.test_gcp_pubsub import emulator

pytestmark = pytest.mark.asyncio


class Owner:
    """The subscription's owner: makes topics and subscriptions with Google's clients."""

    def __init__(self) -> None:
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.tag = uuid.uuid4().hex[:10]

    def topic(self, name: str) -> str:
        path = f"projects/{EMULATOR_PROJECT}/topics/{name}-{self.tag}"
        self.publisher.create_topic(request={"name": path})
        return path

    def subscription(self, name: str, topic: str, **extra: Any) -> str:
        sub = f"{name}-{self.tag}"
        path = f"projects/{EMULATOR_PROJECT}/subscriptions/{sub}"
        self.subscriber.create_subscription(request={"name": path, "topic": topic, **extra})
        return sub

    def pull(self, subscription: str) -> list[Any]:
        path = f"projects/{EMULATOR_PROJECT}/subscriptions/{subscription}"
        response = self.subscriber.pull(
            request={"subscription": path, "max_messages": 10}, timeout=5
        )
        return list(response.received_messages)


@pytest.fixture
def owner(monkeypatch: pytest.MonkeyPatch) -> Owner:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator())
    return Owner()


def spec(name: str, **requirements: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind="queue",
        requirements=Requirements(**requirements),
        location=SourceLocation(file="t", line=1),
    )


@pytest_asyncio.fixture
async def provider_for(tmp_path: Path) -> AsyncIterator[Any]:
    opened: list[PubsubProvider] = []

    async def make(subscription: str) -> PubsubProvider:
        settings = BackendSettings(
            app="ps-adopt",
            data_dir=tmp_path,
            project_dir=tmp_path,
            env={"PUBSUB_EMULATOR_HOST": emulator()},
            adopted={"Jobs": subscription},
            clock=time.time,
        )
        provider = PubsubProvider(settings)
        await provider.open()
        opened.append(provider)
        return provider

    yield make
    for provider in opened:
        await provider.close()


async def test_the_adopted_subscription_is_read_and_used_as_its_owner_made_it(
    owner: Owner, provider_for: Any
) -> None:
    topic, dead = owner.topic("orders"), owner.topic("orders-dead")
    sub = owner.subscription(
        "order-jobs",
        topic,
        dead_letter_policy={"dead_letter_topic": dead, "max_delivery_attempts": 7},
    )
    watcher = owner.subscription("dead-watch", dead)  # the owner reads the dead letters
    queue = (await provider_for(sub)).queue(spec("Jobs", max_attempts=3))
    await queue.open()
    # the topic and dead-letter topic are the subscription's; the attempts limit its policy's
    assert (queue.names.queue, queue.names.dead, queue.names.pulled) == (topic, dead, sub)
    assert queue.max_deliveries == 7
    native = await queue.native()
    assert native.names["topic"] == topic
    assert native.names["subscription"] == f"projects/{EMULATOR_PROJECT}/subscriptions/{sub}"
    assert native.names["dead_letter_topic"] == dead
    assert "dead_letter_subscription" not in native.names  # the owner's, not Skaal's
    # Skaal's own delayed companion is the only thing created beside it
    delayed = f"projects/{EMULATOR_PROJECT}/subscriptions/{sub}-delayed"
    owner.subscriber.get_subscription(request={"subscription": delayed})

    sent = await queue.send(b"now")
    later = await queue.send(b"later", delay=0.001)
    got = []
    for _ in range(20):  # the delayed one is promoted by a receive that sees it due
        got += await queue.receive(max_messages=5, visibility_timeout=30)
        if len(got) == 2:
            break
    assert {(d.id, d.body) for d in got} == {(sent, b"now"), (later, b"later")}
    first, second = got
    await queue.ack(first.id)
    await queue.dead_letter(second.id, error="boom")
    assert await queue.receive(max_messages=5, visibility_timeout=30) == []
    (letter,) = owner.pull(watcher)
    assert letter.message.data == second.body
    assert letter.message.attributes["skaal-error"] == "boom"

    with pytest.raises(GcpBackendError, match="on which Skaal holds no subscription"):
        await queue.dead_letters(limit=10)
    with pytest.raises(GcpBackendError, match="on which Skaal holds no subscription"):
        await queue.redrive(second.id)


async def test_a_subscription_without_a_dead_letter_policy_is_refused(
    owner: Owner, provider_for: Any
) -> None:
    sub = owner.subscription("plain", owner.topic("plain"))
    queue = (await provider_for(sub)).queue(spec("Jobs"))
    with pytest.raises(GcpBackendError) as raised:
        await queue.open()
    assert "has no dead-letter policy" in raised.value.what
    assert "--dead-letter-topic" in (raised.value.fix or "")


async def test_a_push_subscription_is_refused(owner: Owner, provider_for: Any) -> None:
    dead = owner.topic("pushed-dead")
    sub = owner.subscription(
        "pushed",
        owner.topic("pushed"),
        push_config={"push_endpoint": "https://example.com/push"},
        dead_letter_policy={"dead_letter_topic": dead, "max_delivery_attempts": 5},
    )
    queue = (await provider_for(sub)).queue(spec("Jobs"))
    with pytest.raises(GcpBackendError) as raised:
        await queue.open()
    assert "pushes to https://example.com/push" in raised.value.what
    assert "pull subscription" in (raised.value.fix or "")


async def test_a_missing_subscription_is_never_created(owner: Owner, provider_for: Any) -> None:
    queue = (await provider_for(f"gone-{owner.tag}")).queue(spec("Jobs"))
    with pytest.raises(GcpBackendError, match="Skaal never creates it"):
        await queue.open()
