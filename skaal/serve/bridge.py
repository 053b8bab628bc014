"""Where the serving plane meets the data plane (:mod:`skaal.runtime`).

Three things, kept in one module so the rest of :mod:`skaal.serve` only sees
plain callables:

* :func:`open_runtime` opens a :class:`~skaal.runtime.runtime.Runtime` for an
  app and its plan (backends opened, secrets resolved, clients bound);
* :func:`activate` makes a runtime the active one in the current context;
* :func:`workers` builds one worker per declared queue consumer and topic
  subscriber, each reading through the runtime's typed client;
* :func:`function_span` is the OpenTelemetry span of one function call when
  the runtime was opened with telemetry (:mod:`skaal.runtime.tracing`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skaal.errors import UsageError
from skaal.runtime.clients import RetryPolicy
from skaal.runtime.runtime import Runtime
from skaal.runtime.tracing import function_span as span
from skaal.serve.workers import QueueWorker, TopicWorker, call_handler

if TYPE_CHECKING:
    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime
    from skaal.runtime.tracing import Telemetry

__all__ = [
    "RETRY_DELAY_ENV",
    "activate",
    "function_span",
    "open_runtime",
    "retry_delay_from_env",
    "workers",
]

RETRY_DELAY_ENV = "SKAAL_QUEUE_RETRY_DELAY"
"""The base of the queues' retry back-off, in seconds, for `skaal run` and an artifact."""


def retry_delay_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """``SKAAL_QUEUE_RETRY_DELAY`` as seconds, ``None`` if unset; a ``UsageError`` if bad."""
    raw = (os.environ if environ is None else environ).get(RETRY_DELAY_ENV, "").strip()
    if not raw:
        return None
    try:
        delay = float(raw)
    except ValueError:
        delay = math.nan
    if not math.isfinite(delay) or delay < 0:
        raise UsageError(
            f"{RETRY_DELAY_ENV}={raw!r} is not a number of seconds",
            where=f"environment variable {RETRY_DELAY_ENV}",
            fix=f"set it to a delay such as {RETRY_DELAY_ENV}=0.1, or unset it",
        )
    return delay


def open_runtime(
    app: App,
    plan: Plan,
    *,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
    retry_delay: float | None = None,
    telemetry: Telemetry | None = None,
) -> AbstractAsyncContextManager[Runtime]:
    """``Runtime.open(app, plan, ...)``: an async context manager yielding the runtime.

    ``retry_delay`` (seconds) is the base of the queues' exponential retry
    back-off (default: :class:`~skaal.runtime.clients.RetryPolicy`'s);
    ``telemetry`` traces every storage and queue operation.
    """
    retry = None if retry_delay is None else RetryPolicy(base_delay=retry_delay)
    return Runtime.open(
        app,
        plan,
        data_dir=data_dir,
        env=env,
        project_dir=project_dir,
        retry=retry,
        telemetry=telemetry,
    )


def function_span(runtime: Runtime | None, name: str, trigger: str) -> Any:
    """A context manager: the span of one call of ``name`` (no-op without telemetry)."""
    telemetry = getattr(runtime, "telemetry", None)  # a test's fake runtime may have none
    if telemetry is None:
        return nullcontext()

    return span(telemetry, name, trigger)


def _traced(
    handler: Callable[..., Any], runtime: Runtime, name: str, trigger: str
) -> Callable[..., Any]:
    if getattr(runtime, "telemetry", None) is None:
        return handler

    async def traced(*args: Any) -> Any:
        with function_span(runtime, name, trigger):
            return await call_handler(handler, *args)

    return traced


@contextmanager
def activate(runtime: Runtime) -> Iterator[None]:
    """Make ``runtime`` the active runtime until the block ends."""
    with runtime.activate():
        yield


def workers(runtime: Runtime) -> list[QueueWorker | TopicWorker]:
    """One worker per consumer and subscriber the app declares."""
    found: list[QueueWorker | TopicWorker] = [
        QueueWorker(
            consumer.spec.name,
            _traced(consumer.handler, runtime, consumer.spec.name, "queue"),
            consumer.queue,
            visibility_timeout=consumer.spec.requirements.timeout_s,
        )
        for consumer in runtime.consumers()
    ]
    found += [
        TopicWorker(
            subscriber.spec.name,
            _traced(subscriber.handler, runtime, subscriber.spec.name, "topic"),
            subscriber.subscription,
        )
        for subscriber in runtime.subscribers()
    ]
    return found
