"""How the server answers when something goes wrong: always JSON, never a traceback.

* An exception escaping a function (or a mounted app that has no handler of
  its own) is caught by :class:`CatchAllMiddleware` and becomes
  ``500 {"error": "internal", "error_id": "..."}``.  The traceback goes to
  the ``skaal.serve`` logger with the same error id, so a user reporting
  the id lets the operator find the log line; nothing about the code leaks
  to the client.
* Starlette ``HTTPException`` s (unknown route 404, wrong method 405, or one a
  function raises on purpose) become ``{"error": "<slug>", "detail": ...}``
  with their status.
* A runtime error the caller caused -- a blob key or list prefix the store
  rejects (:class:`~skaal.runtime.errors.BlobKeyError`), a cursor it never
  returned -- answers 400 ``{"error": "bad_request", "detail": ...}``, and
  a missing blob 404, with the error's own sentence (clipped) and no
  traceback: see :data:`CLIENT_ERRORS`.
* Refused requests (400, 413, 415, 422) are answered by the endpoint itself
  (:mod:`skaal.serve.routes`, :mod:`skaal.serve.problems`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skaal.errors import SkaalError
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError, InvalidCursorError
from skaal.serve.problems import clip, problem_response

__all__ = [
    "CLIENT_ERRORS",
    "CatchAllMiddleware",
    "client_error",
    "exception_handlers",
    "new_error_id",
]

CLIENT_ERRORS: Mapping[type[Exception], int] = {
    BlobKeyError: 400,
    InvalidCursorError: 400,
    BlobNotFoundError: 404,
}
"""Runtime errors that a request's input causes, and the status they answer."""

log = logging.getLogger("skaal.serve")


def new_error_id() -> str:
    """A short random id to correlate a 500 response with its log line."""
    return secrets.token_hex(8)


class CatchAllMiddleware:
    """Turn any exception into a JSON 500 with an error id, and log the traceback.

    Unlike Starlette's outermost handler it does not re-raise, so the
    traceback is logged once (here, with the id) and not again by the server.
    If the response had already started, the connection is simply closed
    after logging: there is nothing else that can be sent.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            response = client_error(exc) or internal_error(Request(scope), exc)
            if not started:
                await response(scope, receive, send)


def client_error(exc: Exception) -> Response | None:
    """The 4xx answer for a runtime error the caller caused, else ``None``."""
    status = next((s for cls, s in CLIENT_ERRORS.items() if isinstance(exc, cls)), None)
    if status is None:
        return None
    what = exc.what if isinstance(exc, SkaalError) else str(exc)
    return problem_response(status, _slug(status), clip(what, 300))


def internal_error(request: Request, exc: Exception) -> Response:
    """Log ``exc`` with a fresh error id; the response names only the id."""
    error_id = new_error_id()
    log.error(
        "error_id=%s %s %s raised %s",
        error_id,
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return JSONResponse({"error": "internal", "error_id": error_id}, status_code=500)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    slug = _slug(exc.status_code)
    body: dict[str, Any] = {"error": slug, "detail": exc.detail}
    if exc.status_code == 404:
        body["path"] = request.url.path
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def exception_handlers() -> Mapping[Any, Callable[[Request, Exception], Any]]:
    """The handlers to pass to ``Starlette(exception_handlers=...)``."""
    return {HTTPException: http_error}
