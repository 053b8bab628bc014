"""Queues and topics of the ``redis`` backend.

**Queue** -- Lua scripts over four keys per queue, so every step is atomic
on the server and two workers never receive the same message inside its
visibility window:

* ``...:msg`` hash id → body, ``...:att`` hash id → receive count;
* ``...:ready`` sorted set of visible ids, all score 0, so ordered by id
  (ids are zero-padded counters: oldest first);
* ``...:later`` sorted set of hidden ids scored by the time they become
  visible (a delayed send, a retry back-off, or a visibility timeout).

``receive`` first moves every due id from *later* to *ready*, then takes the
oldest ready ids, pushes them back to *later* at ``now + visibility_timeout``
and counts the attempt.  Dead letters are a list of ids with their body,
attempts and error in a hash beside it.  Times come from the injected clock
and travel to the scripts as arguments, so visibility timeouts and back-off
are tested without sleeping.  Redis streams were the other candidate; their
idle-time claims (``XAUTOCLAIM``) run on the server's clock and they have no
delayed delivery, so a sorted-set schedule serves this port better.

**Topic** -- a stream per topic; each named subscription is a consumer
group created at ``$`` (it receives what is published after it exists, and
the same name is the same queue, across processes and restarts).

**Retries.**  ``send`` and ``publish`` carry a request token (as
``increment`` does in :mod:`~skaal.runtime.backends.redis`): a retry after
a lost reply returns the id or count of the first attempt instead of adding
the message again; so does ``redrive`` (a dead letter put back on the queue
as a new message).  ``ack``, ``retry``, ``dead_letter`` and creating or
destroying a subscription leave the same state when repeated.  ``receive``
and ``Subscription.get`` take messages, so they are never re-sent after a
reply was lost; the messages they took come back after their visibility
timeout (a queue) or stay pending in the group (a topic).  A subscription
waiting with no timeout blocks in slices, each under the call deadline.
``publish`` appends and returns the number of groups in one script;
``Subscription.get`` is a blocking ``XREADGROUP`` followed by ``XACK``;
``Subscription.close`` destroys the group.  Streams are capped at
``SKAAL_REDIS_TOPIC_MAXLEN`` entries (approximate trimming, default 100,000):
a subscriber that falls further behind than that loses the oldest messages.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any

from redis import exceptions as rx
from redis.asyncio import Redis

from skaal.runtime.backends.redis_support import RedisConnection, as_bytes, request_token
from skaal.runtime.ports import Clock, DeadLetter, Delivery, Subscription
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from skaal.declare.native import Native

#: how long one blocking read of a subscription waits before asking again
_BLOCK_SLICE = 5.0

__all__ = ["RedisQueue", "RedisSubscription", "RedisTopic"]

# KEYS: seq, msg, ready, later, token.  ARGV: body, now, delay, token ttl (ms).
_SEND = """
local done = redis.call('GET', KEYS[5])
if done then return done end
local id = string.format('%016d', redis.call('INCR', KEYS[1]))
redis.call('SET', KEYS[5], id, 'PX', ARGV[4])
redis.call('HSET', KEYS[2], id, ARGV[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[3]), id)
else
  redis.call('ZADD', KEYS[3], 0, id)
end
return id
"""

# KEYS: msg, att, ready, later.  ARGV: now, max, visibility_timeout.
_RECEIVE = """
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZADD', KEYS[3], 0, id)
end
local ids = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[2]) - 1)
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), id)
  local attempts = redis.call('HINCRBY', KEYS[2], id, 1)
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[1], id))
  table.insert(out, attempts)
end
return out
"""

# KEYS: msg, att, ready, later.  ARGV: id.
_ACK = """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('ZREM', KEYS[4], ARGV[1])
"""

# KEYS: msg, ready, later.  ARGV: id, visible_at.
_RETRY = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[1])
return 1
"""

# KEYS: msg, att, ready, later, dead list, dead hash.  ARGV: id, error.
_DEAD_LETTER = """
local body = redis.call('HGET', KEYS[1], ARGV[1])
if not body then return 0 end
local attempts = redis.call('HGET', KEYS[2], ARGV[1]) or '0'
redis.call('HSET', KEYS[6], ARGV[1] .. ':b', body, ARGV[1] .. ':a', attempts,
           ARGV[1] .. ':e', ARGV[2])
redis.call('RPUSH', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""

# KEYS: seq, msg, ready, dead list, dead hash, token.  ARGV: dead id, token ttl (ms).
_REDRIVE = """
local done = redis.call('GET', KEYS[6])
if done then return done end
local body = redis.call('HGET', KEYS[5], ARGV[1] .. ':b')
if not body then return false end
local id = string.format('%016d', redis.call('INCR', KEYS[1]))
redis.call('SET', KEYS[6], id, 'PX', ARGV[2])
redis.call('HSET', KEYS[2], id, body)
redis.call('ZADD', KEYS[3], 0, id)
redis.call('LREM', KEYS[4], 0, ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1] .. ':b', ARGV[1] .. ':a', ARGV[1] .. ':e')
return id
"""

# KEYS: stream, token.  ARGV: body, maxlen, token ttl (ms).
_PUBLISH = """
local done = redis.call('GET', KEYS[2])
if done then return tonumber(done) end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'b', ARGV[1])
local groups = #redis.call('XINFO', 'GROUPS', KEYS[1])
redis.call('SET', KEYS[2], groups, 'PX', ARGV[3])
return groups
"""


class RedisQueue:
    """A ``QueueBackend`` on Redis hashes and sorted sets."""

    def __init__(self, conn: RedisConnection, resource: str, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock
        self._resource = resource
        self._name = conn.resource("queue", resource)
        base = conn.key("q", resource)
        self._base = base
        self._seq, self._msg, self._att = f"{base}:seq", f"{base}:msg", f"{base}:att"
        self._ready, self._later = f"{base}:ready", f"{base}:later"
        self._dead, self._dead_data = f"{base}:dead", f"{base}:deaddata"
        self._scripts: dict[str, Any] = {}

    async def open(self) -> None:
        client = self._conn.client
        for name, source in (
            ("send", _SEND),
            ("receive", _RECEIVE),
            ("ack", _ACK),
            ("retry", _RETRY),
            ("dead", _DEAD_LETTER),
            ("redrive", _REDRIVE),
        ):
            self._scripts[name] = client.register_script(source)

    async def native(self) -> Native[Redis]:
        return self._conn.native(
            "queue",
            self._resource,
            prefix=self._base + ":",
            sequence=self._seq,
            messages=self._msg,
            attempts=self._att,
            ready=self._ready,
            later=self._later,
            dead_letters=self._dead,
            dead_letter_data=self._dead_data,
        )

    async def close(self) -> None:
        return None

    async def _run(self, name: str, keys: list[str], args: list[Any], safety: Safety) -> Any:
        script = self._scripts[name]
        return await self._conn.call(self._name, name, lambda r: script(keys, args, r), safety)

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        token = self._conn.key("req", request_token())
        keys = [self._seq, self._msg, self._ready, self._later, token]
        args = [body, repr(self._clock()), repr(delay), self._conn.token_ttl_ms]
        message_id = await self._run("send", keys, args, Safety.IDEMPOTENT)
        return as_bytes(message_id).decode()

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        keys = [self._msg, self._att, self._ready, self._later]
        args = [repr(self._clock()), max_messages, repr(visibility_timeout)]
        flat = await self._run("receive", keys, args, Safety.UNSAFE)
        return [
            Delivery(as_bytes(flat[i]).decode(), as_bytes(flat[i + 1]), int(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    async def ack(self, message_id: str) -> None:
        keys = [self._msg, self._att, self._ready, self._later]
        await self._run("ack", keys, [message_id], Safety.IDEMPOTENT)

    async def retry(self, message_id: str, *, delay: float) -> None:
        keys = [self._msg, self._ready, self._later]
        await self._run("retry", keys, [message_id, repr(self._clock() + delay)], Safety.IDEMPOTENT)

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        keys = [self._msg, self._att, self._ready, self._later, self._dead, self._dead_data]
        await self._run("dead", keys, [message_id, error], Safety.IDEMPOTENT)

    async def redrive(self, message_id: str) -> str | None:
        """Move a dead letter back to the queue, visible now (``RedrivesDeadLetters``)."""
        token = self._conn.key("req", request_token())
        keys = [self._seq, self._msg, self._ready, self._dead, self._dead_data, token]
        found = await self._run(
            "redrive", keys, [message_id, self._conn.token_ttl_ms], Safety.IDEMPOTENT
        )
        return None if found is None else as_bytes(found).decode()

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]:
        async def read(r: Redis) -> list[DeadLetter[bytes]]:
            ids = [as_bytes(i).decode() for i in await r.lrange(self._dead, 0, limit - 1)]
            if not ids:
                return []
            fields = [f"{i}:{part}" for i in ids for part in "bae"]
            values = await r.hmget(self._dead_data, fields)
            return [
                DeadLetter(
                    ids[n],
                    as_bytes(values[3 * n]),
                    int(as_bytes(values[3 * n + 1])),
                    as_bytes(values[3 * n + 2]).decode(),
                )
                for n in range(len(ids))
            ]

        return await self._conn.call(self._name, "dead_letters", read)

    async def depth(self) -> int:
        return int(await self._conn.call(self._name, "depth", lambda r: r.hlen(self._msg)))


class RedisSubscription:
    """One consumer group on the topic's stream."""

    def __init__(self, conn: RedisConnection, stream: str, name: str, resource: str) -> None:
        self._conn = conn
        self._stream = stream
        self._name = name
        self._resource = f"subscription {name!r} of {resource}"
        self._consumer = f"c-{secrets.token_hex(6)}"
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    async def get(self, *, timeout: float | None = None) -> bytes | None:
        # Blocking reads in slices of at most _BLOCK_SLICE, so each one fits a
        # deadline and a frozen server is noticed even when timeout is None.
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while not self.closed:
            left = _BLOCK_SLICE if end is None else min(_BLOCK_SLICE, end - loop.time())
            block = max(1, round(left * 1000))

            async def read(r: Redis, block: int = block) -> Any:
                return await r.xreadgroup(
                    self._name, self._consumer, {self._stream: ">"}, count=1, block=block
                )

            reply = await self._conn.call(
                self._resource, "get", read, Safety.UNSAFE, extra=block / 1000
            )
            if reply:
                _stream, entries = reply[0]
                entry_id, fields = entries[0]
                await self._ack(entry_id)
                return as_bytes(fields[b"b"])
            if end is not None and loop.time() >= end:
                break
        return None

    async def _ack(self, entry_id: Any) -> None:
        stream, group = self._stream, self._name
        ack = lambda r: r.xack(stream, group, entry_id)  # noqa: E731
        await self._conn.call(self._resource, "ack", ack, Safety.IDEMPOTENT)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self._conn.call(
            self._resource,
            "unsubscribe",
            lambda r: r.xgroup_destroy(self._stream, self._name),
            Safety.IDEMPOTENT,
        )


class RedisTopic:
    """A ``TopicBackend`` on a Redis stream with a consumer group per subscription."""

    def __init__(self, conn: RedisConnection, resource: str) -> None:
        self._conn = conn
        self._resource = resource
        self._stream = conn.key("t", resource)
        self._name = conn.resource("topic", resource)
        self._maxlen = int(conn.env.get("SKAAL_REDIS_TOPIC_MAXLEN") or 100_000)
        self._publish: Any = None
        self._subscriptions: list[RedisSubscription] = []

    async def open(self) -> None:
        self._publish = self._conn.client.register_script(_PUBLISH)

    async def native(self) -> Native[Redis]:
        """The stream; each subscription is a consumer group named after it."""
        return self._conn.native("topic", self._resource, stream=self._stream)

    async def close(self) -> None:
        # Subscriptions are durable consumer groups: closing the topic handle
        # only stops local readers; Subscription.close() removes a group.
        for subscription in self._subscriptions:
            subscription.closed = True
        self._subscriptions.clear()

    async def lag(self) -> dict[str, int]:
        """Messages each subscription (consumer group) has not taken yet (``ReportsLag``)."""

        async def read(r: Redis) -> dict[str, int]:
            try:
                groups = await r.xinfo_groups(self._stream)
            except rx.ResponseError:  # no stream yet: nothing published, nobody behind
                return {}
            return {
                as_bytes(g["name"]).decode(): int(g.get("lag") or 0) + int(g.get("pending") or 0)
                for g in groups
            }

        return dict(sorted((await self._conn.call(self._name, "lag", read)).items()))

    async def publish(self, body: bytes) -> int:
        keys = [self._stream, self._conn.key("req", request_token())]
        args = [body, self._maxlen, self._conn.token_ttl_ms]
        count = await self._conn.call(
            self._name, "publish", lambda r: self._publish(keys, args, r), Safety.IDEMPOTENT
        )
        return int(count)

    async def subscribe(self, name: str) -> Subscription[bytes]:
        async def create(r: Redis) -> None:
            try:
                await r.xgroup_create(self._stream, name, id="$", mkstream=True)
            except rx.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

        await self._conn.call(self._name, "subscribe", create, Safety.IDEMPOTENT)
        subscription = RedisSubscription(self._conn, self._stream, name, self._name)
        self._subscriptions.append(subscription)
        return subscription
