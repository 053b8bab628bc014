"""Consumer workers: ack on success, report failures, drain on shutdown."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import pytest

from skaal.runtime.ports import Delivery
from skaal.serve.workers import QueueWorker, TopicWorker


class FakeQueue:
    """Redelivers failed messages at once; dead-letters at ``max_attempts``."""

    def __init__(self, bodies: list[Any], *, max_attempts: int = 3) -> None:
        self.waiting = [Delivery(str(i), body, 1) for i, body in enumerate(bodies)]
        self.max_attempts = max_attempts
        self.acked: list[str] = []
        self.dead: list[tuple[str, str]] = []
        self.settled = asyncio.Event()
        self.total = len(bodies)

    async def receive(
        self, *, max_messages: int = 1, visibility_timeout: float | None = None
    ) -> list[Delivery[Any]]:
        batch, self.waiting = self.waiting[:max_messages], self.waiting[max_messages:]
        return batch

    def _check(self) -> None:
        if len(self.acked) + len(self.dead) == self.total:
            self.settled.set()

    async def ack(self, delivery: Delivery[Any]) -> None:
        self.acked.append(delivery.id)
        self._check()

    async def fail(
        self, delivery: Delivery[Any], error: BaseException | str
    ) -> Literal["retry", "dead"]:
        if delivery.attempt >= self.max_attempts:
            self.dead.append((delivery.id, str(error)))
            self._check()
            return "dead"
        self.waiting.append(Delivery(delivery.id, delivery.body, delivery.attempt + 1))
        return "retry"


@pytest.mark.asyncio
async def test_successes_are_acked_and_poison_is_dead_lettered() -> None:
    queue = FakeQueue(["ok", "bad", "flaky"])
    attempts: dict[str, int] = {}

    async def handler(message: str) -> None:
        attempts[message] = attempts.get(message, 0) + 1
        if message == "bad" or (message == "flaky" and attempts[message] < 2):
            raise ValueError(f"cannot handle {message}")

    worker = QueueWorker("mailer", handler, queue, idle_s=0.001)
    worker.start()
    await asyncio.wait_for(queue.settled.wait(), timeout=5)
    await worker.stop()
    assert sorted(queue.acked) == ["0", "2"]
    assert queue.dead == [("1", "cannot handle bad")]
    assert attempts == {"ok": 1, "bad": 3, "flaky": 2}
    assert (worker.acked, worker.retried, worker.dead) == (2, 3, 1)


@pytest.mark.asyncio
async def test_sync_handlers_run_in_a_thread() -> None:
    queue = FakeQueue([1, 2, 3])
    seen: list[int] = []
    worker = QueueWorker("sync", seen.append, queue, idle_s=0.001)
    worker.start()
    await asyncio.wait_for(queue.settled.wait(), timeout=5)
    await worker.stop()
    assert sorted(seen) == [1, 2, 3]


@pytest.mark.asyncio
async def test_shutdown_drains_in_flight_messages() -> None:
    queue = FakeQueue(["a", "b"])
    started = asyncio.Event()
    release = asyncio.Event()

    async def handler(message: str) -> None:
        started.set()
        await release.wait()

    worker = QueueWorker("slow", handler, queue, idle_s=0.001)
    worker.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    stopping = asyncio.create_task(worker.stop(timeout=5))
    await asyncio.sleep(0)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, timeout=5)
    assert sorted(queue.acked) == ["0", "1"]


@pytest.mark.asyncio
async def test_shutdown_is_bounded() -> None:
    queue = FakeQueue(["stuck"])
    started = asyncio.Event()

    async def handler(message: str) -> None:
        started.set()
        await asyncio.Event().wait()

    worker = QueueWorker("stuck", handler, queue, idle_s=0.001)
    worker.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    await asyncio.wait_for(worker.stop(timeout=0.01), timeout=5)
    assert queue.acked == []  # never acked: the backend will redeliver it


class FakeSubscription:
    def __init__(self, messages: list[str]) -> None:
        self.messages = messages

    async def get(self, *, timeout: float | None = None) -> str | None:
        await asyncio.sleep(0)
        return self.messages.pop(0) if self.messages else None


@pytest.mark.asyncio
async def test_topic_worker_survives_a_failing_subscriber() -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def handler(message: str) -> None:
        seen.append(message)
        if len(seen) == 3:
            done.set()
        if message == "bad":
            raise RuntimeError("subscriber bug")

    worker = TopicWorker("audit", handler, FakeSubscription(["a", "bad", "c"]), poll_s=0.001)
    worker.start()
    await asyncio.wait_for(done.wait(), timeout=5)
    await worker.stop()
    assert seen == ["a", "bad", "c"]
    assert (worker.delivered, worker.failed) == (2, 1)
