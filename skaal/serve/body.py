"""Reading a function call's JSON body, refusing what is not JSON or too large.

Used by every function endpoint (:mod:`skaal.serve.routes`), whatever
serves it (``skaal run``, a local artifact, Cloud Run, Lambda):

1. :func:`read_json_body` checks that a body is declared JSON:
   ``application/json`` or any ``application/<x>+json``, with an optional
   ``charset=utf-8``.  Anything else, or a body without a content type,
   answers 415.  This also refuses the "simple" cross-site requests a
   browser sends without asking first (forms, ``no-cors`` fetches: they can
   only be ``text/plain``, form-encoded or multipart).
2. It then reads at most ``limit`` bytes: a ``Content-Length`` above it
   answers 413 before anything is read, and a streamed body is counted
   while it arrives and refused (413) as soon as it passes the limit, so a
   100 MB upload is never held in memory.
3. :func:`check_finite` -- JSON has no ``NaN`` or ``Infinity``, and a number
   such as ``1e400`` would become one in Python.  Both answer 400
   ``non_finite_number``.  The check costs one scan of the bytes for the
   few patterns that can produce such a number (``NaN``, ``Infinity``, an
   exponent of three digits or more, 300 digits in a row); only a body with
   one of them is parsed a second time to decide.

Invalid JSON and invalid UTF-8 are found by the parameter model's own JSON
parser (:func:`skaal.serve.problems.validation_problem` answers 400).
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from pydantic_core import from_json
from starlette.requests import ClientDisconnect, Request

from skaal.serve.problems import RequestRefusedError, clip

__all__ = [
    "DEFAULT_MAX_BODY",
    "check_finite",
    "has_non_finite",
    "is_json_media_type",
    "read_json_body",
]

DEFAULT_MAX_BODY: Final = 1024 * 1024
"""Bytes a function call's body may have unless configured otherwise (1 MiB)."""

_SUSPECT: Final = re.compile(rb"NaN|Infinity|[eE]\+?[0-9]{3}|[0-9]{300}")
_PLAIN_JSON: Final = frozenset(
    {b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8"}
)
"""The usual spellings, accepted without parsing."""


def is_json_media_type(value: str) -> bool:
    """Whether a ``Content-Type`` value declares UTF-8 JSON."""
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        return False
    for param in params.split(";"):
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset":
            charset = raw.strip().strip('"').lower()
            if charset not in ("utf-8", "utf8"):
                return False
    return True


async def read_json_body(request: Request, limit: int) -> bytes:
    """The body of a function call: refused unless declared JSON (415) and within ``limit`` (413).

    The headers are scanned once and the body is read straight from the ASGI
    ``receive`` channel: this runs on every call.
    """
    content_type = length = None
    chunked = False
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            chunked = True
    if content_type is None:
        if chunked or (length is not None and length != b"0"):
            raise RequestRefusedError(
                415,
                "unsupported_media_type",
                "a request body must be JSON: send it with content-type: application/json",
            )
    elif content_type not in _PLAIN_JSON and not is_json_media_type(
        text := content_type.decode("latin-1")
    ):
        raise RequestRefusedError(
            415,
            "unsupported_media_type",
            f"content-type {clip(text)!r} is not JSON: send the body as application/json (UTF-8)",
        )
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            detail = "content-length is not a number"
            raise RequestRefusedError(400, "bad_request", detail) from None
        if declared > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return b"".join((*chunks, chunk)) if chunks else chunk
        chunks.append(chunk)


def _too_large(limit: int) -> RequestRefusedError:
    return RequestRefusedError(
        413,
        "content_too_large",
        f"the body is larger than {limit} bytes, the limit of a function call",
        limit=limit,
    )


def check_finite(body: bytes) -> None:
    """Refuse (400) a body holding NaN, Infinity or a number that overflows a float.

    A body that is not JSON at all passes: the model's parser reports it.
    """
    if _SUSPECT.search(body) is None:
        return
    try:
        value = from_json(body, allow_inf_nan=False)
    except ValueError:
        try:
            from_json(body, allow_inf_nan=True)
        except ValueError:
            return  # not JSON at all
        raise _non_finite() from None
    if has_non_finite(value):
        raise _non_finite()


def _non_finite() -> RequestRefusedError:
    return RequestRefusedError(
        400,
        "non_finite_number",
        "the body holds NaN, Infinity or a number too large for a 64-bit float; "
        "JSON numbers must be finite",
    )


def has_non_finite(value: Any) -> bool:
    """Whether ``value`` (JSON-like data, pydantic models, dataclasses) holds NaN or ±inf."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif not (isinstance(item, str | bytes | int | bool) or item is None or id(item) in seen):
            seen.add(id(item))
            stack.extend(_children(item))
    return False


def _children(item: Any) -> list[Any]:
    if isinstance(item, dict):
        return list(item.values())
    if isinstance(item, list | tuple | set | frozenset):
        return list(item)
    fields = getattr(item, "__dict__", None)
    if isinstance(fields, dict):
        extra = getattr(item, "__pydantic_extra__", None) or {}
        return [*fields.values(), *extra.values()]
    slots = getattr(type(item), "__dataclass_fields__", None)
    if isinstance(slots, dict):
        return [getattr(item, name, None) for name in slots]
    return []
