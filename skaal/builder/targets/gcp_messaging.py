"""The Pub/Sub part of the gcp stack model: queues with their companions, topics, pushes.

A queue named ``N`` is three topics, each with one subscription of the same
name -- exactly the names the runtime uses
(:func:`skaal.plan.pubsub.queue_names`; the runtime's
:mod:`skaal.runtime.backends.pubsub_queue` explains the design):

* ``N``, whose subscription has a dead-letter policy: Pub/Sub moves a
  message to ``N-dead`` after ``max_delivery_attempts`` (5 to 100; a smaller
  declared ``max_attempts`` is raised to 5 and the program says so).  The
  Pub/Sub service agent gets publisher on ``N-dead`` and subscriber on
  ``N``, which dead-lettering requires.
* ``N-delayed``, holding messages sent with a delay until they are due.
* ``N-dead``, a pull subscription keeping the dead letters (for the plan's
  ``Retention.dead_letters_s``: 7 days), which the runtime reads and
  publishes to.

Retention is the plan's (:mod:`skaal.plan.retention`): a queue's or topic's
declared retention is set on its topic, and on a queue's subscription up to
Pub/Sub's default of 7 days.

When a consumer is declared, ``N`` pushes to the consumer's own service's
``/_skaal/push/<consumer>`` and ``N-delayed`` to ``/_skaal/promote/<consumer>``
(which republishes a due message to ``N`` and refuses one not yet due, so
Pub/Sub's back-off of 10 s to 600 s brings it back later: never early, at
most ten minutes late).  Without a consumer both are pull subscriptions the
runtime reads, with no retry policy so that its own back-off is the only
one.  A topic gets one push subscription per subscriber.

A queue adopting an existing subscription ``S`` (``existing=``) is an
:class:`~skaal.builder.stacks.gcp.AdoptedQueue`: the program reads ``S``,
its topic and its dead-letter topic, and grants the functions that use the
queue what the runtime needs on each (viewer and subscriber on ``S``,
publisher on the two topics).  Only the delayed companion ``S-delayed`` is
created, pulled by the runtime.  A consumer of an adopted queue is refused:
a consumer on Cloud Run is pushed to, and Skaal does not change the owner's
subscription into a push one.

The runtime's depth of a Pub/Sub queue reads Cloud Monitoring; granting
``roles/monitoring.viewer`` is left to the operator, since it cannot be
scoped to one resource.
"""

from __future__ import annotations

import math

from skaal.blueprint.model import ResourceSpec
from skaal.builder.stacks.gcp import (
    PUBSUB_AGENT,
    AdoptedQueue,
    AdoptedTopic,
    DeadLetter,
    Grant,
    Push,
    Subscription,
    Topic,
)
from skaal.builder.targets.gcp_basis import (
    INVOKER_ACCOUNT,
    PROMOTE_PATH,
    PUSH_PATH,
    Basis,
    max_delivery_attempts,
    physical_name,
    seconds,
)
from skaal.errors import BuildError
from skaal.plan.model import Binding
from skaal.plan.pubsub import adopted_queue_names, queue_names

__all__ = ["Messaging", "adopted_queue", "queue", "topic"]

_SUBSCRIPTION_MAX_S = 7 * 86400
"""The most a subscription is set to keep a message: Pub/Sub's default (longer is billed)."""

Messaging = tuple[tuple[Topic, ...], tuple[Subscription, ...]]
"""The topics and subscriptions of one queue or topic resource."""


def _topic(basis: Basis, b: Binding, key: str, name: str, grants: tuple[Grant, ...]) -> Topic:
    if b.adopted is None:
        retention = b.retention.messages_s if b.retention else None
        return Topic(
            key=key,
            name=name,
            retention=seconds(retention) if retention else None,
            grants=grants,
        )
    # existing=: read into the stack from the deploying project, never created or deleted
    written = basis.blueprint.resource(b.resource).existing or ""
    # the runtime publishes in its own project: the program refuses another one
    project = written.split("/")[1] if written.startswith("projects/") else None
    return Topic(
        key=key, name=name, adopted=AdoptedTopic(topic=b.adopted, project=project), grants=grants
    )


def _push(basis: Basis, fn: ResourceSpec, path: str) -> Push:
    return Push(service=basis.service_vars[fn.name], path=path + fn.name, invoker=INVOKER_ACCOUNT)


def _subscription(
    key: str,
    name: str,
    topic: str,
    push: tuple[Push, ResourceSpec] | None,
    *,
    retention: str | None = None,
    dead_letter: DeadLetter | None = None,
    grants: tuple[Grant, ...] = (),
) -> Subscription:
    """A subscription: pushed to the service of ``push`` (retried with Pub/Sub's
    back-off), or pulled, with no retry policy, so the runtime's back-off is the only one."""
    deadline = 60
    if push is not None:
        timeout = push[1].requirements.timeout_s or 60.0
        deadline = int(min(600, max(10, math.ceil(timeout))))
    return Subscription(
        key=key,
        name=name,
        topic=topic,
        ack_deadline_seconds=deadline,
        retention=retention,
        dead_letter=dead_letter,
        push=None if push is None else push[0],
        retry=push is not None,
        grants=grants,
    )


def queue(basis: Basis, b: Binding) -> Messaging:
    """The three topics of queue ``b``, each with one subscription of its name."""
    spec = basis.blueprint.resource(b.resource)
    names = queue_names(basis.wiring.resource(b.resource).physical_name)
    users = basis.users(b.resource)
    retention = b.retention.messages_s if b.retention else None
    dead_kept = b.retention.dead_letters_s if b.retention else None
    kept = seconds(dead_kept) if dead_kept else None
    consumer = next((f for f in basis.fns.consumers if f.consumes == b.resource), None)
    r = b.resource
    agent = (
        Grant(
            name=f"{r}-dead-letter-publisher", role="roles/pubsub.publisher", member=PUBSUB_AGENT
        ),
    )
    topics = (
        _topic(
            basis,
            b,
            f"{r}-topic",
            names.queue,
            basis.grants(f"{r}-publish", "roles/pubsub.publisher", users),
        ),
        Topic(
            key=f"{r}-dead-topic",
            name=names.dead,
            grants=basis.grants(f"{r}-publish-dead-letters", "roles/pubsub.publisher", users)
            + agent,
        ),
        Topic(
            key=f"{r}-delayed-topic",
            name=names.delayed,
            grants=basis.grants(f"{r}-delay", "roles/pubsub.publisher", users),
        ),
    )
    # the runtime pulls the subscriptions nothing pushes: the queue and its delayed
    # messages without a consumer, the dead letters always
    pulled = consumer is None
    forwarder = Grant(
        name=f"{r}-dead-letter-forwarder", role="roles/pubsub.subscriber", member=PUBSUB_AGENT
    )
    subscriptions = (
        _subscription(
            f"{r}-dead-letters",
            names.dead,
            f"{r}-dead-topic",
            None,
            retention=kept,
            grants=basis.grants(f"{r}-read-dead-letters", "roles/pubsub.subscriber", users),
        ),
        _subscription(
            f"{r}-delayed",
            names.delayed,
            f"{r}-delayed-topic",
            None if consumer is None else (_push(basis, consumer, PROMOTE_PATH), consumer),
            retention=kept,
            grants=basis.grants(f"{r}-promote", "roles/pubsub.subscriber", users) if pulled else (),
        ),
        _subscription(
            f"{r}-subscription",
            names.queue,
            f"{r}-topic",
            None if consumer is None else (_push(basis, consumer, PUSH_PATH), consumer),
            # the subscription keeps at most Pub/Sub's default; the topic, the rest
            retention=seconds(min(retention, _SUBSCRIPTION_MAX_S)) if retention else None,
            # Pub/Sub dead-letters after 5 attempts at the least
            dead_letter=DeadLetter(
                topic=f"{r}-dead-topic",
                max_delivery_attempts=max_delivery_attempts(spec.requirements.max_attempts),
            ),
            grants=(
                forwarder,
                *(basis.grants(f"{r}-receive", "roles/pubsub.subscriber", users) if pulled else ()),
            ),
        ),
    )
    return topics, subscriptions


def adopted_queue(basis: Basis, b: Binding) -> tuple[Messaging, AdoptedQueue]:
    """Queue ``b`` on the existing subscription it adopts, and its delayed companion."""
    r, subscription = b.resource, b.adopted or ""
    written = basis.blueprint.resource(r).existing or subscription
    consumer = next((f for f in basis.fns.consumers if f.consumes == r), None)
    if consumer is not None:
        raise BuildError(
            f"{r} adopts the Pub/Sub subscription {subscription!r} and has the consumer "
            f"{consumer.name}: a consumer on Cloud Run is pushed to, and Skaal does not turn "
            "an adopted pull subscription into a push one",
            where=f"@app.consumer({r}) on {consumer.name} (existing={written!r})",
            fix="receive the queue in a function (Queue.receive), or remove existing= to have "
            "the build create the queue and push it to the consumer",
        )
    names = adopted_queue_names(subscription, topic="", dead="")
    users = basis.users(r)
    # the runtime publishes and pulls in its own project: the program refuses another one
    project = written.split("/")[1] if written.startswith("projects/") else None
    adopted = AdoptedQueue(
        key=f"{r}-subscription",
        subscription=subscription,
        project=project,
        receive_grants=basis.grants(f"{r}-view", "roles/pubsub.viewer", users)
        + basis.grants(f"{r}-receive", "roles/pubsub.subscriber", users),
        publish_grants=basis.grants(f"{r}-publish", "roles/pubsub.publisher", users),
        dead_letter_grants=basis.grants(
            f"{r}-publish-dead-letters", "roles/pubsub.publisher", users
        ),
    )
    dead_kept = b.retention.dead_letters_s if b.retention else None
    delayed = Topic(
        key=f"{r}-delayed-topic",
        name=names.delayed,
        grants=basis.grants(f"{r}-delay", "roles/pubsub.publisher", users),
    )
    promote = _subscription(
        f"{r}-delayed",
        names.delayed,
        f"{r}-delayed-topic",
        None,
        retention=seconds(dead_kept) if dead_kept else None,
        grants=basis.grants(f"{r}-promote", "roles/pubsub.subscriber", users),
    )
    return ((delayed,), (promote,)), adopted


def topic(basis: Basis, b: Binding) -> Messaging:
    """Topic ``b``, with one push subscription per subscriber."""
    name = basis.wiring.resource(b.resource).physical_name
    users = basis.users(b.resource)
    key = f"{b.resource}-topic"
    grants = basis.grants(f"{b.resource}-publish", "roles/pubsub.publisher", users)
    # the runtime's publish counts the topic's subscriptions (topicSubscriptions.list)
    grants += basis.grants(f"{b.resource}-view", "roles/pubsub.viewer", users)
    subscriptions = tuple(
        Subscription(
            key=f"{fn.name}-subscription",
            name=f"{name}-{physical_name('', fn.name)}",
            topic=key,
            push=_push(basis, fn, PUSH_PATH),
            stateful=False,
        )
        for fn in basis.fns.subscribers
        if fn.subscribes == b.resource
    )
    return (_topic(basis, b, key, name, grants),), subscriptions
