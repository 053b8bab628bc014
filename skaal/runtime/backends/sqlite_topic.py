"""The durable topic of the ``sqlite`` backend.

Two tables per topic: the log ``(seq INTEGER PRIMARY KEY AUTOINCREMENT,
body)`` and the subscriptions ``(name PRIMARY KEY, position)``, where
``position`` is the ``seq`` of the last message the subscription took.

* ``publish`` appends to the log only when a subscription exists (a message
  published before anyone subscribed reaches no one) and returns the number
  of subscriptions, in one transaction.
* ``subscribe(name)`` creates the subscription at the end of the log, or
  finds the existing one where it left off: a subscription outlives the
  process, so what is published while its subscriber is down is delivered
  when it comes back.  ``Subscription.close`` deletes it (like unsubscribing
  on SNS or deleting a Redis consumer group); closing the *topic* only stops
  this process's readers.
* ``get`` takes the oldest message after the subscription's position and
  moves the position past it in one ``BEGIN IMMEDIATE`` transaction, so two
  readers of one subscription never take the same message; in the same
  transaction it drops the log prefix every subscription has passed.  A
  reader cancelled while taking (a server stopping) puts the message back.  A
  reader with nothing to take waits for a publish from this process (an
  event) or, for publishers in other processes on the same file, re-reads
  at most every :data:`POLL_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import TYPE_CHECKING

from msgspec import Struct

from skaal.runtime.backends.sqlite import table_name, transaction
from skaal.runtime.ports import Subscription

if TYPE_CHECKING:
    from skaal.declare.native import Native, SqliteDatabase
    from skaal.runtime.backends.sqlite import SqliteProvider

__all__ = ["POLL_S", "SqliteSubscription", "SqliteTopic"]

#: Longest wait before a reader looks for messages published by another process.
POLL_S = 0.25


class _Taken(Struct, frozen=True):
    before: int  # the subscription's position before the take
    body: bytes


class SqliteTopic:
    """A ``TopicBackend`` in the app's SQLite file."""

    def __init__(self, provider: SqliteProvider, resource: str) -> None:
        self._db = provider
        self._resource = resource
        self._log = table_name("topic", resource)
        self._subs = table_name("topic", resource, "subscriptions")
        self._published = asyncio.Event()
        self._readers: list[SqliteSubscription] = []

    async def open(self) -> None:
        log, subs = self._log, self._subs

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {log} "
                "(seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {subs} "
                "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)"
            )

        await self._db.run(create, "create table")

    async def native(self) -> Native[SqliteDatabase]:
        return self._db.native("topic", self._resource, log=self._log, subscriptions=self._subs)

    async def close(self) -> None:
        for reader in self._readers:
            reader.closed = True
        self._readers.clear()
        self._wake()

    def _wake(self) -> None:
        # Wake every waiting reader, then arm a fresh event for the next wait.
        self._published.set()
        self._published = asyncio.Event()

    async def publish(self, body: bytes) -> int:
        log, subs = self._log, self._subs

        def publish(conn: sqlite3.Connection) -> int:
            def append() -> int:
                (count,) = conn.execute(f"SELECT count(*) FROM {subs}").fetchone()
                if count:
                    conn.execute(f"INSERT INTO {log} (body) VALUES (?)", (body,))
                return int(count)

            return transaction(conn, append)

        count = await self._db.run(publish, "publish")
        if count:
            self._wake()
        return count

    async def lag(self) -> dict[str, int]:
        """Messages each subscription has not taken yet (``ReportsLag``)."""
        sql = (
            f"SELECT s.name, (SELECT count(*) FROM {self._log} l WHERE l.seq > s.position) "
            f"FROM {self._subs} s ORDER BY s.name"
        )

        def read(conn: sqlite3.Connection) -> dict[str, int]:
            return {str(name): int(count) for name, count in conn.execute(sql)}

        return await self._db.run(read, "lag")

    async def subscribe(self, name: str) -> Subscription[bytes]:
        sql = (
            f"INSERT OR IGNORE INTO {self._subs} (name, position) "
            f"SELECT ?, COALESCE(max(seq), 0) FROM {self._log}"
        )
        await self._db.run(lambda conn: conn.execute(sql, (name,)), "subscribe")
        reader = SqliteSubscription(self, name)
        self._readers.append(reader)
        return reader

    async def _take(self, name: str) -> tuple[bool, _Taken | None]:
        """``(subscribed, taken)``: the next message of ``name``, position moved past it.

        The log prefix every subscription has passed is dropped one message
        late (``seq < min(position)``), so :meth:`_give_back` can always undo
        the last take.
        """
        log, subs = self._log, self._subs

        def take(conn: sqlite3.Connection) -> tuple[bool, _Taken | None]:
            def body() -> tuple[bool, _Taken | None]:
                row = conn.execute(f"SELECT position FROM {subs} WHERE name = ?", (name,))
                found = row.fetchone()
                if found is None:
                    return False, None
                message = conn.execute(
                    f"SELECT seq, body FROM {log} WHERE seq > ? ORDER BY seq LIMIT 1", found
                ).fetchone()
                if message is None:
                    return True, None
                conn.execute(f"UPDATE {subs} SET position = ? WHERE name = ?", (message[0], name))
                conn.execute(f"DELETE FROM {log} WHERE seq < (SELECT min(position) FROM {subs})")
                return True, _Taken(int(found[0]), bytes(message[1]))

            return transaction(conn, body)

        return await self._db.run(take, "get")

    async def _give_back(self, name: str, taken: _Taken) -> None:
        """Undo a take whose reader was cancelled before it could return the message."""
        sql = f"UPDATE {self._subs} SET position = ? WHERE name = ? AND position > ?"
        await self._db.run(
            lambda conn: conn.execute(sql, (taken.before, name, taken.before)), "get"
        )

    async def _unsubscribe(self, reader: SqliteSubscription) -> None:
        log, subs, name = self._log, self._subs, reader.name

        def remove(conn: sqlite3.Connection) -> None:
            def body() -> None:
                conn.execute(f"DELETE FROM {subs} WHERE name = ?", (name,))
                conn.execute(
                    f"DELETE FROM {log} WHERE seq < COALESCE("
                    f"(SELECT min(position) FROM {subs}), (SELECT max(seq) + 1 FROM {log}))"
                )

            transaction(conn, body)

        await self._db.run(remove, "unsubscribe")
        if reader in self._readers:
            self._readers.remove(reader)


class SqliteSubscription:
    """One reader of a named subscription of a :class:`SqliteTopic`."""

    def __init__(self, topic: SqliteTopic, name: str) -> None:
        self._topic = topic
        self._name = name
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    async def get(self, *, timeout: float | None = None) -> bytes | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self.closed:
            published = self._topic._published  # armed before looking: no lost wake-up
            take = asyncio.ensure_future(self._topic._take(self._name))
            try:
                subscribed, taken = await asyncio.shield(take)
            except asyncio.CancelledError:  # stopped mid-take: put the message back
                _, taken = await take
                if taken is not None:
                    await self._topic._give_back(self._name, taken)
                raise
            if taken is not None:
                return taken.body
            if not subscribed:
                return None
            wait = POLL_S if deadline is None else min(POLL_S, deadline - loop.time())
            if wait <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(published.wait(), wait)
        return None

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._topic._unsubscribe(self)
