"""The flask_legacy example (a Flask app mounted on a Skaal app) on every host it is built for.

* the local artifact: ``python serve.py`` started as a process, its data kept
  across a restart;
* AWS Lambda: the generated ``app/skaal_lambda.py`` answers API Gateway HTTP
  API (payload 2.0) and REST API (payload 1.0) events in-process -- on the
  local backends always, and exactly as deployed (DynamoDB, served by moto)
  when ``SKAAL_TEST_AWS_ENDPOINT_URL`` is set;
* Cloud Run: the generated ``main.py`` started as a process in its web role
  (``SKAAL_LOCAL_BACKENDS=1``, as ``tests/hosts/test_gcp_serve.py`` says why).

Each build pins the WSGI adapter and Flask; a build of an app mounting only
ASGI apps does not pin the adapter.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from skaal.builder import build_artifacts
from skaal.builder.inputs import load_context
from skaal.builder.model import ArtifactSet
from skaal.builder.requirements import parse_requirements
from skaal.builder.writer import FileWriter
from skaal.catalog import catalog_for_target
from skaal.declare.app_ref import load_app
from skaal.hosts.aws_lambda.handler import LambdaHandler
from skaal.hosts.cloud_run import local_bindings
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.runtime.runtime import Runtime
from tests._server import free_port, serve_process
from tests.builder import aws_support, gcp_mocks
from tests.builder._pulumi import write
from tests.hosts.test_aws_handler import http_event

ROOT = Path(__file__).resolve().parents[2]
HOST = "abc123.execute-api.us-east-1.amazonaws.com"


def names(artifacts: ArtifactSet, path: str) -> set[str]:
    return {r.name for r in parse_requirements(artifacts.file(path).content)}


def rest_event(
    method: str, path: str, body: object = None, *, stage: str = "prod"
) -> dict[str, Any]:
    """An API Gateway REST API proxy request (payload format 1.0), as AWS documents it."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": HOST,
        "User-Agent": "curl/8.5.0",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "domainPrefix": "abc123",
            "extendedRequestId": "JKJaXmPLvHcESHA=",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "04/Dec/2026:19:03:58 +0000",
            "requestTimeEpoch": 1796238238390,
            "resourceId": "123456",
            "resourcePath": "/{proxy+}",
            "stage": stage,
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def answer(response: dict[str, Any]) -> Any:
    assert response["isBase64Encoded"] is False, response
    return json.loads(response["body"])


# -- AWS Lambda --------------------------------------------------------------------------


@pytest.fixture
def generated_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaHandler]:
    """The handler ``app/skaal_lambda.py`` of the example's aws build creates."""
    _, artifacts = aws_support.build_example("flask_legacy")
    assert {"a2wsgi", "flask", "mangum"} <= names(artifacts, "app/requirements.txt")
    folder = write(artifacts, tmp_path / "aws")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(folder / "app"))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    try:
        handler = runpy.run_path(str(folder / "app" / "skaal_lambda.py"))["handler"]
        assert isinstance(handler, LambdaHandler)
        yield handler
    finally:
        sys.modules.pop("app", None)
        sys.path.remove(str(folder / "app"))


def _converse(handler: LambdaHandler) -> None:
    """What the README shows, through HTTP API 2.0 and REST API 1.0 events."""
    first = handler(http_event("GET", "/legacy/pages/pricing"), None)
    assert first["statusCode"] == 200, first
    assert answer(first) == {"page": "pricing", "visits": 1}
    put = handler(http_event("PUT", "/legacy/pages/about", {"visits": 41}), None)
    assert answer(put) == {"page": "about", "visits": 41}
    rest = handler(rest_event("GET", "/legacy/pages/about"), None)
    assert rest["statusCode"] == 200, rest
    assert answer(rest) == {"page": "about", "visits": 42}
    assert rest["headers"]["content-type"] == "application/json"
    # the stage is the script root on both APIs, so Flask's links carry it
    home = answer(handler(rest_event("GET", "/legacy/"), None))
    assert home == {"visits": 1, "next": "/prod/legacy/pages/about"}
    staged = answer(handler(http_event("GET", "/legacy/", stage="prod"), None))
    assert staged == {"visits": 2, "next": "/prod/legacy/pages/about"}
    fn = handler(rest_event("POST", "/fn/page_visits", {"page": "about"}), None)
    assert answer(fn) == 42
    staged_fn = http_event("POST", "/fn/page_visits", {"page": "pricing"}, stage="prod")
    assert answer(handler(staged_fn, None)) == 1
    refused = handler(rest_event("PUT", "/legacy/pages/about", {"visits": "many"}), None)
    assert refused["statusCode"] == 400
    assert handler(http_event("GET", "/legacy/nowhere"), None)["statusCode"] == 404


def test_the_generated_lambda_answers_both_api_gateway_payloads(
    generated_handler: LambdaHandler, tmp_path: Path
) -> None:
    app, plan = generated_handler.app, local_bindings(generated_handler.plan)
    handler = LambdaHandler(
        app, plan, open_runtime=lambda: Runtime.open(app, plan, data_dir=tmp_path, env={})
    )
    try:
        _converse(handler)
    finally:
        handler.shutdown()


def test_the_generated_lambda_on_dynamodb(
    generated_handler: LambdaHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    env = {
        "SKAAL_AWS_ENDPOINT_URL": endpoint,
        "SKAAL_AWS_CREATE_TABLES": "1",
        "SKAAL_AWS_NAME_PREFIX": prefix,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert generated_handler.plan.binding("Visits").implementation == "dynamodb"
    try:
        _converse(generated_handler)
    finally:
        generated_handler.shutdown()
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert dynamodb.scan(TableName=f"{prefix}-flask-legacy-visits")["Count"] == 3


# -- the local artifact and Cloud Run ------------------------------------------------------


@pytest.mark.slow
def test_the_local_artifact_serves_the_flask_app(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "flask_legacy", project)
    blueprint = load_app("app.py:app", cwd=project).blueprint()
    plan_blueprint(
        blueprint, catalog_for_target("local"), lock=FileLockStore(project / "skaal.lock")
    )
    artifacts = build_artifacts(load_context("app.py:app", cwd=project, target="local"))
    assert {"a2wsgi", "flask", "starlette", "uvicorn"} <= names(artifacts, "requirements.txt")
    folder = FileWriter(tmp_path / "artifacts").write(artifacts).folder
    for _ in range(2):  # the second run reads what the first wrote
        port = free_port()
        command = [sys.executable, "serve.py", "--port", str(port)]
        with serve_process(command, cwd=folder, port=port) as client:
            seen = client.get("/legacy/pages/pricing").json()["visits"]
            assert client.post("/fn/page_visits", json={"page": "pricing"}).json() == seen
    assert seen == 2


@pytest.mark.slow
def test_the_cloud_run_web_role_serves_the_flask_app(tmp_path: Path) -> None:
    _, artifacts = gcp_mocks.build_example("flask_legacy")
    assert {"a2wsgi", "flask"} <= names(artifacts, "requirements.txt")
    folder = write(artifacts, tmp_path / "gcp")
    port = free_port()
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SKAAL_CLOUD_RUN_ROLE": "web",
        "SKAAL_LOCAL_BACKENDS": "1",
        "SKAAL_DATA_DIR": str(tmp_path / "data"),
    }
    command = [sys.executable, "main.py"]
    with serve_process(command, cwd=folder, port=port, env=env, ready_path="/_skaal/health") as web:
        assert web.get("/legacy/pages/pricing").json() == {"page": "pricing", "visits": 1}
        assert web.get("/legacy/").json() == {"visits": 1, "next": "/legacy/pages/about"}
        assert web.post("/fn/page_visits", json={"page": "pricing"}).status_code == 404
    # the function runs in its own service, on the same data
    port = free_port()
    function = {
        **env,
        "PORT": str(port),
        "SKAAL_CLOUD_RUN_ROLE": "function",
        "SKAAL_CLOUD_RUN_FUNCTION": "page_visits",
    }
    with serve_process(
        command, cwd=folder, port=port, env=function, ready_path="/_skaal/health"
    ) as service:
        assert service.post("/fn/page_visits", json={"page": "pricing"}).json() == 1
        assert service.get("/legacy/").status_code == 404


def test_only_an_app_mounting_a_wsgi_app_pins_the_adapter() -> None:
    _, asgi_only = aws_support.build_example("todo_api")
    assert "a2wsgi" not in names(asgi_only, "app/requirements.txt")
    assert "a2wsgi" not in names(asgi_only, "requirements.txt")  # the Pulumi program's
    _, wsgi = aws_support.build_example("flask_legacy")
    assert "a2wsgi" not in names(wsgi, "requirements.txt")
