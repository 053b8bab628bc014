"""Queue and Topic semantics every messaging backend must have."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from conftest import FakeClock

from skaal.runtime.clients import QueueClient, TopicClient
from skaal.runtime.errors import UnsupportedOperationError, ValueTypeError
from skaal.runtime.ports import ReportsLag

pytestmark = pytest.mark.asyncio

Jobs = QueueClient[dict[str, int]]
ExpectDepth = Callable[[int], Awaitable[None]]


async def test_send_receive_ack_in_order(queue: Jobs, expect_depth: ExpectDepth) -> None:
    for i in range(5):
        await queue.send({"n": i})
    got = await queue.receive(max_messages=3)
    assert [d.body["n"] for d in got] == [0, 1, 2]
    assert all(d.attempt == 1 for d in got)
    for d in got:
        await queue.ack(d)
    await expect_depth(2)
    rest = await queue.receive(max_messages=10)
    assert [d.body["n"] for d in rest] == [3, 4]
    assert await queue.receive() == []


async def test_unacked_message_is_redelivered_after_visibility_timeout(
    queue: Jobs, clock: FakeClock
) -> None:
    await queue.send({"n": 1})
    (first,) = await queue.receive(visibility_timeout=10)
    assert await queue.receive() == []
    clock.advance(10.5)
    (again,) = await queue.receive()
    assert (again.id, again.attempt) == (first.id, 2)


async def test_retry_backoff_then_dead_letter(
    queue: Jobs, clock: FakeClock, expect_depth: ExpectDepth
) -> None:
    await queue.send({"n": 7})
    (d1,) = await queue.receive()
    assert await queue.fail(d1, RuntimeError("boom")) == "retry"
    assert await queue.receive() == []  # backing off for 1 s
    clock.advance(1.1)
    (d2,) = await queue.receive()
    assert d2.attempt == 2
    assert await queue.fail(d2, "again") == "retry"
    clock.advance(1.5)
    assert await queue.receive() == []  # second back-off is 2 s
    clock.advance(1.0)
    (d3,) = await queue.receive()
    assert await queue.fail(d3, ValueError("last")) == "dead"
    clock.advance(100)
    assert await queue.receive() == []
    await expect_depth(0)
    (dead,) = await queue.dead_letters()
    assert (dead.body, dead.attempts, dead.error) == ({"n": 7}, 3, "ValueError: last")


async def test_process_acks_successes_and_retries_failures(
    queue: Jobs, clock: FakeClock, expect_depth: ExpectDepth
) -> None:
    handled: list[int] = []

    async def handler(message: dict[str, int]) -> None:
        if message["n"] == 2:
            raise RuntimeError("no twos")
        handled.append(message["n"])

    for i in range(4):
        await queue.send({"n": i})
    assert await queue.process(handler) == 3
    assert handled == [0, 1, 3]
    await expect_depth(1)
    for _ in range(3):
        clock.advance(100)
        await queue.process(handler)
    assert [d.body for d in await queue.dead_letters()] == [{"n": 2}]


async def test_message_expiring_every_attempt_is_dead_lettered(
    queue: Jobs, clock: FakeClock
) -> None:
    await queue.send({"n": 1})
    for _ in range(3):
        assert len(await queue.receive(visibility_timeout=1)) == 1
        clock.advance(2)
    assert await queue.receive() == []
    assert len(await queue.dead_letters()) == 1


async def test_redrive_puts_a_dead_letter_back(queue: Jobs, expect_depth: ExpectDepth) -> None:
    if not queue.redrives:
        with pytest.raises(UnsupportedOperationError, match="cannot redrive"):
            await queue.redrive("1")
        return
    await queue.send({"n": 9})
    (first,) = await queue.receive()
    await queue.backend.dead_letter(first.id, error="boom")
    await expect_depth(0)
    (dead,) = await queue.dead_letters()
    assert await queue.redrive(dead.id + "0") is None
    assert await queue.redrive("not-an-id") is None
    new_id = await queue.redrive(dead.id)
    assert new_id is not None
    assert await queue.dead_letters() == []
    await expect_depth(1)
    (again,) = await queue.receive()
    assert (again.id, again.body, again.attempt) == (new_id, {"n": 9}, 1)
    assert await queue.redrive(dead.id) is None


async def test_delayed_send_and_type_check(queue: Jobs, clock: FakeClock) -> None:
    await queue.send({"n": 1}, delay=5)
    assert await queue.receive() == []
    clock.advance(5)
    assert len(await queue.receive()) == 1
    with pytest.raises(ValueTypeError):
        await queue.send({"n": "x"})  # type: ignore[dict-item]


async def test_topic_lag_counts_what_each_subscription_has_not_taken(
    topic: TopicClient[str],
) -> None:
    if not isinstance(topic.backend, ReportsLag):
        # Pub/Sub keeps a subscription's backlog in Cloud Monitoring only: the
        # one topic backend documented (docs/dashboard.md) as not reporting lag
        assert type(topic.backend).__name__ == "PubsubTopic", type(topic.backend)
        return
    a = await topic.subscribe("a")
    await topic.subscribe("b")
    assert await topic.backend.lag() == {"a": 0, "b": 0}
    for n in range(3):
        await topic.publish(str(n))
    assert await a.get(timeout=1) == "0"
    assert await topic.backend.lag() == {"a": 2, "b": 3}


async def test_topic_fans_out_to_every_subscription(topic: TopicClient[str]) -> None:
    assert await topic.publish("before anyone listens") == 0
    a = await topic.subscribe("a")
    b = await topic.subscribe("b")
    assert await topic.publish("ü1") == 2
    await topic.publish("2")
    assert [await a.get(timeout=0.1), await a.get(timeout=0.1)] == ["ü1", "2"]
    assert [await b.get(timeout=0.1), await b.get(timeout=0.1)] == ["ü1", "2"]
    assert await a.get(timeout=0.01) is None
    await b.close()
    assert await topic.publish("3") == 1
    assert await a.get(timeout=0.1) == "3"
    with pytest.raises(ValueTypeError):
        await topic.publish(3)  # type: ignore[arg-type]
