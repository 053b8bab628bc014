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

Keys are namespaced: ``<prefix><kind>:<resource>:...`` where the prefix is
``SKAAL_REDIS_PREFIX`` or ``skaal:<app>:``, so several apps (or test runs)
share one server without seeing each other's data.
"""

from __future__ import annotations

import os
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


def classify(error: BaseException) -> Failure | None:
    """How a redis-py failure bears on the command (see :mod:`skaal.runtime.retry`)."""
    if isinstance(error, NotSentError | rx.BusyLoadingError | rx.MaxConnectionsError):
        return Failure.NOT_SENT
    if isinstance(error, _MAYBE_SENT):
        return Failure.UNKNOWN
    return None


class RedisConnection:
    """A pooled client for one server, with the runtime's retry policy and error mapping."""

    def __init__(self, settings: BackendSettings, *, policy: RetryPolicy | None = None) -> None:
        self.env = settings.env
        self.url = settings.env.get(REDIS_CONNECTION.url) or DEFAULT_URL
        self.prefix = settings.env.get("SKAAL_REDIS_PREFIX") or f"skaal:{settings.name_base}:"
        self.policy = policy or RetryPolicy.from_env(settings.env)
        self.server = f"redis at {redact(self.url)}"
        # a request token outlives every retry of its call (see redis.py)
        self.token_ttl_ms = round((2 * self.policy.deadline + 60) * 1000)
        self._client: Redis | None = None

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RedisBackendError(
                "the redis provider was used before open() or after close()",
                fix="use the store inside the runtime's lifetime (async with runtime: ...)",
            )
        return self._client

    async def open(self) -> None:
        if self._client is not None:
            return
        try:
            pool = _Pool.from_url(
                self.url,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=min(2.0, self.policy.deadline),
                socket_timeout=None,
                # the plan's share of the server's connections (skaal.plan.wiring.pool_size)
                max_connections=_pool_size(self.env),
            )
        except ValueError as error:
            raise RedisBackendError(
                f"{REDIS_CONNECTION.url} {redact(self.url)!r} is not a Redis URL: {error}",
                fix=f"set {REDIS_CONNECTION.url}=redis://HOST:PORT/DB",
            ) from None
        self._client = Redis.from_pool(pool)
        await self.call(self.server, "connect", lambda r: r.ping())

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def key(self, *parts: str) -> str:
        """A namespaced key: ``<prefix>part:part:...``."""
        return self.prefix + ":".join(parts)

    def native(self, kind: Kind, resource: str, **keys: str) -> Native[Redis]:
        """What ``native(REDIS)`` returns for a store: its ``keys`` by role, the first its name."""
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
        """Run ``operation`` on the client under the retry policy; map its errors.

        ``extra`` seconds are added to the deadline (a blocking read's wait).
        """
        client = self.client
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
                f"{REDIS_CONNECTION.url} to a reachable one",
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
