"""``MapClient[K, V]``: the typed client of a ``Map``, over a :class:`KeyValueBackend`.

Everything a user calls is here; the backend only stores encoded keys and
bytes.  ``update(key, fn)`` is built once, here, as a compare-and-set loop:
read, apply ``fn``, write only if nobody wrote in between, otherwise retry --
so every backend with ``compare_and_set`` gets a lost-update-free ``update``.
A declared ``ttl`` is the default expiry of every write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from skaal.runtime.codecs import KeyCodec, ValueCodec
from skaal.runtime.errors import ConflictError, ValueTypeError
from skaal.runtime.ports import KeyValueBackend, Page, decode_cursor, encode_cursor

__all__ = ["MapClient"]

K = TypeVar("K")
V = TypeVar("V")

_MAX_PAGE = 10_000
_UPDATE_ATTEMPTS = 1_000


def check_limit(limit: int, resource: str) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE:
        raise ValueTypeError(
            f"limit={limit!r} for {resource} is not an integer from 1 to {_MAX_PAGE}",
            where=resource,
            fix="pass a page size such as limit=100 and follow the page's cursor",
        )
    return limit


class MapClient(Generic[K, V]):
    """Typed access to one ``Map`` resource."""

    def __init__(
        self,
        backend: KeyValueBackend,
        *,
        resource: str,
        keys: KeyCodec[K],
        values: ValueCodec[V],
        default_ttl: float | None = None,
    ) -> None:
        self.backend = backend
        self.resource = resource
        self._keys = keys
        self._values = values
        self._ttl = default_ttl

    def __repr__(self) -> str:
        return f"MapClient({self.resource!r})"

    @property
    def codecs(self) -> tuple[KeyCodec[K], ValueCodec[V]]:
        """How this map encodes keys and values (for tools that read the stored form)."""
        return self._keys, self._values

    def _expiry(self, ttl: float | None) -> float | None:
        ttl = self._ttl if ttl is None else ttl
        if ttl is not None and (isinstance(ttl, bool) or not ttl > 0):
            raise ValueTypeError(
                f"ttl={ttl!r} for {self.resource} is not a positive number of seconds",
                where=self.resource,
                fix="pass ttl=60 for one minute, or omit it",
            )
        return ttl

    async def get(self, key: K) -> V | None:
        data = await self.backend.get(self._keys.encode(key))
        return None if data is None else self._values.decode(data, key=key)

    async def set(self, key: K, value: V, *, ttl: float | None = None) -> None:
        encoded = self._values.encode(value)
        await self.backend.set(self._keys.encode(key), encoded, ttl=self._expiry(ttl))

    async def delete(self, key: K) -> bool:
        return await self.backend.delete(self._keys.encode(key))

    async def contains(self, key: K) -> bool:
        return await self.backend.contains(self._keys.encode(key))

    async def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The present keys among ``keys`` with their values (absent keys are left out)."""
        encoded = {self._keys.encode(k): k for k in keys}
        found = await self.backend.get_many(list(encoded))
        return {
            encoded[text]: self._values.decode(data, key=encoded[text])
            for text, data in found.items()
        }

    async def set_many(self, items: Mapping[K, V], *, ttl: float | None = None) -> None:
        encoded = {self._keys.encode(k): self._values.encode(v) for k, v in items.items()}
        await self.backend.set_many(encoded, ttl=self._expiry(ttl))

    async def items(
        self, *, prefix: str = "", limit: int = 100, cursor: str | None = None
    ) -> Page[tuple[K, V]]:
        """Entries in key order, ``limit`` at a time; follow ``page.cursor`` for more."""
        if prefix and not self._keys.supports_prefix:
            raise ValueTypeError(
                f"{self.resource} has {self._keys.expected} keys: prefix scans need str keys",
                where=self.resource,
                fix="declare the map with str keys, or scan without prefix=",
            )
        if not isinstance(prefix, str):
            raise ValueTypeError(f"prefix={prefix!r} is not a str", where=self.resource)
        chunk = await self.backend.scan(
            prefix=prefix,
            limit=check_limit(limit, self.resource),
            after=decode_cursor(cursor, resource=self.resource),
        )
        decode_key, decode_value = self._keys.decode, self._values.decode
        return Page(
            tuple((decode_key(k), decode_value(v, key=k)) for k, v in chunk.items),
            encode_cursor(chunk.next),
        )

    async def increment(self, key: K, by: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``by`` to an integer value (absent counts as 0); the new value."""
        if self._values.expected != "int":
            raise ValueTypeError(
                f"increment needs a map of int values; {self.resource} holds "
                f"{self._values.expected}",
                where=self.resource,
                fix="use update(key, fn) for other value types",
            )
        if isinstance(by, bool) or not isinstance(by, int):
            raise ValueTypeError(f"increment by={by!r} is not an int", where=self.resource)
        return await self.backend.increment(self._keys.encode(key), by, ttl=self._expiry(ttl))

    async def update(self, key: K, fn: Callable[[V | None], V], *, ttl: float | None = None) -> V:
        """Atomically replace the value with ``fn(current)`` (``None`` if absent).

        ``fn`` may run more than once under contention, so it must be pure.
        """
        encoded_key = self._keys.encode(key)
        expiry = self._expiry(ttl)
        for attempt in range(_UPDATE_ATTEMPTS):
            current = await self.backend.get(encoded_key)
            value = fn(None if current is None else self._values.decode(current, key=key))
            new = self._values.encode(value)
            if await self.backend.compare_and_set(encoded_key, current, new, ttl=expiry):
                return value
            if attempt % 8 == 7:
                await asyncio.sleep(0.0005 * (attempt // 8 + 1))
            else:
                await asyncio.sleep(0)
        raise ConflictError(
            f"update of {key!r} in {self.resource} lost to concurrent writers "
            f"{_UPDATE_ATTEMPTS} times",
            where=self.resource,
            fix="reduce contention on this key, or use increment() for counters",
        )
