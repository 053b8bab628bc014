"""Where the serving plane meets the data plane (:mod:`skaal.runtime`).

Three things, kept in one module so the rest of :mod:`skaal.serve` only sees
plain callables:

* :func:`open_runtime` opens a :class:`~skaal.runtime.runtime.Runtime` for an
  app and its plan (backends opened, secrets resolved, clients bound);
* :func:`activate` makes a runtime the active one in the current context;
* :func:`workers` builds one worker per declared queue consumer and topic
  subscriber, each reading through the runtime's typed client.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from skaal.errors import UsageError
from skaal.runtime.clients import RetryPolicy
from skaal.runtime.runtime import Runtime
from skaal.serve.workers import QueueWorker, TopicWorker

if TYPE_CHECKING:
    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime

__all__ = ["RETRY_DELAY_ENV", "activate", "open_runtime", "retry_delay_from_env", "workers"]

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
) -> AbstractAsyncContextManager[Runtime]:
    """``Runtime.open(app, plan, ...)``: an async context manager yielding the runtime.

    ``retry_delay`` (seconds) is the base of the queues' exponential retry
    back-off (default: :class:`~skaal.runtime.clients.RetryPolicy`'s).
    """
    retry = None if retry_delay is None else RetryPolicy(base_delay=retry_delay)
    return Runtime.open(app, plan, data_dir=data_dir, env=env, project_dir=project_dir, retry=retry)


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
            consumer.handler,
            consumer.queue,
            visibility_timeout=consumer.spec.requirements.timeout_s,
        )
        for consumer in runtime.consumers()
    ]
    found += [
        TopicWorker(subscriber.spec.name, subscriber.handler, subscriber.subscription)
        for subscriber in runtime.subscribers()
    ]
    return found
