"""The ASGI application ``skaal run`` serves, built from an App and a runtime.

Layout of the Starlette app::

    GET      /                   -> redirect to /docs
    GET      /docs               the interactive docs page (skaal.serve.docs_page)
    GET      /openapi.json       the OpenAPI document (skaal.serve.openapi)
    POST/GET /fn/<name>          one route per @app.function (skaal.serve.routes)
    *        <mount path>/...    each app.mount(path, application): ASGI as it is,
                                 WSGI through skaal.serve.wsgi (its own threads)
    GET      /_skaal/            the local dashboard and its JSON API under /_skaal/api/
                                 (skaal.serve.dashboard; only with dashboard=True)

Middleware, outermost first: :class:`~skaal.serve.hosts.HostGuard` (only
when a :class:`~skaal.serve.hosts.HostPolicy` is given, as ``skaal run``
does) refuses requests whose ``Host`` or ``Origin`` is not this server's;
:class:`RuntimeContext` makes the runtime
active (its ContextVar set) for every request, including requests to mounted
apps, since uvicorn runs each request in a task that does not inherit the
lifespan's context; :class:`~skaal.serve.tracing.TraceRequests`
makes every call a function span when the runtime was opened with
telemetry; :class:`~skaal.serve.errors.CatchAllMiddleware` turns any
escaping exception into a JSON 500 with an error id.  Function calls read
at most ``max_body`` bytes of JSON (:mod:`skaal.serve.body`).

Lifespan: open the runtime (the caller's factory; normally
:meth:`skaal.runtime.Runtime.open` on the plan), start the scheduler and one
worker per consumer; on shutdown stop the scheduler, drain the workers
(bounded by ``drain_timeout``) and close the runtime, which closes every
backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from skaal._version import __version__
from skaal.blueprint.fire_times import schedule_for
from skaal.serve import bridge
from skaal.serve.body import DEFAULT_MAX_BODY
from skaal.serve.dashboard import dashboard_routes
from skaal.serve.discover import Entrypoints, entrypoints
from skaal.serve.docs_page import docs_html
from skaal.serve.errors import CatchAllMiddleware, exception_handlers
from skaal.serve.hosts import HostGuard, HostPolicy
from skaal.serve.openapi import openapi_document
from skaal.serve.routes import Endpoint, build_endpoint, function_routes
from skaal.serve.scheduler import Clock, Job, Scheduler
from skaal.serve.state import ServeState
from skaal.serve.tracing import TraceRequests
from skaal.serve.workers import call_handler
from skaal.serve.wsgi import WsgiApp, close_pools

if TYPE_CHECKING:
    from skaal.declare.app import App
    from skaal.serve.dashboard.traces import TraceLog

__all__ = ["RuntimeContext", "ServeState", "build_asgi", "mounted_apps"]

log = logging.getLogger("skaal.serve")

RuntimeFactory = Callable[[], AbstractAsyncContextManager[Any]]


class RuntimeContext:
    """Activate the runtime around every request (HTTP and WebSocket)."""

    def __init__(self, app: ASGIApp, state: ServeState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.state.runtime
        if runtime is None or scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        with bridge.activate(runtime):
            await self.app(scope, receive, send)


def http_endpoints(found: Entrypoints, *, max_body: int = DEFAULT_MAX_BODY) -> list[Endpoint]:
    """One validated endpoint per HTTP function of the app."""
    return [build_endpoint(f, max_body=max_body) for f in found.http]


def mounted_apps(found: Entrypoints) -> list[Any]:
    """The ASGI app serving each mount of ``found``, in order (WSGI ones adapted)."""
    return [
        WsgiApp(m.app, threads=m.threads) if m.interface == "wsgi" else m.app for m in found.mounts
    ]


def public_routes(
    found: Entrypoints,
    endpoints: list[Endpoint],
    mounted: list[Any] | None = None,
    *,
    serve_functions: bool = True,
) -> list[BaseRoute]:
    """What a user reaches over HTTP: the OpenAPI document, ``/docs``, every HTTP
    function, the mounted apps (``mounted``: :func:`mounted_apps` unless given),
    and ``/`` redirecting to the docs (unless mounted).

    ``serve_functions=False`` leaves the function routes out (the document
    still lists them): a host that runs each function elsewhere.
    """
    if mounted is None:
        mounted = mounted_apps(found)
    title = found.blueprint.app
    document = openapi_document(
        title=title,
        version=__version__,
        endpoints=endpoints,
        mounts=[m.path for m in found.mounts],
    )
    page = docs_html(title=title)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def docs(request: Request) -> Response:
        return HTMLResponse(page)

    async def home(request: Request) -> Response:
        return RedirectResponse("/docs")

    routes: list[BaseRoute] = [
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        Route("/docs", docs, methods=["GET"], include_in_schema=False),
        *(function_routes(endpoints) if serve_functions else ()),
        *[Mount(m.path, app=asgi) for m, asgi in zip(found.mounts, mounted, strict=True)],
    ]
    if not any(m.path == "/" for m in found.mounts):
        routes.append(Route("/", home, methods=["GET"], include_in_schema=False))
    return routes


def build_asgi(
    app: App,
    runtime: RuntimeFactory,
    *,
    clock: Clock | None = None,
    drain_timeout: float = 10.0,
    state: ServeState | None = None,
    hosts: HostPolicy | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    dashboard: bool = False,
    traces: TraceLog | None = None,
) -> Starlette:
    """The Starlette app serving ``app`` with the runtime ``runtime()`` opens.

    ``hosts`` turns on the ``Host``/``Origin`` checks of a local server;
    ``max_body`` bounds a function call's body in bytes; ``dashboard`` serves
    the local dashboard at ``/_skaal/``, its requests view reading ``traces``.
    """
    found = entrypoints(app)
    shared = state or ServeState()
    endpoints = http_endpoints(found, max_body=max_body)
    mounted = mounted_apps(found)
    routes = public_routes(found, endpoints, mounted)
    if dashboard:
        routes = [*dashboard_routes(found, shared, traces), *routes]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with runtime() as opened:
            shared.runtime = opened
            with bridge.activate(opened):
                try:
                    await _start(found, opened, shared, clock)
                    yield
                finally:
                    await _stop(shared, drain_timeout)
                    close_pools(mounted)
                    shared.runtime = None

    middleware = [
        Middleware(RuntimeContext, state=shared),
        Middleware(CatchAllMiddleware),
    ]
    middleware.insert(1, Middleware(TraceRequests, state=shared))
    if hosts is not None:
        middleware.insert(0, Middleware(HostGuard, policy=hosts))
    starlette = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=dict(exception_handlers()),
        lifespan=lifespan,
    )
    starlette.state.skaal = shared
    starlette.state.endpoints = endpoints
    return starlette


async def _start(found: Entrypoints, runtime: Any, state: ServeState, clock: Clock | None) -> None:
    now = datetime.now(UTC) if clock is None else clock.now()
    jobs = [
        Job(
            name=f.name,
            run=_job(f.fn, f.name, runtime),
            times=schedule_for(f.spec.schedule, anchor=now),
        )
        for f in found.schedules
        if f.spec.schedule is not None
    ]
    state.scheduler = Scheduler(jobs, clock=clock)
    state.scheduler.start()
    state.workers = bridge.workers(runtime)
    for worker in state.workers:
        worker.start()
    if jobs or state.workers:
        log.info("started %d schedule(s) and %d consumer(s)", len(jobs), len(state.workers))


def _job(fn: Callable[..., Any], name: str, runtime: Any) -> Callable[[], Any]:
    async def run() -> None:
        with bridge.function_span(runtime, name, "schedule"):
            await call_handler(fn)

    return run


async def _stop(state: ServeState, drain_timeout: float) -> None:
    if state.scheduler is not None:
        await state.scheduler.stop(timeout=drain_timeout)
        state.scheduler = None
    await asyncio.gather(*(w.stop(timeout=drain_timeout) for w in state.workers))
    state.workers = []


def endpoints_of(asgi: Starlette) -> list[Endpoint]:
    """The function endpoints of an app built by :func:`build_asgi`."""
    found: list[Endpoint] = asgi.state.endpoints
    return found
