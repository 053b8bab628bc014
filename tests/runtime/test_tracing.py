"""OpenTelemetry spans of the data plane (:mod:`skaal.runtime.tracing`), read back from the SDK."""

from __future__ import annotations

import asyncio
from concurrent import futures
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skaal import App, Map, Queue
from skaal.catalog import catalog_for_target
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.runtime import Runtime
from skaal.runtime.backends.memory import MemoryQueue
from skaal.runtime.errors import InvalidSettingError
from skaal.runtime.ports import RedrivesDeadLetters
from skaal.runtime.retry import Failure, RetryPolicy, Safety, call
from skaal.runtime.tracing import Telemetry, TracedStore, function_span, telemetry_from_env


@pytest.fixture
def spans() -> tuple[Telemetry, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Telemetry(provider.get_tracer("test")), exporter


def make_app() -> App:
    app = App("traced")

    @app.storage(durability="ephemeral")
    class Scores(Map[str, int]): ...

    @app.queue(durability="ephemeral")
    class Jobs(Queue[str]): ...

    return app


@pytest.mark.asyncio
async def test_each_operation_is_a_child_span_of_its_function(
    spans: tuple[Telemetry, InMemorySpanExporter], tmp_path: Path
) -> None:
    telemetry, exporter = spans
    app = make_app()
    blueprint = app.blueprint()
    plan = plan_blueprint(blueprint, catalog_for_target("local"), lock=MemoryLockStore()).plan
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}, telemetry=telemetry) as rt:
        scores = rt.client_named("Scores")
        with function_span(telemetry, "score", "http"):
            await scores.set("ada", 3)  # type: ignore[call-arg]
            assert await scores.get("ada") == 3  # type: ignore[call-arg]
    finished = {s.name: s for s in exporter.get_finished_spans()}
    root = finished["function score"]
    assert root.attributes == {"skaal.function": "score", "skaal.trigger": "http"}
    put, get = finished["map.set"], finished["map.get"]
    for span in (put, get):
        assert span.parent is not None
        assert span.parent.span_id == root.context.span_id
        assert span.attributes is not None
        assert span.attributes["skaal.resource"] == "Scores"
        assert span.attributes["skaal.backend"] == plan.binding("Scores").backend
    assert put.attributes is not None
    assert put.attributes["skaal.bytes"] == len(b"3")
    assert get.attributes is not None
    assert get.attributes["skaal.bytes"] == len(b"3")


@pytest.mark.asyncio
async def test_no_telemetry_wraps_nothing(tmp_path: Path) -> None:
    app = make_app()
    plan = plan_blueprint(app.blueprint(), catalog_for_target("local"), lock=MemoryLockStore()).plan
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}) as rt:
        assert rt.telemetry is None
        assert not isinstance(rt.client_named("Scores").backend, TracedStore)


@pytest.mark.asyncio
async def test_errors_capabilities_and_retries(
    spans: tuple[Telemetry, InMemorySpanExporter],
) -> None:
    telemetry, exporter = spans
    queue = MemoryQueue(clock=lambda: 0.0, resource="Jobs")
    traced = TracedStore(
        queue, telemetry=telemetry, resource="Jobs", kind="queue", backend="memory",
        implementation="memory",
    )  # fmt: skip
    assert isinstance(traced, RedrivesDeadLetters)  # the capability is seen through the wrapper
    assert not hasattr(traced, "presigned_url")
    assert await traced.send(b"job") == "m1"

    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("reset")
        return "ok"

    async def through_retries() -> str:
        return await call(
            flaky,
            resource="queue 'Jobs'",
            operation="receive",
            safety=Safety.READ,
            classify=lambda e: Failure.NOT_SENT,
            policy=RetryPolicy(attempts=5, initial_delay=0.0, max_delay=0.0),
        )

    inner = TracedStore(
        type("Store", (), {"receive": staticmethod(through_retries)})(),
        telemetry=telemetry, resource="Jobs", kind="queue", backend="sqs", implementation="sqs",
    )  # fmt: skip
    assert await inner.receive() == "ok"

    async def broken() -> None:
        raise RuntimeError("down")

    failing = TracedStore(
        type("Store", (), {"ack": staticmethod(broken)})(),
        telemetry=telemetry, resource="Jobs", kind="queue", backend="sqs", implementation="sqs",
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="down"):
        await failing.ack()
    finished = {s.name: s for s in exporter.get_finished_spans()}
    assert finished["queue.send"].attributes is not None
    assert finished["queue.send"].attributes["skaal.bytes"] == 3
    assert finished["queue.receive"].attributes is not None
    assert finished["queue.receive"].attributes["skaal.retries"] == 2
    ack = finished["queue.ack"]
    assert not ack.status.is_ok
    assert ack.events[0].name == "exception"


class _Collector:
    """A real OTLP/gRPC receiver on a free loopback port, keeping what it is sent."""

    def __init__(self) -> None:

        import grpc  # noqa: PLC0415 - comes with the optional "telemetry" extra, needed by this test only
        from opentelemetry.proto.collector.metrics.v1 import (  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
            metrics_service_pb2,
            metrics_service_pb2_grpc,
        )
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on

        self.spans: list[str] = []
        self.metrics: list[str] = []
        collector = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans += [span.name for span in scope.spans]
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
                for resource in request.resource_metrics:
                    for scope in resource.scope_metrics:
                        collector.metrics += [metric.name for metric in scope.metrics]
                return metrics_service_pb2.ExportMetricsServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self.server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()


def test_skaal_traces_otlp_exports_spans_and_metrics_to_the_collector(tmp_path: Path) -> None:
    collector = _Collector()
    try:
        app = make_app()
        plan = plan_blueprint(
            app.blueprint(), catalog_for_target("local"), lock=MemoryLockStore()
        ).plan
        env = {
            "SKAAL_TRACES": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        }

        async def run() -> None:
            async with Runtime.open(app, plan, data_dir=tmp_path, env=env) as rt:
                assert rt.telemetry is not None
                with function_span(rt.telemetry, "score", "queue"):
                    await rt.client_named("Scores").set("ada", 1)  # type: ignore[call-arg]

        asyncio.run(run())  # closing the runtime flushes its exporters
    finally:
        collector.server.stop(None)
    assert sorted(collector.spans) == ["function score", "map.set"]
    assert "skaal.operation.duration" in collector.metrics


@pytest.mark.parametrize("value", ["", "off"])
def test_skaal_traces_off_is_no_telemetry(value: str) -> None:
    assert telemetry_from_env({"SKAAL_TRACES": value}) is None
    assert telemetry_from_env({}) is None


def test_an_unknown_skaal_traces_is_a_clear_error() -> None:
    with pytest.raises(InvalidSettingError, match="SKAAL_TRACES='xray' is not a way"):
        telemetry_from_env({"SKAAL_TRACES": "xray"})
