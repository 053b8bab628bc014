"""Connection, retries and error mapping shared by the ``redis`` stores.

One :class:`RedisConnection` per provider owns a pooled ``redis.asyncio``
client.  Every store operation goes through :meth:`RedisConnection.call`:

* **Transient errors are retried** with bounded exponential back-off
  (50 ms doubling to 1 s, about 6 s in all): a refused connection while the
  server restarts, a connection the server closed, a server still loading
  its append-only file.  The pool drops a broken connection and the next
  attempt opens a new one, so the client recovers from a server restart by
  itself.  As with any network store, a command whose reply was lost may
  have been applied before the retry (an ``increment`` could count twice);
  this is Redis's own at-least-once contract.
* **Everything else becomes a** :class:`RedisBackendError`, a
  :class:`~skaal.errors.SkaalRuntimeError` naming the resource, the server
  (without its password) and the fix.

Keys are namespaced: ``<prefix><kind>:<resource>:...`` where the prefix is
``SKAAL_REDIS_PREFIX`` or ``skaal:<app>:``, so several apps (or test runs)
share one server without seeing each other's data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis import exceptions as rx
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends.redact import redact
from skaal.runtime.ports import BackendSettings

__all__ = [
    "DEFAULT_URL",
    "RedisBackendError",
    "RedisConnection",
    "RedisUnavailableError",
    "redact",
]

R = TypeVar("R")

DEFAULT_URL = "redis://127.0.0.1:6379/0"

_TRANSIENT: tuple[type[BaseException], ...] = (
    rx.ConnectionError,
    rx.TimeoutError,
    rx.BusyLoadingError,
    ConnectionError,
    OSError,
)
_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0)


class RedisBackendError(SkaalRuntimeError):
    """Redis refused or failed an operation."""


class RedisUnavailableError(RedisBackendError):
    """The Redis server could not be reached, even after retrying."""


class RedisConnection:
    """A pooled client for one server, with retries and error mapping."""

    def __init__(
        self,
        settings: BackendSettings,
        *,
        delays: tuple[float, ...] = _DELAYS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.env = settings.env
        self.url = settings.env.get("SKAAL_REDIS_URL") or DEFAULT_URL
        self.prefix = settings.env.get("SKAAL_REDIS_PREFIX") or f"skaal:{settings.app}:"
        self._delays = delays
        self._sleep = sleep
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
            self._client = Redis.from_url(
                self.url,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=2.0,
            )
        except ValueError as error:
            raise RedisBackendError(
                f"SKAAL_REDIS_URL {redact(self.url)!r} is not a Redis URL: {error}",
                fix="set SKAAL_REDIS_URL=redis://HOST:PORT/DB",
            ) from None
        await self.call("connect", lambda r: r.ping())

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def key(self, *parts: str) -> str:
        """A namespaced key: ``<prefix>part:part:...``."""
        return self.prefix + ":".join(parts)

    async def call(self, what: str, operation: Callable[[Redis], Awaitable[R]]) -> R:
        """Run ``operation`` on the client, retrying transient failures."""
        for attempt in range(len(self._delays) + 1):
            try:
                return await operation(self.client)
            except _TRANSIENT as error:
                if attempt == len(self._delays):
                    raise RedisUnavailableError(
                        f"redis at {redact(self.url)} is unreachable during {what}: {error}",
                        fix="start the server (see .ci/services/10-redis.sh) or set "
                        "SKAAL_REDIS_URL to a reachable one",
                    ) from None
                await self._sleep(self._delays[attempt])
            except rx.RedisError as error:
                raise RedisBackendError(
                    f"redis at {redact(self.url)} failed {what}: {error}",
                    fix="check the server's log; the operation was not applied",
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover


def as_bytes(value: Any) -> bytes:
    """A reply value as ``bytes`` (replies are bytes unless decoding is on)."""
    return value if isinstance(value, bytes) else str(value).encode()
