"""``AppClient``: test a Skaal app in-process, the way you test a FastAPI app.

::

    from skaal.testing import AppClient

    async def test_increment() -> None:
        async with AppClient(app) as client:
            response = await client.post("/fn/increment", json={"name": "a"})
            assert response.json() == 1
            assert await client.runtime.client(Counters).get("a") == 1

Each client plans the app against the local catalog in memory (no lock file
is read or written), opens a fresh runtime on a temporary data directory
(removed on exit) unless ``data_dir`` is given, and serves the very ASGI app
``skaal run`` serves, through ``httpx.ASGITransport``: no socket, no server.
Schedules and consumers run as they would under ``skaal run``; pass
``clock=`` to drive the scheduler with a fake clock.  Two clients never share
data, so tests can run side by side.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from skaal.catalog import catalog_for_target
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.serve.app import ServeState, build_asgi
from skaal.serve.bridge import open_runtime

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from skaal.declare.app import App
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime
    from skaal.serve.app import ServeState
    from skaal.serve.scheduler import Clock

__all__ = ["AppClient"]


class AppClient:
    """An in-process HTTP client for ``app`` with isolated local backends."""

    def __init__(
        self,
        app: App,
        *,
        data_dir: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        plan: Plan | None = None,
        clock: Clock | None = None,
        base_url: str = "http://testserver",
    ) -> None:
        self.app = app
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._env = env
        self._plan = plan
        self._clock = clock
        self._base_url = base_url
        self._stack: AsyncExitStack | None = None
        self._http: httpx.AsyncClient | None = None
        self._state: ServeState | None = None
        self.asgi: Starlette | None = None
        self.data_dir: Path | None = None

    async def __aenter__(self) -> AppClient:

        plan = self._plan or _plan_in_memory(self.app)
        async with AsyncExitStack() as stack:
            if self._data_dir is None:
                self.data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            else:
                self.data_dir = self._data_dir
            data_dir = self.data_dir
            self._state = ServeState()
            self.asgi = build_asgi(
                self.app,
                lambda: open_runtime(self.app, plan, data_dir=data_dir, env=self._env),
                clock=self._clock,
                state=self._state,
            )
            await stack.enter_async_context(self.asgi.router.lifespan_context(self.asgi))
            transport = httpx.ASGITransport(app=self.asgi, raise_app_exceptions=False)
            self._http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=self._base_url)
            )
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._http = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying ``httpx.AsyncClient``."""
        if self._http is None:
            raise RuntimeError("use AppClient inside `async with AppClient(app) as client:`")
        return self._http

    @property
    def runtime(self) -> Runtime:
        """The runtime serving the app: ``client.runtime.client(Counters)``."""
        runtime = None if self._state is None else self._state.runtime
        if runtime is None:
            raise RuntimeError("use AppClient inside `async with AppClient(app) as client:`")
        found: Runtime = runtime
        return found

    @property
    def state(self) -> ServeState:
        """The scheduler and workers the app runs (for assertions)."""
        if self._state is None:
            raise RuntimeError("use AppClient inside `async with AppClient(app) as client:`")
        return self._state

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.put(url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.delete(url, **kwargs)

    async def call(self, function: str, /, **arguments: Any) -> Any:
        """POST to ``/fn/<function>`` and return the decoded JSON; raises on non-2xx."""
        response = await self.post(f"/fn/{function}", json=arguments)
        response.raise_for_status()
        return response.json()


def _plan_in_memory(app: App) -> Plan:
    outcome = plan_blueprint(app.blueprint(), catalog_for_target("local"), lock=MemoryLockStore())
    return outcome.plan
