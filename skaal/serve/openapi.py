"""The OpenAPI 3.1 document of an app's function endpoints.

Built from the very objects that validate requests and serialise responses
(:class:`~skaal.serve.routes.Endpoint`'s pydantic model and result
``TypeAdapter``), so the document cannot drift from the behaviour.  Nested
models are hoisted into ``components/schemas`` and referenced with
``$ref``.  Mounted ASGI apps keep their own documents (FastAPI serves one at
``<mount>/openapi.json``); they are listed under ``x-skaal-mounts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from skaal.serve.routes import Endpoint

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{model}"

_ERROR_SCHEMAS: dict[str, Any] = {
    "ValidationProblem": {
        "type": "object",
        "properties": {
            "error": {"const": "validation"},
            "detail": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                        "input": {"description": "an excerpt of the offending input"},
                        "ctx": {"type": "object"},
                    },
                },
            },
            "count": {"type": "integer", "description": "errors in all; detail lists the first"},
        },
        "required": ["error", "detail"],
    },
    "Refusal": {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
        },
        "required": ["error", "detail"],
    },
    "InternalError": {
        "type": "object",
        "properties": {
            "error": {"const": "internal"},
            "error_id": {"type": "string", "description": "quote it to find the server log"},
        },
        "required": ["error", "error_id"],
    },
}


def openapi_document(
    *,
    title: str,
    version: str,
    endpoints: Sequence[Endpoint],
    mounts: Sequence[str] = (),
) -> dict[str, Any]:
    """The OpenAPI document as a JSON-ready dict."""
    schemas: dict[str, Any] = dict(_ERROR_SCHEMAS)
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        request = _hoist(endpoint.params.model_json_schema(ref_template=_REF), schemas)
        response = _hoist(
            endpoint.result.json_schema(mode="serialization", ref_template=_REF), schemas
        )
        operation: dict[str, Any] = {
            "operationId": endpoint.name,
            "summary": endpoint.summary,
            "tags": [endpoint.name.rpartition(".")[0] or "functions"],
            "responses": {
                "200": {
                    "description": "the function's result",
                    "content": {"application/json": {"schema": response}},
                },
                "400": _problem("not JSON, not UTF-8, or holds NaN/Infinity", "Refusal"),
                "413": _problem("the body is larger than the server's limit", "Refusal"),
                "415": _problem("the body is not declared application/json", "Refusal"),
                "422": _problem("invalid input", "ValidationProblem"),
                "500": _problem("the function raised; see the server log", "InternalError"),
            },
        }
        if endpoint.description:
            operation["description"] = endpoint.description
        item: dict[str, Any] = {
            "post": operation
            | {
                "requestBody": {
                    "required": any(f.is_required() for f in endpoint.params.model_fields.values()),
                    "content": {"application/json": {"schema": request}},
                }
            }
        }
        if "GET" in endpoint.methods:
            item["get"] = operation | {"operationId": endpoint.name + ".get"}
        paths[endpoint.path] = item
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
    if mounts:
        document["x-skaal-mounts"] = list(mounts)
    return document


def _hoist(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Move ``$defs`` into the shared components; return the remaining schema."""
    schemas.update(schema.pop("$defs", {}))
    return schema


def _problem(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}},
    }
