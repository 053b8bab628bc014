"""Run the app under uvicorn: plan locally, open the runtime, serve.

:func:`plan_local` (:mod:`skaal.serve.local_plan`) honours the lock: the
plan it holds, or a re-plan against the catalog it was planned with, never
a silent swap to another catalog.  A lock planned for another provider
(``skaal plan --target aws``) is left untouched: the local plan is then made
in memory.

:func:`serve` binds the listening socket itself (so "port already in use" is
a :class:`~skaal.errors.UsageError`, not a traceback), opens the runtime
*before* uvicorn starts (so a missing secret or a stale plan is reported as
a clean error), then hands the socket and the app to uvicorn.  The app
checks ``Host`` and ``Origin`` against the bound address
(:mod:`skaal.serve.hosts`) and bounds function bodies to ``max_body``.

With ``--reload`` uvicorn's supervisor watches the project with watchfiles
and restarts a child process on every change; the child imports
:func:`reload_factory`, which rebuilds everything (import, plan, runtime)
from the settings passed in environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from msgspec import Struct, field
from msgspec.structs import asdict

from skaal.builder.inputs import load_catalog_for
from skaal.declare.app_ref import load_app
from skaal.errors import UsageError
from skaal.serve.app import build_asgi
from skaal.serve.body import DEFAULT_MAX_BODY
from skaal.serve.bridge import open_runtime
from skaal.serve.dashboard.traces import local_telemetry
from skaal.serve.hosts import HostPolicy
from skaal.serve.local_plan import plan_local

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime

__all__ = ["RunSettings", "bind_socket", "plan_local", "reload_factory", "serve"]

log = logging.getLogger("skaal.serve")

_SETTINGS_ENV = "SKAAL_RUN_SETTINGS"


class RunSettings(Struct, frozen=True):
    """Everything ``skaal run`` was asked for (JSON-serialisable for ``--reload``)."""

    app_ref: str | None
    cwd: str
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str | None = None
    lock: str = "skaal.lock"
    catalog: str | None = None
    """The catalog to plan against when there is no lock (an environment's), else local."""
    environ: dict[str, str] = field(default_factory=dict)
    """Variables the runtime gets on top of the process's (an environment's)."""
    retry_delay: float | None = None
    """Base of the queues' retry back-off in seconds (``SKAAL_QUEUE_RETRY_DELAY``)."""
    max_body: int = DEFAULT_MAX_BODY
    """Bytes a function call's JSON body may have (``--max-body``)."""
    allowed_hosts: tuple[str, ...] = ()
    """``Host`` names accepted besides loopback and the bound address (``--allow-host``)."""
    allowed_origins: tuple[str, ...] = ()
    """Cross-site ``Origin`` values accepted (``--allow-origin``)."""

    def host_policy(self) -> HostPolicy:
        """The ``Host``/``Origin`` checks for this server (:mod:`skaal.serve.hosts`)."""
        return HostPolicy.for_address(
            self.host, allowed_hosts=self.allowed_hosts, allowed_origins=self.allowed_origins
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a ``UsageError`` if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections
    # (with proto 0 it does not, and Nagle + delayed ACKs add ~40 ms a response)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is already in use",
                where=f"--host {host} --port {port}",
                fix="stop the other server, or pick another port: skaal run --port 8001",
            ) from None
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            where=f"--host {host} --port {port}",
            fix="use an address of this machine, e.g. --host 127.0.0.1",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _runtime_env(settings: RunSettings) -> dict[str, str] | None:
    """The runtime's variables: the process's, plus the environment's (``None``: the process's)."""
    return {**os.environ, **settings.environ} if settings.environ else None


def _load(settings: RunSettings) -> tuple[App, Plan, Path | None]:
    cwd = Path(settings.cwd)
    app = load_app(settings.app_ref, cwd=cwd)
    catalog = None
    if settings.catalog is not None:
        catalog = load_catalog_for("local", settings.catalog, cwd=cwd)
    plan, notes = plan_local(app, cwd=cwd, lock=settings.lock, catalog=catalog)
    for note in notes:
        log.warning("%s", note)
    data_dir = Path(settings.data_dir) if settings.data_dir else None
    return app, plan, data_dir


def serve(settings: RunSettings) -> None:
    """Plan, open the runtime and serve until interrupted (Ctrl+C drains and closes)."""

    app, plan, data_dir = _load(settings)
    sock = bind_socket(settings.host, settings.port)
    tracing = local_telemetry()

    async def main() -> None:
        cwd = Path(settings.cwd)
        async with open_runtime(
            app,
            plan,
            data_dir=data_dir,
            env=_runtime_env(settings),
            project_dir=cwd,
            retry_delay=settings.retry_delay,
            telemetry=None if tracing is None else tracing[0],
        ) as runtime:

            @contextlib.asynccontextmanager
            async def already_open() -> AsyncIterator[Runtime]:
                yield runtime

            asgi = build_asgi(
                app,
                already_open,
                hosts=settings.host_policy(),
                max_body=settings.max_body,
                dashboard=True,
                traces=None if tracing is None else tracing[1],
            )
            config = uvicorn.Config(asgi, lifespan="on", log_level="info")
            print_banner(settings)
            await uvicorn.Server(config).serve(sockets=[sock])

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        # uvicorn re-raises the signal once it has shut down gracefully
        pass
    finally:
        sock.close()


def serve_reload(settings: RunSettings) -> None:
    """Serve with ``--reload``: a watchfiles supervisor restarts a child on changes."""
    bind_socket(settings.host, settings.port).close()
    os.environ[_SETTINGS_ENV] = json.dumps(asdict(settings))
    print_banner(settings)
    uvicorn.run(
        "skaal.serve.server:reload_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=True,
        reload_dirs=[settings.cwd],
        log_level="info",
    )


def reload_factory() -> Starlette:
    """The app of a ``--reload`` child process, rebuilt from scratch."""
    raw = json.loads(os.environ[_SETTINGS_ENV])
    for name in ("allowed_hosts", "allowed_origins"):  # JSON turned the tuples into lists
        raw[name] = tuple(raw.get(name, ()))
    settings = RunSettings(**raw)
    app, plan, data_dir = _load(settings)
    cwd = Path(settings.cwd)
    tracing = local_telemetry()
    return build_asgi(
        app,
        lambda: open_runtime(
            app,
            plan,
            data_dir=data_dir,
            env=_runtime_env(settings),
            project_dir=cwd,
            retry_delay=settings.retry_delay,
            telemetry=None if tracing is None else tracing[0],
        ),
        hosts=settings.host_policy(),
        max_body=settings.max_body,
        dashboard=True,
        traces=None if tracing is None else tracing[1],
    )


def print_banner(settings: RunSettings) -> None:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{settings.port}"
    log.info(
        "serving on %s  (docs: %s/docs, dashboard: %s/_skaal/, OpenAPI: %s/openapi.json)",
        base,
        base,
        base,
        base,
    )
