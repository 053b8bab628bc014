"""The running half of the local artifact: what its generated ``serve.py`` calls.

``skaal build --target local`` writes a folder holding the app's sources
(``src/``), its lock (``skaal.lock``) and a three-line ``serve.py`` that
hands both to :class:`LocalArtifact`.  Kept next to the generator that emits
that call, so the two change together.

It serves the app exactly like ``skaal run`` (:mod:`skaal.serve`: the same
ASGI app, routes, docs, schedules and consumers), with one difference: it
never plans.  The backends are the ones the shipped lock names, and the app
must still declare what the lock was planned for -- a lock whose hash is not
the one the build recorded, or an app whose blueprint hash differs from the
plan's, is refused with the command that fixes it.

* ``python serve.py [--host H] [--port P]`` opens the runtime first (a
  missing secret is a clean error, not a traceback), then serves on a socket
  it bound itself, like ``skaal run``.
* ``uvicorn serve:app`` serves the module-level ASGI app; the runtime opens
  in the lifespan.

Data lives in ``SKAAL_DATA_DIR`` (relative to the artifact folder), default
``data/`` next to ``serve.py``; secrets come from the environment or ``.env``
in the artifact folder.

An artifact built for an environment (``skaal build --env staging``) is
given its name and ``config`` by ``serve.py`` and runs as that environment,
like ``skaal run --env staging``: ``SKAAL_ENV`` is set (physical names, key
prefixes, schemas and the SQLite file start with ``<app>-<env>``) and the
config variables are set unless the process environment already sets them.
A process whose ``SKAAL_ENV`` names another environment is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from msgspec import Struct, field

from skaal.builder.layout import APP_DIR, DEFAULT_DATA_DIR, LOCK_NAME
from skaal.declare.app_ref import load_app
from skaal.errors import SkaalError, SkaalRuntimeError
from skaal.plan.lock import read_lock
from skaal.plan.naming import ENV_VARIABLE
from skaal.plan.wiring import data_dir_from_env
from skaal.serve.app import build_asgi
from skaal.serve.bridge import open_runtime, retry_delay_from_env
from skaal.serve.hosts import HostPolicy
from skaal.serve.server import bind_socket

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime

__all__ = ["LocalArtifact"]

log = logging.getLogger("skaal.serve")


class LocalArtifact(Struct):
    """One built local artifact folder: its app, its lock, its data."""

    root: Path
    app_ref: str
    plan_hash: str
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    env_name: str = ""
    """The environment the artifact was built for; ``""`` outside one."""
    config: tuple[tuple[str, str], ...] = ()
    """That environment's ``config`` variables (the process environment wins)."""
    _loaded: tuple[App, Plan] | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / (data_dir_from_env(self.environment()) or DEFAULT_DATA_DIR)

    def environment(self) -> dict[str, str]:
        """The variables the app runs with: the config, the process's, then ``SKAAL_ENV``."""
        if not self.env_name:
            return dict(self.environ)
        found = self.environ.get(ENV_VARIABLE, "")
        if found and found != self.env_name:
            raise SkaalRuntimeError(
                f"this artifact was built for environment {self.env_name!r}, "
                f"but {ENV_VARIABLE} is {found!r}",
                where=f"environment variable {ENV_VARIABLE}",
                fix=f"unset {ENV_VARIABLE}, or build the artifact for {found!r}",
                command=f"skaal build --target local --env {found}",
            )
        return {**dict(self.config), **self.environ, ENV_VARIABLE: self.env_name}

    def _export(self) -> None:
        """Make the environment's variables visible to the app's own code (``os.environ``)."""
        if self.environ is os.environ:
            for key, value in self.environment().items():
                os.environ.setdefault(key, value)

    def load(self) -> tuple[App, Plan]:
        """Import the shipped app and read the shipped lock, checking both (once)."""
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self) -> tuple[App, Plan]:
        lock_path = self.root / LOCK_NAME
        plan = read_lock(lock_path)
        if plan is None or plan.content_hash() != self.plan_hash:
            raise SkaalRuntimeError(
                "the lock in this artifact is missing or is not the one it was built with",
                where=str(lock_path),
                fix="rebuild the artifact instead of editing it",
                command="skaal build --target local",
            )
        app_dir = self.root / APP_DIR
        if str(app_dir) not in sys.path:
            sys.path.insert(0, str(app_dir))
        app = load_app(self.app_ref, cwd=app_dir)
        if app.blueprint().content_hash() != plan.blueprint_hash:
            raise SkaalRuntimeError(
                f"the app in this artifact no longer declares what {LOCK_NAME} was planned for",
                where=str(app_dir),
                fix="plan and build again from the project",
                command="skaal plan && skaal build --target local",
            )
        return app, plan

    def asgi(self) -> Starlette:
        """The ASGI app for ``uvicorn serve:app``; the runtime opens in its lifespan."""
        self._export()
        app, plan = self.load()
        return build_asgi(
            app,
            lambda: open_runtime(
                app,
                plan,
                data_dir=self.data_dir,
                env=self.environment(),
                project_dir=self.root,
                retry_delay=self._retry_delay(),
            ),
        )

    def _retry_delay(self) -> float | None:
        return retry_delay_from_env(self.environment())

    def serve(self, *, host: str, port: int) -> None:
        """Open the runtime, then serve until interrupted (like ``skaal run``)."""

        app, plan = self.load()
        sock = bind_socket(host, port)

        async def main() -> None:
            async with open_runtime(
                app,
                plan,
                data_dir=self.data_dir,
                env=self.environment(),
                project_dir=self.root,
                retry_delay=self._retry_delay(),
            ) as runtime:

                @contextlib.asynccontextmanager
                async def already_open() -> AsyncIterator[Runtime]:
                    yield runtime

                # a local server: answer only requests naming it (skaal.serve.hosts)
                asgi = build_asgi(app, already_open, hosts=HostPolicy.for_address(host))
                config = uvicorn.Config(asgi, lifespan="on", log_level="info")
                shown = f"[{host}]" if ":" in host else host
                log.info("serving %s on http://%s:%d", plan.app, shown, port)
                await uvicorn.Server(config).serve(sockets=[sock])

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()

    def main(self, argv: Sequence[str] | None = None) -> int:
        """``python serve.py``: parse the options, serve, and return the exit code."""
        parser = argparse.ArgumentParser(description=f"Serve the app {self.app_ref}.")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument(
            "--port",
            type=int,
            default=int(self.environ.get("PORT", "8000")),
            help="port to listen on [default: $PORT or 8000]",
        )
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
        try:
            self._export()
            self.serve(host=args.host, port=args.port)
        except SkaalError as exc:
            print(f"error ({type(exc).__name__}) {exc.render()}", file=sys.stderr)
            return exc.exit_code
        return 0
