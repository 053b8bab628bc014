"""The Lambda handler, invoked in-process with real API Gateway v2, SQS and scheduler events.

The payloads follow AWS's documented shapes (HTTP API payload format 2.0, an
SQS event source mapping batch, the EventBridge Scheduler input the aws
program configures).  The jobs example runs twice: on the local backends
(always), and on DynamoDB + SQS served by moto when
``SKAAL_TEST_AWS_ENDPOINT_URL`` is set (.ci/services/30-moto.sh).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import runpy
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import BaseModel

from skaal import App, Map, Topic
from skaal.catalog.loader import load_catalog
from skaal.declare.app_ref import load_app
from skaal.errors import SkaalRuntimeError
from skaal.hosts.aws_lambda.handler import LambdaHandler
from skaal.hosts.aws_lambda.http_api import call_asgi, scope_from_event
from skaal.hosts.aws_lambda.sqs_event import decode_body, is_sqs_event
from skaal.plan.model import Plan
from skaal.runtime.runtime import Runtime
from skaal.solver import solve
from tests.builder._pulumi import write
from tests.builder.aws_support import build_example

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


def http_event(
    method: str,
    path: str,
    body: object = None,
    *,
    query: str = "",
    stage: str = "$default",
    cookies: list[str] | None = None,
    binary: bytes | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API request, payload format version 2.0."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": stage,
            "time": "22/Nov/2026:19:03:58 +0000",
            "timeEpoch": 1795374238390,
        },
        "isBase64Encoded": binary is not None,
    }
    if cookies:
        event["cookies"] = cookies
    if binary is not None:
        event["body"] = base64.b64encode(binary).decode()
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


def sqs_event(
    bodies: list[tuple[str, str]], queue: str, attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An SQS event source mapping batch of ``(message id, body)``."""
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"AQEB{message_id}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795374238390",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795374238391",
                },
                "messageAttributes": attributes or {},
                "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}",
                "awsRegion": "us-east-1",
            }
            for message_id, body in bodies
        ]
    }


def body_of(response: dict[str, Any]) -> Any:
    assert response["isBase64Encoded"] is False
    return json.loads(response["body"])


@pytest.fixture
def jobs_module() -> Iterator[Any]:
    app = load_app("examples/jobs/app.py:app", cwd=ROOT)
    yield app
    sys.modules.pop("app", None)


def _handler(app: Any, plan: Plan, env: dict[str, str], data_dir: Path) -> LambdaHandler:
    return LambdaHandler(
        app,
        plan,
        env=env,
        open_runtime=lambda: Runtime.open(app, plan, data_dir=data_dir, env=env),
    )


@pytest.fixture
def local_handler(jobs_module: Any, tmp_path: Path) -> Iterator[LambdaHandler]:
    plan = solve(jobs_module.blueprint(), load_catalog("local"))
    env = {"WEBHOOK_TOKEN": "tok-123", "SKAAL_FUNCTION": "run_job"}
    handler = _handler(jobs_module, plan, env, tmp_path)
    yield handler
    handler.shutdown()


def test_http_request_calls_the_function(local_handler: LambdaHandler) -> None:
    response = local_handler(
        http_event("POST", "/fn/submit", {"job": {"id": "j1", "payload": "resize"}}), None
    )
    assert response["statusCode"] == 200, response
    assert isinstance(body_of(response), str)
    missing = local_handler(http_event("POST", "/fn/result", {"job_id": "nope"}), None)
    assert missing["statusCode"] == 200
    assert body_of(missing) is None


def test_sqs_batch_runs_the_consumer_and_reports_failures(local_handler: LambdaHandler) -> None:
    ok = json.dumps({"id": "j2", "payload": "thumbnail"})
    failing = json.dumps({"id": "j3", "payload": "fail"})
    result = local_handler(sqs_event([("m-1", ok), ("m-2", failing)], "jobs-work"), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    response = local_handler(http_event("POST", "/fn/result", {"job_id": "j2"}), None)
    assert body_of(response) == "done: thumbnail (notified with a 7-char token)"
    gone = local_handler(http_event("POST", "/fn/result", {"job_id": "j3"}), None)
    assert body_of(gone) is None


def test_an_undecodable_message_is_reported_as_failed(local_handler: LambdaHandler) -> None:
    result = local_handler(sqs_event([("m-9", '{"id": 1}')], "jobs-work"), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-9"}]}


def test_base64_bodies_marked_by_the_sender_are_decoded(local_handler: LambdaHandler) -> None:
    body = base64.b64encode(json.dumps({"id": "j4", "payload": "b64"}).encode()).decode()
    marker = {"skaal-encoding": {"stringValue": "base64", "dataType": "String"}}
    assert local_handler(sqs_event([("m-3", body)], "jobs-work", marker), None) == {
        "batchItemFailures": []
    }
    response = local_handler(http_event("POST", "/fn/result", {"job_id": "j4"}), None)
    assert body_of(response).startswith("done: b64")


def test_the_scheduler_input_runs_the_scheduled_function(local_handler: LambdaHandler) -> None:
    assert local_handler({"skaal_schedule": "hourly_report"}, None) == {"ran": "hourly_report"}
    assert local_handler({"skaal_schedule": "hourly_report"}, None) == {"ran": "hourly_report"}
    runtime = local_handler._runtime
    assert runtime is not None

    async def count() -> Any:
        with runtime.activate():
            return await runtime.client_named("Stats").get("hourly_reports")

    assert local_handler._event_loop().run_until_complete(count()) == 2


def test_unknown_schedules_and_events_fail_clearly(local_handler: LambdaHandler) -> None:
    with pytest.raises(SkaalRuntimeError, match="not a scheduled function"):
        local_handler({"skaal_schedule": "nightly"}, None)
    with pytest.raises(SkaalRuntimeError, match="does not handle"):
        local_handler({"hello": "world"}, None)


def test_docs_and_openapi_are_served(local_handler: LambdaHandler) -> None:
    docs = local_handler(http_event("GET", "/docs"), None)
    assert docs["statusCode"] == 200
    assert docs["headers"]["content-type"].startswith("text/html")
    spec = body_of(local_handler(http_event("GET", "/openapi.json"), None))
    assert "/fn/submit" in spec["paths"]
    home = local_handler(http_event("GET", "/"), None)
    assert home["statusCode"] in (302, 307)
    assert home["headers"]["location"].endswith("/docs")


def test_event_translation_keeps_stage_query_cookies_and_binary_bodies() -> None:
    event = http_event(
        "PUT",
        "/files/a%20b.png",
        query="x=1&y=%2F",
        stage="prod",
        cookies=["a=1", "b=2"],
        binary=b"\x89PNG\x00\xff",
    )
    request = scope_from_event(event)
    scope = request.scope
    assert scope["method"] == "PUT"
    assert scope["root_path"] == "/prod"  # and in the path, as the ASGI specification has it
    assert scope["path"] == "/prod/files/a b.png"
    assert scope["raw_path"] == b"/prod/files/a%20b.png"
    assert scope["query_string"] == b"x=1&y=%2F"
    assert (b"cookie", b"a=1; b=2") in scope["headers"]
    assert scope["client"] == ("203.0.113.7", 0)
    assert request.body == b"\x89PNG\x00\xff"
    bare_stage = scope_from_event(http_event("GET", "", stage="prod")).scope
    assert (bare_stage["root_path"], bare_stage["path"]) == ("/prod", "/prod/")


def test_binary_responses_and_cookies_leave_in_the_v2_shape() -> None:

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [
                    (b"content-type", b"application/octet-stream"),
                    (b"set-cookie", b"s=1; Path=/"),
                    (b"set-cookie", b"t=2"),
                    (b"x-echo", str(len(message["body"])).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"\x00\x01\xfe"})

    request = scope_from_event(http_event("POST", "/raw", binary=b"abc"))
    response = asyncio.run(call_asgi(app, request))
    assert response == {
        "statusCode": 201,
        "headers": {"content-type": "application/octet-stream", "x-echo": "3"},
        "body": base64.b64encode(b"\x00\x01\xfe").decode(),
        "isBase64Encoded": True,
        "cookies": ["s=1; Path=/", "t=2"],
    }


# -- on DynamoDB and SQS (moto) ------------------------------------------------------


@pytest.fixture
def moto_endpoint() -> str:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    return endpoint


def test_the_handler_on_dynamodb_and_sqs(
    moto_endpoint: str, jobs_module: Any, tmp_path: Path
) -> None:
    aws_plan = solve(jobs_module.blueprint(), load_catalog("aws"))
    assert {b.implementation for b in aws_plan.bindings if b.kind in ("map", "queue")} == {
        "dynamodb",
        "sqs",
    }
    # Secrets Manager has no runtime backend yet: the secret is read from the environment.
    bindings = tuple(
        b.model_copy(update={"implementation": "env"}) if b.kind == "secret" else b
        for b in aws_plan.bindings
    )
    plan = aws_plan.model_copy(update={"bindings": bindings})
    prefix = f"t{uuid.uuid4().hex[:8]}"
    env = {
        "SKAAL_AWS_ENDPOINT_URL": moto_endpoint,
        "SKAAL_AWS_CREATE_TABLES": "1",
        "SKAAL_AWS_NAME_PREFIX": prefix,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "WEBHOOK_TOKEN": "moto-token",
        "SKAAL_FUNCTION": "run_job",
    }
    handler = _handler(jobs_module, plan, env, tmp_path)
    try:
        response = handler(
            http_event("POST", "/fn/submit", {"job": {"id": "m1", "payload": "on moto"}}), None
        )
        assert response["statusCode"] == 200, response
        message_id = body_of(response)

        sqs = boto3.client(
            "sqs",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        url = sqs.get_queue_url(QueueName=f"{prefix}-jobs-work")["QueueUrl"]
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )["Messages"]
        # A queue message's id is its skaal-id attribute (the same on a re-sent copy).
        assert [m["MessageAttributes"]["skaal-id"]["StringValue"] for m in received] == [message_id]
        record_attributes = {
            k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
            for k, v in received[0].get("MessageAttributes", {}).items()
        }
        batch = sqs_event(
            [(received[0]["MessageId"], received[0]["Body"])],
            f"{prefix}-jobs-work",
            record_attributes,
        )
        assert handler(batch, None) == {"batchItemFailures": []}

        result = handler(http_event("POST", "/fn/result", {"job_id": "m1"}), None)
        assert body_of(result) == "done: on moto (notified with a 10-char token)"
        table = boto3.client(
            "dynamodb",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert table.scan(TableName=f"{prefix}-jobs-results")["Count"] == 1
    finally:
        handler.shutdown()


def test_the_generated_entry_point_loads_the_shipped_app_and_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(folder / "app"))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    try:
        namespace = runpy.run_path(str(folder / "app" / "skaal_lambda.py"))
        handler = namespace["handler"]
        assert isinstance(handler, LambdaHandler)
        assert handler.plan == context.plan
        assert handler.app.blueprint().content_hash() == context.blueprint.content_hash()
        assert sys.modules["app"].__file__ == str(folder / "app" / "app.py")
    finally:
        sys.modules.pop("app", None)
        sys.path.remove(str(folder / "app"))


def test_a_topic_subscriber_handles_its_subscription_queue(tmp_path: Path) -> None:

    app = App("alerts")

    class Alert(BaseModel):
        level: str

    @app.topic()
    class Alerts(Topic[Alert]): ...

    @app.storage()
    class Seen(Map[str, int]): ...

    @app.subscriber(Alerts)
    async def count_alert(alert: Alert) -> None:
        if alert.level == "boom":
            raise RuntimeError("boom")
        await Seen.increment(alert.level)

    plan = solve(app.blueprint(), load_catalog("local"))
    env = {"SKAAL_FUNCTION": "count_alert"}
    handler = _handler(app, plan, env, tmp_path)
    try:
        batch = sqs_event(
            [("a", '{"level": "warn"}'), ("b", '{"level": "boom"}'), ("c", '{"level": "warn"}')],
            "alerts-count-alert-sub",
        )
        assert handler(batch, None) == {"batchItemFailures": [{"itemIdentifier": "b"}]}
        runtime = handler._runtime
        assert runtime is not None

        async def seen() -> Any:
            with runtime.activate():
                return await runtime.client_named("Seen").get("warn")

        assert handler._event_loop().run_until_complete(seen()) == 2
        wrong = LambdaHandler(
            app,
            plan,
            env={"SKAAL_FUNCTION": "nope"},
            open_runtime=lambda: Runtime.open(app, plan, data_dir=tmp_path, env={}),
        )
        try:
            with pytest.raises(SkaalRuntimeError, match="not a queue consumer or topic"):
                wrong(batch, None)
        finally:
            wrong.shutdown()
    finally:
        handler.shutdown()


def test_sqs_bodies_decode_as_the_sqs_and_sns_backends_encode_them() -> None:
    def record(body: str, marker: str | None = None) -> dict[str, Any]:
        attributes = {"skaal-encoding": {"stringValue": marker, "dataType": "String"}}
        return {"body": body, "messageAttributes": attributes if marker else {}}

    assert decode_body(record('{"a": 1}')) == b'{"a": 1}'
    assert decode_body(record(base64.b64encode(b"\x00\xff").decode(), "base64")) == b"\x00\xff"
    assert decode_body(record("-", "empty")) == b""
    assert is_sqs_event(sqs_event([("m", "x")], "q"))
    assert not is_sqs_event({"Records": [{"eventSource": "aws:sns"}]})
    assert not is_sqs_event({"Records": []})
