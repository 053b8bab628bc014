"""The ``postgres`` backend: maps, collections and durable queues on PostgreSQL.

Configured from ``SKAAL_POSTGRES_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) and
``SKAAL_POSTGRES_SCHEMA`` (default ``skaal_<app>``); one ``asyncpg`` pool per
provider (:mod:`~skaal.runtime.backends.postgres_support`: retries, errors,
names).  The runtime opens one provider per PostgreSQL server of the plan and
hands each the DSN of its own server in ``SKAAL_POSTGRES_DSN``
(:func:`skaal.plan.wiring.servers` names the variable each server is read from).
Queues live in :mod:`~skaal.runtime.backends.postgres_queue`.
Every table is created with ``IF NOT EXISTS`` when its store opens.

* **Maps** -- ``map_<resource> (key text COLLATE "C" PRIMARY KEY, value
  bytea, expires double precision)``.  ``COLLATE "C"`` compares UTF-8 bytes,
  which is code-point order, so a page is a keyset range on the primary key
  (``key > $after ORDER BY key LIMIT n + 1``).  Writes are upserts
  (``INSERT ... ON CONFLICT DO UPDATE``).  ``increment`` is one upsert that
  does the arithmetic in SQL on the codec's decimal text; ``compare_and_set``
  is a conditional ``UPDATE`` (or an upsert that only replaces an expired
  row) -- under READ COMMITTED, PostgreSQL re-checks the condition on the
  newest row version, so concurrent writers never lose an update.
* **TTL** -- the ``expires`` column holds epoch seconds from the injected
  clock; reads ignore expired rows and opening the store purges them.
* **Collections** -- ``col_<resource> (key, document bytea, fields
  jsonb, expires double precision)``: the document is the codec's bytes
  unchanged, the declared index fields are a JSONB object, and every declared
  ``Index`` is a real B-tree expression index on ``((fields -> 'field'),
  key)``, so ``find`` walks an index in key order.  JSONB equality compares
  numbers by value (``1`` equals ``1.0``) and never equates ``true`` with
  ``1``, as the port requires.  Documents expire like map entries (``expires``,
  ignored by reads, purged on open); a table from before gains the column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.memory import prefix_end
from skaal.runtime.backends.postgres_queue import PostgresQueue
from skaal.runtime.backends.postgres_support import (
    PostgresConnection,
    ident,
    rows_affected,
)
from skaal.runtime.ports import (
    BackendSettings,
    Chunk,
    Clock,
    IndexValue,
)
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    import asyncpg

    from skaal.declare.native import Native

_IDEMPOTENT, _UNSAFE = Safety.IDEMPOTENT, Safety.UNSAFE

__all__ = ["PostgresDocuments", "PostgresKeyValue", "PostgresProvider"]

_LIVE = "(expires IS NULL OR expires > $2)"


async def _remaining(
    db: PostgresConnection, name: str, table: str, keys: Sequence[str], now: float
) -> dict[str, float]:
    """Seconds left of each live, expiring key of ``keys`` in ``table`` (its ``expires``)."""
    if not keys:
        return {}
    sql = f"SELECT key, expires FROM {table} WHERE key = ANY($1::text[]) AND expires > $2"
    wanted = list(keys)
    rows = await db.run(name, "remaining_ttl", lambda c: c.fetch(sql, wanted, now), _IDEMPOTENT)
    return {row[0]: float(row[1]) - now for row in rows}


class PostgresKeyValue:
    """A ``KeyValueBackend`` in one table."""

    def __init__(self, db: PostgresConnection, resource: str, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._resource = resource
        self._name = db.resource("map", resource)
        self._t = db.table("map", resource)
        t = self._t
        upsert = (
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
        )
        self._sql_get = f"SELECT value FROM {t} WHERE key = $1 AND {_LIVE}"
        self._sql_get_many = f"SELECT key, value FROM {t} WHERE key = ANY($1::text[]) AND {_LIVE}"
        self._sql_set = f"INSERT INTO {t} (key, value, expires) VALUES ($1, $2, $3) {upsert}"
        self._sql_set_many = (
            f"INSERT INTO {t} (key, value, expires) "
            f"SELECT k, v, $3 FROM unnest($1::text[], $2::bytea[]) AS u(k, v) {upsert}"
        )
        self._sql_delete = f"DELETE FROM {t} WHERE key = $1 RETURNING {_LIVE}"
        self._sql_contains = f"SELECT 1 FROM {t} WHERE key = $1 AND {_LIVE}"
        self._sql_increment = (
            f"INSERT INTO {t} AS t (key, value, expires) "
            "VALUES ($1, convert_to($3::bigint::text, 'UTF8'), $4) "
            "ON CONFLICT (key) DO UPDATE SET value = convert_to(((CASE WHEN "
            "t.expires IS NULL OR t.expires > $2 THEN convert_from(t.value, 'UTF8')::bigint "
            "ELSE 0 END) + $3::bigint)::text, 'UTF8'), expires = excluded.expires "
            "RETURNING convert_from(value, 'UTF8')::bigint"
        )
        self._sql_insert_if_absent = (
            f"INSERT INTO {t} AS t (key, value, expires) VALUES ($1, $3, $4) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE NOT (t.expires IS NULL OR t.expires > $2) RETURNING 1"
        )
        self._sql_replace_if = (
            f"UPDATE {t} SET value = $3, expires = $4 WHERE key = $1 AND {_LIVE} AND value = $5"
        )

    async def open(self) -> None:
        await self._db.ddl(
            [
                f'CREATE TABLE IF NOT EXISTS {self._t} (key text COLLATE "C" PRIMARY KEY, '
                "value bytea NOT NULL, expires double precision)"
            ]
        )
        sql, now = f"DELETE FROM {self._t} WHERE expires <= $1", self._clock()
        await self._db.run(self._name, "purge expired", lambda c: c.execute(sql, now), _IDEMPOTENT)

    async def close(self) -> None:
        return None

    async def native(self) -> Native[asyncpg.Pool]:
        return self._db.native("map", self._resource, table=self._t)

    def _expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    async def get(self, key: str) -> bytes | None:
        sql, now = self._sql_get, self._clock()
        value: bytes | None = await self._db.run(
            self._name, "get", lambda c: c.fetchval(sql, key, now)
        )
        return value

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        sql, now, wanted = self._sql_get_many, self._clock(), list(keys)
        rows = await self._db.run(self._name, "get_many", lambda c: c.fetch(sql, wanted, now))
        return {row[0]: row[1] for row in rows}

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        return await _remaining(self._db, self._name, self._t, keys, self._clock())

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        sql, expires = self._sql_set, self._expires(ttl)
        await self._db.run(
            self._name, "set", lambda c: c.execute(sql, key, value, expires), _IDEMPOTENT
        )

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        if not items:
            return
        sql, expires = self._sql_set_many, self._expires(ttl)
        keys, values = list(items), list(items.values())
        await self._db.run(
            self._name, "set_many", lambda c: c.execute(sql, keys, values, expires), _IDEMPOTENT
        )

    async def delete(self, key: str) -> bool:
        sql, now = self._sql_delete, self._clock()
        live = await self._db.run(
            self._name, "delete", lambda c: c.fetchval(sql, key, now), _UNSAFE
        )
        return bool(live)

    async def contains(self, key: str) -> bool:
        sql, now = self._sql_contains, self._clock()
        return (
            await self._db.run(self._name, "contains", lambda c: c.fetchval(sql, key, now))
            is not None
        )

    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        args: list[object] = [prefix, self._clock()]
        where = ["key >= $1", _LIVE]
        end = prefix_end(prefix)
        if end is not None and prefix:
            args.append(end)
            where.append(f"key < ${len(args)}")
        if after is not None:
            args.append(after)
            where.append(f"key > ${len(args)}")
        sql = (
            f"SELECT key, value FROM {self._t} WHERE {' AND '.join(where)} "
            f"ORDER BY key LIMIT {int(limit) + 1}"
        )
        rows = await self._db.run(self._name, "scan", lambda c: c.fetch(sql, *args))
        items = tuple((row[0], row[1]) for row in rows[:limit])
        return Chunk(items, items[-1][0] if len(rows) > limit else None)

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        sql, now, expires = self._sql_increment, self._clock(), self._expires(ttl)
        result = await self._db.run(
            self._name, "increment", lambda c: c.fetchval(sql, key, now, by, expires), _UNSAFE
        )
        return int(result)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        now, expires = self._clock(), self._expires(ttl)
        if expected is None:
            sql = self._sql_insert_if_absent
            won = await self._db.run(
                self._name,
                "compare_and_set",
                lambda c: c.fetchval(sql, key, now, value, expires),
                _UNSAFE,
            )
            return won is not None
        sql = self._sql_replace_if
        status = await self._db.run(
            self._name,
            "compare_and_set",
            lambda c: c.execute(sql, key, now, value, expires, expected),
            _UNSAFE,
        )
        return rows_affected(status) == 1


class PostgresDocuments:
    """A ``DocumentBackend``: documents with a JSONB column of indexed fields."""

    def __init__(
        self, db: PostgresConnection, resource: str, indexes: tuple[str, ...], clock: Clock
    ) -> None:
        self._db = db
        self._resource = resource
        self._name = db.resource("collection", resource)
        self._indexes = indexes
        self._clock = clock
        self._t = db.table("col", resource)
        self._sql_put = (
            f"INSERT INTO {self._t} (key, document, fields, expires) "
            "VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (key) DO UPDATE SET "
            "document = excluded.document, fields = excluded.fields, expires = excluded.expires"
        )

    async def open(self) -> None:
        statements = [
            f'CREATE TABLE IF NOT EXISTS {self._t} (key text COLLATE "C" PRIMARY KEY, '
            "document bytea NOT NULL, fields jsonb NOT NULL, expires double precision)",
            # a table created before collections could expire
            f"ALTER TABLE {self._t} ADD COLUMN IF NOT EXISTS expires double precision",
        ]
        for field in self._indexes:
            name = ident("col", self._resource, "by", field)
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {name} ON {self._t} (({_field(field)}), key)"
            )
        await self._db.ddl(statements)
        sql, now = f"DELETE FROM {self._t} WHERE expires <= $1", self._clock()
        await self._db.run(self._name, "purge expired", lambda c: c.execute(sql, now), _IDEMPOTENT)

    async def close(self) -> None:
        return None

    async def native(self) -> Native[asyncpg.Pool]:
        return self._db.native("collection", self._resource, table=self._t)

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        return await _remaining(self._db, self._name, self._t, keys, self._clock())

    async def put(
        self,
        key: str,
        document: bytes,
        fields: Mapping[str, IndexValue],
        *,
        ttl: float | None = None,
    ) -> None:
        sql, encoded = self._sql_put, json.dumps(dict(fields), separators=(",", ":"))
        expires = None if ttl is None else self._clock() + ttl
        await self._db.run(
            self._name,
            "put",
            lambda c: c.execute(sql, key, document, encoded, expires),
            _IDEMPOTENT,
        )

    async def get(self, key: str) -> bytes | None:
        sql, now = f"SELECT document FROM {self._t} WHERE key = $1 AND {_LIVE}", self._clock()
        value: bytes | None = await self._db.run(
            self._name, "get", lambda c: c.fetchval(sql, key, now)
        )
        return value

    async def delete(self, key: str) -> bool:
        sql, now = f"DELETE FROM {self._t} WHERE key = $1 RETURNING {_LIVE}", self._clock()
        live: bool | None = await self._db.run(
            self._name, "delete", lambda c: c.fetchval(sql, key, now), _UNSAFE
        )
        return bool(live)

    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        args: list[object] = [self._clock()]
        where: list[str] = ["(expires IS NULL OR expires > $1)"]
        for field, value in sorted(filters.items()):
            args.append(json.dumps(value))
            where.append(f"{_field(field)} = ${len(args)}::jsonb")
        if after is not None:
            args.append(after)
            where.append(f"key > ${len(args)}")
        sql = (
            f"SELECT key, document FROM {self._t} WHERE {' AND '.join(where)} "
            f"ORDER BY key LIMIT {int(limit) + 1}"
        )
        rows = await self._db.run(self._name, "find", lambda c: c.fetch(sql, *args))
        page = rows[:limit]
        return Chunk(tuple(row[1] for row in page), page[-1][0] if len(rows) > limit else None)


def _field(field: str) -> str:
    """The SQL expression of an index field: ``fields -> 'name'`` (a literal, so indexes match)."""
    return "(fields -> '" + field.replace("'", "''") + "')"


class PostgresProvider(UnsupportedKinds):
    """The ``postgres`` implementation: one pool, a table (or two) per resource."""

    implementation = "postgres"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.connection = PostgresConnection(settings)

    async def open(self) -> None:
        await self.connection.open()

    async def close(self) -> None:
        await self.connection.close()

    def key_value(self, spec: ResourceSpec) -> PostgresKeyValue:
        return PostgresKeyValue(self.connection, spec.name, self.settings.clock)

    def documents(self, spec: ResourceSpec) -> PostgresDocuments:
        return PostgresDocuments(self.connection, spec.name, spec.indexes, self.settings.clock)

    def queue(self, spec: ResourceSpec) -> PostgresQueue:
        return PostgresQueue(self.connection, spec.name, self.settings.clock)
