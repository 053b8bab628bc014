"""A ``Collection`` in Firestore: one document per key, queried on index fields.

The document id is :func:`~skaal.runtime.backends.gcp_firestore_values.doc_id`
of the key; the fields are ``k`` (the key), ``d`` (the encoded document) and
``x``, a map of the declared index fields in JSON form.  ``find`` is one
Firestore query: an equality filter per field (``x.<field> == value``), a
range filter ``k > after`` for the cursor, ordered on ``k`` and limited to one
more than the page so the backend knows whether another page exists.

A document written with a ``ttl`` also has ``exp`` (a timestamp from the
injected clock), the field of the collection's Firestore TTL policy (created
by the deploy), so Firestore deletes it natively -- within a day or so, and
the emulator never does.  Until then every read treats ``exp <= now`` as
absent: ``get`` answers ``None``, ``delete`` answers ``False`` (and removes
it), and ``find`` skips it, reading further pages until its own page is full
(expired documents cost reads until the policy removes them).
``remaining_ttl`` tells the time a document has left from ``exp``, so
``skaal migrate`` copies it with its time to live.

Firestore compares numbers by value (``1 == 1.0``) and keeps booleans apart
from numbers, as the conformance suite requires.  A real database needs a
composite index per combination of filtered fields with ``k`` (a deploy
concern, declared from the resource's ``Index``es); the emulator needs none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from skaal.runtime.backends.gcp_common import Offload, gcp_native, rpc
from skaal.runtime.backends.gcp_firestore_values import doc_id, expires_at, is_live, time_left
from skaal.runtime.errors import ConflictError
from skaal.runtime.ports import Chunk, Clock, IndexValue
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentSnapshot

    from skaal.declare.native import Native

__all__ = ["FirestoreDocuments"]

T = TypeVar("T")

_ATTEMPTS = 200
"""Delete rounds lost to concurrent writers before ``delete`` gives up."""


class FirestoreDocuments:
    """A ``DocumentBackend`` on one Firestore collection."""

    def __init__(
        self,
        client: Client,
        offload: Offload,
        *,
        collection: str,
        resource: str,
        clock: Clock,
    ) -> None:
        self._client = client
        self._offload = offload
        self._col = client.collection(collection)
        self._resource = resource
        self._clock = clock

    async def native(self) -> Native[Client]:
        return gcp_native(
            self._client, "firestore", "collection", self._resource, collection=self._col.id
        )

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _run(self, fn: Callable[[], T], what: str, safety: Safety) -> T:
        return await self._offload.run(fn, what=what, where=self._resource, safety=safety)

    def _live(self, snap: DocumentSnapshot[Any]) -> bool:
        return is_live(snap, self._clock())

    async def put(
        self,
        key: str,
        document: bytes,
        fields: Mapping[str, IndexValue],
        *,
        ttl: float | None = None,
    ) -> None:
        ref = self._col.document(doc_id(key))
        body: dict[str, Any] = {"k": key, "d": document, "x": dict(fields)}
        expiry = expires_at(self._clock(), ttl)
        if expiry is not None:
            body["exp"] = expiry
        await self._run(lambda: ref.set(body, **rpc()), "write a document", Safety.IDEMPOTENT)

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        """The ``exp`` of each live document of ``keys`` that expires (one batched read)."""
        if not keys:
            return {}
        client, col = self._client, self._col

        def read() -> dict[str, float]:
            return time_left(client, col, keys, self._clock())

        return await self._run(read, "read the expiry of documents", Safety.READ)

    async def get(self, key: str) -> bytes | None:
        ref = self._col.document(doc_id(key))

        def read() -> bytes | None:
            snap = ref.get(**rpc())
            return snap.get("d") if self._live(snap) else None

        return await self._run(read, "read a document", Safety.READ)

    async def delete(self, key: str) -> bool:
        from google.api_core import exceptions as gexc

        ref = self._col.document(doc_id(key))

        def delete() -> bool:
            for _ in range(_ATTEMPTS):
                snap = ref.get(**rpc())
                if not snap.exists:
                    return False
                option = self._client.write_option(last_update_time=snap.update_time)
                try:
                    ref.delete(option=option, **rpc())
                except (gexc.FailedPrecondition, gexc.NotFound):
                    continue  # rewritten or deleted since the read: read again
                return self._live(snap)
            raise ConflictError(
                f"delete of {key!r} in {self._resource} lost to concurrent writers "
                f"{_ATTEMPTS} times",
                where=self._resource,
                fix="reduce contention on this document",
            )

        # not repeated: a repeat would answer False for a document it deleted
        return await self._run(delete, "delete a document", Safety.UNSAFE)

    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        from google.cloud.firestore import FieldFilter
        from google.cloud.firestore_v1.field_path import FieldPath

        base = self._col.order_by("k")
        for name, value in sorted(filters.items()):
            path = FieldPath("x", name).to_api_repr()
            base = base.where(filter=FieldFilter(path, "==", value))

        def run() -> Chunk[bytes]:
            out: list[tuple[str, bytes]] = []
            start = after
            while True:
                query = base if start is None else base.where(filter=FieldFilter("k", ">", start))
                snaps = list(query.limit(limit + 1).stream(**rpc()))
                for snap in snaps:
                    if self._live(snap):
                        out.append((snap.get("k"), snap.get("d")))
                    if len(out) > limit:
                        return Chunk(tuple(d for _, d in out[:limit]), out[limit - 1][0])
                if len(snaps) <= limit:
                    return Chunk(tuple(d for _, d in out), None)
                start = snaps[-1].get("k")

        return await self._run(run, "query documents", Safety.READ)
