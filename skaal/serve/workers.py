"""Consumer workers: pull messages from queues and topics and call the user's handlers.

A :class:`QueueWorker` runs one consumer function against one queue:

1. receive up to ``concurrency - in_flight`` messages, each hidden from other
   receivers for ``visibility_timeout`` seconds;
2. call the handler once per message (``async def`` on the loop, plain
   functions in a worker thread), each in its own task;
3. on success, **ack** (the message is gone); on an exception, log it and
   report the failure to the queue client, which either makes the message
   visible again after an exponential back-off or, once the attempt count
   reaches the queue's declared ``max_attempts``, moves it to the
   dead-letter store with the error (the policy lives in one place, the
   client; the worker runs the loop).

Delivery is at least once: a worker that dies mid-message never acks it, and
the backend makes it visible again after the visibility timeout.  Handlers
should therefore be idempotent.

A :class:`TopicWorker` reads one named subscription and calls a subscriber
for every message; a failing subscriber is logged and the next message is
processed (topics have no redelivery).

``stop(timeout)`` is the graceful shutdown: stop receiving, wait for the
messages in flight to finish (up to ``timeout`` seconds), then cancel what is
left, which the backend will redeliver.  Workers speak to the small
:class:`QueueOps` / :class:`SubscriptionOps` protocols, which the runtime's
queue and topic backends satisfy, so tests drive them with fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from starlette.concurrency import run_in_threadpool

from skaal.runtime.ports import Delivery

__all__ = [
    "QueueOps",
    "QueueWorker",
    "SubscriptionOps",
    "TopicWorker",
    "call_handler",
]

log = logging.getLogger("skaal.serve.workers")

Sleep = Callable[[float], Awaitable[None]]


class QueueOps(Protocol):
    """What a worker needs from a queue client (decoded messages).

    :class:`skaal.runtime.clients.queue.QueueClient` satisfies it: ``receive``
    dead-letters undecodable messages itself, and ``fail`` decides between a
    retry after back-off and the dead-letter store from the queue's declared
    ``max_attempts``.
    """

    async def receive(
        self, *, max_messages: int = 1, visibility_timeout: float | None = None
    ) -> list[Delivery[Any]]: ...
    async def ack(self, delivery: Delivery[Any]) -> None: ...
    async def fail(
        self, delivery: Delivery[Any], error: BaseException | str
    ) -> Literal["retry", "dead"]: ...


class SubscriptionOps(Protocol):
    """What a worker needs from a topic subscription (decoded messages)."""

    async def get(self, *, timeout: float | None = None) -> Any: ...


async def call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Await an ``async def`` handler; run a plain one in a worker thread."""
    if inspect.iscoroutinefunction(handler):
        return await handler(*args)
    return await run_in_threadpool(handler, *args)


class QueueWorker:
    """Runs one consumer against one queue until stopped."""

    def __init__(
        self,
        name: str,
        handler: Callable[[Any], Any],
        queue: QueueOps,
        *,
        concurrency: int = 4,
        visibility_timeout: float | None = None,
        idle_s: float = 0.05,
        max_idle_s: float = 1.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.queue = queue
        self.concurrency = max(concurrency, 1)
        self.visibility_timeout = visibility_timeout
        self.idle_s = idle_s
        self.max_idle_s = max_idle_s
        self.sleep: Sleep = sleep or asyncio.sleep
        self.acked = 0
        self.retried = 0
        self.dead = 0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        """Messages this worker is handling now."""
        return len(self._in_flight)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"skaal-consumer-{self.name}")

    async def run(self) -> None:
        """Receive and dispatch until :meth:`stop`."""
        idle = self.idle_s
        while not self._stopping.is_set():
            free = self.concurrency - len(self._in_flight)
            if free <= 0:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                batch = await self.queue.receive(
                    max_messages=free, visibility_timeout=self.visibility_timeout
                )
            except Exception:
                log.exception("consumer %s: receive failed; retrying", self.name)
                batch = []
            if not batch:
                await self._pause(idle)
                idle = min(idle * 2, self.max_idle_s)
                continue
            idle = self.idle_s
            for delivery in batch:
                task = asyncio.create_task(self._process(delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _process(self, delivery: Delivery[Any]) -> None:
        try:
            await call_handler(self.handler, delivery.body)
        except Exception as exc:
            try:
                outcome = await self.queue.fail(delivery, exc)
            except Exception:
                log.exception("consumer %s: the queue rejected a failure report", self.name)
                return
            if outcome == "dead":
                self.dead += 1
                log.error(
                    "consumer %s: message %s failed on attempt %d; dead-lettered",
                    self.name,
                    delivery.id,
                    delivery.attempt,
                    exc_info=exc,
                )
            else:
                self.retried += 1
                log.warning(
                    "consumer %s: message %s failed on attempt %d; will retry",
                    self.name,
                    delivery.id,
                    delivery.attempt,
                    exc_info=exc,
                )
            return
        await self._settle(self.queue.ack(delivery))
        self.acked += 1

    async def _settle(self, operation: Awaitable[None]) -> None:
        try:
            await operation
        except Exception:
            log.exception("consumer %s: the queue rejected an ack/retry", self.name)

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop receiving; drain in-flight messages for up to ``timeout`` seconds."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await _drain(self._in_flight, timeout, f"consumer {self.name}")


class TopicWorker:
    """Runs one subscriber against one subscription until stopped."""

    def __init__(
        self,
        name: str,
        handler: Callable[[Any], Any],
        subscription: SubscriptionOps,
        *,
        poll_s: float = 0.5,
    ) -> None:
        self.name = name
        self.handler = handler
        self.subscription = subscription
        self.poll_s = poll_s
        self.delivered = 0
        self.failed = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._current: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Messages this worker is handling now (0 or 1)."""
        return len(self._current)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"skaal-subscriber-{self.name}")

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                message = await self.subscription.get(timeout=self.poll_s)
            except Exception:
                log.exception("subscriber %s: receive failed", self.name)
                await asyncio.sleep(self.poll_s)
                continue
            if message is None:
                continue
            task = asyncio.create_task(self._deliver(message))
            self._current.add(task)
            task.add_done_callback(self._current.discard)
            await asyncio.wait({task})

    async def _deliver(self, message: Any) -> None:
        try:
            await call_handler(self.handler, message)
            self.delivered += 1
        except Exception:
            self.failed += 1
            log.exception("subscriber %s failed on a message; continuing", self.name)

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop reading; let the message being handled finish (bounded)."""
        self._stopping.set()
        if self._task is not None:
            if self._current:
                await _drain(self._current, timeout, f"subscriber {self.name}")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def _drain(tasks: set[asyncio.Task[None]], timeout: float, label: str) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(set(tasks), timeout=timeout)
    if pending:
        log.warning(
            "%s: %d message(s) still running after %.0fs; cancelled", label, len(pending), timeout
        )
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
