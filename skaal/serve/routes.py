"""The HTTP route scheme: one endpoint per ``@app.function``.

Every function declared with ``@app.function()`` (``http=True``, the default)
is served at::

    POST /fn/<qualified-name>        body: a JSON object of the parameters
    GET  /fn/<qualified-name>        only for functions without parameters

The qualified name is the Blueprint name: ``increment`` for a function on the
app, ``billing.charge`` for ``charge`` in ``Module("billing")``.  An empty
POST body means ``{}`` (every parameter takes its default).

Input is validated by a pydantic model built from the function's signature
and type hints (unknown fields are rejected; a parameter without a default is
required).  The return value is serialised with a ``TypeAdapter`` of the
return annotation (``Any`` when there is none), so a response always matches
the OpenAPI document generated from the same objects.  ``async def``
functions run on the event loop; plain functions run in a worker thread so
they cannot block other requests.

Outcomes: 200 with the JSON result; 415, 413 or 400 for a body that is not
JSON, too large, not UTF-8 or holds a non-finite number
(:mod:`skaal.serve.body`); 422 ``{"error": "validation", "detail": [...],
"count": n}`` for JSON that does not match the parameters, listing at most
a few errors with bounded excerpts of the input
(:mod:`skaal.serve.problems`).  A result holding NaN or Infinity answers 500
``non_finite_result`` naming the function (JSON cannot carry it).  Any
exception from the function is left to the app's error handler
(:mod:`skaal.serve.errors`), which answers a JSON 500 with an error id and
logs the traceback, or a 4xx for the runtime errors a caller causes (a
rejected blob key).  A function may raise Starlette's ``HTTPException`` to
answer another status on purpose.
"""

from __future__ import annotations

import inspect
import logging
import re
import typing
from collections.abc import Callable
from typing import Any

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import PydanticSerializationError, from_json
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from skaal.errors import SkaalRuntimeError
from skaal.serve.body import (
    DEFAULT_MAX_BODY,
    check_finite,
    has_non_finite,
    read_json_body,
)
from skaal.serve.discover import Function
from skaal.serve.problems import RequestRefusedError, problem_response, validation_problem

__all__ = ["PREFIX", "Endpoint", "ResultTypeError", "build_endpoint", "function_routes"]

log = logging.getLogger("skaal.serve")

PREFIX = "/fn/"
_JSON = "application/json"


class ResultTypeError(Exception):
    """A function returned a value its return annotation does not describe."""


class Endpoint(Struct, frozen=True):
    """One served function: its path, input model and result adapter."""

    name: str
    path: str
    methods: tuple[str, ...]
    fn: Callable[..., Any]
    params: type[BaseModel]
    fields: tuple[tuple[str, str], ...]
    """(model field, function parameter) pairs."""
    result: TypeAdapter[Any]
    is_async: bool
    summary: str
    description: str

    max_body: int = DEFAULT_MAX_BODY
    """Bytes the JSON body may have (:mod:`skaal.serve.body`)."""

    async def handle(self, request: Request) -> Response:
        try:
            args = await self._arguments(request)
        except RequestRefusedError as refusal:
            return refusal.response()
        values = args.__dict__
        kwargs = {param: values[field] for field, param in self.fields}
        if self.is_async:
            value = await self.fn(**kwargs)
        else:
            value = await run_in_threadpool(self.fn, **kwargs)
        try:
            content = self.result.dump_json(value, warnings="error")
        except PydanticSerializationError as exc:
            raise ResultTypeError(
                f"function {self.name} returned {type(value).__name__}, which does not match "
                f"its return annotation: {exc}"
            ) from exc
        # NaN and ±inf serialise as null (or as NaN, which is not JSON): refuse both.
        if (b"null" in content or b"NaN" in content or b"Infinity" in content) and (
            has_non_finite(value) or not _is_json(content)
        ):
            return self._non_finite_result()
        return Response(content, media_type=_JSON)

    async def _arguments(self, request: Request) -> BaseModel:
        body = b""
        if request.method == "POST":
            body = await read_json_body(request, self.max_body)
        try:
            if not body:
                return self.params()
            check_finite(body)
            return self.params.model_validate_json(body)
        except ValidationError as exc:
            raise validation_problem(exc) from None

    def _non_finite_result(self) -> Response:
        log.error("function %s returned NaN or Infinity, which JSON cannot carry", self.name)
        return problem_response(
            500,
            "non_finite_result",
            f"function {self.name} returned NaN or Infinity, which JSON cannot carry",
            function=self.name,
        )


def build_endpoint(function: Function, *, max_body: int = DEFAULT_MAX_BODY) -> Endpoint:
    """Build the endpoint for one function; fails early on unservable signatures."""
    fn = function.fn
    where = str(function.spec.location)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise SkaalRuntimeError(
            f"cannot resolve the type hints of function {function.name}: {exc}",
            where=where,
            fix="define every type used in its annotations at module level",
        ) from None
    signature = inspect.signature(fn)
    definitions: dict[str, Any] = {}
    fields: list[tuple[str, str]] = []
    for index, (param_name, param) in enumerate(signature.parameters.items()):
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise SkaalRuntimeError(
                f"function {function.name} takes {param}, which cannot come from a JSON object",
                where=where,
                fix="use named parameters, or declare it with http=False",
            )
        annotation = hints.get(param_name, Any)
        default = ... if param.default is param.empty else param.default
        field = f"p{index}"
        definitions[field] = (annotation, Field(default, alias=param_name))
        fields.append((field, param_name))
    try:
        params = create_model(
            _title(function.name),
            __config__=ConfigDict(extra="forbid", populate_by_name=False),
            **definitions,
        )
        result: TypeAdapter[Any] = TypeAdapter(hints.get("return", Any))
    except Exception as exc:
        raise SkaalRuntimeError(
            f"function {function.name} has annotations pydantic cannot validate: {exc}",
            where=where,
            fix="annotate parameters and the result with JSON-compatible types or pydantic models",
        ) from None
    # OpenAPI descriptions are CommonMark: reST's ``literal`` becomes `literal`.
    doc = re.sub(r"``([^`]+)``", r"`\1`", inspect.getdoc(fn) or "")
    summary, _, description = doc.partition("\n\n")
    return Endpoint(
        name=function.name,
        path=PREFIX + function.name,
        methods=("POST",) if fields else ("GET", "POST"),
        fn=fn,
        params=params,
        fields=tuple(fields),
        result=result,
        is_async=inspect.iscoroutinefunction(fn),
        summary=summary.replace("\n", " ").strip() or function.name,
        description=description.strip(),
        max_body=max_body,
    )


def _is_json(content: bytes) -> bool:
    try:
        from_json(content, allow_inf_nan=False)
    except ValueError:
        return False
    return True


def function_routes(endpoints: typing.Sequence[Endpoint]) -> list[Route]:
    """Starlette routes for the endpoints."""
    return [Route(e.path, e.handle, methods=list(e.methods), name=e.name) for e in endpoints]


def _title(name: str) -> str:
    parts = [p[:1].upper() + p[1:] for p in name.replace(".", "_").split("_") if p]
    return "".join(parts) + "Params"
