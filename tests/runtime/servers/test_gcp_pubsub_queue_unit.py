"""The pubsub queue with an injected subscriber: transient pull errors, attribute limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from google.api_core import exceptions as gexc

from skaal.runtime.backends.gcp_common import GcpBackendError, Offload
from skaal.runtime.backends.pubsub_backlog import NoBacklog
from skaal.runtime.backends.pubsub_queue import ERROR, PubsubQueue
from skaal.runtime.retry import RetryPolicy

pytestmark = pytest.mark.asyncio


def _received(ack_id: str, data: bytes, attempt: int = 1) -> Any:
    message = SimpleNamespace(data=data, attributes={}, message_id=ack_id, publish_time=0)
    return SimpleNamespace(ack_id=ack_id, delivery_attempt=attempt, message=message)


class Subscriber:
    """Answers pulls of the queue from a script: an exception to raise or messages."""

    def __init__(self, *script: Exception | list[Any]) -> None:
        self.script = list(script)
        self.pulls: list[str] = []
        self.deadlines: list[tuple[list[str], int]] = []

    def pull(self, *, request: dict[str, Any], timeout: float, retry: Any) -> Any:
        self.pulls.append(request["subscription"])
        if request["subscription"].endswith("-delayed") or not self.script:
            return SimpleNamespace(received_messages=[])
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return SimpleNamespace(received_messages=step)

    def modify_ack_deadline(self, *, request: dict[str, Any], **options: Any) -> None:
        assert options["retry"] is None  # the client's own retries are off
        self.deadlines.append((request["ack_ids"], request["ack_deadline_seconds"]))

    def acknowledge(self, *, request: dict[str, Any], **options: Any) -> None:
        return None


class Publisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(
        self, topic: str, data: bytes, *, retry: Any, timeout: float, **attributes: str
    ) -> Any:
        assert retry is None
        assert timeout > 0
        self.published.append((topic, data, attributes))
        return SimpleNamespace(result=lambda timeout: str(len(self.published)))


@pytest_asyncio.fixture
async def pools() -> AsyncIterator[tuple[Offload, Offload]]:
    policy = RetryPolicy(deadline=5.0, attempts=4, initial_delay=0.01, max_delay=0.05)
    offload, pulls = Offload("pubsub", policy=policy), Offload("pubsub-pull", policy=policy)
    offload.open()
    pulls.open()
    yield offload, pulls
    offload.close()
    pulls.close()


def _queue(subscriber: Subscriber, publisher: Any, pools: tuple[Offload, Offload]) -> PubsubQueue:
    return PubsubQueue(
        publisher,
        subscriber,
        *pools,
        project="proj",
        name="app-jobs",
        resource="Jobs",
        clock=lambda: 0.0,
        backlog=NoBacklog(),
        max_attempts=None,
        create=False,
    )


async def test_transient_pull_errors_are_retried(pools: tuple[Offload, Offload]) -> None:
    subscriber = Subscriber(
        gexc.ServiceUnavailable("down"), gexc.InternalServerError("oops"), [_received("a", b"x")]
    )
    queue = _queue(subscriber, Publisher(), pools)
    (delivery,) = await queue.receive(max_messages=1, visibility_timeout=0.2)
    assert (delivery.id, delivery.body, delivery.attempt) == ("a", b"x", 1)
    assert subscriber.pulls.count("projects/proj/subscriptions/app-jobs") == 3
    assert subscriber.deadlines == [(["a"], 1)]  # rounded up to Pub/Sub's whole seconds


async def test_a_pull_failing_every_try_is_a_backend_error(
    pools: tuple[Offload, Offload],
) -> None:
    subscriber = Subscriber(*(gexc.ServiceUnavailable("down") for _ in range(8)))
    queue = _queue(subscriber, Publisher(), pools)
    with pytest.raises(GcpBackendError, match="failed to pull messages for Jobs"):
        await queue.receive(max_messages=1, visibility_timeout=30)


async def test_visibility_past_ten_minutes_is_capped_and_long_errors_are_cut(
    pools: tuple[Offload, Offload],
) -> None:
    subscriber = Subscriber([_received("a", b"x", attempt=2)])
    publisher = Publisher()
    queue = _queue(subscriber, publisher, pools)
    (delivery,) = await queue.receive(max_messages=1, visibility_timeout=3600)
    assert subscriber.deadlines == [(["a"], 600)]
    await queue.dead_letter(delivery.id, error="é" * 1000)
    ((topic, data, attributes),) = publisher.published
    assert (topic, data) == ("projects/proj/topics/app-jobs-dead", b"x")
    assert attributes[ERROR] == "é" * 512  # 1,024 bytes of UTF-8
    assert attributes["skaal-attempts"] == "2"
