"""``[tool.skaal] traces = true``: the cloud builds export traces to X-Ray and Cloud Trace.

The generated Pulumi programs run under Pulumi's mocks; the variables the
aws build gives a Lambda are handed to the runtime's own
:func:`~skaal.runtime.tracing.telemetry_from_env`, whose spans reach an
OTLP collector served here over gRPC (what the ADOT layer's collector is
on Lambda).
"""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import msgspec
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from skaal.builder.inputs import load_context
from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.stacks.aws import AwsStack
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.traces import GCP_TRACE_ROLE, adot_layer_arn, traces_setting
from skaal.catalog import catalog_for_target
from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.errors import BuildError, UsageError
from skaal.hosts.aws_lambda.handler import LambdaHandler
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.runtime.errors import InvalidSettingError
from skaal.runtime.tracing import function_span, telemetry_from_env
from tests.builder import aws_support, gcp_mocks
from tests.builder._pulumi import write

TRACE_PACKAGES = {"opentelemetry-api", "opentelemetry-sdk"}


def traced(context: BuildContext) -> BuildContext:
    return msgspec.structs.replace(context, traces=True)


def requirement_names(artifacts: ArtifactSet, path: str) -> set[str]:
    text = artifacts.file(path).content
    assert isinstance(text, str)
    return {line.partition("==")[0] for line in text.splitlines() if "==" in line}


def test_aws_lambdas_carry_the_adot_layer_xray_tracing_and_its_permissions(
    tmp_path: Path,
) -> None:
    context, plain = aws_support.build_example("jobs")
    artifacts = build_aws(traced(context))
    names = requirement_names(artifacts, "app/requirements.txt")
    assert TRACE_PACKAGES | {"opentelemetry-exporter-otlp-proto-grpc"} <= names
    assert not names & TRACE_PACKAGES - requirement_names(plain, "app/requirements.txt") - names
    assert not TRACE_PACKAGES & requirement_names(plain, "app/requirements.txt")

    run = aws_support.run_program(aws_support.write_with_layer(artifacts, tmp_path / "traced"))
    functions = run.of_type("aws:lambda/function:Function")
    assert len(functions) == 5  # submit, result, run_job, hourly_report and the HTTP default
    for function in functions:
        inputs = function.inputs
        assert inputs["layers"][0] == adot_layer_arn("us-east-1")
        assert len(inputs["layers"]) == 2  # and the app's dependencies
        assert inputs["tracingConfig"] == {"mode": "Active"}
        env = inputs["environment"]["variables"]
        assert env["SKAAL_TRACES"] == "otlp"
        assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"
        assert env["OTEL_SERVICE_NAME"] == inputs["name"]
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        if not policy.name.endswith("-policy") or "scheduler" in policy.name:
            continue
        statements = json.loads(policy.inputs["policy"])["Statement"]
        actions = {a for s in statements for a in s["Action"]}
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, policy.name

    untraced = aws_support.run_program(aws_support.write_with_layer(plain, tmp_path / "plain"))
    for function in untraced.of_type("aws:lambda/function:Function"):
        assert len(function.inputs["layers"]) == 1
        assert "tracingConfig" not in function.inputs
        assert "SKAAL_TRACES" not in function.inputs["environment"]["variables"]


def test_gcp_services_export_to_cloud_trace_with_the_agent_role() -> None:
    context, plain = gcp_mocks.build_example("jobs")
    artifacts = build_gcp(traced(context))
    names = requirement_names(artifacts, "requirements.txt")
    assert TRACE_PACKAGES | {"opentelemetry-exporter-otlp-proto-grpc", "google-auth"} <= names
    assert not TRACE_PACKAGES & requirement_names(plain, "requirements.txt")

    run = gcp_mocks.run_artifacts(artifacts, gcp_mocks.CONFIG)
    services = run.of_type("gcp:cloudrunv2/service:Service")
    assert services
    accounts = set()
    for service in services:
        template = service.inputs["template"]
        (container,) = template["containers"]
        env = {e["name"]: e.get("value") for e in container["envs"]}
        assert env["SKAAL_TRACES"] == "gcp"
        assert env["OTEL_SERVICE_NAME"] == service.inputs["name"]
        accounts.add(template["serviceAccount"])
    granted = {
        m.inputs["member"]
        for m in run.of_type("gcp:projects/iAMMember:IAMMember")
        if m.inputs["role"] == GCP_TRACE_ROLE
    }
    assert granted == {f"serviceAccount:{a}" for a in accounts}

    untraced = gcp_mocks.run_artifacts(plain, gcp_mocks.CONFIG)
    assert not [
        m
        for m in untraced.of_type("gcp:projects/iAMMember:IAMMember")
        if m.inputs["role"] == GCP_TRACE_ROLE
    ]


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC collector on loopback, keeping the names of the spans it receives."""

    def __init__(self) -> None:
        self.spans: list[str] = []

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        self.spans += [
            span.name
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        return trace_service_pb2.ExportTraceServiceResponse()


class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        return metrics_service_pb2.ExportMetricsServiceResponse()


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    found = Collector()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(found, server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield found, port
    server.stop(grace=None)


def test_a_traced_lambdas_variables_send_its_spans_to_the_collector(
    tmp_path: Path, collector: tuple[Collector, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    found, port = collector
    context, _ = aws_support.build_example("jobs")
    artifacts = build_aws(traced(context))
    stack = AwsStack.model_validate_json(str(artifacts.file("stack.json").content))
    (run_job,) = [f for f in stack.functions if f.name == "run_job"]
    env = {**run_job.env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
    telemetry = telemetry_from_env(env)
    assert telemetry is not None
    with function_span(telemetry, "run_job", "queue"):
        pass
    telemetry.flush()  # what the handler does after each invocation
    assert found.spans == ["function run_job"]
    telemetry.close()

    # the generated entry point still loads the shipped app and lock
    folder = write(artifacts, tmp_path)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(folder / "app"))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    try:
        handler = runpy.run_path(str(folder / "app" / "skaal_lambda.py"))["handler"]
        assert isinstance(handler, LambdaHandler)
        assert handler.plan == context.plan
    finally:
        sys.modules.pop("app", None)
        sys.path.remove(str(folder / "app"))


def test_cloud_trace_without_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud login to fall back on
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # no metadata server either
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(InvalidSettingError, match="SKAAL_TRACES=gcp found no Google credentials"):
        telemetry_from_env({"SKAAL_TRACES": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"})


def test_the_switch_is_read_from_pyproject(tmp_path: Path) -> None:
    assert traces_setting(tmp_path) is False
    (tmp_path / "pyproject.toml").write_text("[tool.skaal]\ntraces = true\n")
    assert traces_setting(tmp_path) is True
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n[tool.skaal]\ntraces = "yes"\n'
    )
    with pytest.raises(UsageError, match="traces must be true or false") as caught:
        traces_setting(tmp_path)
    assert caught.value.exit_code == 2
    assert caught.value.where == f"{tmp_path / 'pyproject.toml'}:4 tool.skaal.traces"
    (tmp_path / "pyproject.toml").write_text("[tool.skaal\ntraces = true\n")
    with pytest.raises(UsageError, match="is not valid TOML"):
        traces_setting(tmp_path)


def test_load_context_carries_the_switch(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(
        "from skaal import App, Map\n\napp = App('traced')\n\n"
        "@app.storage()\nclass Notes(Map[str, str]): ...\n"
    )
    try:
        blueprint = load_app("app.py:app", cwd=project).blueprint()
        plan_blueprint(
            blueprint, catalog_for_target("aws"), lock=FileLockStore(project / "skaal.lock")
        )
        assert load_context("app.py:app", cwd=project, target="aws").traces is False
        (project / "pyproject.toml").write_text("[tool.skaal]\ntraces = true\n")
        # the lock was planned with traces off: the build would send traces it never priced
        with pytest.raises(BuildError, match="planned with traces off") as caught:
            load_context("app.py:app", cwd=project, target="aws")
        assert caught.value.command == "skaal plan --target aws"
        plan_blueprint(
            blueprint,
            catalog_for_target("aws"),
            lock=FileLockStore(project / "skaal.lock"),
            traces=True,
        )
        assert load_context("app.py:app", cwd=project, target="aws").traces is True
        (project / "pyproject.toml").write_text("[tool.skaal]\ntraces = false\n")
        with pytest.raises(BuildError, match="planned with traces on"):
            load_context("app.py:app", cwd=project, target="aws")
    finally:
        sys.modules.pop("app", None)


def test_skaal_plan_prices_the_traces_the_project_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(
        "from skaal import App, Map\n\napp = App('traced')\n\n"
        "@app.storage()\nclass Notes(Map[str, str]): ...\n\n"
        "@app.function(invocations='10/s')\nasync def note(key: str) -> str | None:\n"
        "    return await Notes.get(key)\n"
    )
    (project / "pyproject.toml").write_text('[tool.skaal]\napp = "app.py:app"\ntraces = true\n')
    monkeypatch.chdir(project)
    try:
        result = CliRunner().invoke(cli, ["plan", "--target", "aws", "--json"])
        assert result.exit_code == 0, result.output
        plan = read_lock(project / "skaal.lock")
        assert plan is not None
        assert plan.traces is True
        (line,) = [c for c in plan.binding("note").cost if c.component == "per_million_traces"]
        assert line.quantity == pytest.approx(26.28)  # 10/s x 2,628,000 s, in millions
        assert "traces = true" in (project / "skaal.lock").read_text()
        assert load_context(None, cwd=project, target="aws").traces is True
    finally:
        sys.modules.pop("app", None)
