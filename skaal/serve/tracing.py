"""A function span around every HTTP call, when the runtime traces (:mod:`skaal.runtime.tracing`).

:class:`TraceRequests` is always in the middleware of :func:`skaal.serve.build_asgi`;
it reads the serving runtime's telemetry per request and steps aside when
there is none, so an untraced server pays one attribute read a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from skaal.runtime.tracing import Telemetry

__all__ = ["TraceRequests"]


_UNTRACED: Final = ("/_skaal", "/docs", "/openapi.json", "/favicon.ico")


class TraceRequests:
    """ASGI middleware: a function span around every HTTP call to the app.

    ``/fn/<name>`` calls are named after the function; a call to a mounted
    app after its path.  The dashboard's own routes, ``/docs`` and the
    OpenAPI document are not traced.
    """

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state
        """The :class:`~skaal.serve.app.ServeState`: its runtime's telemetry, if any, is used."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path: str = scope.get("path", "")
        runtime = self.state.runtime
        telemetry: Telemetry | None = getattr(runtime, "telemetry", None)
        if (
            telemetry is None
            or scope["type"] != "http"
            or path == "/"
            or path.startswith(_UNTRACED)
        ):
            await self.app(scope, receive, send)
            return
        name = path[len("/fn/") :] if path.startswith("/fn/") else path
        attributes = {
            "skaal.function": name,
            "skaal.trigger": "http",
            "http.method": scope.get("method", ""),
            "http.target": path,
        }
        with telemetry.tracer.start_as_current_span(
            f"function {name}", attributes=attributes, record_exception=True
        ) as span:

            async def watch(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.status_code", status)
                    if status >= 500:
                        from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415 - optional extra "telemetry": imported only when tracing is on

                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                await send(message)

            await self.app(scope, receive, watch)
