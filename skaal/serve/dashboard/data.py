"""The dashboard's view of the data plane: pages of stored data as JSON, and the few writes.

Everything here goes through the running :class:`~skaal.runtime.runtime.Runtime`'s
typed clients, so a value the dashboard writes is validated exactly as the
app's own writes are, on whichever backend the plan chose (SQLite, Redis,
PostgreSQL, a cloud service).

* Maps are listed in key order (``prefix`` search, keyset pages); a value
  is shown as the JSON it is stored as.  Keys travel as their *stored* text
  (a ``str`` key as is, an ``int`` key as its digits).
* Collections are listed in key order, optionally filtered on one declared
  index (``field`` = ``value``; the value is read as JSON when it parses,
  else as text).
* Blobs are listed with size, content type and modification time.
* Queues: depth, dead letters, redrive (when the backend can); topics: the
  lag of each subscription (when the backend can tell).

Each function raises :class:`DashboardError` (a ``SkaalRuntimeError``) for a
name that is not a resource of the right kind, naming those that are; the
API turns it into a 404.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from pydantic_core import to_jsonable_python

from skaal.errors import SkaalRuntimeError
from skaal.runtime.ports import ReportsLag

if TYPE_CHECKING:
    from skaal.runtime.clients import (
        BlobClient,
        CollectionClient,
        MapClient,
        QueueClient,
        TopicClient,
    )
    from skaal.runtime.runtime import Runtime

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "DashboardError",
    "blob_chunks",
    "collection_delete",
    "collection_page",
    "collection_put",
    "dead_letters",
    "list_blobs",
    "map_delete",
    "map_page",
    "map_set",
    "queue_client",
    "redrive",
    "topic_lag",
]

DEFAULT_PAGE: Final = 25
MAX_PAGE: Final = 200


class DashboardError(SkaalRuntimeError):
    """A dashboard request named something the app does not have (answered 404)."""


def _client(runtime: Runtime, name: str, kind: str) -> Any:
    specs = [s.name for s in runtime.blueprint.resources if s.kind == kind]
    if name not in specs:
        raise DashboardError(
            f"{runtime.blueprint.app} has no {kind} called {name!r}",
            where="/_skaal/api",
            fix=f"{kind}s of this app: {', '.join(sorted(specs)) or 'none'}",
        )
    return runtime.client_named(name)


def stored_json(data: bytes) -> Any:
    """A stored value as JSON: parsed when it is JSON text, else ``{"base64": ...}``."""
    try:
        return json.loads(data)
    except ValueError:
        return {"base64": base64.b64encode(data).decode()}


def page_limit(raw: str | None) -> int:
    """A page size from a query parameter, within ``1..MAX_PAGE``."""
    try:
        value = int(raw) if raw else DEFAULT_PAGE
    except ValueError:
        raise SkaalRuntimeError(
            f"limit={raw!r} is not a number", where="limit", fix=f"pass 1 to {MAX_PAGE}"
        ) from None
    return min(max(value, 1), MAX_PAGE)


async def map_page(
    runtime: Runtime, name: str, *, prefix: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of a map: ``{"items": [{"key", "value"}], "cursor"}``."""
    client: MapClient[Any, Any] = _client(runtime, name, "map")
    keys, _values = client.codecs
    page = await client.items(
        prefix=prefix if keys.supports_prefix else "", limit=limit, cursor=cursor
    )
    items = [
        {"key": keys.encode(key), "value": to_jsonable_python(value, bytes_mode="base64")}
        for key, value in page.items
    ]
    return {"items": items, "cursor": page.cursor, "prefix_search": keys.supports_prefix}


async def map_set(runtime: Runtime, name: str, key: str, value: Any) -> dict[str, Any]:
    """Store ``value`` (JSON, validated as the declared type) at the stored key ``key``."""
    client: MapClient[Any, Any] = _client(runtime, name, "map")
    keys, values = client.codecs
    typed = values.decode(json.dumps(value).encode(), key=key)
    await client.set(keys.decode(key), typed)
    return {"key": key, "value": to_jsonable_python(typed, bytes_mode="base64")}


async def map_delete(runtime: Runtime, name: str, key: str) -> bool:
    client: MapClient[Any, Any] = _client(runtime, name, "map")
    keys, _ = client.codecs
    return await client.delete(keys.decode(key))


def _filter_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def collection_page(
    runtime: Runtime,
    name: str,
    *,
    field: str | None,
    value: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """One page of a collection, filtered on ``field == value`` when both are given."""
    client: CollectionClient[Any] = _client(runtime, name, "collection")
    where = {field: _filter_value(value or "")} if field else {}
    page = await client.find(where=where, limit=limit, cursor=cursor)
    keys, _ = client.codecs
    return {
        "key_field": client.key_field,
        "indexes": list(client.indexes),
        "items": [
            {
                "key": keys.encode(client.key_of(doc)),
                "document": to_jsonable_python(doc, bytes_mode="base64"),
            }
            for doc in page.items
        ],
        "cursor": page.cursor,
    }


async def collection_put(runtime: Runtime, name: str, document: Any) -> dict[str, Any]:
    """Insert or replace ``document`` (JSON, validated as the declared model)."""
    client: CollectionClient[Any] = _client(runtime, name, "collection")
    keys, values = client.codecs
    typed = values.decode(json.dumps(document).encode(), key="(new document)")
    await client.put(typed)
    return {
        "key": keys.encode(client.key_of(typed)),
        "document": to_jsonable_python(typed, bytes_mode="base64"),
    }


async def collection_delete(runtime: Runtime, name: str, key: str) -> bool:
    client: CollectionClient[Any] = _client(runtime, name, "collection")
    keys, _ = client.codecs
    return await client.delete(keys.decode(key))


async def list_blobs(
    runtime: Runtime, name: str, *, prefix: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    client: BlobClient = _client(runtime, name, "blob")
    page = await client.list(prefix=prefix, limit=limit, cursor=cursor)
    return {
        "items": [
            {
                "key": info.key,
                "size": info.size,
                "content_type": info.content_type,
                "modified": info.modified,
            }
            for info in page.items
        ],
        "cursor": page.cursor,
    }


async def blob_chunks(
    runtime: Runtime, name: str, key: str
) -> tuple[str, int, AsyncIterator[bytes]]:
    """The content type, size and content of a blob (``BlobNotFoundError`` if absent)."""
    client: BlobClient = _client(runtime, name, "blob")
    stream = await client.open(key)
    return stream.info.content_type, stream.info.size, stream.chunks


async def topic_lag(runtime: Runtime, name: str) -> dict[str, int] | None:
    """Messages each subscription of the topic has not taken, or ``None`` when its backend
    cannot tell (:class:`~skaal.runtime.ports.ReportsLag`)."""

    client: TopicClient[Any] = _client(runtime, name, "topic")
    if not isinstance(client.backend, ReportsLag):
        return None
    return await client.backend.lag()


def queue_client(runtime: Runtime, name: str) -> QueueClient[Any]:
    client: QueueClient[Any] = _client(runtime, name, "queue")
    return client


async def dead_letters(runtime: Runtime, name: str, *, limit: int) -> list[dict[str, Any]]:
    """The queue's dead letters as stored (bodies as JSON), oldest first."""
    client = queue_client(runtime, name)
    return [
        {
            "id": letter.id,
            "body": stored_json(letter.body),
            "attempts": letter.attempts,
            "error": letter.error,
        }
        for letter in await client.backend.dead_letters(limit=limit)
    ]


async def redrive(runtime: Runtime, name: str, message_id: str) -> str:
    """Put a dead letter back on its queue; its new message id."""
    client = queue_client(runtime, name)
    new_id = await client.redrive(message_id)
    if new_id is None:
        raise DashboardError(
            f"{name} has no dead letter {message_id!r}",
            where=f"/_skaal/api/queues/{name}/dead",
            fix="list the dead letters again: it may have been redriven already",
        )
    return new_id
