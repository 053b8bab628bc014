"""``QueueClient[T]`` and ``TopicClient[T]``: typed messaging over the queue/topic ports.

Delivery is at least once.  A consumer (run by the serving plane's workers)
``receive``\\ s messages, which stay hidden for the visibility timeout; it
``ack``\\ s each one it handled, or ``fail``\\ s it.  A failed message comes
back after an exponential back-off (``base_delay * 2 ** (attempt - 1)``,
capped at ``max_delay``); after ``max_attempts`` attempts (declared with
``@app.queue(max_attempts=...)``, default 5) it moves to the dead letters
with its last error.  A consumer that dies mid-message simply lets the
visibility timeout expire: the message is delivered again, and a message
received more than ``max_attempts`` times is dead-lettered on receipt.

``process`` runs one receive → handle → ack/fail round; workers loop on it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, Literal, TypeVar

from msgspec import Struct

from skaal.declare.values import TopicSubscription
from skaal.runtime.codecs import ValueCodec
from skaal.runtime.errors import UnsupportedOperationError, ValueTypeError
from skaal.runtime.ports import (
    DeadLetter,
    Delivery,
    QueueBackend,
    RedrivesDeadLetters,
    Subscription,
    TopicBackend,
)

__all__ = ["QueueClient", "RetryPolicy", "TopicClient", "TopicSubscription", "TypedSubscription"]

T = TypeVar("T")

log = logging.getLogger("skaal.runtime.queue")


class RetryPolicy(Struct, frozen=True):
    """How failed messages are retried."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 300.0
    visibility_timeout: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1`` after attempt ``attempt`` failed."""
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1)))


class QueueClient(Generic[T]):
    """Typed access to one ``Queue`` resource."""

    def __init__(
        self,
        backend: QueueBackend,
        *,
        resource: str,
        values: ValueCodec[T],
        policy: RetryPolicy | None = None,
    ) -> None:
        self.backend = backend
        self.resource = resource
        self.policy = policy or RetryPolicy()
        self._values = values

    def __repr__(self) -> str:
        return f"QueueClient({self.resource!r})"

    async def send(self, message: T, *, delay: float = 0.0) -> str:
        """Enqueue ``message`` (validated against the declared type); its id."""
        return await self.backend.send(self._values.encode(message), delay=max(0.0, delay))

    async def receive(
        self, *, max_messages: int = 1, visibility_timeout: float | None = None
    ) -> list[Delivery[T]]:
        """Up to ``max_messages`` visible messages, hidden until acked, failed or timed out."""
        timeout = (
            self.policy.visibility_timeout
            if visibility_timeout is None
            else timeout_ok(visibility_timeout)
        )
        raw = await self.backend.receive(max_messages=max_messages, visibility_timeout=timeout)
        out: list[Delivery[T]] = []
        for delivery in raw:
            if delivery.attempt > self.policy.max_attempts:
                await self.backend.dead_letter(
                    delivery.id, error="visibility timeout expired on every attempt"
                )
                continue
            try:
                body = self._values.decode(delivery.body, key=delivery.id)
            except Exception as exc:  # undecodable: retrying cannot help
                await self.backend.dead_letter(delivery.id, error=str(exc))
                continue
            out.append(Delivery(delivery.id, body, delivery.attempt))
        return out

    async def ack(self, delivery: Delivery[T] | str) -> None:
        await self.backend.ack(delivery if isinstance(delivery, str) else delivery.id)

    async def fail(
        self, delivery: Delivery[T], error: BaseException | str
    ) -> Literal["retry", "dead"]:
        """Retry after back-off, or dead-letter after ``max_attempts``; which one happened."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if delivery.attempt >= self.policy.max_attempts:
            await self.backend.dead_letter(delivery.id, error=text)
            return "dead"
        await self.backend.retry(delivery.id, delay=self.policy.backoff(delivery.attempt))
        return "retry"

    async def process(
        self,
        handler: Callable[[T], Awaitable[object] | object],
        *,
        max_messages: int = 10,
        visibility_timeout: float | None = None,
    ) -> int:
        """Receive once and run ``handler`` on each message; how many were handled OK."""
        handled = 0
        for delivery in await self.receive(
            max_messages=max_messages, visibility_timeout=visibility_timeout
        ):
            try:
                result = handler(delivery.body)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                outcome = await self.fail(delivery, exc)
                log.warning(
                    "%s: message %s failed (attempt %d, %s): %s",
                    self.resource,
                    delivery.id,
                    delivery.attempt,
                    "dead-lettered" if outcome == "dead" else "will retry",
                    exc,
                    exc_info=exc,
                )
            else:
                await self.ack(delivery)
                handled += 1
        return handled

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter[T]]:
        return [
            DeadLetter(d.id, self._values.decode(d.body, key=d.id), d.attempts, d.error)
            for d in await self.backend.dead_letters(limit=limit)
        ]

    @property
    def redrives(self) -> bool:
        """Whether this queue's backend can put dead letters back (:meth:`redrive`)."""
        return isinstance(self.backend, RedrivesDeadLetters)

    async def redrive(self, message_id: str) -> str | None:
        """Put the dead letter ``message_id`` back on the queue; its new id (``None``: no such
        dead letter).  The message starts again with no attempts counted."""
        if not isinstance(self.backend, RedrivesDeadLetters):
            raise UnsupportedOperationError(
                f"the backend of {self.resource} cannot redrive dead letters",
                where=self.resource,
                fix="read them with dead_letters() and send() each body again",
            )
        return await self.backend.redrive(message_id)

    async def depth(self) -> int:
        """Messages waiting or in flight (not acked, not dead); an estimate on cloud queues."""
        return await self.backend.depth()


def timeout_ok(value: float) -> float:
    if isinstance(value, bool) or not value > 0:
        raise ValueTypeError(f"visibility_timeout={value!r} is not a positive number")
    return float(value)


class TypedSubscription(Generic[T]):
    """A :class:`~skaal.declare.values.TopicSubscription`: a backend's, decoding its messages."""

    def __init__(self, inner: Subscription[bytes], values: ValueCodec[T]) -> None:
        self._inner = inner
        self._values = values

    @property
    def name(self) -> str:
        return self._inner.name

    async def get(self, *, timeout: float | None = None) -> T | None:
        data = await self._inner.get(timeout=timeout)
        return None if data is None else self._values.decode(data)

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            data = await self._inner.get(timeout=None)
            if data is None:
                return
            yield self._values.decode(data)

    async def close(self) -> None:
        await self._inner.close()


class TopicClient(Generic[T]):
    """Typed access to one ``Topic`` resource."""

    def __init__(self, backend: TopicBackend, *, resource: str, values: ValueCodec[T]) -> None:
        self.backend = backend
        self.resource = resource
        self._values = values

    def __repr__(self) -> str:
        return f"TopicClient({self.resource!r})"

    async def publish(self, message: T) -> int:
        """Deliver ``message`` to every subscription; how many received it."""
        return await self.backend.publish(self._values.encode(message))

    async def subscribe(self, name: str) -> TopicSubscription[T]:
        """The subscription ``name`` (created if new); it sees messages published from now."""
        return TypedSubscription(await self.backend.subscribe(name), self._values)
