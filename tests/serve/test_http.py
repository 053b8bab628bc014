"""The HTTP surface: route scheme, validation, errors, mounts, OpenAPI and docs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import fastapi
import httpx
import pytest
import pytest_asyncio
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skaal import App, Module
from skaal.errors import SkaalRuntimeError
from skaal.runtime import Delivery
from skaal.serve.app import build_asgi
from tests.serve.fakes import CURRENT, FakeRuntime, factory


class Item(BaseModel):
    name: str
    quantity: int = 1


def make_app() -> App:
    app = App("shop")
    billing = app.use(Module("billing"))

    @app.function()
    async def add(a: int, b: int = 2) -> int:
        """Add two numbers.

        Longer description.
        """
        return a + b

    @app.function()
    def which_runtime() -> bool:
        """A sync function, run in a thread, still sees the runtime."""
        return CURRENT.get() is not None

    @app.function()
    async def explode(reason: str) -> None:
        raise RuntimeError(f"secret internals: {reason}")

    @app.function()
    async def teapot() -> None:
        raise HTTPException(418, "short and stout")

    @app.function()
    async def wrong_result() -> int:
        return "not a number"  # type: ignore[return-value]

    @app.function(http=False)
    async def internal() -> None: ...

    @billing.function()
    async def charge(item: Item, times: list[int]) -> Item:
        return Item(name=item.name.upper(), quantity=item.quantity * sum(times))

    async def mounted(request: Request) -> Response:
        return JSONResponse({"active": CURRENT.get() is not None, "path": request.url.path})

    async def mounted_error(request: Request) -> Response:
        raise ValueError("mounted internals")

    app.mount(
        "/ext",
        Starlette(routes=[Route("/hello", mounted), Route("/boom", mounted_error)]),
    )
    return app


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    runtime = FakeRuntime()
    asgi = build_asgi(make_app(), factory(runtime))
    async with asgi.router.lifespan_context(asgi):
        assert runtime.opened
        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    assert runtime.closed


@pytest.mark.asyncio
async def test_post_json_parameters(client: httpx.AsyncClient) -> None:
    response = await client.post("/fn/add", json={"a": 40})
    assert response.status_code == 200
    assert response.json() == 42
    assert (await client.post("/fn/add", json={"a": 1, "b": 1})).json() == 2


@pytest.mark.asyncio
async def test_module_functions_are_namespaced_and_models_round_trip(
    client: httpx.AsyncClient,
) -> None:
    body = {"item": {"name": "tea", "quantity": 2}, "times": [1, 2]}
    response = await client.post("/fn/billing.charge", json=body)
    assert response.status_code == 200
    assert response.json() == {"name": "TEA", "quantity": 6}
    assert (await client.post("/fn/charge", json=body)).status_code == 404


@pytest.mark.asyncio
async def test_zero_argument_functions_also_answer_get(client: httpx.AsyncClient) -> None:
    assert (await client.get("/fn/which_runtime")).json() is True
    assert (await client.post("/fn/which_runtime")).json() is True
    assert (await client.get("/fn/add")).status_code == 405


@pytest.mark.asyncio
async def test_validation_errors_are_422_with_field_details(client: httpx.AsyncClient) -> None:
    response = await client.post("/fn/add", json={"a": "forty", "c": 1})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation"
    problems = {(tuple(d["loc"]), d["type"]) for d in body["detail"]}
    assert problems == {(("a",), "int_parsing"), (("c",), "extra_forbidden")}
    missing = (await client.post("/fn/add", json={})).json()["detail"]
    assert [(d["loc"], d["type"]) for d in missing] == [(["a"], "missing")]
    json_header = {"content-type": "application/json"}
    not_json = await client.post("/fn/add", content=b"{not json", headers=json_header)
    assert not_json.status_code == 400
    assert not_json.json()["error"] == "invalid_json"
    assert (await client.post("/fn/add", json=[1, 2])).status_code == 422


@pytest.mark.asyncio
async def test_user_exception_is_500_with_error_id_and_no_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="skaal.serve"):
        response = await client.post("/fn/explode", json={"reason": "xyzzy"})
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"error", "error_id"}
    assert body["error"] == "internal"
    assert "xyzzy" not in response.text
    assert "Traceback" not in response.text
    assert f"error_id={body['error_id']}" in caplog.text
    assert "RuntimeError: secret internals: xyzzy" in caplog.text
    assert "Traceback" in caplog.text


@pytest.mark.asyncio
async def test_result_not_matching_its_annotation_is_a_logged_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="skaal.serve"):
        response = await client.post("/fn/wrong_result")
    assert response.status_code == 500
    assert "does not match its return annotation" in caplog.text


@pytest.mark.asyncio
async def test_http_exception_keeps_its_status(client: httpx.AsyncClient) -> None:
    response = await client.post("/fn/teapot")
    assert response.status_code == 418
    assert response.json() == {"error": "i'm_a_teapot", "detail": "short and stout"}


@pytest.mark.asyncio
async def test_unknown_routes_are_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert response.json()["path"] == "/nope"
    assert (await client.post("/fn/internal")).status_code == 404


@pytest.mark.asyncio
async def test_mounted_app_sees_the_runtime(client: httpx.AsyncClient) -> None:
    response = await client.get("/ext/hello")
    assert response.json() == {"active": True, "path": "/ext/hello"}
    error = await client.get("/ext/boom")  # a Starlette app answers its own 500
    assert error.status_code == 500
    assert "mounted internals" not in error.text


@pytest.mark.asyncio
async def test_fastapi_mount_sees_the_runtime() -> None:
    api = fastapi.FastAPI()

    @api.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"active": CURRENT.get() is not None}

    app = App("api")
    app.mount("/api", api)
    asgi = build_asgi(app, factory(FakeRuntime()))
    async with asgi.router.lifespan_context(asgi):
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/api/ping")).json() == {"active": True}
            assert (await http.get("/api/openapi.json")).status_code == 200


@pytest.mark.asyncio
async def test_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "shop"
    assert set(doc["paths"]) == {
        "/fn/add",
        "/fn/billing.charge",
        "/fn/explode",
        "/fn/teapot",
        "/fn/which_runtime",
        "/fn/wrong_result",
    }
    add = doc["paths"]["/fn/add"]["post"]
    assert add["operationId"] == "add"
    assert add["summary"] == "Add two numbers."
    assert add["description"] == "Longer description."
    schema = add["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["a"]
    assert schema["properties"]["a"]["type"] == "integer"
    assert schema["properties"]["b"]["default"] == 2
    assert schema["additionalProperties"] is False
    assert add["responses"]["200"]["content"]["application/json"]["schema"] == {"type": "integer"}
    assert "get" in doc["paths"]["/fn/which_runtime"]
    assert "get" not in doc["paths"]["/fn/add"]
    charge = doc["paths"]["/fn/billing.charge"]["post"]
    assert charge["tags"] == ["billing"]
    item_ref = charge["requestBody"]["content"]["application/json"]["schema"]["properties"]["item"]
    assert item_ref == {"$ref": "#/components/schemas/Item"}
    assert doc["components"]["schemas"]["Item"]["required"] == ["name"]
    assert doc["x-skaal-mounts"] == ["/ext"]


@pytest.mark.asyncio
async def test_docs_page_is_self_contained(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>shop - API</title>" in page
    assert "/openapi.json" in page
    assert "http://" not in page.replace('href="/openapi.json"', "")
    assert "https://" not in page
    assert "<script src" not in page
    home = await client.get("/", follow_redirects=False)
    assert home.status_code in (302, 307)
    assert home.headers["location"] == "/docs"


@pytest.mark.asyncio
async def test_a_function_may_return_the_deliveries_of_a_queue() -> None:
    """``QueueClient.receive`` hands out deliveries; a function returns them as they are."""
    app = App("mailroom")

    @app.function()
    async def peek() -> list[Delivery[Item]]:
        return [Delivery("m-1", Item(name="tea"), attempt=2)]

    asgi = build_asgi(app, factory(FakeRuntime()))
    async with asgi.router.lifespan_context(asgi):
        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/fn/peek")
    assert response.status_code == 200
    assert response.json() == [{"id": "m-1", "body": {"name": "tea", "quantity": 1}, "attempt": 2}]


def test_unservable_signature_fails_at_build_time() -> None:
    app = App("bad")

    @app.function()
    async def variadic(*args: int) -> None: ...

    with pytest.raises(SkaalRuntimeError, match="cannot come from a JSON object"):
        build_asgi(app, factory(FakeRuntime()))
