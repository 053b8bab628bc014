"""The ``sqlite`` backend: maps, collections, queues and topics in one file per app.

Layout: ``<data_dir>/<app>.sqlite3``, one table per resource, named after it
(``"map:Carts"``, ``"collection:billing.Invoices"``, ``"queue:Emails"``,
``"topic:Events"``), so
the file is easy to inspect with the ``sqlite3`` shell.

* **Durability.**  WAL journal; ``synchronous=FULL`` when any resource on the
  file declared ``durable`` (a commit survives power loss), ``NORMAL`` for
  ``persistent`` (survives a crash of the app), ``OFF`` if all are ephemeral.
* **Writes on a thread, point reads inline.**  Two connections per file.
  The *writer* is used only by one dedicated thread; every write (and every
  multi-row read) is shipped to it (``run_in_executor`` on a single-worker
  pool), so writes are serialised and the event loop never waits on an
  fsync.  Multi-statement operations (increment, compare-and-set, queue
  receive) run in ``BEGIN IMMEDIATE`` transactions, atomic even against
  another process on the same file.  The *reader* (``query_only``) serves
  point reads (``get``, ``get_many``, ``contains``) directly on the event
  loop: WAL lets a reader run beside the writer without locks, and a
  primary-key lookup in the page cache takes a few microseconds -- far less
  than a hop to a thread and back (~50-100 us).  Every read is its own
  autocommit transaction whose statement is stepped to the end, so it
  starts a fresh WAL snapshot: a read after an awaited write sees it
  (read-your-writes).
* **Order and paging.**  Keys are ``TEXT`` in ``BINARY`` collation
  (code-point order); pages are keyset ranges on the primary key
  (``key > :after``), fetched ``limit + 1`` to know whether more follow.
* **TTL.**  An ``expires`` column (epoch seconds, from the injected clock) on
  map and collection tables; reads ignore expired rows, and they are purged
  when the file opens.
* **Collections.**  Index field values are kept as a JSON object column, and
  each declared ``Index`` is a real SQL expression index on
  ``json_extract(fields, '$.<field>')``.
* **Locks and the deadline.**  Another process (a ``sqlite3`` shell, a
  second server) may hold the file's write lock.  A write waits for it at
  most the call deadline (``SKAAL_CALL_DEADLINE``, default 10 s, as
  SQLite's ``busy_timeout``), counted from the call, so a write queued
  behind others waits only what is left of its own deadline; then it
  raises :class:`~skaal.runtime.errors.DeadlineExceededError`.  SQLite
  reports "busy" only before a statement changed anything, so such a write
  was not applied and may simply be repeated.  Nothing else is retried: a
  local file has no lost replies.  The inline reader never waits on a lock
  (``busy_timeout=0``, which would stall the event loop): in the rare case
  that WAL readers are briefly locked out, the read moves to the database
  thread, where waiting is harmless.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from skaal.blueprint.model import Kind, ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.memory import prefix_end
from skaal.runtime.errors import DeadlineExceededError
from skaal.runtime.ports import (
    BackendSettings,
    Chunk,
    IndexValue,
    QueueBackend,
    TopicBackend,
)
from skaal.runtime.retry import RetryPolicy

if TYPE_CHECKING:
    from skaal.declare.native import Native, SqliteDatabase

__all__ = ["SqliteDocuments", "SqliteKeyValue", "SqliteProvider", "database_path", "table_name"]

R = TypeVar("R")

_SYNCHRONOUS = {"durable": "FULL", "persistent": "NORMAL", "ephemeral": "OFF"}


def database_path(settings: BackendSettings) -> Path:
    """Where the app's SQLite file lives: ``<data_dir>/<app>.sqlite3``."""
    return settings.data_dir / f"{settings.name_base}.sqlite3"


def table_name(kind: str, resource: str, suffix: str = "") -> str:
    """The quoted table (or index) name for a resource: ``"map:Carts"``."""
    name = f"{kind}:{resource}{':' + suffix if suffix else ''}"
    return '"' + name.replace('"', '""') + '"'


class SqliteProvider(UnsupportedKinds):
    """The app"s SQLite file: a writer connection on its own thread, a reader inline."""

    implementation = "sqlite"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.path = database_path(settings)
        self.deadline = RetryPolicy.from_env(settings.env).deadline
        self._busy_ms = max(1, round(self.deadline * 1000))
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "SqliteProvider used before open()"
        return self._conn

    @property
    def reader(self) -> sqlite3.Connection:
        """The read-only connection for point reads on the calling (event-loop) thread."""
        assert self._reader is not None, "SqliteProvider used before open()"
        return self._reader

    async def run(self, fn: Callable[[sqlite3.Connection], R], what: str = "write") -> R:
        """Run ``fn(connection)`` on the database thread, within the call deadline."""
        assert self._executor is not None, "SqliteProvider used before open()"
        job = _Job(self, fn, what, time.monotonic() + self.deadline)
        return await asyncio.get_running_loop().run_in_executor(self._executor, job.run)

    def timed_out(self, what: str) -> DeadlineExceededError:
        """The error for ``what`` not getting the file's write lock within the deadline."""
        return DeadlineExceededError.build(
            resource=f"sqlite file {self.path}",
            operation=what,
            deadline=self.deadline,
            outcome="unchanged",
            fix="another connection holds a write transaction on this file (a sqlite3 "
            "shell, a second server?): end it, or raise SKAAL_CALL_DEADLINE (seconds)",
        )

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skaal-sqlite")
        synchronous = _SYNCHRONOUS[self.settings.durability]

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
            return conn

        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, connect)
        # opened after the writer switched the file to WAL; check_same_thread is
        # off only because the loop of a later call may run on another thread
        reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA query_only=1")
        reader.execute("PRAGMA busy_timeout=0")  # never wait on the event loop
        self._reader = reader

    async def close(self) -> None:
        if self._executor is None:
            return
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)
        self._executor = None

    def native(self, kind: Kind, resource: str, **names: str) -> Native[SqliteDatabase]:
        """What ``native(SQLITE)`` returns for a store of this file: ``names`` by role, quoted."""
        from skaal.declare.native import Native, SqliteDatabase

        database = SqliteDatabase(self.path, self.run)
        name = next(iter(names.values()))
        return Native(
            database, backend="sqlite", resource=resource, kind=kind, name=name, names=names
        )

    def key_value(self, spec: ResourceSpec) -> SqliteKeyValue:
        return SqliteKeyValue(self, spec.name)

    def documents(self, spec: ResourceSpec) -> SqliteDocuments:
        return SqliteDocuments(self, spec.name, spec.indexes)

    def queue(self, spec: ResourceSpec) -> QueueBackend:
        from skaal.runtime.backends.sqlite_queue import SqliteQueue

        return SqliteQueue(self, spec.name)

    def topic(self, spec: ResourceSpec) -> TopicBackend:
        from skaal.runtime.backends.sqlite_topic import SqliteTopic

        return SqliteTopic(self, spec.name)


class _Job(Generic[R]):
    """One call's work on the database thread, bounded by what is left of its deadline."""

    __slots__ = ("db", "deadline", "fn", "what")

    def __init__(
        self, db: SqliteProvider, fn: Callable[[sqlite3.Connection], R], what: str, deadline: float
    ) -> None:
        self.db, self.fn, self.what, self.deadline = db, fn, what, deadline

    def run(self) -> R:
        db, conn = self.db, self.db.conn
        left = self.deadline - time.monotonic()
        if left <= 0:  # waited its whole deadline behind other writes: not started
            raise db.timed_out(self.what)
        shortened = left < db.deadline - 0.1
        if shortened:  # queued for a while: wait on a lock only for what is left
            conn.execute(f"PRAGMA busy_timeout={max(1, round(left * 1000))}")
        try:
            return self.fn(conn)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise db.timed_out(self.what) from None
            raise
        finally:
            if shortened:
                conn.execute(f"PRAGMA busy_timeout={db._busy_ms}")


def read_rows(sql: str, params: Sequence[object]) -> Callable[[sqlite3.Connection], list[object]]:
    """A read for the database thread, when the inline reader is locked out."""
    return lambda conn: conn.execute(sql, params).fetchall()


def transaction(conn: sqlite3.Connection, fn: Callable[[], R]) -> R:
    """Run ``fn`` in a ``BEGIN IMMEDIATE`` transaction (write lock taken up front)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


class SqliteKeyValue:
    """A ``KeyValueBackend`` on one table ``(key PRIMARY KEY, value, expires)``."""

    def __init__(self, provider: SqliteProvider, resource: str) -> None:
        self._db = provider
        self._clock = provider.settings.clock
        self._resource = resource
        t = table_name("map", resource)
        self._t = t
        self._get = f"SELECT value FROM {t} WHERE key = ? AND (expires IS NULL OR expires > ?)"
        self._upsert = (
            f"INSERT INTO {t} (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
        )

    async def open(self) -> None:
        t, now = self._t, self._clock()

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {t} "
                "(key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL) WITHOUT ROWID"
            )
            conn.execute(f"DELETE FROM {t} WHERE expires <= ?", (now,))

        await self._db.run(create, "create table")
        self._read = self._db.reader.execute  # the hot path: one attribute, no property

    async def close(self) -> None:
        return None

    async def native(self) -> Native[SqliteDatabase]:
        return self._db.native("map", self._resource, table=self._t)

    def _expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    async def get(self, key: str) -> bytes | None:
        # inline on the reader; fetchall() steps the statement to its end, which
        # resets it and ends the read transaction (the next read sees new writes)
        params = (key, self._clock())
        try:
            rows = self._read(self._get, params).fetchall()
        except sqlite3.OperationalError:  # locked out for a moment: wait on the thread
            rows = await self._db.run(read_rows(self._get, params), "get")
        return bytes(rows[0][0]) if rows else None

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        found = {}
        for key in keys:
            value = await self.get(key)
            if value is not None:
                found[key] = value
        return found

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        return await self._db.run(_remaining(self._t, keys, self._clock()), "remaining_ttl")

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        sql, expires = self._upsert, self._expires(ttl)
        await self._db.run(lambda conn: conn.execute(sql, (key, value, expires)), "set")

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        sql, expires = self._upsert, self._expires(ttl)
        rows = [(k, v, expires) for k, v in items.items()]
        await self._db.run(
            lambda conn: transaction(conn, lambda: conn.executemany(sql, rows)), "set_many"
        )

    async def delete(self, key: str) -> bool:
        get, delete_sql, now = self._get, f"DELETE FROM {self._t} WHERE key = ?", self._clock()

        def delete(conn: sqlite3.Connection) -> bool:
            def body() -> bool:
                live = conn.execute(get, (key, now)).fetchone() is not None
                conn.execute(delete_sql, (key,))
                return live

            return transaction(conn, body)

        return await self._db.run(delete, "delete")

    async def contains(self, key: str) -> bool:
        return await self.get(key) is not None

    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        clauses: list[str] = ["(expires IS NULL OR expires > ?)"]
        params: list[object] = [self._clock()]
        _key_range(clauses, params, prefix, after)
        sql = (
            f"SELECT key, value FROM {self._t} WHERE {' AND '.join(clauses)} "
            f"ORDER BY key LIMIT {int(limit) + 1}"
        )

        def scan(conn: sqlite3.Connection) -> list[tuple[str, bytes]]:
            return [(k, bytes(v)) for k, v in conn.execute(sql, params)]

        rows = await self._db.run(scan, "scan")
        if len(rows) > limit:
            return Chunk(tuple(rows[:limit]), rows[limit - 1][0])
        return Chunk(tuple(rows))

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        get, upsert, now, expires = self._get, self._upsert, self._clock(), self._expires(ttl)

        def increment(conn: sqlite3.Connection) -> int:
            def body() -> int:
                row = conn.execute(get, (key, now)).fetchone()
                value = (0 if row is None else int(bytes(row[0]))) + by
                conn.execute(upsert, (key, str(value).encode(), expires))
                return value

            return transaction(conn, body)

        return await self._db.run(increment, "increment")

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        get, upsert, now, expires = self._get, self._upsert, self._clock(), self._expires(ttl)

        def cas(conn: sqlite3.Connection) -> bool:
            def body() -> bool:
                row = conn.execute(get, (key, now)).fetchone()
                if (None if row is None else bytes(row[0])) != expected:
                    return False
                conn.execute(upsert, (key, value, expires))
                return True

            return transaction(conn, body)

        return await self._db.run(cas, "compare_and_set")


def _remaining(
    table: str, keys: Sequence[str], now: float
) -> Callable[[sqlite3.Connection], dict[str, float]]:
    """Seconds left of each live, expiring key of ``keys`` in ``table`` (its ``expires``)."""
    sql, wanted = f"SELECT expires FROM {table} WHERE key = ? AND expires > ?", list(keys)

    def read(conn: sqlite3.Connection) -> dict[str, float]:
        left = {}
        for key in wanted:
            row = conn.execute(sql, (key, now)).fetchone()
            if row is not None:
                left[key] = float(row[0]) - now
        return left

    return read


def _key_range(clauses: list[str], params: list[object], prefix: str, after: str | None) -> None:
    if prefix:
        clauses.append("key >= ?")
        params.append(prefix)
        end = prefix_end(prefix)
        if end is not None:
            clauses.append("key < ?")
            params.append(end)
    if after is not None:
        clauses.append("key > ?")
        params.append(after)


class SqliteDocuments:
    """A ``DocumentBackend``: ``(key PRIMARY KEY, body, fields JSON, expires)`` plus indexes."""

    def __init__(self, provider: SqliteProvider, resource: str, indexes: tuple[str, ...]) -> None:
        self._db = provider
        self._clock = provider.settings.clock
        self._resource = resource
        self._indexes = indexes
        self._t = table_name("collection", resource)

    async def open(self) -> None:
        t, resource, indexes, now = self._t, self._resource, self._indexes, self._clock()

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {t} (key TEXT PRIMARY KEY, body BLOB NOT NULL, "
                "fields TEXT NOT NULL, expires REAL) WITHOUT ROWID"
            )
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({t})")}
            if "expires" not in columns:  # a file written before collections could expire
                conn.execute(f"ALTER TABLE {t} ADD COLUMN expires REAL")
            conn.execute(f"DELETE FROM {t} WHERE expires <= ?", (now,))
            for field in indexes:
                index = table_name("collection", resource, field)
                conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {t} ({_extract(field)}, key)")

        await self._db.run(create, "create table")

    async def close(self) -> None:
        return None

    async def native(self) -> Native[SqliteDatabase]:
        return self._db.native("collection", self._resource, table=self._t)

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        return await self._db.run(_remaining(self._t, keys, self._clock()), "remaining_ttl")

    async def put(
        self,
        key: str,
        document: bytes,
        fields: Mapping[str, IndexValue],
        *,
        ttl: float | None = None,
    ) -> None:
        sql = (
            f"INSERT INTO {self._t} (key, body, fields, expires) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET body = excluded.body, fields = excluded.fields, "
            "expires = excluded.expires"
        )
        expires = None if ttl is None else self._clock() + ttl
        params = (key, document, json.dumps(dict(fields), sort_keys=True), expires)
        await self._db.run(lambda conn: conn.execute(sql, params), "put")

    async def get(self, key: str) -> bytes | None:
        sql, params = f"SELECT body FROM {self._t} WHERE key = ? AND {_LIVE}", (key, self._clock())
        try:
            rows = self._db.reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # locked out for a moment: wait on the thread
            rows = await self._db.run(read_rows(sql, params), "get")
        return bytes(rows[0][0]) if rows else None

    async def delete(self, key: str) -> bool:
        sql = f"DELETE FROM {self._t} WHERE key = ? RETURNING expires"
        now = self._clock()

        def delete(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(sql, (key,)).fetchall()
            return any(expires is None or expires > now for (expires,) in rows)

        return await self._db.run(delete, "delete")

    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        clauses: list[str] = [_LIVE]
        params: list[object] = [self._clock()]
        for field, value in sorted(filters.items()):
            clauses.append(f"{_extract(field)} IS ?")
            params.append(value)
        _key_range(clauses, params, "", after)
        sql = (
            f"SELECT key, body FROM {self._t} WHERE {' AND '.join(clauses)} "
            f"ORDER BY key LIMIT {int(limit) + 1}"
        )

        def find(conn: sqlite3.Connection) -> list[tuple[str, bytes]]:
            return [(k, bytes(b)) for k, b in conn.execute(sql, params)]

        rows = await self._db.run(find, "find")
        docs = tuple(body for _, body in rows[:limit])
        return Chunk(docs, rows[limit - 1][0] if len(rows) > limit else None)


#: the condition on a collection row that has not expired (one parameter: now).
_LIVE = "(expires IS NULL OR expires > ?)"


def _extract(field: str) -> str:
    """The SQL expression for an index field (fields are Python identifiers)."""
    if not field.isidentifier():
        raise ValueError(f"index field {field!r} is not an identifier")
    return f"json_extract(fields, '$.{field}')"
