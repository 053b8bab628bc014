"""Fuzz every example's HTTP surface: random requests never get a 500, a non-JSON or a huge answer.

Each example is served in-process exactly as ``skaal run --host 127.0.0.1
--port 8000`` serves it (the same ASGI app, ``Host``/``Origin`` policy and
body limit) on a fresh local runtime, and hypothesis sends it requests
mixing methods, paths (its functions, its mounts, ``/docs``, random
ones), content types, ``Host`` and ``Origin`` headers and bodies: JSON of
the function's parameters, any JSON, invalid JSON and UTF-8, binary,
``NaN``, deep nesting and bodies over the limit.

Every answer must be:

* not a 500, unless a function's own code failed in a way the example
  documents (none of them does today);
* strict JSON (no ``NaN``), except the documented non-JSON answers: the
  ``/docs`` page, the ``/`` redirect, ``HEAD`` and the mounted apps' own
  answers (a mounted app speaks for itself; only the ``Host``/``Origin``
  refusals in front of it are checked);
* smaller than :data:`MAX_ANSWER` (a refusal: :data:`MAX_REFUSAL`).

The runs are derandomised, so CI sees the same requests every time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skaal import App
from skaal.catalog import catalog_for_target
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.serve.app import build_asgi, endpoints_of
from skaal.serve.bridge import open_runtime
from skaal.serve.discover import entrypoints
from skaal.serve.hosts import HostPolicy
from tests.examples.test_examples import EXAMPLES, load

LIMIT = 64 * 1024
"""The body limit the examples are served with (small, so oversized bodies stay cheap)."""
MAX_ANSWER = 256 * 1024
MAX_REFUSAL = 16 * 1024
BASE = "http://127.0.0.1:8000"
ENV = {"STRIPE_KEY": "sk_test_fuzz", "WEBHOOK_TOKEN": "dev"}
"""Secrets the examples require."""

#: Answers that are not JSON on purpose: (method, path) -> why.
NOT_JSON = {("GET", "/docs"): "the docs page is HTML", ("GET", "/"): "a redirect to /docs"}

pytestmark = pytest.mark.slow


class Served:
    """An example's ASGI app with its runtime open, on an event loop in a thread.

    Hypothesis calls the test synchronously; each request is handed to the
    loop (one task per request, as uvicorn does) and awaited from here.
    """

    def __init__(self, app: App, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir
        self.loop = asyncio.new_event_loop()
        self.ready: Future[httpx.AsyncClient] = Future()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(),))
        self.paths: list[str] = []
        self.params: dict[str, dict[str, Any]] = {}
        self.mounts = [m.path for m in entrypoints(app).mounts]

    async def _serve(self) -> None:
        try:
            self.stop = asyncio.Event()
            blueprint = self.app.blueprint()
            plan = plan_blueprint(
                blueprint, catalog_for_target("local"), lock=MemoryLockStore()
            ).plan
            asgi = build_asgi(
                self.app,
                lambda: open_runtime(self.app, plan, data_dir=self.data_dir, env=ENV),
                hosts=HostPolicy.for_address("127.0.0.1"),
                max_body=LIMIT,
            )
            for endpoint in endpoints_of(asgi):
                self.paths.append(endpoint.path)
                self.params[endpoint.path] = endpoint.params.model_json_schema()
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(asgi.router.lifespan_context(asgi))
                transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
                client = await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url=BASE, timeout=30)
                )
                self.ready.set_result(client)
                await self.stop.wait()
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            raise

    def __enter__(self) -> Served:
        self.thread.start()
        try:
            self.client = self.ready.result(timeout=60)
        except BaseException:
            self.thread.join(timeout=30)
            self.loop.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)
        self.loop.close()

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        call = self.client.request(method, path, headers=headers, content=body)
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=60)


@contextmanager
def served(example: str, tmp_path: Path) -> Iterator[Served]:
    with Served(load(example), tmp_path / "data") as server:
        yield server


# -- strategies -----------------------------------------------------------------------

_TEXT = st.text(max_size=40)
_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=20,
)
_PATH_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)

JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/problem+json"]
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            *JSON_TYPES,
            "application/json; charset=latin-1",
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "application/octet-stream",
        ]
    ),
    _HEADER_TEXT,
)
HOSTS = st.sampled_from(
    [
        "127.0.0.1:8000",
        "localhost:8000",
        "[::1]:8000",
        "evil.example",
        "127.0.0.1.evil.example:8000",
        "localhost.:8000",
    ]
)
ORIGINS = st.one_of(
    st.none(),
    st.sampled_from(
        ["http://127.0.0.1:8000", "http://evil.example", "null", "http://localhost:3000"]
    ),
    _HEADER_TEXT,
)
METHODS = st.sampled_from(
    ["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
)
SPECIAL_BODIES = st.sampled_from(
    [
        b"",
        b"{}",
        b"[]",
        b"null",
        b'{"x": NaN}',
        b"[Infinity]",
        b'{"a": -Infinity}',
        b'{"n": 1e400}',
        b"\xff\xfe\xfd",
        b'{"a": "\xed\xa0\x80"}',
        b"\xef\xbb\xbf{}",
        b"{" * 10,
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"x": "' + b"y" * (LIMIT + 1) + b'"}',
        b"0" * (LIMIT * 4),
    ]
)


def _from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that mostly fit a parameter's JSON schema (and sometimes do not)."""
    kind = schema.get("type")
    if "anyOf" in schema:
        return st.one_of([_from_schema(s) for s in schema["anyOf"]])
    if kind == "string":
        return st.text(max_size=300)
    if kind == "integer":
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(_from_schema(schema.get("items", {})), max_size=5)
    return _JSON_VALUE


@st.composite
def requests(draw: st.DrawFn, server: Served) -> tuple[str, str, dict[str, str], bytes]:
    """One request: three in four are well-formed calls of a function with a random
    body; the rest mix hostile headers, methods and paths."""
    friendly = draw(st.integers(0, 3)) > 0 and bool(server.paths)
    if friendly:
        path = draw(st.sampled_from(server.paths))
        method = "POST"
        headers = {"host": draw(st.sampled_from(["127.0.0.1:8000", "localhost:8000"]))}
        headers["content-type"] = draw(st.sampled_from(JSON_TYPES))
        if draw(st.booleans()):
            headers["origin"] = "http://" + headers["host"]
    else:
        paths = [*server.paths, "/docs", "/openapi.json", "/", "/fn/", "/fn/nope", "/fn/..%2f"]
        paths += [m.rstrip("/") + "/" + "x" for m in server.mounts]
        path = draw(st.sampled_from(paths) | _PATH_TEXT.map(lambda t: "/" + t))
        method = draw(METHODS)
        headers = {"host": draw(HOSTS)}
        content_type = draw(CONTENT_TYPES)
        if content_type is not None:
            headers["content-type"] = content_type
        origin = draw(ORIGINS)
        if origin is not None:
            headers["origin"] = origin
    schema = server.params.get(path)
    shaped: st.SearchStrategy[bytes] = st.nothing()
    if schema is not None:
        properties = schema.get("properties", {})
        shaped = st.fixed_dictionaries(
            {name: _from_schema(spec) for name, spec in properties.items()}
        ).map(lambda d: json.dumps(d).encode())
    body = draw(
        st.one_of(
            shaped,
            shaped,
            shaped,
            _JSON_VALUE.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=200),
            SPECIAL_BODIES,
        )
    )
    return method, path, headers, body


# -- the property -----------------------------------------------------------------------


def _strict_json(content: bytes) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(content, parse_constant=refuse)


def check(server: Served, method: str, path: str, response: httpx.Response) -> None:
    where = f"{method} {path} -> {response.status_code}: {response.content[:300]!r}"
    assert len(response.content) <= MAX_ANSWER, where
    if response.status_code >= 400:
        assert len(response.content) <= MAX_REFUSAL or response.status_code == 404, where
    refused_in_front = response.status_code in (403, 421)
    mounted = any(path == m or path.startswith(m.rstrip("/") + "/") for m in server.mounts)
    if mounted and not refused_in_front:
        return  # the mounted app answers for itself
    assert response.status_code != 500, where
    if method == "HEAD" or (method, path) in NOT_JSON or 300 <= response.status_code < 400:
        return
    assert response.headers.get("content-type", "").startswith("application/json"), where
    _strict_json(response.content)


@pytest.mark.parametrize("example", EXAMPLES)
def test_random_requests_get_bounded_json_answers(example: str, tmp_path: Path) -> None:
    with served(example, tmp_path) as server:

        @settings(
            max_examples=120,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.data())
        def fuzz(data: st.DataObject) -> None:
            method, path, headers, body = data.draw(requests(server))
            response = server.request(method, path, headers, body)
            check(server, method, path, response)

        fuzz()
