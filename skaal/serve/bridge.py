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

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skaal.serve.workers import QueueWorker, TopicWorker

if TYPE_CHECKING:
    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime
    from skaal.runtime.tracing import Telemetry

__all__ = ["activate", "function_span", "open_runtime", "workers"]


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
    from skaal.runtime.clients import RetryPolicy
    from skaal.runtime.runtime import Runtime

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
    from skaal.runtime.tracing import function_span as span

    return span(telemetry, name, trigger)


def _traced(
    handler: Callable[..., Any], runtime: Runtime, name: str, trigger: str
) -> Callable[..., Any]:
    if getattr(runtime, "telemetry", None) is None:
        return handler
    from skaal.serve.workers import call_handler

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
