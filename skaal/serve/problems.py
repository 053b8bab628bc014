"""Error answers as bounded JSON: what a 4xx answer may say about the request.

Every error answer is ``{"error": "<slug>", "detail": ...}`` with its status
(:func:`problem_response`).  A :class:`RequestRefusedError` is such an answer
decided before (or instead of) calling a function.  Every
string taken from the request -- a validation error's input, a field name,
a Host header -- goes through :func:`clip` or :func:`excerpt` first, so an
answer never grows with the request: a 1 MiB body that fails validation
answers a few kilobytes, never the body back.

:func:`validation_problem` turns a pydantic ``ValidationError`` into the
422 answer: the first :data:`MAX_ERRORS` errors, each with its location,
message, type, context and an excerpt of the offending input, and the total
``count``.  An input that is not JSON at all (including invalid UTF-8)
answers 400 ``invalid_json`` instead.
"""

from __future__ import annotations

import math
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.responses import JSONResponse, Response

__all__ = [
    "MAX_ERRORS",
    "MAX_TEXT",
    "RequestRefusedError",
    "clip",
    "excerpt",
    "problem_response",
    "validation_problem",
]

MAX_ERRORS: Final = 20
"""Validation errors listed in a 422 answer (``count`` gives the total)."""
MAX_TEXT: Final = 120
"""Characters kept of any string that comes from the request."""
_MAX_LOC: Final = 12
"""Entries kept of an error's location (deeper ones end with ``"..."``)."""
_ELLIPSIS: Final = "..."


class RequestRefusedError(Exception):
    """A request refused on purpose: status, a machine-readable slug and a detail."""

    def __init__(self, status: int, error: str, detail: Any, **extra: Any) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra

    def response(self) -> Response:
        return problem_response(self.status, self.error, self.detail, **self.extra)


def problem_response(status: int, error: str, detail: Any, **extra: Any) -> Response:
    """``{"error": error, "detail": detail, **extra}`` with ``status``."""
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status)


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text``, cut to ``limit`` characters (marked with ``...``) when longer."""
    return text if len(text) <= limit else text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def excerpt(value: Any, limit: int = MAX_TEXT) -> Any:
    """``value`` itself if it is a short JSON scalar, else its JSON text clipped to ``limit``."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        return f"<an integer of {value.bit_length()} bits>"
    if value is None or isinstance(value, bool | int | float):
        return value if len(str(value)) <= limit else clip(str(value), limit)
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, bytes | bytearray):
        return clip(bytes(value[: limit * 4]).decode("utf-8", "replace"), limit)
    try:
        text = to_json(value, fallback=repr).decode()
    except (ValueError, TypeError):
        text = repr(value)
    return clip(text, limit)


def validation_problem(exc: ValidationError) -> RequestRefusedError:
    """The 400 (not JSON) or 422 (JSON, but not the parameters) answer for ``exc``."""
    errors = exc.errors(include_url=False)
    first = errors[0] if errors else None
    if first is not None and first["type"] == "json_invalid" and not first["loc"]:
        return RequestRefusedError(400, "invalid_json", clip(first["msg"]))
    detail = [_detail(dict(error)) for error in errors[:MAX_ERRORS]]
    return RequestRefusedError(422, "validation", detail, count=exc.error_count())


def _detail(error: dict[str, Any]) -> dict[str, Any]:
    loc = [item if isinstance(item, int) else clip(str(item)) for item in error["loc"]]
    if len(loc) > _MAX_LOC:
        loc = [*loc[: _MAX_LOC - 1], _ELLIPSIS]
    detail: dict[str, Any] = {
        "type": error["type"],
        "loc": loc,
        "msg": clip(str(error["msg"]), 2 * MAX_TEXT),
        "input": excerpt(error.get("input")),
    }
    context = error.get("ctx")
    if context:
        detail["ctx"] = {clip(str(k)): _context_value(v) for k, v in list(context.items())[:8]}
    return detail


def _context_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return excerpt(value)
    return clip(str(value))
