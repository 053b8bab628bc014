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

Outcomes: 200 with the JSON result; 422 ``{"error": "validation", "detail":
[...]}`` for bad input; any exception from the function is left to the
app's error handler (:mod:`skaal.serve.errors`), which answers a JSON 500
with an error id and logs the traceback.  A function may raise Starlette's
``HTTPException`` to answer another status on purpose.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import PydanticSerializationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from skaal.errors import SkaalRuntimeError
from skaal.serve.discover import Function

__all__ = ["PREFIX", "Endpoint", "ResultTypeError", "build_endpoint", "function_routes"]

PREFIX = "/fn/"
_JSON = "application/json"


class ResultTypeError(Exception):
    """A function returned a value its return annotation does not describe."""


@dataclass(frozen=True, slots=True)
class Endpoint:
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

    async def handle(self, request: Request) -> Response:
        body = await request.body() if request.method == "POST" else b""
        try:
            args = self.params.model_validate_json(body) if body else self.params()
        except ValidationError as exc:
            detail = json.loads(exc.json(include_url=False))
            return Response(
                json.dumps({"error": "validation", "detail": detail}),
                status_code=422,
                media_type=_JSON,
            )
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
        return Response(content, media_type=_JSON)


def build_endpoint(function: Function) -> Endpoint:
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
    )


def function_routes(endpoints: typing.Sequence[Endpoint]) -> list[Route]:
    """Starlette routes for the endpoints."""
    return [Route(e.path, e.handle, methods=list(e.methods), name=e.name) for e in endpoints]


def _title(name: str) -> str:
    parts = [p[:1].upper() + p[1:] for p in name.replace(".", "_").split("_") if p]
    return "".join(parts) + "Params"
