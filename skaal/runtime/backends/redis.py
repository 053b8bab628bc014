"""The ``redis`` backend: maps, queues and topics on a Redis server.

Configured from ``SKAAL_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``)
and ``SKAAL_REDIS_PREFIX`` (default ``skaal:<app>:``); one pooled client per
provider (:mod:`~skaal.runtime.backends.redis_support`: retries, errors).
The runtime opens one provider per Redis server of the plan and hands each
the URL of its own server in ``SKAAL_REDIS_URL``
(:func:`skaal.plan.wiring.servers` names the variable each server is read from).
Queues and topics live in :mod:`~skaal.runtime.backends.redis_messaging`.

**Maps.**  Each entry is one Redis string ``<prefix>m:<resource>:v:<key>``
holding the codec's bytes unchanged -- an ``int`` is its decimal text, so
``increment`` is Redis's own integer arithmetic.  Beside the entries, a
sorted set ``<prefix>m:<resource>:keys`` with every score 0 lists the keys:
Redis orders equal-score members by their bytes, and UTF-8 byte order is
code-point order, so ``ZRANGEBYLEX`` gives exactly the keyset pagination the
port promises (``SCAN`` has no order and would cost a full pass per page).
Writes update both in one Lua script (``set_many``: one ``MULTI``); an entry that
expired leaves its key in the set until a scan meets it and removes it.

**Atomicity.**  ``increment`` and ``compare_and_set`` are Lua scripts:
Redis runs a script alone, so read-compare-write has no window.

**Exactly once under retries.**  ``increment`` and ``compare_and_set`` carry
a request token made once per call: the script first looks for
``<prefix>req:<token>`` and, when it exists, returns the answer stored there
instead of applying the change again; otherwise it applies the change and
stores its answer under the token (expiring after twice the call deadline
plus a minute, longer than any retry of that call can come).  So a retry
after a lost reply answers what the first attempt did, and the policy of
:mod:`skaal.runtime.retry` may treat both as idempotent.  ``set`` writes a
whole value and is idempotent as it is; ``delete`` reports whether the key
existed, which a repeat would falsify, so it is never re-sent.

**Read replicas.**  When the plan gave the server read replicas
(``SKAAL_REDIS_READ_URL`` and ``SKAAL_REDIS_REPLICAS``), the pure reads of
a map -- ``get``, ``get_many``, ``contains``, ``remaining_ttl`` and the
index pages and values a ``scan`` reads -- go through
:meth:`~skaal.runtime.backends.redis_support.RedisConnection.read`, which
spreads them over the primary and the replicas; the plan puts a map there
only when it declared ``consistency="eventual"``, so a read may lag the
last write.  Every write (the scripts, ``set_many``, ``delete``, the index
clean-up of a ``scan``), queues, topics and ``native()`` stay on the primary.

**Time.**  With the system clock (:func:`time.time`, as ``skaal run`` uses),
TTL is Redis's: ``SET ... PX``, and reads are single commands.  With an
injected clock (tests), the expiry is written as an absolute ``PXAT`` from
that clock and reads also fetch ``PEXPIRETIME`` and compare it with the
clock, so an entry expires when the injected clock says so (Redis 7+).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.memory import prefix_end
from skaal.runtime.backends.redis_messaging import RedisQueue, RedisTopic
from skaal.runtime.backends.redis_support import RedisConnection, as_bytes, request_token
from skaal.runtime.ports import (
    BackendSettings,
    Chunk,
    Clock,
)
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from skaal.declare.native import Native

_IDEMPOTENT, _UNSAFE = Safety.IDEMPOTENT, Safety.UNSAFE

__all__ = ["RedisKeyValue", "RedisProvider"]

_INCREMENT = """
local done = redis.call('GET', KEYS[3])
if done then return done end
if ARGV[2] ~= '' then
  local e = redis.call('PEXPIRETIME', KEYS[1])
  if e > 0 and e <= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
end
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[3] == 'PX' then redis.call('PEXPIRE', KEYS[1], ARGV[4])
elseif ARGV[3] == 'PXAT' then redis.call('PEXPIREAT', KEYS[1], ARGV[4])
else redis.call('PERSIST', KEYS[1]) end
redis.call('ZADD', KEYS[2], 0, ARGV[5])
redis.call('SET', KEYS[3], v, 'PX', ARGV[6])
return v
"""

_SET = """
if ARGV[2] == 'PX' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
elseif ARGV[2] == 'PXAT' then redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('ZADD', KEYS[2], 0, ARGV[4])
"""

_COMPARE_AND_SET = """
local done = redis.call('GET', KEYS[3])
if done then return tonumber(done) end
local cur = redis.call('GET', KEYS[1])
if cur and ARGV[4] ~= '' then
  local e = redis.call('PEXPIRETIME', KEYS[1])
  if e > 0 and e <= tonumber(ARGV[4]) then cur = false end
end
local won = 1
if ARGV[1] == '1' then
  if (not cur) or cur ~= ARGV[2] then won = 0 end
elseif cur then won = 0 end
redis.call('SET', KEYS[3], won, 'PX', ARGV[8])
if won == 0 then return 0 end
if ARGV[5] == 'PX' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[6])
elseif ARGV[5] == 'PXAT' then redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[6])
else redis.call('SET', KEYS[1], ARGV[3]) end
redis.call('ZADD', KEYS[2], 0, ARGV[7])
return 1
"""


class RedisKeyValue:
    """A ``KeyValueBackend`` on Redis strings plus a sorted key index."""

    def __init__(
        self, conn: RedisConnection, resource: str, clock: Clock, *, server_clock: bool
    ) -> None:
        self._conn = conn
        self._resource = resource
        self._name = conn.resource("map", resource)
        self._clock = clock
        self._server_clock = server_clock
        self._values = conn.key("m", resource, "v") + ":"
        self._index = conn.key("m", resource, "keys")
        self._increment: Any = None
        self._cas: Any = None
        self._set: Any = None

    async def open(self) -> None:
        client = self._conn.client
        self._increment = client.register_script(_INCREMENT)
        self._cas = client.register_script(_COMPARE_AND_SET)
        self._set = client.register_script(_SET)

    async def close(self) -> None:
        return None

    async def native(self) -> Native[Redis]:
        """Every key of the map starts with ``name``; entries are ``<name>v:<key>``."""
        return self._conn.native(
            "map",
            self._resource,
            prefix=self._conn.key("m", self._resource) + ":",
            values=self._values,
            index=self._index,
        )

    # -- time ------------------------------------------------------------------
    def _now_ms(self) -> str:
        """The injected clock in ms for the scripts, ``''`` when Redis keeps time."""
        return "" if self._server_clock else str(int(self._clock() * 1000))

    def _ttl(self, ttl: float | None) -> tuple[str, str]:
        if ttl is None:
            return "", ""
        if self._server_clock:
            return "PX", str(max(1, round(ttl * 1000)))
        return "PXAT", str(round((self._clock() + ttl) * 1000))

    def _expired(self, expire_ms: int) -> bool:
        return not self._server_clock and 0 < expire_ms <= self._clock() * 1000

    def _set_args(self, ttl: float | None) -> tuple[int | None, int | None]:
        """``(px, pxat)`` for ``SET``."""
        mode, value = self._ttl(ttl)
        if not mode:
            return None, None
        return (int(value), None) if mode == "PX" else (None, int(value))

    # -- reads -----------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        found = await self._read([key])
        return found.get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        return await self._read(list(dict.fromkeys(keys))) if keys else {}

    async def _read(self, keys: list[str]) -> dict[str, bytes]:
        names = [self._values + key for key in keys]
        if self._server_clock:
            if len(names) == 1:
                one = await self._conn.read(self._name, "get", lambda r: r.get(names[0]))
                return {} if one is None else {keys[0]: as_bytes(one)}
            values = await self._conn.read(self._name, "get_many", lambda r: r.mget(names))
            return {k: as_bytes(v) for k, v in zip(keys, values, strict=True) if v is not None}

        async def read(r: Redis) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            pipe.mget(names)
            for name in names:
                pipe.pexpiretime(name)
            return list(await pipe.execute())

        values, *expiries = await self._conn.read(self._name, "get", read)
        return {
            k: as_bytes(v)
            for k, v, e in zip(keys, values, expiries, strict=True)
            if v is not None and not self._expired(int(e))
        }

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        """``PTTL`` per key (``PEXPIRETIME`` against an injected clock)."""
        wanted = list(keys)
        if not wanted:
            return {}
        names = [self._values + key for key in wanted]

        async def read(r: Redis) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for name in names:
                if self._server_clock:
                    pipe.pttl(name)
                else:
                    pipe.pexpiretime(name)
            return list(await pipe.execute())

        found = await self._conn.read(self._name, "remaining_ttl", read)
        now_ms = 0.0 if self._server_clock else self._clock() * 1000
        left = {}
        for key, value in zip(wanted, found, strict=True):
            ms = int(value) - now_ms  # -1: never expires, -2: absent
            if int(value) >= 0 and ms > 0:
                left[key] = ms / 1000
        return left

    async def contains(self, key: str) -> bool:
        if self._server_clock:
            name = self._values + key
            return bool(await self._conn.read(self._name, "contains", lambda r: r.exists(name)))
        return await self.get(key) is not None

    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        start = f"({after}" if after is not None and after >= prefix else f"[{prefix}"
        end_key = prefix_end(prefix)
        end = "+" if end_key is None else f"({end_key}"
        out: list[tuple[str, bytes]] = []
        while len(out) <= limit:
            want = limit + 1 - len(out)

            async def page(r: Redis, low: str = start, want: int = want) -> list[Any]:
                return list(await r.zrangebylex(self._index, low, end, start=0, num=want))

            members = await self._conn.read(self._name, "scan", page)
            keys = [as_bytes(m).decode() for m in members]
            found = await self._read(keys) if keys else {}
            out += [(k, found[k]) for k in keys if k in found]
            gone = [k for k in keys if k not in found]
            if gone:
                await self._forget(gone)
            if len(keys) < want:
                break
            start = f"({keys[-1]}"
        more = len(out) > limit
        del out[limit:]
        return Chunk(tuple(out), out[-1][0] if more else None)

    async def _forget(self, keys: list[str]) -> None:
        """Drop index entries of keys whose values are gone (expired by Redis).

        On the primary, never a replica: it writes, and a replica that lags may
        not have a value the primary already holds.
        """
        names = [self._values + k for k in keys]

        async def forget(r: Redis) -> None:
            # Only keys still absent: a concurrent set may have revived one.
            missing = [k for k, n in zip(keys, names, strict=True) if not await r.exists(n)]
            if missing:
                await r.zrem(self._index, *missing)

        await self._conn.call(self._name, "scan", forget, _IDEMPOTENT)

    # -- writes ----------------------------------------------------------------
    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        mode, ttl_value = self._ttl(ttl)
        keys, args = [self._values + key, self._index], [value, mode, ttl_value, key]
        await self._conn.call(self._name, "set", lambda r: self._set(keys, args, r), _IDEMPOTENT)

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        if not items:
            return
        px, pxat = self._set_args(ttl)

        async def write(r: Redis) -> None:
            pipe = r.pipeline(transaction=True)
            for key, value in items.items():
                pipe.set(self._values + key, value, px=px, pxat=pxat)
            pipe.zadd(self._index, dict.fromkeys(items, 0))
            await pipe.execute()

        await self._conn.call(self._name, "set_many", write, _IDEMPOTENT)

    async def delete(self, key: str) -> bool:
        name = self._values + key

        async def delete(r: Redis) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            pipe.pexpiretime(name)
            pipe.delete(name)
            pipe.zrem(self._index, key)
            return list(await pipe.execute())

        expire_ms, deleted, _ = await self._conn.call(self._name, "delete", delete, _UNSAFE)
        return bool(deleted) and not self._expired(int(expire_ms))

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        mode, value = self._ttl(ttl)
        keys = [self._values + key, self._index, self._conn.key("req", request_token())]
        args = [by, self._now_ms(), mode, value, key, self._conn.token_ttl_ms]
        result = await self._conn.call(
            self._name, "increment", lambda r: self._increment(keys, args, r), _IDEMPOTENT
        )
        return int(result)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        mode, ttl_value = self._ttl(ttl)
        keys = [self._values + key, self._index, self._conn.key("req", request_token())]
        has = "0" if expected is None else "1"
        args: list[object] = [has, expected or b"", value, self._now_ms(), mode, ttl_value, key]
        args.append(self._conn.token_ttl_ms)
        result = await self._conn.call(
            self._name, "compare_and_set", lambda r: self._cas(keys, args, r), _IDEMPOTENT
        )
        return bool(result)


class RedisProvider(UnsupportedKinds):
    """The ``redis`` implementation: one pooled client, stores per resource."""

    implementation = "redis"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.connection = RedisConnection(settings)
        self._server_clock = settings.clock is time.time

    async def open(self) -> None:
        await self.connection.open()

    async def close(self) -> None:
        await self.connection.close()

    def key_value(self, spec: ResourceSpec) -> RedisKeyValue:
        return RedisKeyValue(
            self.connection, spec.name, self.settings.clock, server_clock=self._server_clock
        )

    def queue(self, spec: ResourceSpec) -> RedisQueue:
        return RedisQueue(self.connection, spec.name, self.settings.clock)

    def topic(self, spec: ResourceSpec) -> RedisTopic:
        return RedisTopic(self.connection, spec.name)
