"""The ``pubsub`` backend: Topics on Google Cloud Pub/Sub.

A Topic resource is one Pub/Sub topic named by :func:`gcp_name`; a named
subscription is the Pub/Sub subscription ``<topic>--<name>``, created with
message ordering on, and every message is published with one ordering key,
so each subscription receives messages in publish order.

* ``publish`` counts the topic's subscriptions, then publishes and waits for
  the server's acknowledgement; the count is what the port returns.
* ``Subscription.get`` pulls one message (a synchronous pull bounded by the
  timeout) and acknowledges it at once: a subscription is a FIFO of bodies.
* ``Subscription.close`` deletes the subscription, as closing does on every
  Topic backend: later messages are no longer kept for it.

Queues are :class:`~skaal.runtime.backends.pubsub_queue.PubsubQueue`
(a topic with delayed and dead-letter companions; its docstring has the
design), sharing this provider's clients and pools.

The clients are synchronous gRPC; calls run on the provider's bounded thread
pools, one for publishing and administration and one for pulls, which wait.
``PUBSUB_EMULATOR_HOST`` in the provider's environment points them at an
emulator (insecure channel, anonymous credentials).

Every call has one deadline and the clients' own retries are off
(:mod:`~skaal.runtime.backends.gcp_common`).  A topic's ``publish`` is not
repeated after it may have reached Pub/Sub: a topic message has no id a
subscriber could deduplicate on, so a timeout raises
:class:`~skaal.runtime.errors.OutcomeUnknownError` rather than risk a second
copy.  A failed ordered publish pauses the ordering key in the client; it is
resumed at once, so the topic recovers when the server does.  A
subscription's pull-and-acknowledge is not repeated either (once it may have
answered, its message is hidden or acknowledged already); creating and
deleting subscriptions is.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.gcp_common import (
    GcpBackendError,
    Offload,
    ensure_pubsub_topic,
    gcp_name,
    gcp_native,
    gcp_project,
    rpc,
)
from skaal.runtime.backends.pubsub_backlog import Backlog, MonitoringBacklog, NoBacklog
from skaal.runtime.backends.pubsub_queue import PubsubQueue
from skaal.runtime.ports import (
    BackendSettings,
    Subscription,
)
from skaal.runtime.retry import RetryPolicy, Safety

if TYPE_CHECKING:
    from skaal.declare.native import Native, PubsubClients

__all__ = ["PubsubProvider", "PubsubSubscription", "PubsubTopic"]

T = TypeVar("T")

_ORDERING_KEY = "skaal"
_LONG_POLL = 5.0
"""Seconds one pull waits when the caller waits forever (then it pulls again)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._~+-]+")


def _clients(env: Mapping[str, str]) -> tuple[Any, Any, str, bool]:
    """Publisher, subscriber, project and whether an emulator is used."""
    from google.cloud import pubsub_v1  # type: ignore[attr-defined, unused-ignore]

    host = env.get("PUBSUB_EMULATOR_HOST")
    project = gcp_project(env, emulator=host is not None, service="Pub/Sub")
    ordered = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    if host is None:
        return (
            pubsub_v1.PublisherClient(publisher_options=ordered),
            pubsub_v1.SubscriberClient(),
            project,
            False,
        )
    import grpc
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    publisher = pubsub_v1.PublisherClient(
        publisher_options=ordered,
        transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host)),
    )
    subscriber = pubsub_v1.SubscriberClient(
        transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(host))
    )
    return publisher, subscriber, project, True


class PubsubSubscription:
    """One named subscription: pull one message, acknowledge it, return its body."""

    def __init__(self, name: str, path: str, topic: PubsubTopic) -> None:
        self._name = name
        self._path = path
        self._topic = topic

    @property
    def name(self) -> str:
        return self._name

    async def get(self, *, timeout: float | None = None) -> bytes | None:
        from google.api_core import exceptions as gexc

        subscriber = self._topic.subscriber

        def pull(wait: float) -> bytes | None:
            try:
                response = subscriber.pull(
                    request={"subscription": self._path, "max_messages": 1},
                    timeout=wait,
                    retry=None,
                )
            except gexc.DeadlineExceeded:
                return None
            if not response.received_messages:
                return None
            received = response.received_messages[0]
            subscriber.acknowledge(
                request={"subscription": self._path, "ack_ids": [received.ack_id]}, **rpc()
            )
            return bytes(received.message.data)

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:  # a pull may answer empty early: pull again until the deadline
            wait = _LONG_POLL if deadline is None else max(deadline - time.monotonic(), 0.001)
            body = await self._topic.pull(lambda w=wait: pull(w), wait)  # type: ignore[misc]
            if body is not None or (deadline is not None and time.monotonic() >= deadline):
                return body

    async def close(self) -> None:
        await self._topic.drop(self._path)


class PubsubTopic:
    """A ``TopicBackend`` on one Pub/Sub topic."""

    def __init__(
        self,
        publisher: Any,
        subscriber: Any,
        offload: Offload,
        pulls: Offload,
        *,
        project: str,
        topic: str,
        resource: str,
        create: bool,
        adopted: bool = False,
    ) -> None:
        self.subscriber = subscriber
        self._publisher = publisher
        self._offload = offload
        self._pulls = pulls
        self._project = project
        self._topic_id = topic
        self._path = f"projects/{project}/topics/{topic}"
        self._resource = resource
        self._create = create
        self._adopted = adopted

    async def native(self) -> Native[PubsubClients]:
        """The topic path; a subscription ``S`` is ``<topic id>--S`` in the project."""
        from skaal.declare.native import PubsubClients

        clients = PubsubClients(self._publisher, self.subscriber)
        return gcp_native(clients, "pubsub", "topic", self._resource, topic=self._path)

    async def run(self, fn: Callable[[], T], what: str, safety: Safety) -> T:
        return await self._offload.run(fn, what=what, where=self._resource, safety=safety)

    async def pull(self, fn: Callable[[], T], wait: float) -> T:
        """Pulls wait, so they have their own pool: waiting never delays a publish.

        A pull and its acknowledgement are not repeated: once the pull may have
        answered, its message is hidden (or acknowledged) whatever happens here.
        """
        return await self._pulls.run(
            fn, what="pull a message", where=self._resource, safety=Safety.UNSAFE, wait=wait
        )

    async def open(self) -> None:
        def ensure() -> None:
            ensure_pubsub_topic(
                self._publisher,
                self._path,
                resource=self._resource,
                create=self._create,
                adopted=self._adopted,
            )

        await self.run(ensure, "check its topic", Safety.IDEMPOTENT)

    async def close(self) -> None:
        return None

    async def publish(self, body: bytes) -> int:
        publisher, path = self._publisher, self._path

        def publish() -> int:
            subscriptions = list(
                publisher.list_topic_subscriptions(request={"topic": path}, **rpc())
            )
            try:
                options = rpc()
                future = publisher.publish(path, body, ordering_key=_ORDERING_KEY, **options)
                future.result(timeout=options.get("timeout"))
            except Exception:
                # a failed ordered publish pauses its key: resume it, or every
                # later publish of this topic would fail at once
                with contextlib.suppress(RuntimeError, ValueError):
                    publisher.resume_publish(path, _ORDERING_KEY)
                raise
            return len(subscriptions)

        return await self.run(publish, "publish a message", Safety.UNSAFE)

    async def subscribe(self, name: str) -> Subscription[bytes]:
        from google.api_core import exceptions as gexc

        safe = _UNSAFE.sub("-", name) or "-"
        path = f"projects/{self._project}/subscriptions/{self._topic_id}--{safe}"[:300]

        def create() -> None:
            with contextlib.suppress(gexc.AlreadyExists):
                self.subscriber.create_subscription(
                    request={"name": path, "topic": self._path, "enable_message_ordering": True},
                    **rpc(),
                )

        await self.run(create, "create a subscription", Safety.IDEMPOTENT)
        return PubsubSubscription(name, path, self)

    async def drop(self, path: str) -> None:
        from google.api_core import exceptions as gexc

        def delete() -> None:
            with contextlib.suppress(gexc.NotFound):
                self.subscriber.delete_subscription(request={"subscription": path}, **rpc())

        await self.run(delete, "delete a subscription", Safety.IDEMPOTENT)


class PubsubProvider(UnsupportedKinds):
    """The ``pubsub`` implementation: one publisher, subscriber and pool per runtime."""

    implementation = "pubsub"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        policy = RetryPolicy.from_env(settings.env)
        self._offload = Offload("pubsub", policy=policy)
        self._pulls = Offload("pubsub-pull", workers=32, policy=policy)
        self._clients: tuple[Any, Any, str, bool] | None = None

    async def open(self) -> None:
        if self._clients is None:
            self._clients = _clients(self.settings.env)
        self._offload.open()
        self._pulls.open()

    async def close(self) -> None:
        self._offload.close()
        self._pulls.close()
        if self._clients is not None:
            publisher, subscriber, _, _ = self._clients
            publisher.stop()
            subscriber.close()
            self._clients = None

    def _opened(self, spec: ResourceSpec) -> tuple[Any, Any, str, bool]:
        if self._clients is None:
            raise GcpBackendError(
                f"the pubsub provider was used for {spec.name} before it was opened",
                where=spec.name,
                fix="open the runtime (async with Runtime(...)) before using the resource",
            )
        return self._clients

    def _name(self, spec: ResourceSpec) -> str:
        prefix = self.settings.env.get("SKAAL_GCP_NAME_PREFIX", "")
        return gcp_name(self.settings.name_base, spec.name, prefix=prefix)

    def queue(self, spec: ResourceSpec) -> PubsubQueue:
        publisher, subscriber, project, emulator = self._opened(spec)
        backlog: Backlog = NoBacklog() if emulator else MonitoringBacklog(project)
        return PubsubQueue(
            publisher,
            subscriber,
            self._offload,
            self._pulls,
            project=project,
            name=self._name(spec),
            resource=spec.name,
            clock=self.settings.clock,
            backlog=backlog,
            max_attempts=spec.requirements.max_attempts,
            create=emulator,
            # existing=: the subscription read when the queue opens, never created
            adopted=self.settings.adopted.get(spec.name),
        )

    def topic(self, spec: ResourceSpec) -> PubsubTopic:
        publisher, subscriber, project, emulator = self._opened(spec)
        adopted = self.settings.adopted.get(spec.name)  # existing=: never created
        return PubsubTopic(
            publisher,
            subscriber,
            self._offload,
            self._pulls,
            project=project,
            topic=adopted or self._name(spec),
            resource=spec.name,
            create=emulator and adopted is None,
            adopted=adopted is not None,
        )
