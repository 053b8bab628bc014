"""The ``pubsub`` backend's ``Queue``: a topic, a pull subscription and two companions.

A Queue resource named ``N`` (:func:`~skaal.runtime.backends.gcp_common.gcp_name`
of the app and resource) is three topics, each with one subscription of the
same name, which the gcp build stage creates under exactly these names
(:func:`skaal.plan.pubsub.queue_names`):

``N``
    The queue.  Its subscription has a dead-letter policy (Pub/Sub then
    counts deliveries: ``delivery_attempt``) forwarding to ``N-dead`` after
    ``max_delivery_attempts`` (the declared ``max_attempts``, clamped to
    Pub/Sub's 5 to 100) -- the safety net for consumers that die mid-message.
    It has no retry policy: an expired or shortened ack deadline redelivers
    at once, so the runtime's back-off is the only one.
``N-delayed``
    Messages sent with a delay, carrying a ``skaal-not-before`` timestamp.
    Pub/Sub has no delayed delivery, so they wait here and are *promoted*
    (published to ``N``, then acknowledged here) by the first ``receive``
    -- or, for push consumers, the worker's promote endpoint -- that sees
    them due.  One not yet due is hidden with ``modify_ack_deadline`` for
    the time left (at most 600 s, then looked at again), so it is never
    delivered early.  Keeping them off ``N`` means waiting never spends one
    of ``N``'s delivery attempts.
``N-dead``
    Dead letters.  ``dead_letter`` publishes the message there with its
    error, attempts and id as attributes and acknowledges it on ``N``;
    messages forwarded by the dead-letter policy carry Pub/Sub's own
    ``CloudPubSubDeadLetterSourceDeliveryCount``.  ``dead_letters`` peeks:
    it pulls, then gives every message back (ack deadline 0).  An error is
    kept up to Pub/Sub's 1,024 bytes of an attribute value.  ``redrive``
    pulls the same way, publishes the dead letter to ``N`` as a new message
    (a new id, no attempts counted), acknowledges it here and gives the
    others back.

Mapping of the port:

* ``receive``: promote what is due and pull ``N`` (the two pulls run at
  once; a pull waits at most a quarter of a second when nothing is there),
  then set each message's ack deadline to the visibility timeout.  Pub/Sub
  accepts 0 to 600 s: shorter timeouts are rounded up to whole seconds
  (at least 1), longer ones are capped at 600 s, after which the message
  may be delivered again.  ``attempt`` is ``delivery_attempt`` plus the
  attempts a message had before a long retry moved it to ``N-delayed``
  (``skaal-attempts-before``).
* ``ack`` / ``retry`` / ``dead_letter`` need the *ack id* of the current
  delivery, which this process remembers by message id: a message is
  settled by the process that received it (as with SQS receipt handles).
  ``retry(delay)`` sets the ack deadline to the delay (up to 600 s);
  a longer delay republishes the message to ``N-delayed`` and acknowledges
  it, keeping its id and attempt count.
* ``depth``: Pub/Sub keeps no exact count.  The answer is Cloud
  Monitoring's ``num_undelivered_messages`` of ``N`` and ``N-delayed``
  (unacknowledged, in flight or not), an estimate sampled every minute and
  published a few minutes late: see :class:`MonitoringBacklog`.  Against
  the emulator, which has no Monitoring, ``depth`` raises
  :class:`~skaal.runtime.backends.gcp_common.GcpBackendError` saying so.

An adopted queue (``existing=`` naming a subscription ``S``) is used as
its owner configured it: opening it reads ``S`` and refuses a push
subscription (the runtime pulls it) and one without a dead-letter policy.
The topic is ``S``'s own; the policy's ``max_delivery_attempts`` is the
limit of deliveries, and ``dead_letter`` publishes to the policy's topic.
Only ``S-delayed`` (a topic and a subscription) is Skaal's.  Skaal holds no
subscription on the owner's dead-letter topic, so ``dead_letters`` and
``redrive`` are refused: they are read where the owner reads them.

Message ids are the ``skaal-id`` attribute every send sets (a promoted or
republished copy keeps it; a message published by others has Pub/Sub's id).
Delivery is at least once and roughly in publish order (no ordering key:
with one, a single redelivery would hold back, and redeliver, everything
behind it).  Time for delays is the runtime's clock;
hiding and visibility run on Pub/Sub's.  Calls go through the provider's
bounded pools under one deadline each, with the clients' own retries off
(:mod:`~skaal.runtime.backends.gcp_common`); what still fails becomes a
``GcpBackendError``.  Every publish is repeated after a timeout: a second
copy carries the same ``skaal-id``, so to a consumer it is a redelivery,
which the at-least-once contract makes it handle.  Pulls are repeated (a
lost answer hides its messages until their ack deadline whether or not the
pull is repeated; then they come back), and so are acknowledgements and
ack-deadline changes (the same ack ids, the same value).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from msgspec import Struct

from skaal.plan.pubsub import (
    QueueNames,
    adopted_queue_names,
    max_delivery_attempts,
    queue_names,
)
from skaal.runtime.backends.gcp_common import (
    GcpBackendError,
    Offload,
    ensure_pubsub_topic,
    gcp_native,
    rpc,
)
from skaal.runtime.backends.pubsub_backlog import Backlog
from skaal.runtime.ports import Clock, DeadLetter, Delivery
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from skaal.declare.native import Native, PubsubClients

__all__ = ["PubsubQueue", "QueueNames", "max_delivery_attempts", "queue_names"]

T = TypeVar("T")

NOT_BEFORE = "skaal-not-before"
ID = "skaal-id"
ERROR = "skaal-error"
ATTEMPTS = "skaal-attempts"
ATTEMPTS_BEFORE = "skaal-attempts-before"
_FORWARDED_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"
_MAX_DEADLINE = 600
_PULL_WAIT = 0.25
"""Seconds a pull of an empty subscription waits before answering nothing."""
_PULL_BATCH = 1000
_MAX_ATTRIBUTE = 1024
"""Pub/Sub's limit on an attribute value, in bytes."""


def _deadline(seconds: float) -> int:
    return min(_MAX_DEADLINE, max(0, math.ceil(seconds)))


class _InFlight(Struct):
    ack_id: str
    body: bytes
    attempt: int


class PubsubQueue:
    """A ``QueueBackend`` on a Pub/Sub topic, its delayed and dead-letter companions."""

    def __init__(
        self,
        publisher: Any,
        subscriber: Any,
        offload: Offload,
        pulls: Offload,
        *,
        project: str,
        name: str,
        resource: str,
        clock: Clock,
        backlog: Backlog,
        max_attempts: int | None,
        create: bool,
        adopted: str | None = None,
    ) -> None:
        self._publisher = publisher
        self._subscriber = subscriber
        self._offload = offload
        self._pulls = pulls
        self._resource = resource
        self._clock = clock
        self._backlog = backlog
        self._max_deliveries = max_delivery_attempts(max_attempts)
        self._create = create
        self._adopted = adopted
        # an adopted queue's topics are read from its subscription when it opens
        self.names = (
            queue_names(name)
            if adopted is None
            else adopted_queue_names(adopted, topic="", dead="")
        )
        self._project = project
        self._inflight: dict[str, _InFlight] = {}

    async def native(self) -> Native[PubsubClients]:
        """The queue's topic (``name``), its subscription and its two companions (an
        adopted queue's dead-letter topic is its owner's: no subscription of Skaal's)."""
        from skaal.declare.native import PubsubClients

        names = self.names
        dead = (
            {}
            if self._adopted
            else {"dead_letter_subscription": self.subscription_path(names.dead)}
        )
        return gcp_native(
            PubsubClients(self._publisher, self._subscriber),
            "pubsub",
            "queue",
            self._resource,
            topic=self.topic_path(names.queue),
            subscription=self.subscription_path(names.pulled),
            delayed_topic=self.topic_path(names.delayed),
            delayed_subscription=self.subscription_path(names.delayed),
            dead_letter_topic=self.topic_path(names.dead),
            **dead,
        )

    def topic_path(self, topic: str) -> str:
        """The path of topic ``topic`` of this project (a full path is kept as it is)."""
        if topic.startswith("projects/"):
            return topic
        return f"projects/{self._project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self._project}/subscriptions/{subscription}"

    async def _run(self, fn: Callable[[], T], what: str, safety: Safety) -> T:
        return await self._offload.run(fn, what=what, where=self._resource, safety=safety)

    async def _pull(self, subscription: str, count: int) -> list[Any]:
        from google.api_core import exceptions as gexc

        subscriber, path = self._subscriber, self.subscription_path(subscription)

        def pull() -> list[Any]:
            try:
                response = subscriber.pull(
                    request={"subscription": path, "max_messages": count},
                    timeout=_PULL_WAIT,
                    retry=None,
                )
            except gexc.DeadlineExceeded:
                return []  # nothing arrived within the short wait
            return list(response.received_messages)

        # repeated after a transient failure: see the module docstring
        return await self._pulls.run(
            pull,
            what="pull messages",
            where=self._resource,
            safety=Safety.IDEMPOTENT,
            wait=_PULL_WAIT,
        )

    async def _set_deadline(self, subscription: str, ack_ids: Sequence[str], seconds: int) -> None:
        if not ack_ids:
            return
        subscriber, path = self._subscriber, self.subscription_path(subscription)
        ids = list(ack_ids)
        await self._run(
            lambda: subscriber.modify_ack_deadline(
                request={"subscription": path, "ack_ids": ids, "ack_deadline_seconds": seconds},
                **rpc(),
            ),
            "change an ack deadline",
            Safety.IDEMPOTENT,
        )

    async def _ack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        if not ack_ids:
            return
        subscriber, path = self._subscriber, self.subscription_path(subscription)
        ids = list(ack_ids)
        await self._run(
            lambda: subscriber.acknowledge(request={"subscription": path, "ack_ids": ids}, **rpc()),
            "acknowledge messages",
            Safety.IDEMPOTENT,
        )

    async def _publish(self, topic: str, body: bytes, attributes: dict[str, str]) -> None:
        """Publish; repeated after a timeout (every message carries its ``skaal-id``)."""
        publisher, path = self._publisher, self.topic_path(topic)

        def publish() -> None:
            options = rpc()
            future = publisher.publish(path, body, **options, **attributes)
            future.result(timeout=options.get("timeout"))

        await self._run(publish, "publish a message", Safety.IDEMPOTENT)

    # -- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        await self._run(self._ensure, "check its topics and subscriptions", Safety.IDEMPOTENT)

    def _ensure(self) -> None:
        if self._adopted is not None:
            self._ensure_adopted(self._adopted)
            return
        names = self.names
        for topic in (names.queue, names.delayed, names.dead):
            ensure_pubsub_topic(
                self._publisher,
                self.topic_path(topic),
                resource=self._resource,
                create=self._create,
            )
        if not self._create:
            return
        policy = {
            "dead_letter_topic": self.topic_path(names.dead),
            "max_delivery_attempts": self._max_deliveries,
        }
        self._create_subscription(names.queue, dead_letter_policy=policy)
        self._create_subscription(names.delayed)
        self._create_subscription(names.dead)

    def _create_subscription(self, name: str, **extra: Any) -> None:
        """Create (emulator) the subscription ``name`` on the topic of the same name,
        unless it exists."""
        from google.api_core import exceptions as gexc

        request = {
            "name": self.subscription_path(name),
            "topic": self.topic_path(name),
            "ack_deadline_seconds": 60,
            **extra,
        }
        with contextlib.suppress(gexc.AlreadyExists):
            self._subscriber.create_subscription(request=request, **rpc())

    def _ensure_adopted(self, subscription: str) -> None:
        """Read the adopted subscription (its topic and dead-letter policy); check or
        create (emulator) Skaal's delayed topic and subscription beside it."""
        from google.api_core import exceptions as gexc

        path = self.subscription_path(subscription)
        where = f"{self._resource} (existing={path!r})"
        try:
            found = self._subscriber.get_subscription(request={"subscription": path}, **rpc())
        except gexc.NotFound:
            raise GcpBackendError(
                f"Pub/Sub subscription {path!r} does not exist, and {self._resource} adopts "
                "it (existing=): Skaal never creates it",
                where=where,
                fix="name a subscription this project has in existing=, or remove existing= "
                "to have the deployment create the queue",
            ) from None
        if found.push_config.push_endpoint:
            raise GcpBackendError(
                f"Pub/Sub subscription {path!r} pushes to {found.push_config.push_endpoint}, "
                f"and {self._resource} adopts it as a queue the runtime pulls",
                where=where,
                fix="adopt a pull subscription (remove its push endpoint, or create a pull "
                "subscription on the same topic and name it in existing=)",
            )
        policy = found.dead_letter_policy
        if not policy.dead_letter_topic:
            raise GcpBackendError(
                f"Pub/Sub subscription {path!r} has no dead-letter policy, which "
                f"{self._resource} needs: a message that keeps failing must go somewhere, "
                "and the policy's max_delivery_attempts is the queue's limit of deliveries",
                where=where,
                fix="give the subscription a dead-letter topic (gcloud pubsub subscriptions "
                "update --dead-letter-topic=... --max-delivery-attempts=...)",
            )
        self.names = adopted_queue_names(
            subscription, topic=found.topic, dead=policy.dead_letter_topic
        )
        self._max_deliveries = policy.max_delivery_attempts or max_delivery_attempts(None)
        delayed = self.names.delayed
        ensure_pubsub_topic(
            self._publisher, self.topic_path(delayed), resource=self._resource, create=self._create
        )
        if self._create:
            self._create_subscription(delayed)

    def _own_dead_letters(self, what: str) -> None:
        if self._adopted is not None:
            raise GcpBackendError(
                f"{what} of {self._resource} is not possible: it adopts subscription "
                f"{self._adopted!r}, whose dead letters go to its owner's topic "
                f"{self.names.dead or '(read when the queue opens)'!r}, on which Skaal holds "
                "no subscription",
                where=self._resource,
                fix="read and redrive them where the subscription's owner reads its dead-letter "
                "topic (a subscription of their own on it)",
            )

    @property
    def max_deliveries(self) -> int:
        """Deliveries before Pub/Sub moves a message to the dead-letter topic."""
        return self._max_deliveries

    async def close(self) -> None:
        self._inflight.clear()

    # -- sending --------------------------------------------------------------------

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        ident = uuid.uuid4().hex
        if delay > 0:
            due = {ID: ident, NOT_BEFORE: repr(self._clock() + delay)}
            await self._publish(self.names.delayed, body, due)
        else:
            await self._publish(self.names.queue, body, {ID: ident})
        return ident

    async def promote(self, received: list[Any] | None = None) -> int:
        """Move the delayed messages that are due to the queue; how many moved."""
        if received is None:
            received = await self._pull(self.names.delayed, _PULL_BATCH)
        now = self._clock()
        due: list[str] = []
        waits: dict[int, list[str]] = {}
        for item in received:
            message = item.message
            attributes = dict(message.attributes)
            if await self.promote_one(bytes(message.data), attributes, message.message_id, now):
                due.append(item.ack_id)
            else:
                left = float(attributes[NOT_BEFORE]) - now
                # a little short of the time left: the runtime's clock decides, never early
                waits.setdefault(_deadline(left - 1.0), []).append(item.ack_id)
        await self._ack(self.names.delayed, due)
        for seconds, ack_ids in sorted(waits.items()):
            await self._set_deadline(self.names.delayed, ack_ids, seconds)
        return len(due)

    async def promote_one(
        self,
        data: bytes,
        attributes: Mapping[str, str],
        message_id: str,
        now: float | None = None,
    ) -> bool:
        """Publish one message of ``N-delayed`` to the queue if it is due; whether it was.

        The worker's promote endpoint calls this with what Pub/Sub pushed.
        """
        kept = dict(attributes)
        try:
            not_before = float(kept.pop(NOT_BEFORE, "0"))
        except ValueError:
            not_before = 0.0  # not written by this backend: deliver it rather than keep it
        if not_before > (self._clock() if now is None else now):
            return False
        kept.setdefault(ID, message_id)
        await self._publish(self.names.queue, data, kept)
        return True

    # -- receiving ------------------------------------------------------------------

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        count = min(max_messages, _PULL_BATCH)
        # both pulls at once: a receive answers within one pull's wait
        delayed, received = await asyncio.gather(
            self._pull(self.names.delayed, _PULL_BATCH), self._pull(self.names.pulled, count)
        )
        if await self.promote(delayed) and len(received) < count:
            received += await self._pull(self.names.pulled, count - len(received))
        received.sort(key=lambda m: m.message.publish_time)
        await self._set_deadline(
            self.names.pulled,
            [m.ack_id for m in received],
            max(1, _deadline(visibility_timeout)),
        )
        out: list[Delivery[bytes]] = []
        for item in received:
            message = item.message
            ident = message.attributes.get(ID) or str(message.message_id)
            before = int(message.attributes.get(ATTEMPTS_BEFORE, "0") or 0)
            attempt = before + max(1, int(item.delivery_attempt))
            body = bytes(message.data)
            self._inflight[ident] = _InFlight(item.ack_id, body, attempt)
            out.append(Delivery(ident, body, attempt))
        return out

    async def ack(self, message_id: str) -> None:
        held = self._inflight.pop(message_id, None)
        if held is not None:
            await self._ack(self.names.pulled, [held.ack_id])

    async def retry(self, message_id: str, *, delay: float) -> None:
        held = self._inflight.get(message_id)
        if held is None:
            return
        if delay <= _MAX_DEADLINE:
            await self._set_deadline(self.names.pulled, [held.ack_id], _deadline(delay))
            self._inflight.pop(message_id, None)
            return
        attributes = {
            NOT_BEFORE: repr(self._clock() + delay),
            ID: message_id,
            ATTEMPTS_BEFORE: str(held.attempt),
        }
        await self._publish(self.names.delayed, held.body, attributes)
        await self.ack(message_id)

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        held = self._inflight.get(message_id)
        if held is None:
            return
        text = error.encode()[:_MAX_ATTRIBUTE].decode(errors="ignore") or "-"
        attributes = {ID: message_id, ERROR: text, ATTEMPTS: str(held.attempt)}
        await self._publish(self.names.dead, held.body, attributes)
        await self.ack(message_id)

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]:
        self._own_dead_letters("reading the dead letters")
        seen: dict[str, Any] = {}
        ack_ids: list[str] = []
        while len(seen) < limit:
            batch = await self._pull(self.names.dead, min(_PULL_BATCH, limit - len(seen)))
            ack_ids.extend(m.ack_id for m in batch)
            fresh = [m.message for m in batch if m.message.message_id not in seen]
            if not fresh:
                break
            seen.update((m.message_id, m) for m in fresh)
        await self._set_deadline(self.names.dead, ack_ids, 0)  # give them all back
        out: list[DeadLetter[bytes]] = []
        for message in sorted(seen.values(), key=lambda m: m.publish_time)[:limit]:
            attributes = message.attributes
            error = attributes.get(
                ERROR,
                "delivered too many times without being acknowledged "
                "(moved by the subscription's dead-letter policy)",
            )
            attempts = attributes.get(ATTEMPTS) or attributes.get(_FORWARDED_COUNT) or "0"
            ident = attributes.get(ID) or str(message.message_id)
            out.append(DeadLetter(ident, bytes(message.data), int(attempts), error))
        return out

    async def redrive(self, message_id: str) -> str | None:
        """Send the dead letter ``message_id`` back to the queue as a new message; its new id.

        ``N-dead`` is read as ``dead_letters`` reads it; the copies carrying
        ``message_id`` are acknowledged once the message is on ``N`` again
        (a crash in between leaves it in both: at least once), every other
        message is given back.  ``None`` when no dead letter has that id.
        """
        self._own_dead_letters("redriving a dead letter")
        pulled: dict[str, Any] = {}  # ack id -> received message
        while True:
            batch = await self._pull(self.names.dead, _PULL_BATCH)
            fresh = [m for m in batch if m.ack_id not in pulled]
            if not fresh:
                break
            pulled.update((m.ack_id, m) for m in fresh)

        def ident(item: Any) -> str:
            return str(item.message.attributes.get(ID) or item.message.message_id)

        matching = [a for a, m in pulled.items() if ident(m) == message_id]
        others = [a for a, m in pulled.items() if ident(m) != message_id]
        new_id = await self.send(bytes(pulled[matching[0]].message.data)) if matching else None
        if matching:
            await self._ack(self.names.dead, matching)
        await self._set_deadline(self.names.dead, others, 0)  # give them back
        return new_id

    async def depth(self) -> int:
        names = (self.names.pulled, self.names.delayed)
        return await self._run(
            lambda: self._backlog(names), "read the backlog estimate", Safety.READ
        )
