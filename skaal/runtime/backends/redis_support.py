"""Connection, retries, deadline and error mapping shared by the ``redis`` stores.

One :class:`RedisConnection` per provider owns a pooled ``redis.asyncio``
client.  Every store operation goes through :meth:`RedisConnection.call`,
which runs it under the runtime's policy (:mod:`skaal.runtime.retry`):

* **One deadline per call** (``SKAAL_CALL_DEADLINE``, default 10 s): a
  frozen or unreachable server gives a
  :class:`~skaal.runtime.errors.DeadlineExceededError` naming the resource,
  the operation and the deadline, never a hang.  redis-py's own per-socket
  read timeout and its own retries are off (``socket_timeout=None``,
  ``Retry(NoBackoff(), 0)``), deliberately: a read timeout says nothing
  about whether a write was applied, and re-sending it on a fresh
  connection is how an ``increment`` used to count twice.
* **Retry only what is safe.**  A failure while the pool connects (refused,
  reset during the handshake, the server still loading its data) never
  sent the command, so any operation is retried.  A timeout or a lost
  connection after the command was written may have applied it: reads and
  idempotent writes (``set``, or scripts that carry a request token, see
  :mod:`~skaal.runtime.backends.redis`) are retried; anything else raises
  :class:`~skaal.runtime.errors.OutcomeUnknownError` and is not re-sent.
  The pool drops a broken connection and the next attempt opens a new one,
  so the client recovers from a server restart by itself.
* **Everything else becomes a** :class:`RedisBackendError`, a
  :class:`~skaal.errors.SkaalRuntimeError` naming the resource, the server
  (without its password) and the fix.

**Read replicas.**  The plan may give a server ``r`` read replicas and
count its read capacity as ``(1 + r)`` times one node's; the runtime then
hands the provider ``SKAAL_REDIS_READ_URL`` (the server's reader endpoint,
which spreads connections over the replicas) and ``SKAAL_REDIS_REPLICAS``
(``r``).  With both set, the connection opens a second pool of the same
size to the reader endpoint, and :meth:`RedisConnection.read` sends one
read in ``1 + r`` to the primary and the other ``r`` to the replicas,
round-robin on a counter -- deterministic, and exactly the share of the
primary that the plan's capacity assumes.  Only pure reads go there (a
replica refuses writes with ``READONLY``, and what it answers may lag the
primary, which the plan allows only for ``consistency="eventual"``);
:meth:`RedisConnection.call` and :meth:`RedisConnection.native` always use
the primary.  A read's errors name the endpoint that failed.  Without the
two variables every read goes to the primary, as :meth:`~RedisConnection.call`.

Keys are namespaced: ``<prefix><kind>:<resource>:...`` where the prefix is
``SKAAL_REDIS_PREFIX`` or ``skaal:<app>:``, so several apps (or test runs)
share one server without seeing each other's data.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from msgspec.structs import replace
from redis import exceptions as rx
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from skaal.errors import SkaalError, SkaalRuntimeError
from skaal.registry.builtin import REDIS, REDIS_CONNECTION
from skaal.runtime import retry
from skaal.runtime.backends.redact import redact
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Failure, RetryPolicy, Safety

if TYPE_CHECKING:
    from skaal.blueprint.model import Kind
    from skaal.declare.native import Native

__all__ = [
    "DEFAULT_URL",
    "NotSentError",
    "RedisBackendError",
    "RedisConnection",
    "RedisUnavailableError",
    "classify",
    "redact",
    "request_token",
]

R = TypeVar("R")

DEFAULT_URL = "redis://127.0.0.1:6379/0"

_MAYBE_SENT: tuple[type[BaseException], ...] = (
    rx.ConnectionError,
    rx.TimeoutError,
    ConnectionError,
    OSError,
)


class RedisBackendError(SkaalRuntimeError):
    """Redis refused or failed an operation."""


class RedisUnavailableError(RedisBackendError):
    """The Redis server could not be reached, even after retrying."""


class NotSentError(rx.ConnectionError):
    """The pool could not get a usable connection: no command was written."""


class _Pool(ConnectionPool):
    """A pool that marks every failure to connect as :class:`NotSentError`."""

    async def ensure_connection(self, connection: AbstractConnection) -> None:
        try:
            await super().ensure_connection(connection)
        except (rx.ConnectionError, rx.TimeoutError, OSError) as error:
            raise NotSentError(f"{type(error).__name__}: {error}") from error


def _pool_size(env: Mapping[str, str]) -> int | None:
    """``SKAAL_REDIS_POOL_SIZE`` (set by the runtime from the plan); ``None``: unbounded."""
    text = env.get(REDIS_CONNECTION.pool_size, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise RedisBackendError(
            f"{REDIS_CONNECTION.pool_size}={text!r} is not a positive whole number",
            where=REDIS_CONNECTION.pool_size,
            fix="unset it: the runtime sets it to this process's share of the server's "
            "connections in the plan",
        )
    return int(text)


def _shown(url: str) -> str:
    """``url`` for a message: without its password, or not at all when it cannot be parsed.

    :func:`redact` needs the port to rebuild the URL; a URL with a password
    and a malformed port would otherwise fail while explaining itself.
    """
    try:
        return redact(url)
    except ValueError:
        return "<a malformed URL, not shown>"


def _read_replicas(env: Mapping[str, str]) -> tuple[str, int] | None:
    """``(reader URL, replicas)`` when the plan gave the server read replicas, else ``None``.

    Both variables or neither: one without the other is a wiring mistake, and
    guessing the missing half would either ignore replicas the plan counts on
    or send reads to a primary the plan thinks is offloaded.
    """
    url_var, count_var = REDIS_CONNECTION.read_url, REDIS_CONNECTION.replicas
    url = env.get(url_var, "").strip()
    text = env.get(count_var, "").strip()
    if not url and not text:
        return None
    fix = (
        f"unset {url_var} and {count_var}: the runtime sets both from the plan "
        "when the server has read replicas"
    )
    if not url or not text:
        given, missing = (url_var, count_var) if url else (count_var, url_var)
        raise RedisBackendError(
            f"{given} is set but {missing} is not; the read replicas need both",
            where=missing,
            fix=fix,
        )
    if re.fullmatch(r"[0-9]+", text) is None or int(text) < 1:
        raise RedisBackendError(
            f"{count_var}={text!r} is not a whole number of read replicas of at least 1",
            where=count_var,
            fix=fix,
        )
    return url, int(text)


def classify(error: BaseException) -> Failure | None:
    """How a redis-py failure bears on the command (see :mod:`skaal.runtime.retry`)."""
    if isinstance(error, NotSentError | rx.BusyLoadingError | rx.MaxConnectionsError):
        return Failure.NOT_SENT
    if isinstance(error, _MAYBE_SENT):
        return Failure.UNKNOWN
    return None


class RedisConnection:
    """A pooled client for one server, with the runtime's retry policy and error mapping.

    With read replicas configured (see the module docstring), a second pooled
    client reaches them and :meth:`read` shares reads between the two.
    """

    def __init__(self, settings: BackendSettings, *, policy: RetryPolicy | None = None) -> None:
        self.env = settings.env
        self.url = settings.env.get(REDIS_CONNECTION.url) or DEFAULT_URL
        self.prefix = settings.env.get("SKAAL_REDIS_PREFIX") or f"skaal:{settings.name_base}:"
        self.policy = policy or RetryPolicy.from_env(settings.env)
        self.server = f"redis at {_shown(self.url)}"
        # a request token outlives every retry of its call (see redis.py)
        self.token_ttl_ms = round((2 * self.policy.deadline + 60) * 1000)
        self.replicas = 0
        """Read replicas behind the reader endpoint; 0 until :meth:`open` finds some."""
        self._client: Redis | None = None
        self._reader: Redis | None = None
        self._reader_server = ""
        self._reads = 0

    @property
    def client(self) -> Redis:
        """The primary's client: every write, and reads when there are no replicas."""
        if self._client is None:
            raise RedisBackendError(
                "the redis provider was used before open() or after close()",
                fix="use the store inside the runtime's lifetime (async with runtime: ...)",
            )
        return self._client

    def _pool(self, url: str, variable: str) -> _Pool:
        """A pool for ``url`` (named by ``variable`` in errors) with the runtime's options."""
        try:
            return _Pool.from_url(
                url,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=min(2.0, self.policy.deadline),
                socket_timeout=None,
                # the plan's share of the server's connections (skaal.plan.wiring.pool_size)
                max_connections=_pool_size(self.env),
            )
        except ValueError as error:
            raise RedisBackendError(
                f"{variable} {_shown(url)!r} is not a Redis URL: {error}",
                fix=f"set {variable}=redis://HOST:PORT/DB",
            ) from None

    async def open(self) -> None:
        if self._client is not None:
            return
        found = _read_replicas(self.env)
        pool = self._pool(self.url, REDIS_CONNECTION.url)
        reader = None if found is None else self._pool(found[0], REDIS_CONNECTION.read_url)
        self._client = Redis.from_pool(pool)
        await self.call(self.server, "connect", lambda r: r.ping())
        if found is None or reader is None:
            return
        read_url, self.replicas = found
        self._reader = Redis.from_pool(reader)
        self._reader_server = f"read replicas at {_shown(read_url)}"
        await self._run(
            self._reader,
            f"redis {self._reader_server}",
            "connect",
            lambda r: r.ping(),
            Safety.READ,
            variable=REDIS_CONNECTION.read_url,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        reader, self._reader = self._reader, None
        self.replicas = 0
        if client is not None:
            await client.aclose()
        if reader is not None:
            await reader.aclose()

    def key(self, *parts: str) -> str:
        """A namespaced key: ``<prefix>part:part:...``."""
        return self.prefix + ":".join(parts)

    def native(self, kind: Kind, resource: str, **keys: str) -> Native[Redis]:
        """What ``native(REDIS)`` returns for a store: its ``keys`` by role, the first its name.

        Always the primary's client: native code may write, and a replica refuses writes.
        """
        from skaal.declare.native import Native

        name = next(iter(keys.values()))
        return Native(
            self.client,
            backend=REDIS.name,
            resource=resource,
            kind=kind,
            name=name,
            names=keys,
        )

    def resource(self, kind: str, name: str) -> str:
        """How errors name a store: ``map 'Visits' on redis at redis://host:port/0``."""
        return f"{kind} {name!r} on {self.server}"

    async def call(
        self,
        resource: str,
        what: str,
        operation: Callable[[Redis], Awaitable[R]],
        safety: Safety = Safety.READ,
        *,
        extra: float = 0.0,
    ) -> R:
        """Run ``operation`` on the primary under the retry policy; map its errors.

        ``extra`` seconds are added to the deadline (a blocking read's wait).
        """
        return await self._run(
            self.client,
            resource,
            what,
            operation,
            safety,
            variable=REDIS_CONNECTION.url,
            extra=extra,
        )

    async def read(self, resource: str, what: str, operation: Callable[[Redis], Awaitable[R]]) -> R:
        """Run the pure read ``operation`` on the primary or the read replicas; map its errors.

        Of every ``1 + replicas`` reads, the first goes to the primary and the
        rest to the reader endpoint, so the primary serves ``1 / (1 + r)`` of
        them as the plan's capacity assumes.  A read may answer what the
        primary wrote a moment ago or not yet: use it only where stale data is
        acceptable, and never for an operation that writes (the replicas
        refuse it).  Without replicas it is :meth:`call` with ``Safety.READ``.
        """
        reader = self._reader
        if reader is None:
            return await self.call(resource, what, operation)
        turn, self._reads = self._reads, (self._reads + 1) % (1 + self.replicas)
        if turn == 0:
            return await self._run(
                self.client,
                f"{resource} (read from the primary)",
                what,
                operation,
                Safety.READ,
                variable=REDIS_CONNECTION.url,
            )
        return await self._run(
            reader,
            f"{resource} (read from its {self._reader_server})",
            what,
            operation,
            Safety.READ,
            variable=REDIS_CONNECTION.read_url,
        )

    async def _run(
        self,
        client: Redis,
        resource: str,
        what: str,
        operation: Callable[[Redis], Awaitable[R]],
        safety: Safety,
        *,
        variable: str,
        extra: float = 0.0,
    ) -> R:
        """``operation`` on ``client`` under the policy; ``variable`` names its URL in a fix."""
        policy = (
            replace(self.policy, deadline=self.policy.deadline + extra) if extra else self.policy
        )
        try:
            return await retry.call(
                lambda: operation(client),
                resource=resource,
                operation=what,
                safety=safety,
                classify=classify,
                policy=policy,
            )
        except SkaalError:  # already explained: a deadline, an unknown outcome
            raise
        except _MAYBE_SENT as error:
            raise RedisUnavailableError(
                f"{what} on {resource} failed: the server is unreachable "
                f"({type(error).__name__}: {error})",
                fix="start the server (see .ci/services/10-redis.sh) or set "
                f"{variable} to a reachable one",
            ) from None
        except rx.RedisError as error:
            raise RedisBackendError(
                f"{what} on {resource} failed: {error}",
                fix="check the server's log; the operation was not applied",
            ) from None


def request_token() -> str:
    """A fresh token that makes one call's retries recognisable to a script."""
    return os.urandom(12).hex()


def as_bytes(value: Any) -> bytes:
    """A reply value as ``bytes`` (replies are bytes unless decoding is on)."""
    return value if isinstance(value, bytes) else str(value).encode()
