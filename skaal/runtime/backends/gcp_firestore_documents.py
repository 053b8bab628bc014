"""A ``Collection`` in Firestore: one document per key, queried on index fields.

The document id is :func:`~skaal.runtime.backends.gcp_firestore_values.doc_id`
of the key; the fields are ``k`` (the key), ``d`` (the encoded document) and
``x``, a map of the declared index fields in JSON form.  ``find`` is one
Firestore query: an equality filter per field (``x.<field> == value``), a
range filter ``k > after`` for the cursor, ordered on ``k`` and limited to one
more than the page so the backend knows whether another page exists.

Firestore compares numbers by value (``1 == 1.0``) and keeps booleans apart
from numbers, as the conformance suite requires.  A real database needs a
composite index per combination of filtered fields with ``k`` (a deploy
concern, declared from the resource's ``Index``es); the emulator needs none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from skaal.runtime.backends.gcp_common import Offload
from skaal.runtime.backends.gcp_firestore_values import doc_id
from skaal.runtime.ports import Chunk, IndexValue

if TYPE_CHECKING:
    from google.cloud.firestore import Client

__all__ = ["FirestoreDocuments"]

T = TypeVar("T")


class FirestoreDocuments:
    """A ``DocumentBackend`` on one Firestore collection."""

    def __init__(self, client: Client, offload: Offload, *, collection: str, resource: str) -> None:
        self._client = client
        self._offload = offload
        self._col = client.collection(collection)
        self._resource = resource

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _run(self, fn: Callable[[], T], what: str) -> T:
        return await self._offload.run(fn, what=what, where=self._resource)

    async def put(self, key: str, document: bytes, fields: Mapping[str, IndexValue]) -> None:
        ref = self._col.document(doc_id(key))
        body = {"k": key, "d": document, "x": dict(fields)}
        await self._run(lambda: ref.set(body), "write a document")

    async def get(self, key: str) -> bytes | None:
        ref = self._col.document(doc_id(key))

        def read() -> bytes | None:
            snap = ref.get()
            return snap.get("d") if snap.exists else None

        return await self._run(read, "read a document")

    async def delete(self, key: str) -> bool:
        from google.api_core import exceptions as gexc

        ref = self._col.document(doc_id(key))

        def delete() -> bool:
            try:
                ref.delete(option=self._client.write_option(exists=True))
            except gexc.NotFound:
                return False
            return True

        return await self._run(delete, "delete a document")

    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        from google.cloud.firestore import FieldFilter
        from google.cloud.firestore_v1.field_path import FieldPath

        query = self._col.order_by("k")
        for name, value in sorted(filters.items()):
            path = FieldPath("x", name).to_api_repr()
            query = query.where(filter=FieldFilter(path, "==", value))
        if after is not None:
            query = query.where(filter=FieldFilter("k", ">", after))
        query = query.limit(limit + 1)

        def run() -> Chunk[bytes]:
            snaps = list(query.stream())
            page = snaps[:limit]
            items = tuple(s.get("d") for s in page)
            more = len(snaps) > limit
            return Chunk(items, page[-1].get("k") if more and page else None)

        return await self._run(run, "query documents")
