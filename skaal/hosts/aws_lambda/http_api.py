"""API Gateway HTTP API (payload format 2.0) events as ASGI requests.

A Lambda behind an HTTP API receives one JSON event per request and returns
one JSON response.  :func:`scope_from_event` turns the event into an ASGI
``http`` scope and the request body; :func:`call_asgi` runs any ASGI app on
them and collects the response into the 2.0 response shape:

* ``rawPath`` and ``rawQueryString`` are the path and query as the client
  sent them (percent-encoded); a named stage (``/prod/...``) becomes the ASGI
  ``root_path``, and stays in ``path`` as the ASGI specification (and
  uvicorn's ``--root-path``) has it, so the router strips it and a mounted
  WSGI app sees ``SCRIPT_NAME=/prod/<mount>``;
* ``cookies`` arrive as a separate list and are folded back into one
  ``cookie`` header; ``set-cookie`` response headers leave as the
  ``cookies`` list, every other repeated header is comma-joined;
* a body flagged ``isBase64Encoded`` is decoded; a response body that is not
  UTF-8 text (by its content type) is returned base64-encoded.

Only HTTP is handled: the HTTP API does not carry WebSockets, and lifespan
events are not sent (the Lambda handler opens the runtime itself).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from msgspec import Struct

from skaal.errors import SkaalRuntimeError

__all__ = ["HttpRequest", "call_asgi", "exchange", "is_http_event", "scope_from_event"]

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/problem+json",
    "image/svg+xml",
)


class HttpRequest(Struct, frozen=True):
    """An ASGI scope and the request body it goes with."""

    scope: dict[str, Any]
    body: bytes


def is_http_event(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is an HTTP API payload of format version 2.0."""
    context = event.get("requestContext")
    return event.get("version") == "2.0" and isinstance(context, Mapping) and "http" in context


def scope_from_event(event: Mapping[str, Any]) -> HttpRequest:
    """The ASGI scope and body of an HTTP API (2.0) event."""
    if not is_http_event(event):
        raise SkaalRuntimeError(
            "the Lambda received an event that is not an HTTP API 2.0 request",
            fix="route the API with payload_format_version 2.0",
        )
    context = event["requestContext"]
    http = context["http"]
    stage = str(context.get("stage") or "$default")
    raw_path = str(event.get("rawPath") or http.get("path") or "/")
    root_path = ""
    if stage != "$default" and (raw_path == f"/{stage}" or raw_path.startswith(f"/{stage}/")):
        root_path = f"/{stage}"
        raw_path = raw_path if raw_path != root_path else f"{root_path}/"
    headers: list[tuple[bytes, bytes]] = [
        (str(k).lower().encode("latin-1"), str(v).encode("latin-1"))
        for k, v in (event.get("headers") or {}).items()
    ]
    cookies = event.get("cookies") or []
    if cookies:
        headers = [h for h in headers if h[0] != b"cookie"]
        headers.append((b"cookie", "; ".join(cookies).encode("latin-1")))
    host = next((v.decode("latin-1") for k, v in headers if k == b"host"), "")
    host = host or str(context.get("domainName") or "localhost")
    port = 443
    scheme = next((v.decode() for k, v in headers if k == b"x-forwarded-proto"), "https")
    body_text = event.get("body") or ""
    body = (
        base64.b64decode(body_text)
        if event.get("isBase64Encoded")
        else str(body_text).encode("utf-8")
    )
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": str(http.get("method", "GET")).upper(),
        "scheme": scheme,
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "root_path": root_path,
        "query_string": str(event.get("rawQueryString") or "").encode("latin-1"),
        "headers": headers,
        "client": (str(http.get("sourceIp") or "0.0.0.0"), 0),
        "server": (host, port),
        "state": {},
        "extensions": {},
    }
    return HttpRequest(scope=scope, body=body)


async def call_asgi(app: Any, request: HttpRequest) -> dict[str, Any]:
    """Run ``app`` on ``request`` and return the HTTP API 2.0 response."""
    return _response(*await exchange(app, request))


async def exchange(app: Any, request: HttpRequest) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run ``app`` on ``request``: the status, the headers and the whole body it answered."""
    sent_body = False
    status = 500
    response_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if sent_body:
            return {"type": "http.disconnect"}
        sent_body = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            response_headers.extend(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(request.scope, receive, send)
    return status, response_headers, b"".join(chunks)


def _response(status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "set-cookie":
            cookies.append(value)
        elif name in headers:
            headers[name] = f"{headers[name]},{value}"
        else:
            headers[name] = value
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(_TEXT_TYPES)
    text: str | None = None
    if is_text:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    response: dict[str, Any] = {
        "statusCode": status,
        "headers": headers,
        "body": text if text is not None else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": text is None,
    }
    if cookies:
        response["cookies"] = cookies
    return response
