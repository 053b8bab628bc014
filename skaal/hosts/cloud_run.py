"""The running half of the gcp artifact: what its generated ``main.py`` serves on Cloud Run.

The image runs ``python main.py``, which hands the artifact folder to
:class:`CloudRunArtifact`.  Loading is the local artifact's
(:class:`skaal.hosts.local.LocalArtifact`: the shipped app and lock,
checked against the hashes recorded at build time; never re-planned).
Serving differs because Cloud Run scales to zero: nothing may run in the
background, so schedules and queue consumers are HTTP endpoints that Cloud
Scheduler and Pub/Sub push call.  Every service is private; the API
Gateway (:mod:`~skaal.builder.targets.gcp_gateway`) is the public address.
``SKAAL_CLOUD_RUN_ROLE`` picks the role:

``web``
    ``/docs``, ``/openapi.json`` (listing every HTTP function) and the
    mounted apps -- the function routes are not here: each function runs
    in its own service, as its own identity.
``function`` (with ``SKAAL_CLOUD_RUN_FUNCTION`` naming the function)
    an HTTP function: ``/fn/<name>``, as on ``skaal run``;
    a scheduled one: ``POST /_skaal/schedule/<name>`` runs it;
    a consumer or subscriber: ``POST /_skaal/push/<name>`` decodes a
    Pub/Sub push envelope and calls it with the message.  A 2xx answer
    acks the message; an error answers 500, so Pub/Sub redelivers it with
    back-off and, after the subscription's ``max_delivery_attempts``, moves
    it to the dead-letter topic.  A consumer also has
    ``POST /_skaal/promote/<name>``, which receives a delayed message of
    its Pub/Sub queue: one that is due is published to the queue (answer
    204); one that is not is refused with 425, so Pub/Sub offers it again
    after its back-off -- never early.
``migrate``
    the migration runner of a stack with pending moves: ``POST
    /_skaal/migrate`` takes one step of ``skaal migrate --env NAME``
    (``{"skaal_migrate": {...}}``, the event the aws migration function
    receives) and answers what :func:`skaal.migrate.remote.run_step`
    returns.  It opens no runtime: each step opens the two ends of its move.

With ``SKAAL_TRACES=otlp`` (or a :class:`~skaal.runtime.tracing.Telemetry`
given), every call is a function span -- an HTTP request through
:class:`~skaal.serve.tracing.TraceRequests`, a push or a scheduled run
around its handler -- with the storage and queue operations as children.

It listens on ``$PORT`` (Cloud Run sets it) on all interfaces.

``SKAAL_LOCAL_BACKENDS=1`` rebinds every resource to an embedded backend
(sqlite, filesystem, environment secrets, in-memory topics) under
``SKAAL_DATA_DIR``: the same server and routes, runnable without Google
Cloud, e.g. to smoke-test the image on a laptop.  The tests use it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import inspect
import json
import logging
import os
import sys
import typing
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from skaal.builder.layout import HEALTH_PATH
from skaal.builder.targets.gcp_basis import (
    CLOUD_RUN_FUNCTION_ENV,
    CLOUD_RUN_ROLE_ENV,
    PROMOTE_PATH,
    PUSH_PATH,
    SCHEDULE_PATH,
)
from skaal.errors import SkaalError, SkaalRuntimeError
from skaal.hosts.local import LocalArtifact
from skaal.plan.wiring import MIGRATE_KEY, MIGRATE_PATH

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from skaal.declare.app import App
    from skaal.plan.model import Binding, Plan
    from skaal.runtime.tracing import Telemetry

__all__ = [
    "LOCAL_BACKENDS_ENV",
    "MIGRATE_KEY",
    "ROLES",
    "CloudRunArtifact",
    "local_bindings",
    "migrate_app",
]

LOCAL_BACKENDS_ENV = "SKAAL_LOCAL_BACKENDS"
ROLES = ("web", "function", "migrate")


log = logging.getLogger("skaal.serve")

#: Kind -> (backend, implementation) of the embedded stand-in.
_LOCAL: Mapping[str, tuple[str, str]] = {
    "map": ("sqlite", "sqlite"),
    "collection": ("sqlite", "sqlite"),
    "queue": ("sqlite", "sqlite"),
    "blob": ("filesystem", "filesystem"),
    "topic": ("memory", "memory"),
    "secret": ("env", "env"),
    "function": ("process", "process"),
}


def local_bindings(plan: Plan) -> Plan:
    """``plan`` with every resource on its embedded stand-in (same app and blueprint)."""

    def local(binding: Binding) -> Binding:
        backend, implementation = _LOCAL[binding.kind]
        return binding.model_copy(
            update={
                "backend": backend,
                "implementation": implementation,
                "instance": None,
                "region": "local",
            }
        )

    return plan.model_copy(
        update={
            "provider": "local",
            "region": "local",
            "bindings": tuple(local(b) for b in plan.bindings),
            "instances": (),
        }
    )


class CloudRunArtifact(Struct):
    """One built gcp artifact folder, served in one Cloud Run role."""

    root: Path
    app_ref: str
    plan_hash: str
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    telemetry: Telemetry | None = None
    """Trace through this telemetry (tests); ``None``: ``SKAAL_TRACES`` in ``environ`` decides."""

    @property
    def role(self) -> str:
        role = self.environ.get(CLOUD_RUN_ROLE_ENV, "web") or "web"
        if role not in ROLES:
            raise SkaalRuntimeError(
                f"{CLOUD_RUN_ROLE_ENV}={role!r} is not a Cloud Run role",
                where=f"environment variable {CLOUD_RUN_ROLE_ENV}",
                fix=f"set it to one of {', '.join(ROLES)}",
            )
        return role

    @property
    def function(self) -> str | None:
        """The declared function a ``function``-role service runs (``None`` for ``web``)."""
        if self.role != "function":
            return None
        name = self.environ.get(CLOUD_RUN_FUNCTION_ENV, "")
        if not name:
            raise SkaalRuntimeError(
                f"{CLOUD_RUN_ROLE_ENV}=function needs {CLOUD_RUN_FUNCTION_ENV}",
                where=f"environment variable {CLOUD_RUN_FUNCTION_ENV}",
                fix="set it to the name of the declared function this service runs "
                "(the Pulumi program in infra/ sets it)",
            )
        return name

    def _local(self) -> LocalArtifact:
        return LocalArtifact(
            root=self.root, app_ref=self.app_ref, plan_hash=self.plan_hash, environ=self.environ
        )

    def load(self) -> tuple[App, Plan]:
        app, plan = self._local().load()
        if self.environ.get(LOCAL_BACKENDS_ENV) == "1":
            return app, local_bindings(plan)
        return app, plan

    def asgi(self) -> Starlette:
        """The Starlette app of this role; the runtime opens in its lifespan."""
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.routing import Route

        from skaal.serve.app import RuntimeContext, ServeState, mounted_apps
        from skaal.serve.bridge import open_runtime
        from skaal.serve.discover import entrypoints
        from skaal.serve.errors import CatchAllMiddleware, exception_handlers
        from skaal.serve.tracing import TraceRequests
        from skaal.serve.wsgi import close_pools

        function = self.function  # the role is checked before the app is imported
        app, plan = self.load()
        if self.role == "migrate":
            return migrate_app(app, plan, env=self.environ, data_dir=self._local().data_dir)
        found = entrypoints(app)
        state = ServeState()
        local = self._local()
        if function is None:
            mounted = mounted_apps(found)
            routes = _web_routes(found, mounted)
        else:
            mounted = []
            routes = _function_routes(found, state, _declared(found, function))
        routes.append(Route(HEALTH_PATH, _health, methods=["GET"], include_in_schema=False))

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            async with open_runtime(
                app,
                plan,
                data_dir=local.data_dir,
                env=self.environ,
                project_dir=self.root,
                telemetry=self.telemetry,
            ) as runtime:
                state.runtime = runtime
                try:
                    yield
                finally:
                    close_pools(mounted)
                    state.runtime = None

        return Starlette(
            routes=routes,
            middleware=[
                Middleware(RuntimeContext, state=state),
                Middleware(TraceRequests, state=state),
                Middleware(CatchAllMiddleware),
            ],
            exception_handlers=dict(exception_handlers()),
            lifespan=lifespan,
        )

    def main(self, argv: Sequence[str] | None = None) -> int:
        """``python main.py``: serve this role on ``$PORT``; the exit code."""
        import uvicorn

        del argv
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
        try:
            asgi = self.asgi()
            port = int(self.environ.get("PORT", "8080"))
        except (SkaalError, ValueError) as exc:
            text = exc.render() if isinstance(exc, SkaalError) else f"PORT: {exc}"
            print(f"error ({type(exc).__name__}) {text}", file=sys.stderr)
            return exc.exit_code if isinstance(exc, SkaalError) else 2
        host = self.environ.get("HOST", "0.0.0.0")
        log.info("serving the %s role of %s on %s:%d", self.role, self.app_ref, host, port)
        uvicorn.run(asgi, host=host, port=port, lifespan="on", log_level="info")
        return 0


def migrate_app(
    app: App, plan: Plan, *, env: Mapping[str, str], data_dir: Path | None
) -> Starlette:
    """The ``migrate`` role: ``POST /_skaal/migrate`` runs one migration step of ``plan``.

    A body that is not a step answers 400 with the same ``{"error": ...}``
    shape as a refused step, so the operator's side reports it as a
    :class:`~skaal.errors.MigrationError`.
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from skaal.migrate.remote import run_step

    blueprint = app.blueprint()

    async def migrate(request: Request) -> Response:
        try:
            step = json.loads(await request.body())[MIGRATE_KEY]
        except (ValueError, KeyError, TypeError):
            step = None
        if not isinstance(step, dict):
            message = f"the request body is not a migration step ({{{MIGRATE_KEY!r}: {{...}}}})"
            return JSONResponse(
                {"error": {"type": "MigrationError", "message": message}}, status_code=400
            )
        return JSONResponse(await run_step(blueprint, plan, step, env=env, data_dir=data_dir))

    return Starlette(
        routes=[
            Route(MIGRATE_PATH, migrate, methods=["POST"]),
            Route(HEALTH_PATH, _health, methods=["GET"], include_in_schema=False),
        ]
    )


async def _health(request: Request) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse({"status": "ok"})


def _declared(found: Any, function: str) -> str:
    names = {spec.name for spec in found.blueprint.resources if spec.kind == "function"}
    if function not in names:
        raise SkaalRuntimeError(
            f"{CLOUD_RUN_FUNCTION_ENV}={function!r} is not a function of the app",
            where=f"environment variable {CLOUD_RUN_FUNCTION_ENV}",
            fix=f"set it to one of {', '.join(sorted(names))}",
        )
    return function


def _web_routes(found: Any, mounted: list[Any]) -> list[BaseRoute]:
    from skaal.serve.app import http_endpoints, public_routes

    # the document lists every function; each one is served by its own service
    return public_routes(found, http_endpoints(found), mounted, serve_functions=False)


def _function_routes(found: Any, state: Any, name: str) -> list[BaseRoute]:
    """The routes of the service running only the declared function ``name``."""
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from skaal.serve.app import http_endpoints
    from skaal.serve.bridge import function_span
    from skaal.serve.routes import function_routes
    from skaal.serve.workers import call_handler

    routes: list[BaseRoute] = list(
        function_routes([e for e in http_endpoints(found) if e.name == name])
    )
    schedule_fn = next((f.fn for f in found.schedules if f.name == name), None)

    async def schedule(request: Request) -> Response:
        assert schedule_fn is not None
        with function_span(state.runtime, name, "schedule"):
            await call_handler(schedule_fn)
        return Response(status_code=204)

    async def push(request: Request) -> Response:
        handler = _push_handler(state.runtime, name)
        if handler is None:
            return JSONResponse({"error": f"{name!r} consumes nothing"}, status_code=404)
        try:
            message = _decode_push(await request.body(), handler, name)
        except ValueError as exc:
            # a malformed envelope will never decode: ack it (2xx) rather than loop
            log.error("dropping an undecodable push message for %s: %s", name, exc)
            return JSONResponse({"dropped": str(exc)}, status_code=202)
        trigger = "queue" if found.blueprint.resource(name).consumes else "topic"
        with function_span(state.runtime, name, trigger):
            await call_handler(handler, message)
        return Response(status_code=204)

    async def promote(request: Request) -> Response:
        queue = _delayed_queue(state.runtime, name)
        if queue is None:
            return JSONResponse({"error": f"no Pub/Sub queue consumer {name!r}"}, status_code=404)
        try:
            data, attributes, message_id = _push_message(await request.body())
        except ValueError as exc:
            log.error("dropping an undecodable delayed message for %s: %s", name, exc)
            return JSONResponse({"dropped": str(exc)}, status_code=202)
        if await queue.promote_one(data, attributes, message_id):
            return Response(status_code=204)
        return JSONResponse({"not_before": attributes.get("skaal-not-before")}, status_code=425)

    if schedule_fn is not None:
        routes.append(Route(SCHEDULE_PATH + name, schedule, methods=["POST"]))
    spec = found.blueprint.resource(name)
    if spec.consumes is not None or spec.subscribes is not None:
        routes.append(Route(PUSH_PATH + name, push, methods=["POST"]))
    if spec.consumes is not None:
        routes.append(Route(PROMOTE_PATH + name, promote, methods=["POST"]))
    return routes


def _delayed_queue(runtime: Any, name: str) -> Any:
    """The Pub/Sub queue consumed by consumer ``name``, or ``None``."""
    from skaal.runtime.backends.pubsub_queue import PubsubQueue

    for consumer in runtime.consumers():
        if consumer.spec.name == name and isinstance(consumer.queue.backend, PubsubQueue):
            return consumer.queue.backend
    return None


def _push_message(body: bytes) -> tuple[bytes, dict[str, str], str]:
    """Data, attributes and id of the message in a Pub/Sub push envelope."""
    try:
        message = json.loads(body)["message"]
        data = base64.b64decode(message.get("data", ""), validate=True)
        attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
        return data, attributes, str(message["messageId"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ValueError(f"not a Pub/Sub push envelope ({exc})") from None


def _push_handler(runtime: Any, name: str) -> Callable[..., Any] | None:
    for item in (*runtime.consumers(), *runtime.subscribers()):
        if item.spec.name == name:
            handler: Callable[..., Any] = item.handler
            return handler
    return None


def _decode_push(body: bytes, handler: Callable[..., Any], name: str) -> Any:
    """The message of a Pub/Sub push envelope, as the handler's first parameter's type."""
    from skaal.runtime.codecs import ValueCodec

    try:
        envelope = json.loads(body)
        data = base64.b64decode(envelope["message"]["data"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(f"not a Pub/Sub push envelope ({exc})") from None
    params = list(inspect.signature(handler).parameters)
    hints = typing.get_type_hints(handler)
    tp = hints.get(params[0], Any) if params else Any
    try:
        return ValueCodec(tp, resource=name).decode(data)
    except SkaalError as exc:
        raise ValueError(str(exc)) from None
