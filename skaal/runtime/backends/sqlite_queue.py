"""The durable queue of the ``sqlite`` backend.

A table per queue ``(id INTEGER PRIMARY KEY AUTOINCREMENT, body, visible_at,
attempts)`` and a dead-letter table beside it.  ``receive`` selects the
oldest visible rows and, in the same ``BEGIN IMMEDIATE`` transaction, pushes
their ``visible_at`` forward by the visibility timeout and counts the
attempt -- so two workers (even in two processes) never receive the same
message inside its visibility window, and a worker that dies simply lets the
window lapse (at-least-once).  Message ids are the row ids, as text.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from skaal.runtime.backends.sqlite import table_name, transaction
from skaal.runtime.ports import DeadLetter, Delivery

if TYPE_CHECKING:
    from skaal.declare.native import Native, SqliteDatabase
    from skaal.runtime.backends.sqlite import SqliteProvider

__all__ = ["SqliteQueue"]


class SqliteQueue:
    """A ``QueueBackend`` in the app's SQLite file."""

    def __init__(self, provider: SqliteProvider, resource: str) -> None:
        self._db = provider
        self._clock = provider.settings.clock
        self._resource = resource
        self._t = table_name("queue", resource)
        self._dead = table_name("queue", resource, "dead")
        self._index = table_name("queue", resource, "visible")

    async def open(self) -> None:
        t, dead, index = self._t, self._dead, self._index

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "body BLOB NOT NULL, visible_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)"
            )
            conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {t} (visible_at, id)")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {dead} (id INTEGER PRIMARY KEY, body BLOB NOT NULL, "
                "attempts INTEGER NOT NULL, error TEXT NOT NULL, failed_at REAL NOT NULL)"
            )

        await self._db.run(create, "create table")

    async def close(self) -> None:
        return None

    async def native(self) -> Native[SqliteDatabase]:
        return self._db.native("queue", self._resource, table=self._t, dead_letters=self._dead)

    async def send(self, body: bytes, *, delay: float = 0.0) -> str:
        sql, visible = f"INSERT INTO {self._t} (body, visible_at) VALUES (?, ?)", self._clock()
        row_id = await self._db.run(
            lambda conn: conn.execute(sql, (body, visible + delay)).lastrowid, "send"
        )
        return str(row_id)

    async def receive(
        self, *, max_messages: int, visibility_timeout: float
    ) -> list[Delivery[bytes]]:
        t, now = self._t, self._clock()
        select = (
            f"SELECT id, body, attempts FROM {t} WHERE visible_at <= ? "
            f"ORDER BY id LIMIT {int(max_messages)}"
        )
        update = f"UPDATE {t} SET visible_at = ?, attempts = attempts + 1 WHERE id = ?"

        def receive(conn: sqlite3.Connection) -> list[Delivery[bytes]]:
            def body() -> list[Delivery[bytes]]:
                rows = conn.execute(select, (now,)).fetchall()
                hidden = now + visibility_timeout
                conn.executemany(update, [(hidden, row[0]) for row in rows])
                return [Delivery(str(i), bytes(b), int(a) + 1) for i, b, a in rows]

            return transaction(conn, body)

        return await self._db.run(receive, "receive")

    async def ack(self, message_id: str) -> None:
        sql = f"DELETE FROM {self._t} WHERE id = ?"
        await self._db.run(lambda conn: conn.execute(sql, (int(message_id),)), "ack")

    async def retry(self, message_id: str, *, delay: float) -> None:
        sql, visible = f"UPDATE {self._t} SET visible_at = ? WHERE id = ?", self._clock() + delay
        await self._db.run(lambda conn: conn.execute(sql, (visible, int(message_id))), "retry")

    async def dead_letter(self, message_id: str, *, error: str) -> None:
        t, dead, now = self._t, self._dead, self._clock()

        def move(conn: sqlite3.Connection) -> None:
            def body() -> None:
                conn.execute(
                    f"INSERT OR REPLACE INTO {dead} (id, body, attempts, error, failed_at) "
                    f"SELECT id, body, attempts, ?, ? FROM {t} WHERE id = ?",
                    (error, now, int(message_id)),
                )
                conn.execute(f"DELETE FROM {t} WHERE id = ?", (int(message_id),))

            transaction(conn, body)

        await self._db.run(move, "dead_letter")

    async def dead_letters(self, *, limit: int) -> list[DeadLetter[bytes]]:
        sql = f"SELECT id, body, attempts, error FROM {self._dead} ORDER BY id LIMIT {int(limit)}"

        def read(conn: sqlite3.Connection) -> list[DeadLetter[bytes]]:
            return [DeadLetter(str(i), bytes(b), int(a), e) for i, b, a, e in conn.execute(sql)]

        return await self._db.run(read, "dead_letters")

    async def redrive(self, message_id: str) -> str | None:
        """Move a dead letter back to the queue, visible now (``RedrivesDeadLetters``)."""
        if not message_id.isdigit():
            return None
        t, dead, now = self._t, self._dead, self._clock()

        def move(conn: sqlite3.Connection) -> str | None:
            def body() -> str | None:
                row = conn.execute(
                    f"SELECT body FROM {dead} WHERE id = ?", (int(message_id),)
                ).fetchone()
                if row is None:
                    return None
                conn.execute(f"DELETE FROM {dead} WHERE id = ?", (int(message_id),))
                cursor = conn.execute(
                    f"INSERT INTO {t} (body, visible_at) VALUES (?, ?)", (row[0], now)
                )
                return str(cursor.lastrowid)

            return transaction(conn, body)

        return await self._db.run(move, "redrive")

    async def depth(self) -> int:
        sql = f"SELECT count(*) FROM {self._t}"
        return await self._db.run(lambda conn: int(conn.execute(sql).fetchone()[0]), "depth")
