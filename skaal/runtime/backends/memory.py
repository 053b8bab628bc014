"""The ``memory`` backend: maps, collections, queues and topics in Python objects.

Ephemeral by design (the catalog offers it only to ``durability="ephemeral"``
resources).  Atomicity comes from asyncio itself: no operation here awaits
between reading and writing, so on one event loop each call is a critical
section -- ``increment`` and ``compare_and_set`` need no lock.  Keys are kept
in a sorted list beside the dict (``bisect``), so ``scan`` is keyset
pagination in code-point order, exactly like SQLite's ``BINARY`` collation.
TTL is an expiry time checked on read; expired entries are dropped lazily.
There is no client underneath: a store's ``native()`` hands out the store
itself, the only place its data live.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from msgspec import Struct, field

from skaal.blueprint.model import Kind, ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.ports import (
    BackendSettings,
    Chunk,
    Clock,
    DeadLetter,
    Delivery,
    IndexValue,
    Subscription,
)

if TYPE_CHECKING:
    from skaal.declare.native import Native

__all__ = [
    "MemoryDocuments",
    "MemoryKeyValue",
    "MemoryProvider",
    "MemoryQueue",
    "MemoryTopic",
    "prefix_end",
]


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:
                nxt = 0xE000
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


class _SortedKeys:
    """Keys in code-point order, for keyset scans."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def add(self, key: str) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            self.keys.insert(i, key)

    def remove(self, key: str) -> None:
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def start(self, prefix: str, after: str | None) -> int:
        if after is not None and after >= prefix:
            return bisect.bisect_right(self.keys, after)
        return bisect.bisect_left(self.keys, prefix)


class MemoryKeyValue:
    """A ``KeyValueBackend`` in a dict."""

    def __init__(self, clock: Clock, resource: str = "") -> None:
        self._clock = clock
        self._resource = resource
        self._data: dict[str, bytes] = {}
        self._expiry: dict[str, float] = {}
        self._order = _SortedKeys()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def native(self) -> Native[MemoryKeyValue]:
        return _native(self, "map", self._resource)

    def _live(self, key: str) -> bytes | None:
        value = self._data.get(key)
        if value is not None and self._expiry:
            expires = self._expiry.get(key)
            if expires is not None and expires <= self._clock():
                self._drop(key)
                return None
        return value

    def _drop(self, key: str) -> None:
        if self._data.pop(key, None) is not None:
            self._order.remove(key)
        self._expiry.pop(key, None)

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        if key not in self._data:
            self._order.add(key)
        self._data[key] = value
        if ttl is not None:
            self._expiry[key] = self._clock() + ttl
        elif self._expiry:
            self._expiry.pop(key, None)

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        found = {}
        for key in keys:
            value = self._live(key)
            if value is not None:
                found[key] = value
        return found

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        now, left = self._clock(), {}
        for key in keys:
            expires = self._expiry.get(key)
            if expires is not None and self._live(key) is not None:
                left[key] = expires - now
        return left

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._put(key, value, ttl)

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        for key, value in items.items():
            self._put(key, value, ttl)

    async def delete(self, key: str) -> bool:
        present = self._live(key) is not None
        self._drop(key)
        return present

    async def contains(self, key: str) -> bool:
        return self._live(key) is not None

    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        keys = self._order.keys
        i = self._order.start(prefix, after)
        out: list[tuple[str, bytes]] = []
        while i < len(keys) and len(out) < limit:
            key = keys[i]
            if not key.startswith(prefix):
                break
            value = self._live(key)
            if value is None:  # expired and dropped: the list shifted left
                continue
            out.append((key, value))
            i += 1
        more = i < len(keys) and keys[i].startswith(prefix)
        return Chunk(tuple(out), out[-1][0] if out and more else None)

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        current = self._live(key)
        value = (0 if current is None else int(current)) + by
        self._put(key, str(value).encode(), ttl)
        return value

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        if self._live(key) != expected:
            return False
        self._put(key, value, ttl)
        return True


class MemoryDocuments:
    """A ``DocumentBackend``: documents in a dict, index fields and expiry beside them."""

    def __init__(self, clock: Clock, resource: str = "") -> None:
        self._clock = clock
        self._resource = resource
        self._docs: dict[str, tuple[bytes, Mapping[str, IndexValue], float | None]] = {}
        self._order = _SortedKeys()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def native(self) -> Native[MemoryDocuments]:
        return _native(self, "collection", self._resource)

    def _live(self, key: str) -> tuple[bytes, Mapping[str, IndexValue]] | None:
        found = self._docs.get(key)
        if found is None:
            return None
        document, fields, expires = found
        if expires is not None and expires <= self._clock():
            del self._docs[key]
            self._order.remove(key)
            return None
        return document, fields

    async def put(
        self,
        key: str,
        document: bytes,
        fields: Mapping[str, IndexValue],
        *,
        ttl: float | None = None,
    ) -> None:
        if key not in self._docs:
            self._order.add(key)
        expires = None if ttl is None else self._clock() + ttl
        self._docs[key] = (document, dict(fields), expires)

    async def get(self, key: str) -> bytes | None:
        found = self._live(key)
        return None if found is None else found[0]

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        now, left = self._clock(), {}
        for key in keys:
            found = self._docs.get(key)
            if found is not None and found[2] is not None and self._live(key) is not None:
                left[key] = found[2] - now
        return left

    async def delete(self, key: str) -> bool:
        present = self._live(key) is not None
        if present:
            del self._docs[key]
            self._order.remove(key)
        return present

    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        keys = self._order.keys
        i = self._order.start("", after)
        out: list[bytes] = []
        last = None
        while i < len(keys):
            key = keys[i]
            found = self._live(key)
            if found is None:  # expired and dropped: the list shifted left
                continue
            i += 1
            document, fields = found
            if all(_same(fields.get(k), v) for k, v in filters.items()):
                if len(out) == limit:
                    return Chunk(tuple(out), last)
                out.append(document)
                last = key
        return Chunk(tuple(out), None)


def _same(a: IndexValue, b: IndexValue) -> bool:
    """Equality as SQL compares JSON scalars: ``1 == 1.0``, but ``True`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


class _Message(Struct):
    id: str
    body: bytes
    visible_at: float
    attempts: int = 0


class MemoryQueue(Struct):
    """A ``QueueBackend`` in a dict ordered by insertion."""

    clock: Clock
    resource: str = ""
    _messages: dict[str, _Message] = field(default_factory=dict)
    _dead: list[DeadLetter[bytes]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def native(self) -> Native[MemoryQueue]:
        return _native(self, "queue", self.resource)

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        message_id = f"m{next(self._ids)}"
        self._messages[message_id] = _Message(message_id, body, self.clock() + delay)
        return message_id

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        now = self.clock()
        out: list[Delivery[bytes]] = []
        for message in self._messages.values():
            if len(out) >= max_messages:
                break
            if message.visible_at <= now:
                message.attempts += 1
                message.visible_at = now + visibility_timeout
                out.append(Delivery(message.id, message.body, message.attempts))
        return out

    async def ack(self, message_id: str) -> None:
        self._messages.pop(message_id, None)

    async def retry(self, message_id: str, *, delay: float) -> None:
        message = self._messages.get(message_id)
        if message is not None:
            message.visible_at = self.clock() + delay

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        message = self._messages.pop(message_id, None)
        if message is not None:
            self._dead.append(DeadLetter(message.id, message.body, message.attempts, error))

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]:
        return self._dead[:limit]

    async def redrive(self, message_id: str) -> str | None:
        """Move a dead letter back to the queue, visible now (``RedrivesDeadLetters``)."""
        for i, letter in enumerate(self._dead):
            if letter.id == message_id:
                del self._dead[i]
                return await self.send(letter.body)
        return None

    async def depth(self) -> int:
        return len(self._messages)


class MemorySubscription:
    """One named subscription: an unbounded FIFO of message bodies."""

    def __init__(self, name: str, topic: MemoryTopic) -> None:
        self._name = name
        self._topic = topic
        self.pending: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    async def get(self, *, timeout: float | None = None) -> bytes | None:
        while not self.pending:
            if self.closed:
                return None
            self.ready.clear()
            try:
                await asyncio.wait_for(self.ready.wait(), timeout)
            except TimeoutError:
                return None
        return self.pending.popleft()

    async def close(self) -> None:
        self.closed = True
        self.ready.set()
        self._topic.subscriptions.pop(self._name, None)


class MemoryTopic:
    """A ``TopicBackend``: publish appends to every live subscription."""

    def __init__(self, resource: str = "") -> None:
        self.subscriptions: dict[str, MemorySubscription] = {}
        self._resource = resource

    async def open(self) -> None:
        return None

    async def native(self) -> Native[MemoryTopic]:
        return _native(self, "topic", self._resource)

    async def close(self) -> None:
        for subscription in list(self.subscriptions.values()):
            await subscription.close()

    async def publish(self, body: bytes) -> int:
        for subscription in self.subscriptions.values():
            subscription.pending.append(body)
            subscription.ready.set()
        return len(self.subscriptions)

    async def lag(self) -> dict[str, int]:
        """Messages each subscription has not taken yet (``ReportsLag``)."""
        return {name: len(s.pending) for name, s in sorted(self.subscriptions.items())}

    async def subscribe(self, name: str) -> Subscription[bytes]:
        subscription = self.subscriptions.get(name)
        if subscription is None:
            subscription = self.subscriptions[name] = MemorySubscription(name, self)
        return subscription


class MemoryProvider(UnsupportedKinds):
    """The ``memory`` implementation: one store per resource, nothing shared."""

    implementation = "memory"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def key_value(self, spec: ResourceSpec) -> MemoryKeyValue:
        return MemoryKeyValue(self.settings.clock, spec.name)

    def documents(self, spec: ResourceSpec) -> MemoryDocuments:
        return MemoryDocuments(self.settings.clock, spec.name)

    def queue(self, spec: ResourceSpec) -> MemoryQueue:
        return MemoryQueue(self.settings.clock, spec.name)

    def topic(self, spec: ResourceSpec) -> MemoryTopic:
        return MemoryTopic(spec.name)


S = TypeVar("S")


def _native(store: S, kind: Kind, resource: str) -> Native[S]:
    """A memory store is its own native client: its data live in it, in this process."""
    from skaal.declare.native import Native

    return Native(store, backend="memory", resource=resource, kind=kind, name=resource)
