"""SQS batches as Lambda delivers them: recognising one and reading a message body.

An SQS event source mapping invokes the consumer's Lambda with up to ten
records; each carries the message body as text.  The runtime's queue
clients encode messages as UTF-8 JSON, which travels as is; a body the
sender marked with the ``skaal-encoding`` message attribute set to
``base64`` (bytes that are not UTF-8) is decoded from base64 first, and
one marked ``empty`` stands for an empty message (SQS bodies cannot be empty).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

__all__ = ["ENCODING_ATTRIBUTE", "decode_body", "is_sqs_event"]

ENCODING_ATTRIBUTE = "skaal-encoding"


def is_sqs_event(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is a batch from an SQS event source mapping."""
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def decode_body(record: Mapping[str, Any]) -> bytes:
    """The message bytes of one SQS record."""
    body = str(record.get("body") or "")
    attributes = record.get("messageAttributes") or {}
    encoding = attributes.get(ENCODING_ATTRIBUTE) or {}
    if encoding.get("stringValue") == "base64":
        return base64.b64decode(body)
    if encoding.get("stringValue") == "empty":
        return b""
    return body.encode("utf-8")
