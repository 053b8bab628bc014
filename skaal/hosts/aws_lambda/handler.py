"""The Lambda entry point: one handler for HTTP requests, queue batches and schedules.

Every Lambda function the aws target creates runs the same code with a
different trigger, and :class:`LambdaHandler` tells the triggers apart by the
shape of the event:

* an **HTTP API 2.0** request (``version == "2.0"`` with
  ``requestContext.http``) is served by the app's ASGI application -- the
  same Starlette app ``skaal run`` serves (function routes, docs, mounted
  FastAPI/Starlette and WSGI apps) -- through :mod:`skaal.hosts.aws_lambda.http_api`;
  a **REST API 1.0** request (``httpMethod`` and ``resource``) is served by
  the same app through mangum's translation (:mod:`skaal.hosts.aws_lambda.rest_api`);
* an **SQS batch** (``Records`` from ``aws:sqs``) is handed, message by
  message, to the queue consumer or topic subscriber named by
  ``SKAAL_FUNCTION`` (a subscriber reads its own SQS queue subscribed to the
  SNS topic); the failed messages
  are returned as ``batchItemFailures`` (the event source mapping reports
  partial failures), so SQS redelivers only those and moves a message to the
  dead-letter queue after the queue's declared ``max_attempts``;
* a **schedule** (the input EventBridge Scheduler sends,
  ``{"skaal_schedule": "<function>"}``) calls that scheduled function;
* a **migration step** (``{"skaal_migrate": {...}}``, which ``skaal migrate
  --env NAME`` sends to the stack's migration function) copies, verifies or
  rolls back one pending move (:func:`skaal.migrate.remote.run_step`) without
  opening the app's runtime.

Each message and each scheduled run is a function span (:func:`skaal.runtime.tracing.function_span`)
when the runtime traces (``SKAAL_TRACES=otlp``), and an HTTP request is one
through the serving app's middleware, as on ``skaal run``: the storage and
queue operations the function makes are its children.

The runtime (:class:`~skaal.runtime.Runtime`) is opened once per container,
on the first event, on an event loop the handler keeps: Lambda freezes the
container between events and the open clients are reused.  The handler never
starts the scheduler or the queue workers ``skaal run`` starts -- on AWS,
EventBridge and the SQS event source mapping are the scheduler and the
workers.

Collaborators are injected (the app, the plan, the runtime opener), so tests
invoke the handler in-process with real event payloads.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skaal.errors import SkaalRuntimeError
from skaal.hosts.aws_lambda.http_api import call_asgi, is_http_event, scope_from_event
from skaal.hosts.aws_lambda.rest_api import call_rest, is_rest_event
from skaal.hosts.aws_lambda.sqs_event import decode_body, is_sqs_event
from skaal.plan.wiring import MIGRATE_KEY
from skaal.runtime.tracing import function_span

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime

__all__ = [
    "FUNCTION_ENV",
    "MIGRATE_KEY",
    "SCHEDULE_KEY",
    "LambdaHandler",
]

log = logging.getLogger("skaal.hosts.aws_lambda")

FUNCTION_ENV = "SKAAL_FUNCTION"
"""The declared function a Lambda runs for non-HTTP triggers (consumer, schedule)."""


SCHEDULE_KEY = "skaal_schedule"
"""The key of the input EventBridge Scheduler sends: the scheduled function's name."""

RuntimeOpener = Callable[[], AbstractAsyncContextManager["Runtime"]]


class LambdaHandler:
    """A callable ``(event, context) -> response`` for every Lambda of one app."""

    def __init__(
        self,
        app: App,
        plan: Plan,
        *,
        open_runtime: RuntimeOpener | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.plan = plan
        self.env: Mapping[str, str] = os.environ if env is None else env
        self._open_runtime = open_runtime or self._default_opener
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stack: AsyncExitStack | None = None
        self._runtime: Runtime | None = None
        self._asgi: Starlette | None = None

    @classmethod
    def from_ref(cls, app_ref: str, *, lock: str | Path = "skaal.lock") -> LambdaHandler:
        """The handler of the app at ``module:attr``, with the plan in ``lock``.

        ``lock`` is relative to this Lambda's code root (``LAMBDA_TASK_ROOT``).
        """
        from skaal.declare.app import App
        from skaal.plan.lock import read_lock

        root = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path.cwd())
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        module_name, _, attr = app_ref.partition(":")
        app = getattr(importlib.import_module(module_name), attr or "app")
        if not isinstance(app, App):
            raise SkaalRuntimeError(f"{app_ref} is not a skaal App", where=app_ref)
        plan = read_lock(root / lock)
        if plan is None:
            raise SkaalRuntimeError(
                f"no plan at {root / lock}",
                where=str(root / lock),
                fix="rebuild the artifact so it ships the lock",
                command="skaal build --target aws",
            )
        return cls(app, plan)

    def _default_opener(self) -> AbstractAsyncContextManager[Runtime]:
        from skaal.runtime.runtime import Runtime

        return Runtime.open(self.app, self.plan, env=self.env, data_dir=Path("/tmp") / "skaal")

    # -- invocation ------------------------------------------------------------------

    def __call__(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        loop = self._event_loop()
        return loop.run_until_complete(self.handle(event, context))

    async def handle(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        """Dispatch ``event`` by its shape (see the module docstring).

        When the runtime traces, the spans of the invocation are exported
        before it returns: Lambda freezes the container between invocations,
        so a batching exporter would otherwise hold them until the next one.
        A migration step stops before the call's time runs out, as Lambda's
        ``context`` tells it (``get_remaining_time_in_millis``).
        """
        if MIGRATE_KEY in event:
            from skaal.migrate.remote import run_step

            return await run_step(
                self.app.blueprint(),
                self.plan,
                event[MIGRATE_KEY],
                env=self.env,
                data_dir=Path("/tmp") / "skaal",
                remaining=_time_left(context),
            )
        runtime = await self._ensure_runtime()
        try:
            return await self._dispatch(runtime, event)
        finally:
            if runtime.telemetry is not None:
                runtime.telemetry.flush()

    async def _dispatch(self, runtime: Runtime, event: Mapping[str, Any]) -> dict[str, Any]:
        if is_http_event(event):
            return await call_asgi(self._asgi, scope_from_event(event))
        if is_rest_event(event):
            return await call_rest(self._asgi, event)
        with runtime.activate():
            if is_sqs_event(event):
                return await self._consume(runtime, event)
            if SCHEDULE_KEY in event:
                return await self._run_schedule(runtime, str(event[SCHEDULE_KEY]))
            if event.get("detail-type") == "Scheduled Event":
                name = self._function_name("a scheduled event")
                return await self._run_schedule(runtime, name)
        raise SkaalRuntimeError(
            f"the Lambda received an event it does not handle (keys: {sorted(event)})",
            fix="invoke it through its API, its queue or its schedule",
        )

    async def close(self) -> None:
        """Close the runtime (tests; Lambda simply freezes the container)."""
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = self._runtime = self._asgi = None

    def shutdown(self) -> None:
        """Close the runtime and the handler's event loop."""
        if self._loop is not None:
            self._loop.run_until_complete(self.close())
            self._loop.close()
            self._loop = None

    # -- internals -------------------------------------------------------------------

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop

    async def _ensure_runtime(self) -> Runtime:
        if self._runtime is not None:
            return self._runtime
        from skaal.serve.app import ServeState, build_asgi

        stack = AsyncExitStack()
        runtime = await stack.enter_async_context(self._open_runtime())
        self._stack, self._runtime = stack, runtime

        def no_lifespan() -> AbstractAsyncContextManager[Any]:
            raise SkaalRuntimeError("the Lambda opens the runtime itself; no lifespan")

        self._asgi = build_asgi(self.app, no_lifespan, state=ServeState(runtime=runtime))
        return runtime

    def _function_name(self, what: str) -> str:
        name = self.env.get(FUNCTION_ENV)
        if not name:
            raise SkaalRuntimeError(
                f"the Lambda received {what} but {FUNCTION_ENV} is not set",
                fix=f"set {FUNCTION_ENV} to the declared function this Lambda runs",
                command="skaal build --target aws",
            )
        return name

    async def _consume(self, runtime: Runtime, event: Mapping[str, Any]) -> dict[str, Any]:
        from skaal.declare.resources import Queue, Topic, type_arguments
        from skaal.runtime.codecs import ValueCodec
        from skaal.serve.workers import call_handler

        name = self._function_name("an SQS batch")
        spec = next((s for s in runtime.blueprint.resources if s.name == name), None)
        source = None if spec is None else (spec.consumes or spec.subscribes)
        objects = self.app.declared_objects()
        handler = objects.get((name, "function"))
        if spec is None or source is None or not callable(handler):
            raise SkaalRuntimeError(
                f"{name} is not a queue consumer or topic subscriber of app {self.plan.app!r}",
                where=FUNCTION_ENV,
                fix="rebuild and redeploy: the Lambda and the app disagree",
                command="skaal build --target aws",
            )
        declared = (
            objects.get((source, "queue")) if spec.consumes else objects.get((source, "topic"))
        )
        base = Queue if spec.consumes else Topic
        (message_type,) = type_arguments(declared, base) if isinstance(declared, type) else (Any,)
        codec: ValueCodec[Any] = ValueCodec(message_type, resource=source)
        failures: list[dict[str, str]] = []
        trigger = "queue" if spec.consumes else "topic"
        for record in event["Records"]:
            message_id = str(record.get("messageId", ""))
            try:
                with function_span(runtime.telemetry, name, trigger):
                    message = codec.decode(decode_body(record), key=message_id)
                    await call_handler(handler, message)
            except Exception:
                log.exception("%s: message %s failed", name, message_id)
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}

    async def _run_schedule(self, runtime: Runtime, name: str) -> dict[str, Any]:
        from skaal.serve.discover import entrypoints
        from skaal.serve.workers import call_handler

        found = {f.name: f for f in entrypoints(self.app).schedules}
        function = found.get(name)
        if function is None:
            raise SkaalRuntimeError(
                f"{name} is not a scheduled function of app {self.plan.app!r}",
                where=SCHEDULE_KEY,
                fix=f"scheduled functions: {', '.join(sorted(found)) or 'none'}",
            )
        with function_span(runtime.telemetry, name, "schedule"):
            await call_handler(function.fn)
        return {"ran": name}


def _time_left(context: object) -> Callable[[], float] | None:
    """The seconds the invocation has left, from Lambda's context (``None``: not told)."""
    millis = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(millis):
        return None
    return lambda: float(millis()) / 1000.0
