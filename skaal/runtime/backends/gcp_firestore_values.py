"""How a ``Map`` entry is laid out in Firestore documents.

One entry is one *head* document in the resource's collection, whose id is
the key made safe for Firestore (:func:`doc_id`) and whose fields are:

* ``k`` -- the key itself; scans are range queries ordered on it, which is
  code-point order (Firestore compares strings by their UTF-8 bytes);
* ``n`` -- the value, when it is a canonical JSON integer that fits in 64
  bits: counters are Firestore integers, so ``increment`` is a server-side
  ``Increment`` transform rather than a read-modify-write;
* ``v`` -- otherwise the value's bytes, or their first part;
* ``parts`` / ``ver`` -- for values larger than one document allows (about
  1 MiB): the remaining parts live in the head's ``p`` sub-collection, as
  documents ``<ver>-1``, ``<ver>-2``, ... where ``ver`` is random per write.
  The parts are committed first, the head last (one commit must stay under
  the request size limit), so the head switches atomically from one complete
  value to the next; a reader that misses a part raced a writer that removed
  the old parts, and reads again.  Parts of replaced values are removed by
  the next large write of the key and when the key is deleted;
* ``exp`` -- the expiry time (a timestamp), when the entry has a TTL.  Reads
  filter expired entries against the injected clock; a Firestore TTL policy
  on ``exp`` (a deploy concern) removes them for good.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from msgspec import Struct

from skaal.runtime.backends.gcp_common import rpc
from skaal.runtime.errors import ValueTypeError

__all__ = [
    "MAX_VALUE",
    "PART",
    "Layout",
    "doc_id",
    "expires_at",
    "is_live",
    "layout",
    "part_id",
    "replacing",
    "time_left",
]

PART = 1_000_000
"""Bytes of value per document (Firestore allows 1 MiB per document)."""

MAX_VALUE = 32 * PART
"""The largest value a Map stores on Firestore."""

_MAX_ID_BYTES = 1500
_INT = re.compile(rb"0|-?[1-9][0-9]{0,18}")


def doc_id(key: str) -> str:
    """A valid, unique Firestore document id for ``key``.

    Ids may not contain ``/`` nor be ``.``, ``..`` or ``__x__``: the key is
    prefixed with ``k`` and ``%`` / ``/`` are escaped.  Keys too long for an id
    (1,500 bytes) use ``h`` and their SHA-256 instead.
    """
    escaped = "k" + key.replace("%", "%25").replace("/", "%2F")
    if len(escaped.encode("utf-8", "surrogatepass")) <= _MAX_ID_BYTES:
        return escaped
    return "h" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def expires_at(now: float, ttl: float | None) -> datetime | None:
    return None if ttl is None else datetime.fromtimestamp(now + ttl, UTC)


def time_left(client: Any, col: Any, keys: Sequence[str], now: float) -> dict[str, float]:
    """Seconds left of each live document of ``keys`` in the collection ``col`` whose
    ``exp`` is set, by key (one batched read; the others are left out)."""
    ids = {doc_id(key): key for key in keys}
    left: dict[str, float] = {}
    for snap in client.get_all([col.document(i) for i in ids], **rpc()):
        expiry = (snap.to_dict() or {}).get("exp") if snap.exists else None
        if expiry is not None and expiry.timestamp() > now:
            left[ids[snap.id]] = expiry.timestamp() - now
    return left


def is_live(snap: Any, now: float) -> bool:
    """Whether a document snapshot exists and its ``exp`` is after ``now``."""
    if not snap.exists:
        return False
    expiry = (snap.to_dict() or {}).get("exp")
    return expiry is None or expiry.timestamp() > now


class Layout(Struct, frozen=True):
    """The documents one value is written as."""

    head: dict[str, Any]
    parts: tuple[tuple[str, dict[str, Any]], ...]
    """``(document id in the head's "p" sub-collection, fields)`` per extra part."""


def layout(key: str, value: bytes, expiry: datetime | None, *, resource: str) -> Layout:
    """The head fields and the extra parts for ``value`` (see the module docstring)."""
    head: dict[str, Any] = {"k": key}
    if expiry is not None:
        head["exp"] = expiry
    if _INT.fullmatch(value) and -(2**63) <= int(value) < 2**63:
        head["n"] = int(value)
        return Layout(head, ())
    if len(value) <= PART:
        head["v"] = value
        return Layout(head, ())
    if len(value) > MAX_VALUE:
        raise ValueTypeError(
            f"a value of {len(value):,} bytes is too large for {resource} on Firestore "
            f"(at most {MAX_VALUE:,})",
            where=resource,
            fix="keep large binary data in a BlobStore and store its key in the Map",
        )
    ver = uuid.uuid4().hex
    chunks = [value[i : i + PART] for i in range(0, len(value), PART)]
    head.update(v=chunks[0], parts=len(chunks), ver=ver)
    extra = {"exp": expiry} if expiry is not None else {}
    return Layout(
        head,
        tuple(
            (part_id(ver, i), {"v": c, "ver": ver, **extra})
            for i, c in enumerate(chunks[1:], start=1)
        ),
    )


def part_id(ver: str, index: int) -> str:
    return f"{ver}-{index}"


def replacing(head: dict[str, Any], delete_field: object) -> dict[str, Any]:
    """``head`` as an ``update`` that replaces every field this layout uses."""
    fields: dict[str, Any] = dict.fromkeys(("n", "v", "parts", "ver", "exp"), delete_field)
    fields.update(head)
    return fields
