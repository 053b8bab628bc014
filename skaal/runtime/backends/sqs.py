"""The ``sqs`` backend: ``Queue`` on Amazon SQS, with a dead-letter queue beside it.

Each resource is a standard queue ``<app>-<resource>`` and a dead-letter queue
``<app>-<resource>-dlq`` (names from :mod:`skaal.plan.naming`).  The main
queue's ``RedrivePolicy`` sends a message to the DLQ once it has been received
``max_attempts`` times (the resource's ``max_attempts``, default 5) -- the
safety net for consumers that die mid-message.  A message that fails in a
handler is moved explicitly by ``dead_letter`` (sent to the DLQ with its error
and attempt count as message attributes, then deleted), so its error is kept.

Mapping of the port:

- ``send``: ``SendMessage``; ``delay`` becomes ``DelaySeconds`` (whole seconds,
  rounded up, at most 900).  Bodies that are valid SQS text go as they are,
  others base64-encoded with a ``skaal-encoding`` attribute.  Each send
  carries a fresh id in its ``skaal-id`` attribute, which is the message's
  id for the port (``send`` returns it, deliveries carry it).
- ``receive``: ``ReceiveMessage`` (short polling, up to 10 per call, repeated
  until ``max_messages`` or empty) with ``VisibilityTimeout``; ``attempt`` is
  SQS's ``ApproximateReceiveCount``.  The delivery's ``id`` is the message's
  ``skaal-id`` (the SQS message id for messages sent by others), stable
  across redeliveries; the receipt handle needed by ``ack``,
  ``retry`` and ``dead_letter`` is remembered by this process, so a message
  is acknowledged by the process that received it.
- ``retry``: ``ChangeMessageVisibility`` to the back-off delay.
- ``ack``: ``DeleteMessage``.  ``depth``: visible + in-flight + delayed counts.
- ``dead_letters``: peeks the DLQ (receives with a short visibility, then
  makes what it saw visible again).
- ``redrive`` (:class:`~skaal.runtime.ports.RedrivesDeadLetters`): finds the
  dead letter in the DLQ the same way, sends its body to the queue as a new
  message (a new id, no attempts counted), then deletes it from the DLQ.

A queue declared ``ordered=True`` (or pinned to ``sqs-fifo``) is a FIFO
queue ``<name>.fifo`` (DLQ too), as the build stage creates it: one message
group, so the whole queue is strictly ordered, a unique deduplication id
per send, and no per-message delay (FIFO queues do not have one).

A queue adopting an existing one (``existing=``, ``Binding.adopted``) is
that queue, under its own name, and is never created: its own redrive policy
names the dead-letter queue (a queue without one is refused when opened)
and its ``maxReceiveCount`` replaces ``max_attempts``.

Retries (:mod:`skaal.runtime.backends.aws_client`): ``SendMessage`` is
repeated after a timeout.  On a FIFO queue the repeat carries the same
deduplication id, so SQS keeps one copy; on a standard queue it may enqueue
a second copy with the same ``skaal-id`` -- to a consumer exactly a
redelivery, which the at-least-once contract already makes it handle.
``ReceiveMessage`` is repeated too: a lost answer hides its messages until
their visibility timeout ends (then they come back) whether or not the call
is repeated, so repeating it loses nothing more.  ``DeleteMessage`` and
``ChangeMessageVisibility`` (the same receipt handle, the same value) are
repeated.

Time is the server's: visibility timeouts, delays and back-off run on SQS's
clock, not the runtime's injected one.  Standard queues deliver at least once
and roughly in order; SQS counts are approximate for about a minute.
"""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from msgspec import Struct

from skaal.blueprint.model import ResourceSpec
from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends.aws_client import AwsProvider, AwsSession
from skaal.runtime.backends.aws_errors import AwsNotFoundError, missing
from skaal.runtime.ports import (
    DeadLetter,
    Delivery,
)
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from skaal.declare.native import Native

__all__ = ["SqsProvider", "SqsQueue", "decode_body", "encode_body"]

_TEXT = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
_ENCODING = "skaal-encoding"
_ID = "skaal-id"
_NOT_FOUND = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def encode_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """The SQS message body for ``body`` and the attributes saying how it is encoded."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = None
    if text is not None and _TEXT.match(text):
        return text, {}
    encoded = base64.b64encode(body).decode()
    return encoded, {_ENCODING: {"DataType": "String", "StringValue": "base64"}}


def decode_body(message: dict[str, Any]) -> bytes:
    """The bytes a received SQS message carries."""
    attributes = message.get("MessageAttributes") or {}
    if attributes.get(_ENCODING, {}).get("StringValue") == "base64":
        return base64.b64decode(message["Body"])
    return str(message["Body"]).encode()


def _ident(message: dict[str, Any]) -> str:
    """The port's id of a received message: its ``skaal-id``, else the SQS message id."""
    attributes = message.get("MessageAttributes") or {}
    return str(attributes.get(_ID, {}).get("StringValue") or message["MessageId"])


class _InFlight(Struct):
    handle: str
    body: bytes
    attempt: int


class SqsQueue:
    """A ``QueueBackend`` on one SQS queue and its dead-letter queue."""

    def __init__(
        self, aws: AwsSession, resource: str, *, max_receives: int, fifo: bool = False
    ) -> None:
        self._aws = aws
        self._sqs = aws.client("sqs")
        self._resource = resource
        self._max_receives = max_receives
        self.fifo = fifo
        suffix = ".fifo" if fifo else ""
        self.adopted = resource in aws.adopted  # existing=: its own name and dead letters
        self.name = aws.name(resource, service="sqs") + ("" if self.adopted else suffix)
        self.dlq_name = aws.name(resource, service="sqs", suffix="dlq") + suffix
        self.url = ""
        self.dlq_url = ""
        self._inflight: dict[str, _InFlight] = {}

    async def _call(self, fn: Any, what: str, safety: Safety, allow: tuple[str, ...] = ()) -> Any:
        return await self._aws.call(
            fn,
            what=f"{what} on SQS queue {self.name!r}",
            where=self._resource,
            safety=safety,
            allow=allow,
        )

    async def _queue(self, name: str, attributes: dict[str, str]) -> str:
        sqs = self._sqs
        if self.fifo:
            attributes = {**attributes, "FifoQueue": "true"}
        try:
            found = await self._call(
                lambda: sqs.get_queue_url(QueueName=name),
                "GetQueueUrl",
                Safety.READ,
                allow=_NOT_FOUND,
            )
            return str(found["QueueUrl"])
        except ClientError as exc:
            if self.adopted or not self._aws.create_missing:
                raise missing(
                    f"SQS queue {name!r}", where=self._resource, adopted=self.adopted
                ) from exc
        created = await self._call(
            lambda: sqs.create_queue(QueueName=name, Attributes=attributes),
            "CreateQueue",
            Safety.IDEMPOTENT,  # the same attributes again answer the same URL
        )
        return str(created["QueueUrl"])

    async def open(self) -> None:
        if self.adopted:
            await self._open_adopted()
            return
        sqs = self._sqs
        self.dlq_url = await self._queue(self.dlq_name, {"MessageRetentionPeriod": "1209600"})
        dlq_url = self.dlq_url
        arn = await self._call(
            lambda: sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]),
            "GetQueueAttributes",
            Safety.READ,
        )
        redrive = json.dumps(
            {
                "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                "maxReceiveCount": str(self._max_receives),
            }
        )
        self.url = await self._queue(self.name, {"RedrivePolicy": redrive})

    async def _open_adopted(self) -> None:
        """An adopted queue: found, never created; its own redrive policy names its dead letters."""
        sqs = self._sqs
        self.url = url = await self._queue(self.name, {})
        found = await self._call(
            lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]),
            "GetQueueAttributes",
            Safety.READ,
        )
        policy = json.loads(found.get("Attributes", {}).get("RedrivePolicy") or "{}")
        target = str(policy.get("deadLetterTargetArn") or "")
        if not target:
            raise AwsNotFoundError(
                f"SQS queue {self.name!r} has no redrive policy, and {self._resource} adopts it "
                "(existing=): Skaal needs its dead-letter queue for messages that keep failing",
                where=self._resource,
                fix="give the queue a redrive policy naming a dead-letter queue, or remove "
                "existing= to have the deployment create a queue with one",
            )
        self._max_receives = int(policy.get("maxReceiveCount") or self._max_receives)
        *_, account, dlq_name = target.split(":")
        dlq = await self._call(
            lambda: sqs.get_queue_url(QueueName=dlq_name, QueueOwnerAWSAccountId=account),
            "GetQueueUrl (dead letters)",
            Safety.READ,
        )
        self.dlq_url = str(dlq["QueueUrl"])

    async def close(self) -> None:
        self._inflight.clear()

    async def native(self) -> Native[SQSClient]:
        """The queue URL (``name``) and its dead-letter queue's."""
        return self._aws.native(
            self._sqs,
            "sqs",
            "queue",
            self._resource,
            queue_url=self.url,
            dead_letter_queue_url=self.dlq_url,
        )

    @staticmethod
    def _fifo_ids(ident: str) -> dict[str, str]:
        """One message group (strict order for the whole queue); one copy per send."""
        return {"MessageGroupId": "skaal", "MessageDeduplicationId": ident}

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        sqs, url = self._sqs, self.url
        ident = uuid.uuid4().hex
        text, attributes = encode_body(body)
        attributes[_ID] = {"DataType": "String", "StringValue": ident}
        request: dict[str, Any] = {"QueueUrl": url, "MessageBody": text}
        request["MessageAttributes"] = attributes
        if self.fifo:
            if delay > 0:
                raise SkaalRuntimeError(
                    f"{self._resource} is a FIFO queue, which cannot delay single messages",
                    where=self._resource,
                    fix="send without delay=, or declare the queue without ordered=True",
                )
            request.update(self._fifo_ids(ident))
        else:
            request["DelaySeconds"] = min(900, max(0, math.ceil(delay)))
        # repeated after a timeout: see the module docstring (deduplicated, or a redelivery)
        await self._call(lambda: sqs.send_message(**request), "SendMessage", Safety.IDEMPOTENT)
        return ident

    async def _receive(self, url: str, count: int, visibility: int) -> list[dict[str, Any]]:
        sqs = self._sqs
        response = await self._call(
            lambda: sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=count,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            ),
            "ReceiveMessage",
            # repeated: a lost answer hides its messages until their visibility
            # timeout whether or not the receive is repeated (module docstring)
            Safety.IDEMPOTENT,
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        visibility = min(43200, max(1, math.ceil(visibility_timeout)))
        out: list[Delivery[bytes]] = []
        while len(out) < max_messages:
            batch = await self._receive(self.url, min(10, max_messages - len(out)), visibility)
            if not batch:
                break
            for message in batch:
                body = decode_body(message)
                attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                ident = _ident(message)
                self._inflight[ident] = _InFlight(message["ReceiptHandle"], body, attempt)
                out.append(Delivery(ident, body, attempt))
        return out

    async def ack(self, message_id: str) -> None:
        held = self._inflight.pop(message_id, None)
        if held is None:
            return
        sqs, url = self._sqs, self.url
        await self._call(
            lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=held.handle),
            "DeleteMessage",
            Safety.IDEMPOTENT,
        )

    async def retry(self, message_id: str, *, delay: float) -> None:
        held = self._inflight.get(message_id)
        if held is None:
            return
        sqs, url = self._sqs, self.url
        seconds = min(43200, max(0, math.ceil(delay)))
        await self._call(
            lambda: sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=held.handle, VisibilityTimeout=seconds
            ),
            "ChangeMessageVisibility",
            Safety.IDEMPOTENT,
        )

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        held = self._inflight.get(message_id)
        if held is None:
            return
        sqs, dlq = self._sqs, self.dlq_url
        text, attributes = encode_body(held.body)
        attributes["skaal-error"] = {"DataType": "String", "StringValue": error[:4000] or "-"}
        attributes["skaal-attempts"] = {"DataType": "Number", "StringValue": str(held.attempt)}
        attributes[_ID] = {"DataType": "String", "StringValue": message_id}
        request: dict[str, Any] = {
            "QueueUrl": dlq,
            "MessageBody": text,
            "MessageAttributes": attributes,
        }
        if self.fifo:
            request.update(self._fifo_ids(uuid.uuid4().hex))
        # a repeat is a second copy with the same id: dead_letters lists each id once
        await self._call(
            lambda: sqs.send_message(**request), "SendMessage (dead letter)", Safety.IDEMPOTENT
        )
        await self.ack(message_id)

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]:
        dlq = self.dlq_url
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < limit:
            batch = await self._receive(dlq, min(10, limit - len(seen)), 30)
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        await self._release(list(seen.values()))
        out: list[DeadLetter[bytes]] = []
        for message in seen.values():
            attributes = message.get("MessageAttributes") or {}
            error = attributes.get("skaal-error", {}).get(
                "StringValue",
                "received too many times without being acknowledged "
                "(moved by the queue's redrive policy)",
            )
            attempts = attributes.get("skaal-attempts", {}).get(
                "StringValue", str(self._max_receives)
            )
            out.append(DeadLetter(_ident(message), decode_body(message), int(attempts), str(error)))
        return out

    async def redrive(self, message_id: str) -> str | None:
        """Send the dead letter ``message_id`` back to the queue as a new message; its new id.

        The DLQ is read as ``dead_letters`` reads it; the copies carrying
        ``message_id`` are deleted once the message is on the queue again (a
        crash in between leaves it in both: at least once), the others made
        visible again.  ``None`` when no dead letter has that id.
        """
        sqs, dlq = self._sqs, self.dlq_url
        seen: dict[str, dict[str, Any]] = {}
        while True:
            batch = await self._receive(dlq, 10, 30)
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        matching = [m for m in seen.values() if _ident(m) == message_id]
        others = [m for m in seen.values() if _ident(m) != message_id]
        new_id = await self.send(decode_body(matching[0])) if matching else None
        for message in matching:
            handle = message["ReceiptHandle"]
            await self._call(
                lambda h=handle: sqs.delete_message(QueueUrl=dlq, ReceiptHandle=h),
                "DeleteMessage (redriven dead letter)",
                Safety.IDEMPOTENT,
            )
        await self._release(others)
        return new_id

    async def _release(self, messages: list[dict[str, Any]]) -> None:
        """Make ``messages`` of the DLQ, received to be looked at, visible again."""
        sqs, dlq = self._sqs, self.dlq_url
        handles = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for n, m in enumerate(messages)
        ]
        for i in range(0, len(handles), 10):
            entries = handles[i : i + 10]
            await self._call(
                lambda e=entries: sqs.change_message_visibility_batch(QueueUrl=dlq, Entries=e),
                "ChangeMessageVisibilityBatch (dead letters)",
                Safety.IDEMPOTENT,
            )

    async def depth(self) -> int:
        sqs, url = self._sqs, self.url
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        response = await self._call(
            lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names),
            "GetQueueAttributes",
            Safety.READ,
        )
        return sum(int(response["Attributes"].get(n, "0")) for n in names)


class SqsProvider(AwsProvider):
    """The ``sqs`` implementation: one ``AwsSession``, one queue (+ DLQ) per resource."""

    implementation = "sqs"

    def queue(self, spec: ResourceSpec) -> SqsQueue:
        req = spec.requirements
        fifo = bool(req.ordered) or (req.backend or "").endswith("fifo")
        return SqsQueue(self.aws, spec.name, max_receives=req.max_attempts or 5, fifo=fifo)
