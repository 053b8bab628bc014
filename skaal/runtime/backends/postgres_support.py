"""Pool, retries, deadline, naming and error mapping shared by the ``postgres`` stores.

One :class:`PostgresConnection` per provider owns an ``asyncpg`` pool.
Every store operation is a function of one pooled connection, run through
:meth:`PostgresConnection.run` under the runtime's policy
(:mod:`skaal.runtime.retry`):

* **One deadline per call** (``SKAAL_CALL_DEADLINE``, default 10 s) covers
  waiting for a pooled connection, connecting, the statement and every
  retry; past it the call raises
  :class:`~skaal.runtime.errors.DeadlineExceededError`.  asyncpg's own
  ``command_timeout`` is off: one clock, not two.  A connection whose
  statement was cancelled by the deadline, or that failed mid-statement, is
  terminated rather than returned to the pool (a frozen server would
  otherwise hang the reset on release), so the next call opens a fresh one.
* **Retry only what is safe.**  A failure to get a connection (refused,
  "the database system is starting up", too many connections) and a
  transaction the server rolled back on its own (serialization failure,
  deadlock) were not applied: any operation is retried.  A connection lost
  mid-statement (``AdminShutdown``, a reset, a crash) may have committed:
  reads and idempotent writes (upserts of a whole value, DDL with ``IF NOT
  EXISTS``) are retried; ``increment``, ``compare_and_set``, ``delete`` and
  queue ``send``/``receive`` raise
  :class:`~skaal.runtime.errors.OutcomeUnknownError` and are not re-sent.
  A transaction interrupted by a killed connection is rolled back by the
  server, so a write either committed whole or not at all; a committed
  (acknowledged) write is never lost.
* **Pool and credentials.**  The pool holds at most
  ``SKAAL_POSTGRES_POOL_SIZE`` connections (the runtime sets it to this
  process's share of the server's connections in the plan,
  :func:`skaal.plan.wiring.pool_size`; 10 when unset).  With
  ``SKAAL_POSTGRES_DSN_SECRET_ARN`` set, the password is read from that
  Secrets Manager secret each time a connection opens
  (:mod:`skaal.runtime.backends.credentials`), never from the environment.
* **Everything else becomes a** :class:`PostgresBackendError`, a
  :class:`~skaal.errors.SkaalRuntimeError` with the server's message.

Tables live in one schema per app: ``SKAAL_POSTGRES_SCHEMA`` or
``skaal_<app>``.  Identifiers are quoted, and names longer than PostgreSQL's
63 bytes are shortened with a hash suffix (:func:`ident`).  DDL runs under
an advisory lock, so stores opening at once create each table once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from skaal.errors import SkaalError, SkaalRuntimeError
from skaal.registry.builtin import POSTGRES_CONNECTION
from skaal.runtime import retry
from skaal.runtime.backends.credentials import secret_password
from skaal.runtime.backends.redact import redact
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Failure, RetryPolicy, Safety

if TYPE_CHECKING:
    from skaal.blueprint.model import Kind
    from skaal.declare.native import Native

__all__ = [
    "DEFAULT_DSN",
    "NotSentError",
    "PostgresBackendError",
    "PostgresConnection",
    "PostgresUnavailableError",
    "classify",
    "ident",
]

R = TypeVar("R")

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

#: failures to get a connection: nothing was sent
_CONNECT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    ConnectionError,
    OSError,
)
#: the server rolled the transaction back by itself: not applied
_ROLLED_BACK: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
#: the connection broke mid-statement: it may have committed
_BROKEN: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)
_MAX_IDENT = 63
_DEFAULT_POOL = 10


class PostgresBackendError(SkaalRuntimeError):
    """PostgreSQL refused or failed an operation."""


class PostgresUnavailableError(PostgresBackendError):
    """The PostgreSQL server could not be reached, even after retrying."""


class NotSentError(Exception):
    """No pooled connection could be had: no statement was sent."""


_UNREACHABLE: tuple[type[BaseException], ...] = (NotSentError, *_BROKEN)
_NOT_SENT: tuple[type[BaseException], ...] = (NotSentError, *_ROLLED_BACK)


def classify(error: BaseException) -> Failure | None:
    """How an asyncpg failure bears on the statement (see :mod:`skaal.runtime.retry`)."""
    if isinstance(error, _NOT_SENT):
        return Failure.NOT_SENT
    if isinstance(error, _BROKEN):
        return Failure.UNKNOWN
    return None


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
    return "skaal_" + re.sub(r"[^a-z0-9_]", "_", settings.name_base.lower())


class PostgresConnection:
    """An ``asyncpg`` pool for one server, with the runtime's retry policy and error mapping."""

    def __init__(self, settings: BackendSettings, *, policy: RetryPolicy | None = None) -> None:
        self.dsn = settings.env.get(POSTGRES_CONNECTION.url) or DEFAULT_DSN
        self.pool_size = _pool_size(settings.env)
        self._password = secret_password(settings, POSTGRES_CONNECTION.url)
        self.schema = ident(schema_name(settings))
        self.policy = policy or RetryPolicy.from_env(settings.env)
        self.server = f"postgres at {redact(self.dsn)}"
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        if self._pool is None:
            self._pool = await self._call(self.server, "connect", self._create_pool, Safety.READ)
        await self.ddl([f"CREATE SCHEMA IF NOT EXISTS {self.schema}"])

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self.pool_size,
                command_timeout=None,
                password=self._password,
            )
        except (ValueError, asyncpg.exceptions.InvalidAuthorizationSpecificationError) as error:
            raise PostgresBackendError(
                f"cannot connect to postgres at {redact(self.dsn)}: {error}",
                fix=f"set {POSTGRES_CONNECTION.url}=postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE",
            ) from None
        except _CONNECT as error:
            raise NotSentError(f"{type(error).__name__}: {error}") from error

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:  # a graceful close waits on the server: bounded like any call
            await asyncio.wait_for(pool.close(), self.policy.deadline)
        except TimeoutError:
            pool.terminate()

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

    def native(self, kind: Kind, resource: str, **tables: str) -> Native[asyncpg.Pool]:
        """What ``native(POSTGRES)`` returns for a store: its ``tables`` by role, qualified."""
        from skaal.declare.native import Native

        name = next(iter(tables.values()))
        return Native(
            self.pool, backend="postgres", resource=resource, kind=kind, name=name, names=tables
        )

    def resource(self, kind: str, name: str) -> str:
        """How errors name a store: ``map 'Orders' on postgres at postgresql://host:port/db``."""
        return f"{kind} {name!r} on {self.server}"

    async def ddl(self, statements: list[str]) -> None:
        """Run DDL once, in a transaction under the schema's advisory lock."""

        async def run(conn: PoolConnectionProxy[Any]) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self.schema)
                for statement in statements:
                    await conn.execute(statement)

        await self.run(self.server, "create tables", run, Safety.IDEMPOTENT)

    async def run(
        self,
        resource: str,
        what: str,
        operation: Callable[[PoolConnectionProxy[Any]], Awaitable[R]],
        safety: Safety = Safety.READ,
    ) -> R:
        """Run ``operation`` on a pooled connection under the retry policy; map its errors."""
        pool = self.pool

        async def attempt() -> R:
            try:
                conn = await pool.acquire()
            except _CONNECT as error:
                raise NotSentError(f"{type(error).__name__}: {error}") from error
            try:
                result = await operation(conn)
            except BaseException as error:
                # cancelled by the deadline or broken: never hand it back as it is
                if not isinstance(error, Exception) or isinstance(error, _BROKEN):
                    conn.terminate()
                with contextlib.suppress(Exception):  # the original error says more
                    await pool.release(conn)
                raise
            await pool.release(conn)
            return result

        return await self._call(resource, what, attempt, safety)

    async def _call(
        self, resource: str, what: str, attempt: Callable[[], Awaitable[R]], safety: Safety
    ) -> R:
        try:
            return await retry.call(
                attempt,
                resource=resource,
                operation=what,
                safety=safety,
                classify=classify,
                policy=self.policy,
            )
        except SkaalError:  # already explained: a deadline, an unknown outcome
            raise
        except _UNREACHABLE as error:
            raise PostgresUnavailableError(
                f"{what} on {resource} failed: the server is unreachable "
                f"({type(error).__name__}: {error or type(error).__name__})",
                fix="start the server (see .ci/services/20-postgres.sh) or set "
                f"{POSTGRES_CONNECTION.url} to a reachable one",
            ) from None
        except asyncpg.PostgresError as error:
            raise PostgresBackendError(
                f"{what} on {resource} failed: {error}",
                fix="check the message above and the server's log; the transaction was rolled back",
            ) from None


def _pool_size(env: Mapping[str, str]) -> int:
    """``SKAAL_POSTGRES_POOL_SIZE`` (set by the runtime from the plan), else 10."""
    text = env.get(POSTGRES_CONNECTION.pool_size, "").strip()
    if not text:
        return _DEFAULT_POOL
    if not text.isdigit() or int(text) < 1:
        raise PostgresBackendError(
            f"{POSTGRES_CONNECTION.pool_size}={text!r} is not a positive whole number",
            where=POSTGRES_CONNECTION.pool_size,
            fix=f"unset it (the plan's share of the server's connections, else {_DEFAULT_POOL})",
        )
    return int(text)


def rows_affected(status: Any) -> int:
    """The row count at the end of a command status such as ``'DELETE 1'``."""
    return int(str(status).rsplit(" ", 1)[-1])
