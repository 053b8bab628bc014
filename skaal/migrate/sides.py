"""One end of a move, per kind: read items in key order, write them, remove them.

An :class:`Item` is a resource's entry in encoded form, as the ports of
:mod:`skaal.runtime.ports` speak it: a map's key and value bytes, a
collection's key, document bytes and index fields, a blob's key, content and
content type and metadata.  Its :meth:`Item.digest` covers everything a copy
must preserve, so equal digests mean an exact copy.

**Time to live.**  A map entry or a collection document that expires is
copied with the time it has left (:attr:`Item.ttl`), read from a store that
can tell it (:class:`~skaal.runtime.ports.ExpiringStore`: maps on memory,
SQLite, PostgreSQL, Redis, DynamoDB and Firestore; collections on memory,
SQLite, PostgreSQL, DynamoDB and Firestore) and written with ``ttl=``.  The
digest leaves it out (it shrinks while it is read); the engine compares it
apart, within :data:`TTL_TOLERANCE` (:func:`ttl_matches`), when both sides can tell it
(:attr:`Side.keeps_ttl`).  Blobs do not expire.

Dispatch is an explicit ``match`` on the kind (:func:`side_for`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from msgspec import Struct, field

from skaal.blueprint.model import Kind
from skaal.errors import MigrationError
from skaal.runtime.ports import (
    BlobBackend,
    DocumentBackend,
    ExpiringStore,
    IndexValue,
    KeyValueBackend,
)

__all__ = ["TTL_TOLERANCE", "Item", "Side", "items_of", "side_for", "ttl_matches"]

TTL_TOLERANCE = 2.0
"""Seconds by which a copied entry's time left may differ from the source's.

A copy is written a moment after the source is read, so the copy expires
that moment later; the catch-up rewrites every entry off by more than this.
"""


class Item(Struct, frozen=True):
    """One entry of a resource, encoded."""

    key: str
    value: bytes
    fields: Mapping[str, IndexValue] = field(default_factory=dict)
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    ttl: float | None = None
    """Seconds left to live when read (``None``: never expires, or not known)."""

    def digest(self) -> bytes:
        """SHA-256 of the key, the value and what describes it (length-prefixed, canonical)."""
        described = json.dumps(
            [dict(self.fields), self.content_type, dict(self.metadata)],
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        h = hashlib.sha256()
        for part in (self.key.encode(), self.value, described):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return h.digest()


def ttl_matches(source: float | None, target: float | None) -> bool:
    """Whether a copy's time left agrees with its source's (both none, or within tolerance)."""
    if source is None or target is None:
        return source is target
    return abs(source - target) <= TTL_TOLERANCE


class Side(Protocol):
    """A resource's store seen by a move."""

    @property
    def keeps_ttl(self) -> bool:
        """Whether :meth:`page` reads each item's time left (:attr:`Item.ttl`)."""
        ...

    async def page(self, after: str | None, limit: int) -> tuple[list[Item], str | None]:
        """Up to ``limit`` items after position ``after``, in key order, and the next position."""
        ...

    async def write(self, items: Sequence[Item]) -> None:
        """Store every item, replacing what the target holds under its key."""
        ...

    async def remove(self, key: str) -> None: ...


async def items_of(side: Side, *, batch: int) -> AsyncIterator[Item]:
    """Every item of ``side`` in key order."""
    position: str | None = None
    while True:
        items, position = await side.page(position, batch)
        for item in items:
            yield item
        if position is None:
            return


class _MapSide:
    def __init__(self, store: KeyValueBackend) -> None:
        self._store = store
        self._expiring = store if isinstance(store, ExpiringStore) else None

    @property
    def keeps_ttl(self) -> bool:
        return self._expiring is not None

    async def page(self, after: str | None, limit: int) -> tuple[list[Item], str | None]:
        chunk = await self._store.scan(limit=limit, after=after)
        left: dict[str, float] = {}
        if self._expiring is not None and chunk.items:
            left = await self._expiring.remaining_ttl([key for key, _ in chunk.items])
        return [Item(key, value, ttl=left.get(key)) for key, value in chunk.items], chunk.next

    async def write(self, items: Sequence[Item]) -> None:
        lasting = {item.key: item.value for item in items if item.ttl is None}
        if lasting:
            await self._store.set_many(lasting)
        for item in items:
            if item.ttl is not None:
                await self._store.set(item.key, item.value, ttl=item.ttl)

    async def remove(self, key: str) -> None:
        await self._store.delete(key)


class _DocumentSide:
    def __init__(self, store: DocumentBackend, client: Any) -> None:
        self._store = store
        self._client = client  # a CollectionClient: the key and fields of a document
        self._expiring = store if isinstance(store, ExpiringStore) else None

    @property
    def keeps_ttl(self) -> bool:
        return self._expiring is not None

    async def page(self, after: str | None, limit: int) -> tuple[list[Item], str | None]:
        chunk = await self._store.find({}, limit=limit, after=after)
        entries = [(*self._client.entry(document), document) for document in chunk.items]
        left: dict[str, float] = {}
        if self._expiring is not None and entries:
            left = await self._expiring.remaining_ttl([key for key, _, _ in entries])
        items = [Item(key, doc, fields, ttl=left.get(key)) for key, fields, doc in entries]
        return items, chunk.next

    async def write(self, items: Sequence[Item]) -> None:
        for item in items:
            await self._store.put(item.key, item.value, item.fields, ttl=item.ttl)

    async def remove(self, key: str) -> None:
        await self._store.delete(key)


class _BlobSide:
    _CHUNK = 1 << 20
    keeps_ttl = False

    def __init__(self, store: BlobBackend) -> None:
        self._store = store

    async def page(self, after: str | None, limit: int) -> tuple[list[Item], str | None]:
        chunk = await self._store.list(limit=limit, after=after)
        items = []
        for info in chunk.items:
            stream = await self._store.open_read(info.key, chunk_size=self._CHUNK)
            if stream is None:  # deleted since it was listed
                continue
            content = b"".join([part async for part in stream.chunks])
            items.append(
                Item(
                    info.key,
                    content,
                    content_type=stream.info.content_type,
                    metadata=dict(stream.info.metadata),
                )
            )
        return items, chunk.next

    async def write(self, items: Sequence[Item]) -> None:
        for item in items:
            await self._store.put(
                item.key,
                _once(item.value),
                content_type=item.content_type or "application/octet-stream",
                metadata=item.metadata,
            )

    async def remove(self, key: str) -> None:
        await self._store.delete(key)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def side_for(kind: Kind, store: Any, client: Any, *, resource: str) -> Side:
    """The side of a ``kind`` resource's ``store`` (``client``: its typed client)."""
    match kind:
        case "map":
            return _MapSide(store)
        case "collection":
            return _DocumentSide(store, client)
        case "blob":
            return _BlobSide(store)
        case _:
            raise MigrationError(
                f"{resource} is a {kind}, whose data `skaal migrate` does not copy",
                where=resource,
                fix="drain a queue before re-planning it; topics and functions hold no data",
            )
