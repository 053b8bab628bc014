"""Pub/Sub sections of the gcp program: queues with dead letters, topics, push subscriptions.

A queue is a topic, a dead-letter topic with a pull subscription that keeps
the dead letters, and one subscription: a push subscription to the worker's
``/_skaal/push/<consumer>`` when a consumer is declared, else a pull
subscription the runtime reads.  Pub/Sub moves a message to the dead-letter
topic after ``max_delivery_attempts`` (5 to 100; a smaller declared
``max_attempts`` is raised to 5 and the program says so).  The Pub/Sub
service agent gets publisher on the dead-letter topic and subscriber on the
source subscription, which dead-lettering requires.  A topic gets one push
subscription per subscriber.
"""

from __future__ import annotations

import math

from skaal.blueprint.model import ResourceSpec
from skaal.build.targets.gcp_code import Code, call
from skaal.build.targets.gcp_writer import (
    PUSH_PATH,
    ProgramWriter,
    max_delivery_attempts,
    physical_name,
    seconds,
)
from skaal.build.wiring import resource_env
from skaal.plan.model import Binding

__all__ = ["Messaging"]


class Messaging(ProgramWriter):
    """Writes the Pub/Sub resources of queues and topics."""

    def _topic(self, b: Binding, var: str, name: str, retention: float | None) -> None:
        kwargs: dict[str, object] = {"name": name}
        if retention:
            kwargs["message_retention_duration"] = seconds(min(retention, 2678400))
        self.add(call(var, "gcp.pubsub.Topic", f"{b.resource}-topic", kwargs, opts="STATEFUL"))
        self.grant(
            f"{b.resource}-publish",
            "gcp.pubsub.TopicIAMMember",
            {"topic": Code(f"{var}.name")},
            "roles/pubsub.publisher",
        )

    def _push(self, fn: ResourceSpec) -> dict[str, object]:
        return {
            "push_endpoint": Code(f'pulumi.Output.concat(worker.uri, "{PUSH_PATH}{fn.name}")'),
            "oidc_token": {
                "service_account_email": Code("invoker_account.email"),
                "audience": Code("worker.uri"),
            },
        }

    def queue(self, b: Binding) -> None:
        self.section(f"queue {b.resource}")
        spec = self.blueprint.resource(b.resource)
        name = self.wiring.resource(b.resource).physical_name
        var = self.var(b.resource)
        self._topic(b, var, name, spec.requirements.retention_s)
        dead = f"{var}_dead"
        self.add(
            call(
                dead,
                "gcp.pubsub.Topic",
                f"{b.resource}-dead-topic",
                {"name": f"{name}-dead"},
                opts="STATEFUL",
            )
        )
        self.add(
            call(
                f"{dead}_sub",
                "gcp.pubsub.Subscription",
                f"{b.resource}-dead-letters",
                {
                    "name": f"{name}-dead",
                    "topic": Code(f"{dead}.id"),
                    "message_retention_duration": "604800s",
                    "expiration_policy": {"ttl": ""},
                },
                opts="STATEFUL",
            )
        )
        self.grant(
            f"{b.resource}-read-dead-letters",
            "gcp.pubsub.SubscriptionIAMMember",
            {"subscription": Code(f"{dead}_sub.name")},
            "roles/pubsub.subscriber",
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
        attempts = max_delivery_attempts(spec.requirements.max_attempts)
        consumers = [f for f in self.fns.consumers if f.consumes == b.resource]
        sub_name = f"{name}-{physical_name('', consumers[0].name)}" if consumers else name
        kwargs: dict[str, object] = {
            "name": sub_name,
            "topic": Code(f"{var}.id"),
            "ack_deadline_seconds": 60,
            "expiration_policy": {"ttl": ""},
            "dead_letter_policy": {
                "dead_letter_topic": Code(f"{dead}.id"),
                "max_delivery_attempts": attempts,
            },
            "retry_policy": {"minimum_backoff": "10s", "maximum_backoff": "600s"},
        }
        if spec.requirements.retention_s:
            kwargs["message_retention_duration"] = seconds(
                min(spec.requirements.retention_s, 604800)
            )
        if consumers:
            timeout = consumers[0].requirements.timeout_s or 60.0
            kwargs["ack_deadline_seconds"] = int(min(600, max(10, math.ceil(timeout))))
            kwargs["push_config"] = self._push(consumers[0])
        if spec.requirements.max_attempts is not None and spec.requirements.max_attempts < 5:
            self.add(
                f"# {b.resource} declares max_attempts={spec.requirements.max_attempts}; "
                "Pub/Sub dead-letters after 5 attempts at the least.\n"
            )
        sub = f"{var}_sub"
        emit = self.later if consumers else self.add
        emit(
            call(
                sub,
                "gcp.pubsub.Subscription",
                f"{b.resource}-subscription",
                kwargs,
                opts="STATEFUL",
            )
        )
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
        if not consumers:
            self.grant(
                f"{b.resource}-receive",
                "gcp.pubsub.SubscriptionIAMMember",
                {"subscription": Code(f"{sub}.name")},
                "roles/pubsub.subscriber",
            )
        self.env.append({"name": resource_env(b.resource, "SUBSCRIPTION"), "value": sub_name})
        self.env.append(
            {"name": resource_env(b.resource, "DEAD_SUBSCRIPTION"), "value": f"{name}-dead"}
        )

    def topic(self, b: Binding) -> None:
        self.section(f"topic {b.resource}")
        spec = self.blueprint.resource(b.resource)
        name = self.wiring.resource(b.resource).physical_name
        var = self.var(b.resource)
        self._topic(b, var, name, spec.requirements.retention_s)
        # the runtime's publish counts the topic's subscriptions (topicSubscriptions.list)
        self.grant(
            f"{b.resource}-view",
            "gcp.pubsub.TopicIAMMember",
            {"topic": Code(f"{var}.name")},
            "roles/pubsub.viewer",
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
