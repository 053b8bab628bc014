"""One retry and deadline policy for every backend client.

Every call a client makes to a server goes through :func:`call`, which
enforces two rules:

* **One overall deadline per client call.**  The whole call -- the first
  attempt, every retry and every back-off -- finishes within
  :attr:`RetryPolicy.deadline` seconds (``SKAAL_CALL_DEADLINE``, default
  10 s), or raises :class:`~skaal.runtime.errors.DeadlineExceededError`
  naming the resource, the operation and the deadline.  An attempt still
  waiting on the server when the deadline passes is cancelled.
* **Retry only what is safe to repeat.**  The caller says how safe its
  operation is (:class:`Safety`) and how to read a failure (a *classifier*
  returning a :class:`Failure`):

  ===============  ===========================  ==============================
  ``Safety``       ``Failure.NOT_SENT``         ``Failure.UNKNOWN``
                   (never reached the server)   (may have been applied)
  ===============  ===========================  ==============================
  ``READ``         retried                      retried
  ``IDEMPOTENT``   retried                      retried
  ``UNSAFE``       retried                      :class:`OutcomeUnknownError`
  ===============  ===========================  ==============================

  ``IDEMPOTENT`` is a write whose repetition leaves the same state and the
  same answer: a put of a whole value, or a write carrying a request token
  that the server checks.  ``UNSAFE`` is anything else (an increment, a
  compare-and-set, an insert with a server-made id): after a timeout or a
  connection lost mid-request it is never re-sent.  A failure the
  classifier does not recognise (``None``) is raised unchanged for the
  backend to map to its own error.

Retries use `tenacity <https://tenacity.readthedocs.io>`_: at most
:attr:`RetryPolicy.attempts` attempts, exponential back-off from
:attr:`~RetryPolicy.initial_delay` to :attr:`~RetryPolicy.max_delay` with
full jitter (each wait is uniform in ``[0, cap]``, so clients that failed
together do not come back together).  The first attempt runs outside
tenacity, so a call that succeeds pays for one deadline timer and nothing
else.

Example (a backend's connection object)::

    policy = RetryPolicy.from_env(settings.env)

    async def get(self, key: str) -> bytes | None:
        return await retry.call(
            lambda: self.client.get(key),
            resource="map 'Counter' on redis at redis://127.0.0.1:6379/0",
            operation="get",
            safety=Safety.READ,
            classify=classify_redis_error,
            policy=policy,
        )
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Literal, TypeVar

from msgspec import Struct
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from skaal.errors import SkaalError
from skaal.runtime.errors import (
    DeadlineExceededError,
    InvalidSettingError,
    OutcomeUnknownError,
)

__all__ = [
    "DEADLINE_VARIABLE",
    "DEFAULT_DEADLINE",
    "RETRIES",
    "DeadlineExceededError",
    "Failure",
    "OutcomeUnknownError",
    "RetryPolicy",
    "Safety",
    "call",
]

R = TypeVar("R")

DEADLINE_VARIABLE = "SKAAL_CALL_DEADLINE"
"""The environment variable (or ``BackendSettings.env`` key) holding the deadline in seconds."""

DEFAULT_DEADLINE = 10.0
"""Seconds a client call may take, retries included, when nothing is configured."""


RETRIES: ContextVar[list[int] | None] = ContextVar("skaal_retries", default=None)
"""Set to a one-item list, it counts the retries :func:`call` makes in this context
(the tracing of :mod:`skaal.runtime.tracing` reports them)."""


class Safety(enum.Enum):
    """How safe an operation is to send again after a failure."""

    READ = "read"
    """No effect on the server: repeat after any transient failure."""
    IDEMPOTENT = "idempotent"
    """Applying it twice leaves the same state and gives the same answer."""
    UNSAFE = "unsafe"
    """Repeating it could apply it twice: retry only if it certainly was not sent."""


class Failure(enum.Enum):
    """What a transient failure says about the request."""

    NOT_SENT = "not sent"
    """The request did not reach the server, or the server rejected it unapplied."""
    UNKNOWN = "unknown"
    """The request may have been applied (timeout or connection lost mid-request)."""


_OUTCOME: dict[Safety, Literal["unchanged", "repeatable", "unknown"]] = {
    Safety.READ: "unchanged",
    Safety.IDEMPOTENT: "repeatable",
    Safety.UNSAFE: "unknown",
}

Classifier = Callable[[BaseException], Failure | None]
"""Reads a failure: a :class:`Failure`, or ``None`` when it is not transient."""


class RetryPolicy(Struct, frozen=True):
    """The limits of one client call."""

    deadline: float = DEFAULT_DEADLINE
    """Seconds for the whole call, retries and back-off included."""
    attempts: int = 30
    """At most this many attempts (the first one included)."""
    initial_delay: float = 0.05
    """Cap of the first back-off, in seconds; it doubles after each attempt."""
    max_delay: float = 1.0
    """Largest back-off cap, in seconds."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.deadline) and self.deadline > 0):
            raise InvalidSettingError(
                f"the call deadline must be a positive number of seconds, not {self.deadline!r}",
                where=DEADLINE_VARIABLE,
                fix=f"set {DEADLINE_VARIABLE} to seconds, e.g. {DEADLINE_VARIABLE}=10",
            )
        if self.attempts < 1 or self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise InvalidSettingError(
                f"retry limits are inconsistent: {self!r}",
                fix="use attempts >= 1 and 0 <= initial_delay <= max_delay",
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetryPolicy:
        """The policy configured by ``SKAAL_CALL_DEADLINE`` (seconds) in ``env``."""
        raw = env.get(DEADLINE_VARIABLE, "").strip()
        if not raw:
            return cls()
        try:
            deadline = float(raw.removesuffix("s"))
        except ValueError:
            raise InvalidSettingError(
                f"{DEADLINE_VARIABLE}={raw!r} is not a number of seconds",
                where=DEADLINE_VARIABLE,
                fix=f"set {DEADLINE_VARIABLE} to seconds, e.g. {DEADLINE_VARIABLE}=10",
            ) from None
        return cls(deadline=deadline)


def retryable(failure: Failure | None, safety: Safety) -> bool:
    """Whether a failure read as ``failure`` may be retried for an operation of ``safety``."""
    if failure is None:
        return False
    return failure is Failure.NOT_SENT or safety is not Safety.UNSAFE


async def call(
    op: Callable[[], Awaitable[R]],
    *,
    resource: str,
    operation: str,
    safety: Safety,
    classify: Classifier,
    policy: RetryPolicy,
) -> R:
    """Run ``op()`` under ``policy``: retried when safe, bounded by one deadline.

    Raises :class:`DeadlineExceededError` when the deadline passes,
    :class:`OutcomeUnknownError` when an ``UNSAFE`` operation failed after it
    may have been applied, and otherwise the last error of ``op`` unchanged
    (not transient, or attempts exhausted) for the caller to map.
    """
    timeout = asyncio.timeout(policy.deadline)
    last: list[BaseException] = []
    try:
        async with timeout:
            try:
                return await op()
            except SkaalError:  # already explained (a nested call, a mapped error)
                raise
            except Exception as error:
                failure = classify(error)
                if policy.attempts == 1 or not retryable(failure, safety):
                    if failure is Failure.UNKNOWN and safety is Safety.UNSAFE:
                        raise _unknown(resource, operation, error) from error
                    raise
                last.append(error)
            try:
                return await _retry(op, last, safety, classify, policy)
            except SkaalError:
                raise
            except Exception as error:
                if safety is Safety.UNSAFE and classify(error) is Failure.UNKNOWN:
                    raise _unknown(resource, operation, error) from error
                raise
    except TimeoutError:
        if not timeout.expired():
            raise
        raise DeadlineExceededError.build(
            resource=resource,
            operation=operation,
            deadline=policy.deadline,
            outcome=_OUTCOME[safety],
            last=last[-1] if last else None,
        ) from None


async def _retry(
    op: Callable[[], Awaitable[R]],
    last: list[BaseException],
    safety: Safety,
    classify: Classifier,
    policy: RetryPolicy,
) -> R:
    """Attempts 2..n after a retryable failure (the caller holds the deadline)."""

    def again(error: BaseException) -> bool:
        if not isinstance(error, Exception) or isinstance(error, SkaalError):
            return False  # the deadline's cancellation, or an error already explained
        last.append(error)
        return retryable(classify(error), safety)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts - 1),
        wait=wait_random_exponential(multiplier=policy.initial_delay, max=policy.max_delay),
        retry=retry_if_exception(again),
        reraise=True,
    )

    async def attempt() -> R:  # a coroutine function: tenacity awaits only those
        counter = RETRIES.get()
        if counter is not None:
            counter[0] += 1
        return await op()

    await asyncio.sleep(random.uniform(0, policy.initial_delay))  # tenacity waits from the 2nd
    return await retrying(attempt)


def _unknown(resource: str, operation: str, error: BaseException) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        f"{operation} on {resource} failed after the request was sent "
        f"({type(error).__name__}: {error}); it may or may not have been applied, "
        "and it was not sent again so that it cannot be applied twice",
        fix="read the current state before deciding to repeat it; if the server was "
        "restarting, later calls reconnect by themselves",
    )
