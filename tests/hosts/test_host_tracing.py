"""Function spans on the cloud hosts: one per invocation, the storage operations its children.

The Lambda handler is invoked in-process with real event payloads and the
Cloud Run server is driven in-process (its lifespan runs); both trace
through an in-memory span exporter, as ``skaal run`` does for its dashboard.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skaal.catalog.loader import load_catalog
from skaal.declare.app_ref import load_app
from skaal.hosts.aws_lambda.handler import LambdaHandler
from skaal.hosts.cloud_run import CloudRunArtifact
from skaal.runtime.runtime import Runtime
from skaal.runtime.tracing import Telemetry
from skaal.solver import solve
from tests.builder._pulumi import write
from tests.builder.gcp_mocks import build_example
from tests.hosts.test_aws_handler import http_event, sqs_event

ROOT = Path(__file__).resolve().parents[2]


class Recorded:
    """A telemetry exporting to memory, counting its flushes."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.flushes = 0
        self.telemetry = Telemetry(provider.get_tracer("test"), flush=self._flush)

    def _flush(self) -> None:
        self.flushes += 1

    def functions(self) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith("function ")]

    def children(self, root: ReadableSpan) -> list[str]:
        return [
            s.name
            for s in self.exporter.get_finished_spans()
            if s.parent is not None and s.parent.span_id == root.context.span_id
        ]


@pytest.fixture
def jobs() -> Iterator[Any]:
    app = load_app("examples/jobs/app.py:app", cwd=ROOT)
    yield app
    sys.modules.pop("app", None)


def test_every_lambda_invocation_is_a_function_span(jobs: Any, tmp_path: Path) -> None:
    recorded = Recorded()
    plan = solve(jobs.blueprint(), load_catalog("local"))
    env = {"WEBHOOK_TOKEN": "tok-123", "SKAAL_FUNCTION": "run_job"}
    handler = LambdaHandler(
        jobs,
        plan,
        env=env,
        open_runtime=lambda: Runtime.open(
            jobs, plan, data_dir=tmp_path, env=env, telemetry=recorded.telemetry
        ),
    )
    try:
        job = {"id": "j1", "payload": "resize"}
        assert handler(http_event("POST", "/fn/submit", {"job": job}))["statusCode"] == 200
        failing = json.dumps({"id": "j2", "payload": "fail"})
        batch = sqs_event([("m-1", json.dumps(job)), ("m-2", failing)], "jobs-work")
        assert handler(batch) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
        assert handler({"skaal_schedule": "hourly_report"}) == {"ran": "hourly_report"}
    finally:
        handler.shutdown()

    spans = {(s.attributes or {}).get("skaal.trigger"): [] for s in recorded.functions()}
    for span in recorded.functions():
        spans[(span.attributes or {}).get("skaal.trigger")].append(span)
    assert sorted(spans, key=str) == ["http", "queue", "schedule"]
    (submit,) = spans["http"]
    assert submit.name == "function submit"
    assert "queue.send" in recorded.children(submit)
    ok, failed = spans["queue"]  # one span per message of the batch
    assert ok.name == failed.name == "function run_job"
    assert "map.set" in recorded.children(ok)
    assert not failed.status.is_ok  # the handler raised: the span records the error
    (report,) = spans["schedule"]
    assert recorded.children(report) == ["map.increment"]
    assert recorded.flushes == 3  # after each invocation: Lambda freezes the container


def _push(job: dict[str, str]) -> dict[str, object]:
    data = base64.b64encode(json.dumps(job).encode()).decode()
    return {
        "message": {"data": data, "messageId": "1"},
        "subscription": "projects/p/subscriptions/s",
    }


@pytest.mark.parametrize(
    ("function", "path", "body", "trigger", "child"),
    [
        ("submit", "/fn/submit", {"job": {"id": "j1", "payload": "p"}}, "http", "queue.send"),
        (
            "run_job",
            "/_skaal/push/run_job",
            _push({"id": "j1", "payload": "p"}),
            "queue",
            "map.set",
        ),
        ("hourly_report", "/_skaal/schedule/hourly_report", None, "schedule", "map.increment"),
    ],
)
@pytest.mark.asyncio
async def test_every_cloud_run_call_is_a_function_span(
    tmp_path: Path, *, function: str, path: str, body: object, trigger: str, child: str
) -> None:
    context, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path / "gcp")
    recorded = Recorded()
    artifact = CloudRunArtifact(
        root=folder,
        app_ref=f"{context.app_module}:{context.app_attr}",
        plan_hash=context.plan.content_hash(),
        environ={
            "SKAAL_CLOUD_RUN_ROLE": "function",
            "SKAAL_CLOUD_RUN_FUNCTION": function,
            "SKAAL_LOCAL_BACKENDS": "1",
            "SKAAL_DATA_DIR": str(tmp_path / "data"),
            "WEBHOOK_TOKEN": "12345",
        },
        telemetry=recorded.telemetry,
    )
    try:
        asgi = artifact.asgi()
        async with asgi.router.lifespan_context(asgi):
            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://run") as client:
                response = await client.post(path, json=body)
                assert response.is_success, response.text
                assert (await client.get("/_skaal/health")).is_success
    finally:
        sys.modules.pop(context.app_module, None)
    (span,) = recorded.functions()
    assert span.name == f"function {function}"
    assert (span.attributes or {})["skaal.trigger"] == trigger
    assert child in recorded.children(span)
