"""The ``sns`` backend: ``Topic`` on Amazon SNS, fanning out to one SQS queue per subscription.

The topic is ``<app>-<resource>`` (names from :mod:`skaal.plan.naming`).
``subscribe(name)`` finds or creates the SQS queue ``<app>-<resource>-sub-<name>``,
lets the topic send to it (queue policy) and subscribes it with raw message
delivery; subscribing again with the same name is the same queue, so a
restarted worker resumes where it stopped.  ``publish`` is one SNS
``Publish`` and returns the number of subscriptions the topic has (one
``ListSubscriptionsByTopic``).  A subscription's ``get`` long-polls its queue
(``WaitTimeSeconds`` in whole seconds, rounded up, at most 20 per call),
deletes what it received and hands messages out one by one.

``Subscription.close`` unsubscribes and deletes the queue: the subscription
is gone, as the port says.  Closing the topic backend (process shutdown)
only forgets the local handles -- the subscriptions stay and keep receiving.
Bodies travel as text when they are valid SQS text, else base64 with a
``skaal-encoding`` message attribute (see :mod:`skaal.runtime.backends.sqs`).
Delivery is at least once; SNS→SQS delivery takes milliseconds on AWS.

Retries (:mod:`skaal.runtime.backends.aws_client`): ``Publish`` is not
repeated after it may have reached SNS -- a topic message has no id a
subscriber could deduplicate on, so a timeout raises
:class:`~skaal.runtime.errors.OutcomeUnknownError` instead of risking a
second copy.  A subscription's receive is repeated (a lost answer hides its
messages for the queue's visibility timeout whether or not it is), and so is
deleting what was received.  The long poll is added to the call's deadline.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.aws_client import AwsProvider, AwsSession
from skaal.runtime.backends.aws_errors import missing
from skaal.runtime.backends.sqs import decode_body, encode_body
from skaal.runtime.ports import (
    Subscription,
)
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from skaal.declare.native import Native

__all__ = ["SnsProvider", "SnsSubscription", "SnsTopic"]

_EMPTY = {"skaal-encoding": {"DataType": "String", "StringValue": "empty"}}


class SnsSubscription:
    """One named subscription: an SQS queue subscribed to the topic."""

    def __init__(self, topic: SnsTopic, name: str, url: str, arn: str) -> None:
        self._topic = topic
        self._name = name
        self._url = url
        self._arn = arn
        self._pending: list[bytes] = []
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    async def get(self, *, timeout: float | None = None) -> bytes | None:
        while not self._pending:
            if self._closed:
                return None
            wait = 20 if timeout is None else min(20, max(0, math.ceil(timeout)))
            await self._fill(wait)
            if timeout is not None:
                break
        return self._pending.pop(0) if self._pending else None

    async def _fill(self, wait: int) -> None:
        sqs, url = self._topic.polling, self._url
        response = await self._topic.call(
            lambda: sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                MessageAttributeNames=["All"],
            ),
            "ReceiveMessage (subscription)",
            Safety.IDEMPOTENT,  # a lost answer hides its messages either way: see sqs
            wait=wait,
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        if not messages:
            return
        for message in messages:
            kind = (message.get("MessageAttributes") or {}).get("skaal-encoding", {})
            empty = kind.get("StringValue") == "empty"
            self._pending.append(b"" if empty else decode_body(message))
        entries = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
        ]
        await self._topic.call(
            lambda: sqs.delete_message_batch(QueueUrl=url, Entries=entries),
            "DeleteMessageBatch (subscription)",
            Safety.IDEMPOTENT,  # the same receipt handles again
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sns, sqs, arn, url = self._topic.sns, self._topic.sqs, self._arn, self._url
        await self._topic.call(
            lambda: sns.unsubscribe(SubscriptionArn=arn), "Unsubscribe", Safety.IDEMPOTENT
        )
        await self._topic.call(
            lambda: sqs.delete_queue(QueueUrl=url), "DeleteQueue", Safety.IDEMPOTENT
        )
        self._topic.forget(self._name)


class SnsTopic:
    """A ``TopicBackend`` on one SNS topic."""

    def __init__(self, aws: AwsSession, resource: str, *, arn: str | None = None) -> None:
        self._aws = aws
        self.sns = aws.client("sns")
        self.sqs = aws.client("sqs")
        self.polling = aws.client("sqs", long_poll=True)
        self._resource = resource
        self.name = aws.name(resource, service="sns")
        self._known_arn = arn
        self.arn = ""
        self._subscriptions: dict[str, SnsSubscription] = {}

    async def call(
        self,
        fn: Any,
        what: str,
        safety: Safety,
        allow: tuple[str, ...] = (),
        wait: float = 0.0,
    ) -> Any:
        return await self._aws.call(
            fn,
            what=f"{what} for SNS topic {self.name!r}",
            where=self._resource,
            safety=safety,
            allow=allow,
            wait=wait,
        )

    async def open(self) -> None:
        sns, name = self.sns, self.name
        if self._known_arn:
            # set by the aws build from its program's outputs: no ListTopics, which IAM
            # cannot scope to one topic and no function's role is granted
            self.arn = self._known_arn
            return
        adopted = self._resource in self._aws.adopted  # existing=: never created
        if self._aws.create_missing and not adopted:
            created = await self.call(
                lambda: sns.create_topic(Name=name), "CreateTopic", Safety.IDEMPOTENT
            )
            self.arn = str(created["TopicArn"])
            return

        def find() -> str | None:
            for page in sns.get_paginator("list_topics").paginate():
                for topic in page.get("Topics", []):
                    if str(topic["TopicArn"]).rsplit(":", 1)[-1] == name:
                        return str(topic["TopicArn"])
            return None

        arn = await self.call(find, "ListTopics", Safety.READ)
        if arn is None:
            raise missing(f"SNS topic {name!r}", where=self._resource, adopted=adopted)
        self.arn = arn

    async def close(self) -> None:
        self._subscriptions.clear()

    async def native(self) -> Native[SNSClient]:
        """The topic ARN; each subscription is an SQS queue ``<topic>-sub-<name>``."""
        return self._aws.native(self.sns, "sns", "topic", self._resource, topic_arn=self.arn)

    def forget(self, name: str) -> None:
        self._subscriptions.pop(name, None)

    async def publish(self, body: bytes) -> int:
        sns, arn = self.sns, self.arn
        text, attributes = encode_body(body) if body else ("-", dict(_EMPTY))
        await self.call(
            lambda: sns.publish(TopicArn=arn, Message=text, MessageAttributes=attributes),
            "Publish",
            Safety.UNSAFE,  # see the module docstring: no second copy
        )

        def count() -> int:
            pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            return sum(len(page.get("Subscriptions", [])) for page in pages)

        total: int = await self.call(count, "ListSubscriptionsByTopic", Safety.READ)
        return total

    async def subscribe(self, name: str) -> Subscription[bytes]:
        found = self._subscriptions.get(name)
        if found is not None:
            return found
        sns, sqs, topic_arn = self.sns, self.sqs, self.arn
        queue = self._aws.name(self._resource, service="sqs", suffix=f"sub-{name}")
        try:
            url = str(
                (
                    await self.call(
                        lambda: sqs.get_queue_url(QueueName=queue),
                        "GetQueueUrl",
                        Safety.READ,
                        allow=("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
                    )
                )["QueueUrl"]
            )
        except ClientError as exc:
            if not self._aws.create_missing:
                raise missing(f"SQS queue {queue!r} of subscription {name!r}", where=name) from exc
            created = await self.call(
                lambda: sqs.create_queue(QueueName=queue), "CreateQueue", Safety.IDEMPOTENT
            )
            url = str(created["QueueUrl"])
        attributes = await self.call(
            lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]),
            "GetQueueAttributes",
            Safety.READ,
        )
        queue_arn = str(attributes["Attributes"]["QueueArn"])
        policy = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                    }
                ],
            }
        )
        await self.call(
            lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy}),
            "SetQueueAttributes",
            Safety.IDEMPOTENT,
        )
        subscribed = await self.call(
            lambda: sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "true"},
                ReturnSubscriptionArn=True,
            ),
            "Subscribe",
            Safety.IDEMPOTENT,  # SNS answers the existing subscription
        )
        subscription = SnsSubscription(self, name, url, str(subscribed["SubscriptionArn"]))
        self._subscriptions[name] = subscription
        return subscription


class SnsProvider(AwsProvider):
    """The ``sns`` implementation: one ``AwsSession``, one topic per resource."""

    implementation = "sns"

    def topic(self, spec: ResourceSpec) -> SnsTopic:
        from skaal.plan.wiring import resource_env  # the wiring imports the runtime

        return SnsTopic(
            self.aws, spec.name, arn=self.settings.env.get(resource_env(spec.name, "ARN"))
        )
