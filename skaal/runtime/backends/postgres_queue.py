"""The durable queue of the ``postgres`` backend.

A table per queue ``queue_<resource> (id bigserial PRIMARY KEY, body bytea,
visible_at double precision, attempts int)`` and ``dead_<resource>`` beside
it.  ``receive`` is one statement::

    UPDATE q SET visible_at = now + timeout, attempts = attempts + 1
    WHERE id IN (SELECT id FROM q WHERE visible_at <= now ORDER BY id
                 LIMIT n FOR UPDATE SKIP LOCKED)
    RETURNING id, body, attempts

``SKIP LOCKED`` lets many workers (in many processes) take disjoint batches
without waiting on each other, and the update hides each taken message for
its visibility timeout: a worker that dies lets the window lapse and the
message comes back (at-least-once).  ``dead_letter`` moves the row in one
statement (``WITH moved AS (DELETE ... RETURNING) INSERT ...``).  Times are
from the injected clock.  A send is acknowledged once its transaction
commits, so with the server's default ``fsync=on`` it survives a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skaal.runtime.backends.postgres_support import PostgresConnection
from skaal.runtime.ports import Clock, DeadLetter, Delivery
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    import asyncpg

    from skaal.declare.native import Native

__all__ = ["PostgresQueue"]


class PostgresQueue:
    """A ``QueueBackend`` in two tables."""

    def __init__(self, db: PostgresConnection, resource: str, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._resource = resource
        self._name = db.resource("queue", resource)
        self._t = db.table("queue", resource)
        self._dead = db.table("dead", resource)
        self._index = db.table("queue", resource, "visible").split(".", 1)[1]

    async def open(self) -> None:
        t, dead = self._t, self._dead
        await self._db.ddl(
            [
                f"CREATE TABLE IF NOT EXISTS {t} (id bigserial PRIMARY KEY, body bytea NOT NULL, "
                "visible_at double precision NOT NULL, attempts integer NOT NULL DEFAULT 0)",
                f"CREATE INDEX IF NOT EXISTS {self._index} ON {t} (visible_at, id)",
                f"CREATE TABLE IF NOT EXISTS {dead} (id bigint PRIMARY KEY, body bytea NOT NULL, "
                "attempts integer NOT NULL, error text NOT NULL, failed_at double precision "
                "NOT NULL)",
            ]
        )

    async def close(self) -> None:
        return None

    async def native(self) -> Native[asyncpg.Pool]:
        return self._db.native("queue", self._resource, table=self._t, dead_letters=self._dead)

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        sql = f"INSERT INTO {self._t} (body, visible_at) VALUES ($1, $2) RETURNING id"
        visible = self._clock() + delay
        send = lambda c: c.fetchval(sql, body, visible)  # noqa: E731
        return str(await self._db.run(self._name, "send", send, Safety.UNSAFE))

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        t, now = self._t, self._clock()
        sql = (
            f"UPDATE {t} SET visible_at = $2, attempts = attempts + 1 WHERE id IN "
            f"(SELECT id FROM {t} WHERE visible_at <= $1 ORDER BY id LIMIT {int(max_messages)} "
            "FOR UPDATE SKIP LOCKED) RETURNING id, body, attempts"
        )
        hidden = now + visibility_timeout
        receive = lambda c: c.fetch(sql, now, hidden)  # noqa: E731
        rows = await self._db.run(self._name, "receive", receive, Safety.UNSAFE)
        return [Delivery(str(r[0]), r[1], int(r[2])) for r in sorted(rows, key=lambda r: r[0])]

    async def ack(self, message_id: str) -> None:
        sql = f"DELETE FROM {self._t} WHERE id = $1"
        await self._db.run(
            self._name, "ack", lambda c: c.execute(sql, int(message_id)), Safety.IDEMPOTENT
        )

    async def retry(self, message_id: str, *, delay: float) -> None:
        sql, visible = f"UPDATE {self._t} SET visible_at = $2 WHERE id = $1", self._clock() + delay
        retry = lambda c: c.execute(sql, int(message_id), visible)  # noqa: E731
        await self._db.run(self._name, "retry", retry, Safety.IDEMPOTENT)

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        sql = (
            f"WITH moved AS (DELETE FROM {self._t} WHERE id = $1 RETURNING id, body, attempts) "
            f"INSERT INTO {self._dead} (id, body, attempts, error, failed_at) "
            "SELECT id, body, attempts, $2, $3 FROM moved ON CONFLICT (id) DO NOTHING"
        )
        now = self._clock()
        move = lambda c: c.execute(sql, int(message_id), error, now)  # noqa: E731
        await self._db.run(self._name, "dead_letter", move, Safety.IDEMPOTENT)

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]:
        sql = f"SELECT id, body, attempts, error FROM {self._dead} ORDER BY id LIMIT {int(limit)}"
        rows = await self._db.run(self._name, "dead_letters", lambda c: c.fetch(sql))
        return [DeadLetter(str(r[0]), r[1], int(r[2]), r[3]) for r in rows]

    async def redrive(self, message_id: str) -> str | None:
        """Move a dead letter back to the queue, visible now (``RedrivesDeadLetters``)."""
        if not message_id.isdigit():
            return None
        sql = (
            f"WITH moved AS (DELETE FROM {self._dead} WHERE id = $1 RETURNING body) "
            f"INSERT INTO {self._t} (body, visible_at) SELECT body, $2 FROM moved RETURNING id"
        )
        now = self._clock()
        move = lambda c: c.fetchval(sql, int(message_id), now)  # noqa: E731
        found = await self._db.run(self._name, "redrive", move, Safety.UNSAFE)
        return None if found is None else str(found)

    async def depth(self) -> int:
        sql = f"SELECT count(*) FROM {self._t}"
        return int(await self._db.run(self._name, "depth", lambda c: c.fetchval(sql)))
