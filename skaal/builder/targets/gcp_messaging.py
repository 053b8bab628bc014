"""Pub/Sub sections of the gcp program: queues with their companions, topics, pushes.

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

The runtime's depth of a Pub/Sub queue reads Cloud Monitoring; granting
``roles/monitoring.viewer`` is left to the operator, since it cannot be
scoped to one resource.
"""

from __future__ import annotations

import math

from skaal.blueprint.model import ResourceSpec
from skaal.builder.targets.gcp_code import Code, call
from skaal.builder.targets.gcp_writer import (
    PROMOTE_PATH,
    PUSH_PATH,
    ProgramWriter,
    max_delivery_attempts,
    physical_name,
    seconds,
)
from skaal.plan.model import Binding
from skaal.plan.pubsub import queue_names

__all__ = ["Messaging"]

_SUBSCRIPTION_MAX_S = 7 * 86400
"""The most a subscription is set to keep a message: Pub/Sub's default (longer is billed)."""


class Messaging(ProgramWriter):
    """Writes the Pub/Sub resources of queues and topics."""

    def _topic(self, b: Binding, var: str, name: str) -> None:
        if b.adopted is not None:
            # existing=: read into the stack from the deploying project, never created or deleted
            path = Code(f'f"projects/{{PROJECT}}/topics/{b.adopted}"')
            written = self.blueprint.resource(b.resource).existing or ""
            if written.startswith("projects/"):  # the runtime publishes in its own project
                project = written.split("/")[1]
                self.add(
                    f"if PROJECT != {project!r}:\n"
                    f"    raise ValueError({b.resource!r} + ' adopts a Pub/Sub topic of project '"
                    f" + {project!r} + ', not the deploying project ' + PROJECT + "
                    "': deploy there, or name a topic of this project in existing=')\n"
                )
            self.add(call(var, "gcp.pubsub.Topic.get", f"{b.resource}-topic", {"id": path}))
        else:
            kwargs: dict[str, object] = {"name": name}
            retention = b.retention.messages_s if b.retention else None
            if retention:
                kwargs["message_retention_duration"] = seconds(retention)
            self.add(call(var, "gcp.pubsub.Topic", f"{b.resource}-topic", kwargs, opts="STATEFUL"))
        self.grant(
            f"{b.resource}-publish",
            "gcp.pubsub.TopicIAMMember",
            {"topic": Code(f"{var}.name")},
            "roles/pubsub.publisher",
            to=self.users(b.resource),
        )

    def _push(self, fn: ResourceSpec, path: str = PUSH_PATH) -> dict[str, object]:
        service = self.service_vars[fn.name]
        return {
            "push_endpoint": Code(f'pulumi.Output.concat({service}.uri, "{path}{fn.name}")'),
            "oidc_token": {
                "service_account_email": Code("invoker_account.email"),
                "audience": Code(f"{service}.uri"),
            },
        }

    def _subscription(
        self,
        var: str,
        logical: str,
        kwargs: dict[str, object],
        push: ResourceSpec | None,
        path: str = PUSH_PATH,
    ) -> None:
        """A subscription: pushed to ``push``'s service at ``path`` + its name, or pulled.

        A pushed one retries refused deliveries with Pub/Sub's back-off; a pulled
        one has no retry policy, so the runtime's back-off is the only one.
        """
        kwargs = {"ack_deadline_seconds": 60, "expiration_policy": {"ttl": ""}, **kwargs}
        if push is not None:
            timeout = push.requirements.timeout_s or 60.0
            kwargs["ack_deadline_seconds"] = int(min(600, max(10, math.ceil(timeout))))
            kwargs["push_config"] = self._push(push, path)
            kwargs["retry_policy"] = {"minimum_backoff": "10s", "maximum_backoff": "600s"}
        emit = self.later if push is not None else self.add
        emit(call(var, "gcp.pubsub.Subscription", logical, kwargs, opts="STATEFUL"))

    def queue(self, b: Binding) -> None:
        self.section(f"queue {b.resource}")
        spec = self.blueprint.resource(b.resource)
        names = queue_names(self.wiring.resource(b.resource).physical_name)
        var = self.var(b.resource)
        retention = b.retention.messages_s if b.retention else None
        dead_kept = b.retention.dead_letters_s if b.retention else None
        kept = {"message_retention_duration": seconds(dead_kept)} if dead_kept else {}
        consumers = [f for f in self.fns.consumers if f.consumes == b.resource]
        consumer = consumers[0] if consumers else None
        self._topic(b, var, names.queue)

        dead = f"{var}_dead"
        self.add(
            call(
                dead,
                "gcp.pubsub.Topic",
                f"{b.resource}-dead-topic",
                {"name": names.dead},
                opts="STATEFUL",
            )
        )
        self._subscription(
            f"{dead}_sub",
            f"{b.resource}-dead-letters",
            {"name": names.dead, "topic": Code(f"{dead}.id"), **kept},
            None,
        )
        self.grant(
            f"{b.resource}-publish-dead-letters",
            "gcp.pubsub.TopicIAMMember",
            {"topic": Code(f"{dead}.name")},
            "roles/pubsub.publisher",
            to=self.users(b.resource),
        )
        self.grant(
            f"{b.resource}-read-dead-letters",
            "gcp.pubsub.SubscriptionIAMMember",
            {"subscription": Code(f"{dead}_sub.name")},
            "roles/pubsub.subscriber",
            to=self.users(b.resource),
        )
        self.add(
            call(
                None,
                "gcp.pubsub.TopicIAMMember",
                f"{b.resource}-dead-letter-publisher",
                {
                    "topic": Code(f"{dead}.name"),
                    "role": "roles/pubsub.publisher",
                    "member": Code("PUBSUB_AGENT"),
                },
            )
        )
        self.needs_project_number = True

        delayed = f"{var}_delayed"
        self.add(
            call(
                delayed,
                "gcp.pubsub.Topic",
                f"{b.resource}-delayed-topic",
                {"name": names.delayed},
                opts="STATEFUL",
            )
        )
        self.grant(
            f"{b.resource}-delay",
            "gcp.pubsub.TopicIAMMember",
            {"topic": Code(f"{delayed}.name")},
            "roles/pubsub.publisher",
            to=self.users(b.resource),
        )
        self._subscription(
            f"{delayed}_sub",
            f"{b.resource}-delayed",
            {"name": names.delayed, "topic": Code(f"{delayed}.id"), **kept},
            consumer,
            PROMOTE_PATH,
        )

        attempts = max_delivery_attempts(spec.requirements.max_attempts)
        if spec.requirements.max_attempts is not None and spec.requirements.max_attempts < 5:
            self.add(
                f"# {b.resource} declares max_attempts={spec.requirements.max_attempts}; "
                "Pub/Sub dead-letters after 5 attempts at the least.\n"
            )
        sub = f"{var}_sub"
        kwargs: dict[str, object] = {
            "name": names.queue,
            "topic": Code(f"{var}.id"),
            "dead_letter_policy": {
                "dead_letter_topic": Code(f"{dead}.id"),
                "max_delivery_attempts": attempts,
            },
        }
        if retention:  # the subscription keeps at most Pub/Sub's default; the topic, the rest
            kwargs["message_retention_duration"] = seconds(min(retention, _SUBSCRIPTION_MAX_S))
        self._subscription(sub, f"{b.resource}-subscription", kwargs, consumer)
        emit = self.later if consumer is not None else self.add
        emit(
            call(
                None,
                "gcp.pubsub.SubscriptionIAMMember",
                f"{b.resource}-dead-letter-forwarder",
                {
                    "subscription": Code(f"{sub}.name"),
                    "role": "roles/pubsub.subscriber",
                    "member": Code("PUBSUB_AGENT"),
                },
            )
        )
        # the runtime pulls the subscriptions nothing pushes: the queue and its delayed
        # messages without a consumer, the dead letters always (granted above)
        if consumer is None:
            for target, what in ((sub, "receive"), (f"{delayed}_sub", "promote")):
                self.grant(
                    f"{b.resource}-{what}",
                    "gcp.pubsub.SubscriptionIAMMember",
                    {"subscription": Code(f"{target}.name")},
                    "roles/pubsub.subscriber",
                    to=self.users(b.resource),
                )

    def topic(self, b: Binding) -> None:
        self.section(f"topic {b.resource}")
        name = self.wiring.resource(b.resource).physical_name
        var = self.var(b.resource)
        self._topic(b, var, name)
        # the runtime's publish counts the topic's subscriptions (topicSubscriptions.list)
        self.grant(
            f"{b.resource}-view",
            "gcp.pubsub.TopicIAMMember",
            {"topic": Code(f"{var}.name")},
            "roles/pubsub.viewer",
            to=self.users(b.resource),
        )
        for fn in self.fns.subscribers:
            if fn.subscribes != b.resource:
                continue
            self.later(
                call(
                    None,
                    "gcp.pubsub.Subscription",
                    f"{fn.name}-subscription",
                    {
                        "name": f"{name}-{physical_name('', fn.name)}",
                        "topic": Code(f"{var}.id"),
                        "ack_deadline_seconds": 60,
                        "expiration_policy": {"ttl": ""},
                        "push_config": self._push(fn),
                    },
                )
            )
