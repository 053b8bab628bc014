"""The dashboard's trace log: the latest calls, each with the operations it made.

:class:`TraceLog` is an OpenTelemetry span processor kept in memory.  The
spans of one trace end child first: every storage or queue operation
(``map.get`` ... from :mod:`skaal.runtime.tracing`) is held under its trace
id until the trace's root span -- the function call (``function
billing.checkout``) -- ends; the call is then recorded with its operations
and the oldest call is dropped beyond ``capacity``.  Operations whose trace
has no function span (a call made outside any function: the dashboard's own
reads are not traced) are dropped with their trace, bounded the same way.

:func:`local_telemetry` makes the tracer ``skaal run`` gives the runtime:
its own ``TracerProvider`` (the process-wide one is left alone) sending
every span to a :class:`TraceLog`, plus a meter when OpenTelemetry's SDK
metrics are wanted.  The ``opentelemetry-sdk`` package comes with the
``telemetry`` extra; without it the dashboard shows no requests and says
why.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any, Final

from skaal.runtime.tracing import Telemetry

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from skaal.runtime.tracing import Telemetry

__all__ = ["DEFAULT_CAPACITY", "TraceLog", "local_telemetry"]

DEFAULT_CAPACITY: Final = 200
_MAX_OPEN_TRACES: Final = 1000
_MAX_OPERATIONS: Final = 200
"""Operations kept per call (a loop of a million gets keeps the first ones and a count)."""


def _ms(span: ReadableSpan) -> float:
    if span.start_time is None or span.end_time is None:
        return 0.0
    return round((span.end_time - span.start_time) / 1e6, 3)


def _error(span: ReadableSpan) -> str | None:
    if span.status.is_ok:
        return None
    for event in span.events:
        if event.name == "exception" and event.attributes:
            kind = event.attributes.get("exception.type", "")
            message = event.attributes.get("exception.message", "")
            return f"{kind}: {message}"
    return span.status.description or "error"


class TraceLog:
    """The latest ``capacity`` function calls, fed ended spans by an OpenTelemetry span
    processor (:func:`local_telemetry` makes one)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._calls: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._open: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._seq = 0

    def on_end(self, span: ReadableSpan) -> None:
        """Record an ended span (a function call, or an operation of one)."""
        context = span.context
        if context is None:
            return
        attributes = dict(span.attributes or {})
        with self._lock:
            if "skaal.function" in attributes:
                self._finish_call(context.trace_id, span, attributes)
            elif "skaal.operation" in attributes:
                self._add_operation(context.trace_id, span, attributes)

    def _add_operation(self, trace: int, span: ReadableSpan, attributes: dict[str, Any]) -> None:
        operations = self._open.get(trace)
        if operations is None:
            operations = self._open[trace] = []
            while len(self._open) > _MAX_OPEN_TRACES:
                self._open.popitem(last=False)
        if len(operations) < _MAX_OPERATIONS:
            operations.append(
                {
                    "name": span.name,
                    "resource": attributes.get("skaal.resource"),
                    "backend": attributes.get("skaal.backend"),
                    "operation": attributes.get("skaal.operation"),
                    "bytes": attributes.get("skaal.bytes", 0),
                    "retries": attributes.get("skaal.retries", 0),
                    "ms": _ms(span),
                    "error": _error(span),
                    "start": span.start_time or 0,
                }
            )

    def _finish_call(self, trace: int, span: ReadableSpan, attributes: dict[str, Any]) -> None:
        operations = sorted(self._open.pop(trace, []), key=lambda op: op["start"])
        for op in operations:
            op["offset_ms"] = round((op.pop("start") - (span.start_time or 0)) / 1e6, 3)
        self._seq += 1
        error = _error(span)
        status = attributes.get("http.status_code")
        self._calls.append(
            {
                "id": self._seq,
                "trace_id": f"{trace:032x}",
                "function": attributes.get("skaal.function"),
                "trigger": attributes.get("skaal.trigger"),
                "method": attributes.get("http.method"),
                "path": attributes.get("http.target"),
                "status": status if status is not None else ("error" if error else "ok"),
                "started": (span.start_time or 0) / 1e9,
                "ms": _ms(span),
                "error": error,
                "operations": operations,
            }
        )

    # -- reading -----------------------------------------------------------------

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """The latest ``limit`` calls, newest first."""
        with self._lock:
            calls = list(self._calls)
        return calls[::-1][:limit]


def local_telemetry(capacity: int = DEFAULT_CAPACITY) -> tuple[Telemetry, TraceLog] | None:
    """A tracer recording into a new :class:`TraceLog`, or ``None`` without the OpenTelemetry
    SDK (``pip install 'skaal[telemetry]'``)."""
    try:
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on
    except ImportError:
        return None

    log = TraceLog(capacity)

    class Processor(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            log.on_end(span)

    provider = TracerProvider()
    provider.add_span_processor(Processor())
    return Telemetry(provider.get_tracer("skaal")), log
