"""The gcp artifact's API Gateway: one public address routing each path to its service.

The program under Pulumi's mocks: the API config's OpenAPI document is
decoded from what the program registers (the services' URLs filled in),
validated as Swagger 2.0 (Google's ``{path=**}`` template read as a plain
parameter, which the generic validator knows), and its routes checked.
"""

from __future__ import annotations

import base64
import json
import types
from typing import Any

import pytest
from openapi_spec_validator import validate

from skaal import App, BlobStore, Cron
from skaal.builder.targets.gcp_basis import service_vars
from skaal.builder.targets.gcp_gateway import FUNCTION_PATH, gateway_document
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog.loader import load_catalog
from skaal.serve.routes import PREFIX
from skaal.solver import solve
from tests.builder._pulumi import Run
from tests.builder.gcp_mocks import CONFIG, PROJECT, run_stack


def _app(*, mount: bool) -> App:
    app = App("till")
    receipts = types.new_class("Receipts", (BlobStore,))
    app.blob(durability="persistent")(receipts)

    @app.function(timeout="45s")
    async def pay(amount: int) -> None:
        await receipts.put(f"{amount}.txt", b"paid")  # type: ignore[attr-defined]

    @app.function()
    async def refund(amount: int) -> int:
        return amount

    @app.schedule(Cron("0 3 * * *"))
    async def settle() -> None: ...

    if mount:

        async def legacy(scope: object, receive: object, send: object) -> None: ...

        app.mount("/legacy", legacy)
    return app


def _run(app: App) -> Run:
    plan = solve(app.blueprint(), load_catalog("gcp"))
    return run_stack(gcp_stack(app.blueprint(), plan), CONFIG)


@pytest.fixture(scope="module")
def till() -> Run:
    return _run(_app(mount=True))


def _document(run: Run) -> dict[str, Any]:
    (config,) = run.of_type("gcp:apigateway/apiConfig:ApiConfig")
    (document,) = config.inputs["openapiDocuments"]
    assert document["document"]["path"] == "openapi.json"
    text = base64.b64decode(document["document"]["contents"]).decode()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _uri(service: str) -> str:
    return f"https://{service}-xyz-uc.a.run.app"  # what the mocks give a service


def test_the_document_is_swagger_2_with_every_address_filled_in(till: Run) -> None:
    document = _document(till)
    text = json.dumps(document)
    assert "{web}" not in text
    assert "{fn_" not in text
    validate(json.loads(text.replace("{path=**}", "{path}")))
    assert document["info"]["title"] == "till"


def test_each_function_path_goes_to_its_own_service(till: Run) -> None:
    paths = _document(till)["paths"]
    pay = paths["/fn/pay"]
    assert set(pay) == {"get", "post"}
    for operation in pay.values():
        assert operation["x-google-backend"] == {
            "address": _uri("till-fn-pay"),
            "path_translation": "APPEND_PATH_TO_ADDRESS",
            "deadline": 45.0,  # the function's timeout, not the gateway's 15 s
        }
    assert paths["/fn/refund"]["post"]["x-google-backend"]["address"] == _uri("till-fn-refund")
    # a scheduled function has no public path
    assert not [p for p in paths if "settle" in p]


def test_docs_and_mounted_apps_go_to_web(till: Run) -> None:
    document = _document(till)
    assert document["x-google-backend"]["address"] == _uri("till-web")
    paths = document["paths"]
    for page in ("/", "/docs", "/openapi.json", "/legacy", "/legacy/{path=**}"):
        assert page in paths, page
        for operation in paths[page].values():
            assert "x-google-backend" not in operation  # the default backend: web
    assert set(paths["/legacy/{path=**}"]) == {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
    }


def test_the_gateway_calls_as_its_own_identity_and_is_the_public_url(till: Run) -> None:
    (config,) = till.of_type("gcp:apigateway/apiConfig:ApiConfig")
    gateway_email = f"till-gateway@{PROJECT}.iam.gserviceaccount.com"
    assert config.inputs["gatewayConfig"]["backendConfig"]["googleServiceAccount"] == (
        gateway_email
    )
    (gateway,) = till.of_type("gcp:apigateway/gateway:Gateway")
    assert gateway.inputs["region"] == "us-central1"
    assert gateway.inputs["apiConfig"] == "api-config-id"
    invoked = {
        r.name
        for r in till.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
        if r.inputs["member"] == f"serviceAccount:{gateway_email}"
    }
    assert invoked == {"web-invoker", "fn_pay-invoker", "fn_refund-invoker"}


def test_an_app_without_http_has_no_gateway_and_no_web() -> None:
    app = App("nightly")

    @app.schedule(Cron("0 3 * * *"))
    async def settle() -> None: ...

    run = _run(app)
    assert not run.of_type("gcp:apigateway/gateway:Gateway")
    assert [s.name for s in run.of_type("gcp:cloudrunv2/service:Service")] == ["fn_settle"]


def test_function_names_that_would_share_a_variable_get_distinct_services() -> None:
    document = gateway_document(
        "a",
        http=(),
        services={},
        mounts=(),
        version="v",
    )
    assert set(document["paths"]) == {"/", "/docs", "/openapi.json"}

    names = service_vars(["a.b", "a_b", "plain"])
    assert names["plain"] == "fn_plain"
    assert names["a.b"] != names["a_b"]
    assert names["a.b"].startswith("fn_a_b_")
    assert names["a_b"].startswith("fn_a_b_")


def test_the_function_path_is_the_servers() -> None:
    assert FUNCTION_PATH == PREFIX
