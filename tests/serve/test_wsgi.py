"""A mounted Flask (WSGI) app served in-process, using a Skaal ``Map`` through ``skaal.blocking``.

The same Starlette app ``skaal run`` serves runs under ``skaal.testing.AppClient``
(no socket).  The Flask views are plain functions on a2wsgi's worker threads;
``skaal.blocking(Visits.increment(page))`` runs the call on the server's loop.
The Map lives on SQLite always, and on Redis and PostgreSQL when their test
servers run (.ci/services/10-redis.sh, 20-postgres.sh).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from flask import Flask, abort, request, url_for
from redis.asyncio import Redis

from skaal import App, Map, blocking
from skaal.catalog.loader import load_catalog
from skaal.runtime.blocking import BlockingCallError, serving_loop
from skaal.serve.wsgi import WsgiApp
from skaal.solver import solve
from skaal.testing import AppClient

#: backend -> (catalog, variable naming its test server, script starting it)
BACKENDS = {
    "sqlite": ("local", None, None),
    "redis": ("local-servers", "SKAAL_TEST_REDIS_URL", "10-redis.sh"),
    "postgres": ("local-servers", "SKAAL_TEST_POSTGRES_DSN", "20-postgres.sh"),
}


class Legacy:
    """A Skaal app mounting a Flask app whose views count visits in a Map."""

    def __init__(self, backend: str) -> None:
        self.app = App("legacy")
        self.started = threading.Event()
        self.release = threading.Event()

        @self.app.storage(backend=backend, durability="ephemeral")
        class Visits(Map[str, int]): ...

        @self.app.function()
        async def ping() -> str:
            return "pong"

        flask_app = Flask("legacy")

        @flask_app.get("/visit/<page>")
        def visit(page: str) -> dict[str, Any]:
            return {"page": page, "visits": blocking(Visits.increment(page))}

        @flask_app.get("/visits/<page>")
        def visits(page: str) -> dict[str, Any]:
            return {"page": page, "visits": blocking(Visits.get(page)) or 0}

        @flask_app.put("/visits/<page>")
        def set_visits(page: str) -> dict[str, Any]:
            body = request.get_json()
            if not isinstance(body, dict) or not isinstance(body.get("visits"), int):
                abort(400)
            blocking(Visits.set(page, body["visits"]))
            return {"page": page, "visits": body["visits"]}

        @flask_app.get("/where")
        def where() -> dict[str, str]:
            return {"script_root": request.script_root, "link": url_for("visit", page="a")}

        @flask_app.get("/boom")
        def boom() -> str:
            raise RuntimeError("a bug in a legacy view")

        @flask_app.get("/wait")
        def wait() -> str:
            self.started.set()
            return "released" if self.release.wait(10) else "timed out"

        def raw(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            raise RuntimeError("a bug in a bare WSGI app")

        self.app.mount("/legacy", flask_app, threads=2)
        self.app.mount("/raw", raw)
        self.visits = Visits


def _server_env(backend: str) -> dict[str, str]:
    _, variable, script = BACKENDS[backend]
    if variable is None:
        return {}
    address = os.environ.get(variable)
    if not address:
        pytest.skip(f"{variable} not set: start it (see .ci/services/{script})")
    unique = uuid.uuid4().hex[:12]
    if backend == "redis":
        return {"SKAAL_REDIS_URL": address, "SKAAL_REDIS_PREFIX": f"test:{unique}:"}
    return {"SKAAL_POSTGRES_DSN": address, "SKAAL_POSTGRES_SCHEMA": f"test_{unique}"}


async def _drop(backend: str, env: dict[str, str]) -> None:
    if backend == "redis":
        client = Redis.from_url(env["SKAAL_REDIS_URL"])
        keys = [k async for k in client.scan_iter(match=env["SKAAL_REDIS_PREFIX"] + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    elif backend == "postgres":
        conn = await asyncpg.connect(env["SKAAL_POSTGRES_DSN"])
        await conn.execute(f'DROP SCHEMA IF EXISTS "{env["SKAAL_POSTGRES_SCHEMA"]}" CASCADE')
        await conn.close()


@pytest_asyncio.fixture(params=sorted(BACKENDS))
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Legacy, AppClient]]:
    backend: str = request.param
    env = _server_env(backend)
    legacy = Legacy(backend)
    plan = solve(legacy.app.blueprint(), load_catalog(BACKENDS[backend][0]))
    assert plan.binding("Visits").implementation == backend
    try:
        async with AppClient(legacy.app, plan=plan, env=env) as client:
            yield legacy, client
    finally:
        legacy.release.set()
        await _drop(backend, env)


@pytest.mark.asyncio
async def test_flask_views_read_and_write_the_map(served: tuple[Legacy, AppClient]) -> None:
    legacy, client = served
    assert (await client.get("/legacy/visit/home")).json() == {"page": "home", "visits": 1}
    assert (await client.get("/legacy/visit/home")).json() == {"page": "home", "visits": 2}
    assert (await client.get("/legacy/visits/about")).json() == {"page": "about", "visits": 0}
    put = await client.put("/legacy/visits/about", json={"visits": 41})
    assert put.status_code == 200, put.text
    assert (await client.get("/legacy/visit/about")).json()["visits"] == 42
    # the Flask views and async code see the same data
    assert await client.runtime.client(legacy.visits).get("home") == 2
    assert (await client.put("/legacy/visits/x", json={"visits": "many"})).status_code == 400


@pytest.mark.asyncio
async def test_a_chunked_body_without_content_length_reaches_the_view(
    served: tuple[Legacy, AppClient],
) -> None:
    _, client = served

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"visits":'
        yield b" 7}"

    put = await client.put(
        "/legacy/visits/chunked", content=chunks(), headers={"content-type": "application/json"}
    )
    assert put.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in put.request.headers
    assert put.json() == {"page": "chunked", "visits": 7}


@pytest.mark.asyncio
async def test_concurrent_visits_are_all_counted(served: tuple[Legacy, AppClient]) -> None:
    _, client = served
    answers = await asyncio.gather(*(client.get("/legacy/visit/busy") for _ in range(20)))
    assert sorted(a.json()["visits"] for a in answers) == list(range(1, 21))


@pytest.mark.asyncio
async def test_a_blocked_view_does_not_block_the_loop(served: tuple[Legacy, AppClient]) -> None:
    legacy, client = served
    waiting = asyncio.create_task(client.get("/legacy/wait"))
    for _ in range(500):
        if legacy.started.is_set():
            break
        await asyncio.sleep(0.01)
    assert legacy.started.is_set()
    # one of the two WSGI threads is stuck: Skaal functions and the other thread still answer
    assert (await client.post("/fn/ping", json={})).json() == "pong"
    assert (await client.get("/legacy/visit/meanwhile")).json()["visits"] == 1
    assert not waiting.done()
    legacy.release.set()
    assert (await waiting).text == "released"


@pytest.mark.asyncio
async def test_the_mount_path_is_the_script_name(served: tuple[Legacy, AppClient]) -> None:
    _, client = served
    where = await client.get("/legacy/where")
    assert where.json() == {"script_root": "/legacy", "link": "/legacy/visit/a"}
    assert (await client.get("/legacy/nowhere")).status_code == 404  # Flask's own 404
    document = (await client.get("/openapi.json")).json()
    assert document["x-skaal-mounts"] == ["/legacy", "/raw"]


@pytest.mark.asyncio
async def test_exceptions_answer_500_without_leaking(
    served: tuple[Legacy, AppClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = served
    boom = await client.get("/legacy/boom")  # Flask catches its views' errors itself
    assert boom.status_code == 500
    assert "a bug" not in boom.text
    assert "a bug in a legacy view" in caplog.text
    raw = await client.get("/raw/anything")  # a bare WSGI app's error reaches the server
    assert raw.status_code == 500
    assert raw.json()["error"] == "internal"
    assert "a bug" not in raw.text
    assert "a bug in a bare WSGI app" in caplog.text  # logged with its error id


def test_blocking_outside_a_served_request_says_where_to_call_it() -> None:
    legacy = Legacy("sqlite")
    coroutine = legacy.visits.get("a")
    with pytest.raises(BlockingCallError) as info:
        blocking(coroutine)
    text = info.value.render()
    assert "outside a request to a mounted WSGI app" in text
    assert f"{__file__}:" in text
    assert "await the call" in text
    assert coroutine.cr_frame is None  # closed: Python does not warn it was never awaited


@pytest.mark.asyncio
async def test_blocking_on_the_loops_own_thread_is_refused() -> None:
    legacy = Legacy("sqlite")
    with serving_loop(asyncio.get_running_loop()), pytest.raises(BlockingCallError) as info:
        blocking(legacy.visits.get("a"))
    assert "on a thread that runs an event loop" in info.value.render()
    assert "value = await Visits.get(key)" in info.value.render()


@pytest.mark.asyncio
async def test_blocking_runs_any_awaitable_on_the_loop_from_a_thread() -> None:
    loop = asyncio.get_running_loop()

    class Ready:
        def __await__(self) -> Any:
            yield from asyncio.sleep(0).__await__()
            return asyncio.get_running_loop()

    def worker() -> asyncio.AbstractEventLoop:
        with serving_loop(loop):
            found: asyncio.AbstractEventLoop = blocking(Ready())
            return found

    assert await asyncio.to_thread(worker) is loop


@pytest.mark.asyncio
async def test_a_closed_pool_is_started_again_by_the_next_request() -> None:

    def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [environ["SCRIPT_NAME"].encode() or b"-", b" ", environ["PATH_INFO"].encode()]

    served = WsgiApp(hello, threads=1)
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/a")).text == "- /a"
        first = served._adapter
        assert first is not None
        assert first.executor._max_workers == 1
        served.close()
        assert first.executor._shutdown
        assert (await client.get("/b")).text == "- /b"
        assert served._adapter is not None
        assert served._adapter is not first
    served.close()
