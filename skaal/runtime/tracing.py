"""OpenTelemetry spans and metrics for the data plane -- only when asked for.

Tracing is **off** unless the runtime is opened with telemetry
(``Runtime.open(..., telemetry=...)``; ``skaal run`` passes one for its
dashboard) or its environment sets ``SKAAL_TRACES=otlp`` (a deployed
function: :func:`telemetry_from_env`).  Off, nothing
here is imported and no store is wrapped: a client calls its backend
directly, so tracing that is off costs nothing.

On, every store the runtime opens is wrapped in a :class:`TracedStore`.
Each operation (``get``, ``set``, ``find``, ``send``, ``receive``, ...)
becomes a span ``<kind>.<operation>`` (``map.get``) with the attributes

* ``skaal.resource`` -- the declared name (``cart.Carts``),
* ``skaal.backend`` and ``skaal.implementation`` -- where the plan put it,
* ``skaal.operation`` -- the port method,
* ``skaal.bytes`` -- bytes written (a value, a document, a message body) or
  read (a value, a document),
* ``skaal.retries`` -- for a backend that retries its own calls
  (:mod:`skaal.runtime.retry`), how many retries this call needed,

and the error, when it raised.  A histogram ``skaal.operation.duration``
(seconds) and a counter ``skaal.operation.errors`` carry the same
attributes, through the meter given with the tracer (none: no metrics).
:func:`function_span` is the span of one function call (an HTTP request,
a message, a scheduled run); the operations the function makes are its
children, since OpenTelemetry's context follows the call.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from skaal.runtime.errors import InvalidSettingError
from skaal.runtime.retry import RETRIES

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "TRACES_VARIABLE",
    "Telemetry",
    "TracedStore",
    "function_span",
    "telemetry_from_env",
]

#: Port methods that are not data operations (never traced).
_LIFECYCLE: Final = frozenset({"open", "close", "native"})


class Telemetry:
    """A tracer and, optionally, a meter: what the runtime reports through."""

    def __init__(
        self,
        tracer: Tracer,
        meter: Meter | None = None,
        *,
        close: Callable[[], object] | None = None,
        flush: Callable[[], object] | None = None,
    ) -> None:
        self.tracer = tracer
        self._close = close
        self._flush = flush
        self.duration: Histogram | None = None
        self.errors: Counter | None = None
        if meter is not None:
            self.duration = meter.create_histogram(
                "skaal.operation.duration", unit="s", description="storage and queue operations"
            )
            self.errors = meter.create_counter(
                "skaal.operation.errors", description="storage and queue operations that raised"
            )

    def close(self) -> None:
        """Flush and stop the exporters this telemetry owns (none: nothing to do)."""
        if self._close is not None:
            self._close()

    def flush(self) -> None:
        """Export what is buffered now (a host whose process is frozen between calls, such
        as AWS Lambda, flushes after each one); no exporter: nothing to do."""
        if self._flush is not None:
            self._flush()

    def record(self, attributes: dict[str, Any], seconds: float, failed: bool) -> None:
        if self.duration is not None:
            self.duration.record(seconds, attributes)
        if failed and self.errors is not None:
            self.errors.add(1, attributes)


def _size(value: object) -> int | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    return None


def _bytes_of(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> int:
    """Bytes written by the call's arguments or read in its result (0 when unknown)."""
    total = 0
    for value in (*args, *kwargs.values()):
        size = _size(value)
        if size is not None:
            total += size
        elif operation in ("set_many",) and isinstance(value, dict):
            total += sum(len(v) for v in value.values() if isinstance(v, bytes))
    size = _size(result)
    if size is not None:
        total += size
    elif isinstance(result, dict):
        total += sum(len(v) for v in result.values() if isinstance(v, bytes))
    return total


class TracedStore:
    """Wraps one store: each of its async data methods runs inside a span.

    Attributes the store does not have are not invented (``hasattr`` stays
    true to the store), so optional capabilities such as
    :class:`~skaal.runtime.ports.RedrivesDeadLetters` are seen as they are.
    """

    def __init__(
        self, store: Any, *, telemetry: Telemetry, resource: str, kind: str, backend: str,
        implementation: str,
    ) -> None:  # fmt: skip
        self._store = store
        self._telemetry = telemetry
        self._kind = kind
        self._attributes = {
            "skaal.resource": resource,
            "skaal.backend": backend,
            "skaal.implementation": implementation,
        }

    @property
    def inner(self) -> Any:
        """The store this one wraps."""
        return self._store

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if name.startswith("_") or name in _LIFECYCLE or not callable(target):
            return target

        if not inspect.iscoroutinefunction(target):
            return target
        traced = self._traced(name, target)
        setattr(self, name, traced)  # built once: later lookups do not reach __getattr__
        return traced

    def _traced(self, operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
        telemetry, kind = self._telemetry, self._kind
        attributes = {**self._attributes, "skaal.operation": operation}

        span_name = f"{kind}.{operation}"
        start_span = telemetry.tracer.start_as_current_span

        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            with start_span(span_name, attributes=attributes, record_exception=True) as span:
                counter = [0]
                token = RETRIES.set(counter)
                try:
                    result = await method(*args, **kwargs)
                except BaseException:
                    _finish(span, telemetry, attributes, started, counter[0], failed=True)
                    raise
                finally:
                    RETRIES.reset(token)
                span.set_attribute("skaal.bytes", _bytes_of(operation, args, kwargs, result))
                _finish(span, telemetry, attributes, started, counter[0], failed=False)
                return result

        return call


def _finish(
    span: Span,
    telemetry: Telemetry,
    attributes: dict[str, Any],
    started: float,
    retries: int,
    *,
    failed: bool,
) -> None:
    if retries:
        span.set_attribute("skaal.retries", retries)
    telemetry.record(attributes, time.perf_counter() - started, failed)


@contextmanager
def function_span(telemetry: Telemetry | None, name: str, trigger: str) -> Iterator[None]:
    """The span of one call of the function ``name`` started by ``trigger`` (http, queue,
    topic, schedule); nothing when ``telemetry`` is ``None``."""
    if telemetry is None:
        yield
        return
    attributes = {"skaal.function": name, "skaal.trigger": trigger}
    started = time.perf_counter()
    failed = False
    with telemetry.tracer.start_as_current_span(
        f"function {name}", attributes=attributes, record_exception=True
    ):
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            telemetry.record(attributes, time.perf_counter() - started, failed)


TRACES_VARIABLE: Final = "SKAAL_TRACES"
"""Turns tracing on in a deployed function: ``otlp`` (or ``off``, the default)."""


def telemetry_from_env(env: Mapping[str, str]) -> Telemetry | None:
    """The telemetry a deployed runtime reports through, from ``SKAAL_TRACES``.

    * unset, empty or ``off``: ``None`` -- nothing is traced, nothing imported;
    * ``otlp``: spans and metrics exported over OTLP/gRPC to the collector the
      standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` names (default
      ``localhost:4317``): on AWS Lambda the ADOT layer's collector, which
      forwards to X-Ray and CloudWatch; on Cloud Run an OpenTelemetry
      collector sidecar forwarding to Cloud Trace and Cloud Monitoring.
      ``OTEL_SERVICE_NAME`` names the service (default: the app);
    * ``gcp``: spans exported straight to Cloud Trace over OTLP/gRPC
      (Google's Telemetry API, ``telemetry.googleapis.com``), authenticated
      with the service account's credentials (it needs
      ``roles/cloudtrace.agent``); no metrics.

    Needs ``opentelemetry-sdk`` and ``opentelemetry-exporter-otlp-proto-grpc``
    (``pip install 'skaal[telemetry]' opentelemetry-exporter-otlp-proto-grpc``);
    a missing package or another value is an :class:`InvalidSettingError`.
    """

    value = env.get(TRACES_VARIABLE, "").strip().lower()
    if value in ("", "off", "0", "false"):
        return None
    if value == "gcp":
        return _cloud_trace(env)
    if value != "otlp":
        raise InvalidSettingError(
            f"{TRACES_VARIABLE}={value!r} is not a way of exporting traces",
            where=TRACES_VARIABLE,
            fix=f"set {TRACES_VARIABLE}=otlp (to the collector at OTEL_EXPORTER_OTLP_ENDPOINT), "
            f"{TRACES_VARIABLE}=gcp (to Cloud Trace) or leave it unset",
        )
    try:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
    except ImportError as exc:
        raise InvalidSettingError(
            f"{TRACES_VARIABLE}=otlp needs the OpenTelemetry SDK and OTLP exporter ({exc.name} "
            "is missing)",
            where=TRACES_VARIABLE,
            fix="add skaal[telemetry] and opentelemetry-exporter-otlp-proto-grpc to the "
            "function's requirements, or unset SKAAL_TRACES",
        ) from None
    resource = Resource.create(
        {"service.name": env.get("OTEL_SERVICE_NAME") or env.get("SKAAL_APP") or "skaal"}
    )
    tracer_provider = TracerProvider(resource=resource)
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    insecure = bool(endpoint and endpoint.startswith("http://")) or None
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=insecure))
    )
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[
            PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=insecure))
        ],
    )

    def close() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    def flush() -> None:
        tracer_provider.force_flush()
        meter_provider.force_flush()

    return Telemetry(
        tracer_provider.get_tracer("skaal"),
        meter_provider.get_meter("skaal"),
        close=close,
        flush=flush,
    )


def _cloud_trace(env: Mapping[str, str]) -> Telemetry:
    """Spans to Cloud Trace (``SKAAL_TRACES=gcp``): OTLP/gRPC to Google's Telemetry API,
    authenticated as the service's account; no collector, no metrics."""
    try:
        import google.auth  # noqa: PLC0415 - optional: imported only when tracing to Cloud Trace
        import grpc  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from google.auth.exceptions import DefaultCredentialsError  # noqa: PLC0415 - optional: imported only when tracing to Cloud Trace
        from google.auth.transport.grpc import AuthMetadataPlugin  # noqa: PLC0415 - optional: imported only when tracing to Cloud Trace
        from google.auth.transport.requests import Request  # noqa: PLC0415 - optional: imported only when tracing to Cloud Trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
    except ImportError as exc:
        raise InvalidSettingError(
            f"{TRACES_VARIABLE}=gcp needs the OpenTelemetry SDK, its OTLP exporter and "
            f"google-auth ({exc.name} is missing)",
            where=TRACES_VARIABLE,
            fix="add skaal[telemetry], opentelemetry-exporter-otlp-proto-grpc, google-auth and "
            "requests to the service's requirements (skaal build does with [tool.skaal] "
            "traces = true), or unset SKAAL_TRACES",
        ) from None
    try:
        credentials, found = google.auth.default(scopes=[_TRACE_SCOPE])
    except DefaultCredentialsError as exc:
        raise InvalidSettingError(
            f"{TRACES_VARIABLE}=gcp found no Google credentials to write to Cloud Trace with "
            f"({str(exc).partition('.')[0]})",
            where=TRACES_VARIABLE,
            fix="run on Google Cloud (the service account's credentials) or set "
            "GOOGLE_APPLICATION_CREDENTIALS; or unset SKAAL_TRACES",
        ) from None
    project = env.get("GOOGLE_CLOUD_PROJECT") or found
    plugin = AuthMetadataPlugin(credentials=credentials, request=Request())  # type: ignore[no-untyped-call]
    channel = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(), grpc.metadata_call_credentials(plugin)
    )
    exporter = OTLPSpanExporter(
        endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or CLOUD_TRACE_ENDPOINT,
        credentials=channel,
        headers={"x-goog-user-project": project} if project else None,
    )
    resource = Resource.create(
        {
            "service.name": env.get("OTEL_SERVICE_NAME") or env.get("SKAAL_APP") or "skaal",
            **({"gcp.project_id": project} if project else {}),
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Telemetry(
        provider.get_tracer("skaal"), close=provider.shutdown, flush=provider.force_flush
    )


CLOUD_TRACE_ENDPOINT: Final = "telemetry.googleapis.com:443"
"""Google's Telemetry (OTLP) API: where ``SKAAL_TRACES=gcp`` sends spans."""

_TRACE_SCOPE: Final = "https://www.googleapis.com/auth/trace.append"
