"""Pool, retries, naming and error mapping shared by the ``postgres`` stores.

One :class:`PostgresConnection` per provider owns an ``asyncpg`` pool.
Every store operation is a function of one pooled connection, run through
:meth:`PostgresConnection.run`:

* **Transient errors are retried** with bounded exponential back-off (50 ms
  doubling to 1 s, about 8 s in all): a refused connection while the server
  restarts, a connection it closed (``AdminShutdown``), "the database system
  is starting up".  A connection that failed is discarded by the pool, so
  after a server restart the next attempt gets a fresh one.  A statement
  whose commit reply was lost may have committed before the retry; a
  committed (acknowledged) write is never lost, which is what the server's
  durability promises.
* **Everything else becomes a** :class:`PostgresBackendError`, a
  :class:`~skaal.errors.SkaalRuntimeError` with the server's message.

Tables live in one schema per app: ``SKAAL_POSTGRES_SCHEMA`` or
``skaal_<app>``.  Identifiers are quoted, and names longer than PostgreSQL's
63 bytes are shortened with a hash suffix (:func:`ident`).  DDL runs under
an advisory lock, so stores opening at once create each table once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]

from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends.redact import redact
from skaal.runtime.ports import BackendSettings

__all__ = [
    "DEFAULT_DSN",
    "PostgresBackendError",
    "PostgresConnection",
    "PostgresUnavailableError",
    "ident",
]

R = TypeVar("R")

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

_TRANSIENT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    ConnectionError,
    OSError,
)
_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
_MAX_IDENT = 63


class PostgresBackendError(SkaalRuntimeError):
    """PostgreSQL refused or failed an operation."""


class PostgresUnavailableError(PostgresBackendError):
    """The PostgreSQL server could not be reached, even after retrying."""


def ident(*parts: str) -> str:
    """A quoted identifier from ``parts`` joined by ``_``, at most 63 bytes."""
    name = "_".join(parts)
    if len(name.encode()) > _MAX_IDENT:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        name = name.encode()[: _MAX_IDENT - 11].decode(errors="ignore") + "_" + digest
    return '"' + name.replace('"', '""') + '"'


def schema_name(settings: BackendSettings) -> str:
    """The app's schema: ``SKAAL_POSTGRES_SCHEMA`` or ``skaal_<app>`` (lower-case)."""
    configured = settings.env.get("SKAAL_POSTGRES_SCHEMA")
    if configured:
        return configured
    return "skaal_" + re.sub(r"[^a-z0-9_]", "_", settings.app.lower())


class PostgresConnection:
    """An ``asyncpg`` pool for one server, with retries and error mapping."""

    def __init__(
        self,
        settings: BackendSettings,
        *,
        delays: tuple[float, ...] = _DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.dsn = settings.env.get("SKAAL_POSTGRES_DSN") or DEFAULT_DSN
        self.schema = ident(schema_name(settings))
        self._delays = delays
        self._sleep = sleep
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._lock:
            if self._pool is None:
                self._pool = await self._retry("connect", self._create_pool)
        await self.ddl([f"CREATE SCHEMA IF NOT EXISTS {self.schema}"])

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(self.dsn, min_size=1, max_size=10, command_timeout=60)
        except (ValueError, asyncpg.exceptions.InvalidAuthorizationSpecificationError) as error:
            raise PostgresBackendError(
                f"cannot connect to postgres at {redact(self.dsn)}: {error}",
                fix="set SKAAL_POSTGRES_DSN=postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE",
            ) from None

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise PostgresBackendError(
                "the postgres provider was used before open() or after close()",
                fix="use the store inside the runtime's lifetime (async with runtime: ...)",
            )
        return self._pool

    def table(self, *parts: str) -> str:
        """The schema-qualified table (or index) name for ``parts``."""
        return f"{self.schema}.{ident(*parts)}"

    async def ddl(self, statements: list[str]) -> None:
        """Run DDL once, in a transaction under the schema's advisory lock."""

        async def run(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self.schema)
                for statement in statements:
                    await conn.execute(statement)

        await self.run("create tables", run)

    async def run(self, what: str, operation: Callable[[asyncpg.Connection], Awaitable[R]]) -> R:
        """Run ``operation`` on a pooled connection, retrying transient failures."""

        async def attempt() -> R:
            async with self.pool.acquire() as conn:
                return await operation(conn)

        return await self._retry(what, attempt)

    async def _retry(self, what: str, attempt: Callable[[], Awaitable[R]]) -> R:
        for n in range(len(self._delays) + 1):
            try:
                return await attempt()
            except TimeoutError:
                raise PostgresBackendError(
                    f"postgres at {redact(self.dsn)} did not answer {what} within 60 s",
                    fix="check the server's load and locks (pg_stat_activity)",
                ) from None
            except _TRANSIENT as error:
                if n == len(self._delays):
                    raise PostgresUnavailableError(
                        f"postgres at {redact(self.dsn)} is unreachable during {what}: "
                        f"{error or type(error).__name__}",
                        fix="start the server (see .ci/services/20-postgres.sh) or set "
                        "SKAAL_POSTGRES_DSN to a reachable one",
                    ) from None
                await self._sleep(self._delays[n])
            except asyncpg.PostgresError as error:
                raise PostgresBackendError(
                    f"postgres at {redact(self.dsn)} failed {what}: {error}",
                    fix="check the message above and the server's log; the transaction "
                    "was rolled back",
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover


def rows_affected(status: Any) -> int:
    """The row count at the end of a command status such as ``'DELETE 1'``."""
    return int(str(status).rsplit(" ", 1)[-1])
