"""The backend interfaces: small protocols over *encoded* data.

Every backend (memory, SQLite and the filesystem now; Redis, PostgreSQL,
DynamoDB, S3, SQS, Firestore, GCS later) implements one or more of these
protocols.  They speak only in encoded form -- keys are ``str``, values are
``bytes`` -- so a backend never sees a user type.  The typed clients in
:mod:`skaal.runtime.clients` do the encoding (pydantic) and build everything
that can be built once on top of a small surface: ``Map.update`` is a
compare-and-set loop in the client, retry back-off and dead-lettering are
decided by the queue client, cursors are made opaque by the client.

Pagination is keyset based.  A backend returns a :class:`Chunk`, whose
``next`` is a backend *position* (for SQLite and memory: the last key
returned; for DynamoDB it would be a serialised ``LastEvaluatedKey``) or
``None`` when there is nothing more.  The client wraps the position into an
opaque cursor string (:func:`encode_cursor`, URL-safe base64 of the
position) and hands the user a :class:`Page`.

A backend *provider* (one per implementation per runtime: one SQLite file,
one data directory) owns connections and threads; it hands out one store per
resource.  Providers and stores have ``open()`` / ``close()``.  Every store
also answers ``native()``: the client it uses and the resource's physical
names, the escape hatch of :mod:`skaal.native`.

Time is injected: every provider receives a ``Clock`` (seconds since the
epoch, like :func:`time.time`), so TTL expiry, visibility timeouts and retry
back-off are tested without sleeping.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

from msgspec import Struct, field

from skaal.blueprint.model import ResourceSpec
from skaal.declare.values import BlobInfo, BlobStream, DeadLetter, Page
from skaal.errors import SkaalRuntimeError
from skaal.model.grammar import Durability
from skaal.plan.naming import name_base
from skaal.runtime.errors import InvalidCursorError, UnsupportedKindError

if TYPE_CHECKING:
    from skaal.declare.native import Native

__all__ = [
    "BackendSettings",
    "BlobBackend",
    "BlobInfo",
    "BlobStream",
    "Chunk",
    "Clock",
    "DeadLetter",
    "Delivery",
    "DocumentBackend",
    "IndexValue",
    "KeyValueBackend",
    "Page",
    "Provider",
    "QueueBackend",
    "RedrivesDeadLetters",
    "ReportsLag",
    "SecretBackend",
    "SignsBlobUrls",
    "Subscription",
    "TopicBackend",
    "decode_cursor",
    "encode_cursor",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Clock: TypeAlias = Callable[[], float]
"""Seconds since the epoch, as :func:`time.time` returns them."""

IndexValue: TypeAlias = str | int | float | bool | None
"""A value of an indexed field, in JSON form (non-scalars are canonical JSON text)."""


class Chunk(Struct, Generic[T_co], frozen=True):
    """One page as a backend returns it: items and the raw position after them."""

    items: tuple[T_co, ...]
    next: str | None = None


def encode_cursor(position: str | None) -> str | None:
    """An opaque cursor for a backend position (URL-safe base64, no padding)."""
    if position is None:
        return None
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, resource: str) -> str | None:
    """The backend position inside ``cursor``; a clear error if it was not ours."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidCursorError(
            f"{cursor[:40]!r} is not a cursor returned by {resource}",
            where=resource,
            fix="pass the `cursor` of the previous page unchanged, or None for the first page",
        ) from None


@dataclass(frozen=True, slots=True)
class Delivery(Generic[T_co]):
    """One received message; ``attempt`` counts receives, starting at 1.

    It stays a dataclass, not a ``msgspec`` struct like the records around it:
    ``QueueClient.receive`` hands it to user code, which may return it from an
    HTTP function (``-> list[Delivery[Order]]``) or keep it in its own models,
    and pydantic, which validates and serialises those, understands
    dataclasses, not structs (as :mod:`skaal.declare.values` says of ``Page``).
    """

    id: str
    body: T_co
    attempt: int


class BackendSettings(Struct, frozen=True):
    """What a provider is configured from."""

    app: str
    data_dir: Path
    project_dir: Path
    env: Mapping[str, str]
    clock: Clock
    durability: Durability = "durable"
    """The strongest durability any resource bound to this provider declared."""
    region: str | None = None
    """The region of the plan's bindings to this provider (cloud backends)."""
    eventual_reads: frozenset[str] = frozenset()
    """Resources the plan serves eventually consistent (``Binding.consistency``): a
    backend with a per-read choice (DynamoDB's ``ConsistentRead``) reads them so;
    every other resource is read strongly consistent."""
    adopted: Mapping[str, str] = field(default_factory=dict)
    """Resource -> the physical name of the existing table or bucket it adopts
    (``Binding.adopted``): the backend uses that name instead of computing one."""

    env_name: str = ""
    """The environment served (``SKAAL_ENV``), ``""`` outside one (:mod:`skaal.envs`)."""

    @property
    def name_base(self) -> str:
        """What the names of this app's resources start with: ``app`` or ``app-env``
        (:func:`skaal.plan.naming.name_base`): table, bucket and queue names, the
        Redis key prefix, the PostgreSQL schema, the SQLite file."""
        return name_base(self.app, self.env_name)


@runtime_checkable
class ExpiringStore(Protocol):
    """A map or collection store that tells how long its entries have left to live.

    ``skaal migrate`` (:mod:`skaal.migrate.sides`) reads it to copy an entry
    with the time it has left; a store without it is copied without expiry.
    """

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        """Seconds left, by the store's clock, of each live key of ``keys`` that expires.

        Keys that never expire, are absent or have expired are left out.
        """
        ...


class KeyValueBackend(Protocol):
    """A map of ``str`` keys to ``bytes`` values (``Map``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def native(self) -> Native[Any]:
        """The client this store uses and the resource's physical names (:mod:`skaal.native`)."""
        ...

    async def get(self, key: str) -> bytes | None: ...
    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The present keys only."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None: ...
    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> bool:
        """``True`` if the key was present."""
        ...

    async def contains(self, key: str) -> bool: ...
    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        """Entries in key order (code-point order), keys starting with ``prefix``."""
        ...

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        """Atomically add ``by`` to the JSON integer at ``key`` (absent = 0)."""
        ...

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        """Store ``value`` only if the current value is ``expected`` (``None`` = absent)."""
        ...


class DocumentBackend(Protocol):
    """Documents by key, findable by equality on declared index fields (``Collection``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def native(self) -> Native[Any]:
        """The client this store uses and the resource's physical names (:mod:`skaal.native`)."""
        ...

    async def put(
        self,
        key: str,
        document: bytes,
        fields: Mapping[str, IndexValue],
        *,
        ttl: float | None = None,
    ) -> None:
        """Insert or replace; ``ttl`` seconds from the injected clock (``None``: never expires).

        An expired document is invisible to ``get``, ``delete`` and ``find``.
        """
        ...

    async def get(self, key: str) -> bytes | None: ...
    async def delete(self, key: str) -> bool: ...
    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        """Documents whose fields equal every filter, in key order."""
        ...


class BlobBackend(Protocol):
    """Binary objects by validated key (``BlobStore``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def native(self) -> Native[Any]:
        """The client this store uses and the resource's physical names (:mod:`skaal.native`)."""
        ...

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> BlobInfo: ...
    async def open_read(self, key: str, *, chunk_size: int) -> BlobStream | None: ...
    async def stat(self, key: str) -> BlobInfo | None: ...
    async def delete(self, key: str) -> bool: ...
    async def list(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[BlobInfo]: ...


@runtime_checkable
class SignsBlobUrls(Protocol):
    """Optional capability of a ``BlobBackend``: URLs for direct GET/PUT by a third party."""

    async def presigned_url(
        self, key: str, *, expires: float = 3600.0, method: Literal["GET", "PUT"] = "GET"
    ) -> str: ...


class QueueBackend(Protocol):
    """At-least-once messages with a visibility timeout (``Queue``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def native(self) -> Native[Any]:
        """The client this store uses and the resource's physical names (:mod:`skaal.native`)."""
        ...

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        """Enqueue; returns the message id."""
        ...

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        """Visible messages, oldest first, hidden for ``visibility_timeout`` seconds."""
        ...

    async def ack(self, message_id: str) -> None:
        """Remove a delivered message for good."""
        ...

    async def retry(self, message_id: str, *, delay: float) -> None:
        """Make a delivered message visible again after ``delay`` seconds."""
        ...

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        """Move a delivered message to the dead-letter store."""
        ...

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]: ...
    async def depth(self) -> int:
        """Messages not yet acknowledged or dead-lettered (visible or not).

        Exact for the queues Skaal stores itself.  A cloud queue service
        answers with its own estimate (SQS's approximate attributes, Pub/Sub's
        Cloud Monitoring backlog), which lags; where it has none (Pub/Sub's
        emulator) ``depth`` raises a ``SkaalRuntimeError`` saying so.
        """
        ...


@runtime_checkable
class RedrivesDeadLetters(Protocol):
    """Optional capability of a ``QueueBackend``: put a dead letter back on the queue.

    ``redrive`` moves the dead letter ``message_id`` back to the queue as a
    new, visible message with no attempts counted, and returns its new id;
    ``None`` when there is no such dead letter.
    """

    async def redrive(self, message_id: str) -> str | None: ...


@runtime_checkable
class ReportsLag(Protocol):
    """Optional capability of a ``TopicBackend``: how far behind each subscription is."""

    async def lag(self) -> dict[str, int]:
        """Messages published that each subscription has not taken yet, by name."""
        ...


class Subscription(Protocol[T_co]):
    """A named subscription to a topic: every message published after it exists."""

    @property
    def name(self) -> str: ...
    async def get(self, *, timeout: float | None = None) -> T_co | None:
        """The next message, or ``None`` after ``timeout`` seconds (``None`` = wait)."""
        ...

    async def close(self) -> None: ...


class TopicBackend(Protocol):
    """Fan-out: every subscription receives every message (``Topic``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def native(self) -> Native[Any]:
        """The client this store uses and the resource's physical names (:mod:`skaal.native`)."""
        ...

    async def publish(self, body: bytes) -> int:
        """Deliver to every subscription; returns how many received it."""
        ...

    async def subscribe(self, name: str) -> Subscription[bytes]:
        """The subscription called ``name``, created if new (same name = same queue)."""
        ...


class SecretBackend(Protocol):
    """Secret values by name (``Secret``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def get(self, name: str) -> str | None: ...


class Provider(Protocol):
    """One implementation's shared state for a runtime; hands out per-resource stores.

    A method for a kind the implementation does not serve raises
    :class:`~skaal.runtime.errors.UnsupportedKindError`.
    """

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def key_value(self, spec: ResourceSpec) -> KeyValueBackend: ...
    def documents(self, spec: ResourceSpec) -> DocumentBackend: ...
    def blobs(self, spec: ResourceSpec) -> BlobBackend: ...
    def queue(self, spec: ResourceSpec) -> QueueBackend: ...
    def topic(self, spec: ResourceSpec) -> TopicBackend: ...
    def secrets(self) -> SecretBackend: ...


def unsupported(implementation: str, kind: str) -> SkaalRuntimeError:
    """The error a provider raises for a kind it does not serve."""
    return UnsupportedKindError(
        f"backend implementation {implementation!r} does not serve a {kind}",
        fix="re-plan (skaal plan) so the resource is bound to a backend that serves it",
    )
