"""API Gateway REST API (payload format 1.0) events, translated by mangum.

The aws target fronts its Lambda with an HTTP API (payload 2.0,
:mod:`skaal.hosts.aws_lambda.http_api`), but a team that already has a REST API (or an
edge-optimised one in front of a legacy app) can point it at the same
handler.  Its events are translated by `mangum <https://mangum.fastapiexpert.com>`_'s
``APIGateway`` handler, the ASGI-on-Lambda adapter of the field: it builds
the ASGI scope (multi-value headers joined, multi-value query strings
encoded, a base64 body decoded) and shapes the 1.0 response (repeated
headers in ``multiValueHeaders``, bodies that are not text base64-encoded).
Only the translation is taken from mangum: the request runs on the
handler's own event loop, where the runtime is open, through
:func:`skaal.hosts.aws_lambda.http_api.exchange`.

One thing is added to mangum's scope: a REST API serves every stage under
its name (``/prod/...``) on its own domain, and the event's ``path`` leaves
the stage out.  As for the HTTP API (:mod:`skaal.hosts.aws_lambda.http_api`), the stage
becomes the ASGI ``root_path`` and is put back in front of ``path``, so the
links an app builds (Flask's ``url_for``) carry it.  Behind a custom domain
(``requestContext.path`` has no stage in front) nothing is added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from skaal.hosts.aws_lambda.http_api import HttpRequest, exchange

__all__ = ["call_rest", "is_rest_event"]


def is_rest_event(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is a REST API (payload 1.0) proxy request."""
    context = event.get("requestContext")
    return (
        isinstance(context, Mapping)
        and "httpMethod" in event
        and "resource" in event
        and event.get("version", "1.0") == "1.0"
    )


async def call_rest(app: Any, event: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``app`` on the REST API request ``event``; the 1.0 response."""
    from mangum.adapter import DEFAULT_TEXT_MIME_TYPES
    from mangum.handlers import APIGateway
    from mangum.types import LambdaConfig

    config = LambdaConfig(
        api_gateway_base_path="/",
        text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/problem+json", "image/svg+xml"],
        exclude_headers=[],
    )
    handler = APIGateway(dict(event), None, config)  # type: ignore[arg-type]  # no Lambda context is read
    scope = dict(handler.scope)
    context = event["requestContext"]
    stage = f"/{context.get('stage') or ''}"
    if stage != "/" and unquote(str(context.get("path") or "")) == stage + scope["path"]:
        scope["root_path"] = stage
        scope["path"] = stage + scope["path"]
    request = HttpRequest(scope=scope, body=handler.body)
    status, headers, body = await exchange(app, request)
    return handler({"status": status, "headers": headers, "body": body})  # type: ignore[typeddict-item]
