"""The local server refuses what a hostile page or a clumsy client sends, in bounded JSON.

Each test reproduces one way the server used to misbehave: bodies of any
content type and any size, any ``Host`` and ``Origin``, 422 answers echoing
the whole input, 500s for invalid UTF-8 and rejected blob keys, ``NaN`` in
and out.  The app is served in-process (``httpx.ASGITransport``) on a stand-in
runtime, with the ``Host``/``Origin`` policy ``skaal run`` uses for
``--host 127.0.0.1``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import Json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skaal import App
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError, InvalidCursorError
from skaal.serve.app import build_asgi
from skaal.serve.hosts import HostPolicy, host_name
from skaal.serve.problems import MAX_ERRORS
from tests.serve.fakes import FakeRuntime, factory

LIMIT = 4096
JSON = {"content-type": "application/json"}


def make_app() -> App:
    app = App("guarded")

    @app.function()
    async def add(a: int, b: int = 2) -> int:
        return a + b

    @app.function()
    async def echo(value: Any = None) -> Any:
        return value

    @app.function()
    async def total(values: list[int]) -> int:
        return sum(values)

    @app.function()
    async def ratio(x: float) -> float:
        return math.inf if x == 0 else x

    @app.function()
    async def nested(x: float) -> dict[str, list[float]]:
        return {"values": [1.0, x * math.nan]}

    @app.function()
    async def ping() -> str:
        return "pong"

    @app.function()
    async def embedded(payload: Json[dict[str, int]]) -> int:
        return len(payload)

    @app.function()
    async def stat(key: str) -> int:
        if key.startswith("/"):
            raise BlobKeyError(f"blob key {key!r} is rejected: it is absolute", where="Files")
        if key.startswith("cursor:"):
            raise InvalidCursorError("the cursor was not returned by Files", where="Files")
        raise BlobNotFoundError(f"blob {key!r} does not exist", where="Files")

    async def mounted(request: Request) -> Response:
        return JSONResponse({"seen": (await request.body()).decode()})

    app.mount("/ext", Starlette(routes=[Route("/echo", mounted, methods=["GET", "POST"])]))
    return app


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    policy = HostPolicy.for_address(
        "127.0.0.1", allowed_hosts=["dev.example"], allowed_origins=["http://localhost:5173"]
    )
    asgi = build_asgi(make_app(), factory(FakeRuntime()), hosts=policy, max_body=LIMIT)
    async with asgi.router.lifespan_context(asgi):
        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
        base = "http://127.0.0.1:8000"
        async with httpx.AsyncClient(transport=transport, base_url=base) as http:
            yield http


def problem(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The JSON body of a refused request, after checking it is strict JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content, parse_constant=_no_constants)
    assert body["error"] == error, body
    assert "Traceback" not in response.text
    return body


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


# -- content type (cross-site "simple" requests) ------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonp",
        "json",
    ],
)
async def test_a_body_must_be_declared_json(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/fn/add", content=b'{"a": 1}', headers={"content-type": content_type}
    )
    assert "application/json" in problem(response, 415, "unsupported_media_type")["detail"]


@pytest.mark.asyncio
async def test_a_body_without_content_type_is_refused(client: httpx.AsyncClient) -> None:
    problem(await client.post("/fn/add", content=b'{"a": 1}'), 415, "unsupported_media_type")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=utf-8", "application/vnd.api+json"],
)
async def test_json_media_types_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/fn/add", content=b'{"a": 1}', headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text
    assert response.json() == 3


@pytest.mark.asyncio
async def test_an_empty_call_needs_no_content_type(client: httpx.AsyncClient) -> None:
    assert (await client.post("/fn/ping")).json() == "pong"
    assert (await client.get("/fn/ping")).json() == "pong"


# -- Host and Origin ----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil"]
)
async def test_a_host_not_naming_this_server_is_misdirected(
    client: httpx.AsyncClient, host: str
) -> None:
    for path in ("/fn/add", "/ext/echo"):  # mounted apps too
        response = await client.post(path, json={"a": 1}, headers={"host": host})
        assert "--allow-host" in problem(response, 421, "misdirected_request")["detail"]
    problem(await client.get("/docs", headers={"host": host}), 421, "misdirected_request")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "dev.example:9"]
)
async def test_loopback_names_and_allowed_hosts_are_served(
    client: httpx.AsyncClient, host: str
) -> None:
    response = await client.post("/fn/add", json={"a": 1}, headers={"host": host})
    assert response.status_code == 200, response.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://127.0.0.1:8001", "https://127.0.0.1:8000"]
)
async def test_cross_origin_requests_are_forbidden(client: httpx.AsyncClient, origin: str) -> None:
    headers = {"origin": origin}
    response = await client.post("/fn/add", json={"a": 1}, headers=headers)
    assert "--allow-origin" in problem(response, 403, "forbidden_origin")["detail"]
    mounted = await client.post("/ext/echo", content=b"x", headers=headers)
    problem(mounted, 403, "forbidden_origin")
    simple = await client.post(  # what a cross-site HTML form sends
        "/fn/add", content=b'{"a": 1}', headers={**headers, "content-type": "text/plain"}
    )
    assert simple.status_code == 403


@pytest.mark.asyncio
@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "http://localhost:5173"])
async def test_same_origin_and_allowed_origins_are_served(
    client: httpx.AsyncClient, origin: str
) -> None:
    response = await client.post("/fn/add", json={"a": 1}, headers={"origin": origin})
    assert response.status_code == 200, response.text


def test_policy_for_a_wildcard_or_ipv6_address() -> None:
    anywhere = HostPolicy.for_address("0.0.0.0")
    assert anywhere.hosts == {"localhost", "127.0.0.1", "::1"}
    assert HostPolicy.for_address("::1").hosts == {"localhost", "127.0.0.1", "::1"}
    assert "fe80::1" in HostPolicy.for_address("fe80::1").hosts
    assert "*" in HostPolicy.for_address("0.0.0.0", allowed_hosts=["*"]).hosts
    assert anywhere.refusal("http", "192.168.1.5:8000", None) is not None
    assert (
        HostPolicy.for_address("0.0.0.0", allowed_hosts=["*"]).refusal(
            "http", "192.168.1.5:8000", "http://192.168.1.5:8000"
        )
        is None
    )
    assert [host_name(h) for h in ("[::1]:80", "Example.COM.:1", "::1")] == [
        "::1",
        "example.com",
        "::1",
    ]


# -- body size ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    body = json.dumps({"a": "x" * LIMIT}).encode()
    response = await client.post("/fn/add", content=body, headers=JSON)
    assert problem(response, 413, "content_too_large")["limit"] == LIMIT
    fits = json.dumps({"values": [1] * ((LIMIT - 20) // 3)}).encode()
    assert len(fits) <= LIMIT
    assert (await client.post("/fn/total", content=fits, headers=JSON)).status_code == 200


@pytest.mark.asyncio
async def test_a_streamed_body_is_refused_while_it_arrives(client: httpx.AsyncClient) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:  # 100 MB if anyone read it all
        nonlocal sent
        yield b'{"a": "'
        for _ in range(100_000):
            sent += 1
            yield b"x" * 1000

    response = await client.post("/fn/add", content=endless(), headers=JSON)
    problem(response, 413, "content_too_large")
    assert sent <= LIMIT // 1000 + 2


# -- what a refusal may say ---------------------------------------------------------


@pytest.mark.asyncio
async def test_a_validation_error_echoes_only_an_excerpt(client: httpx.AsyncClient) -> None:
    body = json.dumps({"a": "x" * (LIMIT - 20)}).encode()
    response = await client.post("/fn/add", content=body, headers=JSON)
    detail = problem(response, 422, "validation")["detail"]
    assert len(response.content) < 1000
    assert detail[0]["loc"] == ["a"]
    assert detail[0]["input"].startswith("xxx")
    assert detail[0]["input"].endswith("...")


@pytest.mark.asyncio
async def test_many_errors_are_counted_not_listed(client: httpx.AsyncClient) -> None:
    body = json.dumps({"values": ["no"] * 600}).encode()
    response = await client.post("/fn/total", content=body, headers=JSON)
    answer = problem(response, 422, "validation")
    assert len(answer["detail"]) == MAX_ERRORS
    assert answer["count"] == 600
    assert len(response.content) < 8000


@pytest.mark.asyncio
async def test_a_long_unknown_field_name_is_clipped(client: httpx.AsyncClient) -> None:
    body = json.dumps({"a": 1, "k" * 3000: 1}).encode()
    response = await client.post("/fn/add", content=body, headers=JSON)
    (extra,) = problem(response, 422, "validation")["detail"]
    assert extra["type"] == "extra_forbidden"
    assert len(extra["loc"][0]) <= 120
    assert len(response.content) < 1000


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\xff"}',
        b"\xff\xfe{}",
        b'{"a": "\xed\xa0\x80"}',
        b"{not json",
        b'{"a": 1',
        b"[" * 300,
    ],
)
async def test_invalid_utf8_or_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/fn/add", content=body, headers=JSON)
    assert problem(response, 400, "invalid_json")["detail"].startswith("Invalid JSON")


@pytest.mark.asyncio
async def test_a_json_string_field_that_is_not_json_is_a_field_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/fn/embedded", json={"payload": "{not json"})
    (error,) = problem(response, 422, "validation")["detail"]
    assert (error["loc"], error["type"]) == (["payload"], "json_invalid")
    assert (await client.post("/fn/embedded", json={"payload": '{"a": 1}'})).json() == 1


# -- non-finite numbers -------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"value": NaN}',
        b'{"value": [1, -Infinity]}',
        b'{"value": {"x": Infinity}}',
        b'{"x": 1e400}',
        b'{"x": -1E+309}',
        b'{"value": 1' + b"0" * 400 + b".0}",
    ],
)
async def test_non_finite_numbers_are_400(client: httpx.AsyncClient, body: bytes) -> None:
    path = "/fn/add" if b'"a"' in body else "/fn/ratio" if b'"x"' in body else "/fn/echo"
    response = await client.post(path, content=body, headers=JSON)
    assert "finite" in problem(response, 400, "non_finite_number")["detail"]


@pytest.mark.asyncio
async def test_numbers_and_words_that_only_look_suspect_pass(client: httpx.AsyncClient) -> None:
    words = {"value": ["NaN", "Infinity", "e400", "1" * 400, 10**400, 1e-400, 1.5e300]}
    response = await client.post("/fn/echo", content=json.dumps(words).encode(), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json() == ["NaN", "Infinity", "e400", "1" * 400, 10**400, 0.0, 1.5e300]


@pytest.mark.asyncio
async def test_a_non_finite_result_is_a_clear_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="skaal.serve"):
        for path in ("/fn/ratio", "/fn/nested"):
            response = await client.post(path, json={"x": 0.0})
            answer = problem(response, 500, "non_finite_result")
            assert answer["function"] == path.removeprefix("/fn/")
            assert path.removeprefix("/fn/") in answer["detail"]
    assert "returned NaN or Infinity" in caplog.text
    assert "Traceback" not in caplog.text
    assert (await client.post("/fn/ratio", json={"x": 2.0})).json() == 2.0
    assert (await client.post("/fn/echo", json={"value": None})).json() is None


# -- runtime errors the caller caused -----------------------------------------------


@pytest.mark.asyncio
async def test_rejected_blob_keys_and_cursors_are_400_and_missing_blobs_404(
    client: httpx.AsyncClient,
) -> None:
    key = problem(await client.post("/fn/stat", json={"key": "/etc/passwd"}), 400, "bad_request")
    assert "absolute" in key["detail"]
    problem(await client.post("/fn/stat", json={"key": "cursor:x"}), 400, "bad_request")
    missing = await client.post("/fn/stat", json={"key": "k" * 2000})
    assert len(problem(missing, 404, "not_found")["detail"]) <= 300
