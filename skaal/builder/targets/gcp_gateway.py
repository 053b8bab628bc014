"""The API Gateway of the gcp stack model: one public address for every service.

Each declared function runs in a Cloud Run service of its own, as an
identity of its own (:meth:`~skaal.builder.targets.gcp_basis.Basis.identities`),
so no service can reach the data of another function.  The services are
private; an API Gateway is the app's one public address and routes each
path to its service, calling it with the ``gateway`` identity's token
(``roles/run.invoker`` on those services only):

* ``/fn/<name>`` (``GET`` and ``POST``; the service answers 405 to a method
  the function does not take) to that function's service;
* ``/docs``, ``/openapi.json``, ``/`` and each mounted app's prefix (with
  everything below it, ``{path=**}``) to the ``web`` service, which is also
  the document's default backend.

The OpenAPI 2.0 document is computed at build time with a placeholder per
service address (:func:`gateway_document`) and carried in the stack model;
the program fills in the services' URLs when Google has assigned them.  Each backend's deadline is
its function's timeout (the gateway's own default is 15 s).  An API config
cannot be changed in place: each change makes a new one (its id has a
generated suffix) and the gateway moves to it.

API Gateway bills per call: the cloud-run price's
``per_million_http_requests`` on each HTTP function's line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from skaal.blueprint.model import MountSpec, ResourceSpec
from skaal.builder.stacks.gcp import Gateway
from skaal.builder.targets.gcp_basis import GATEWAY_ACCOUNT, Basis, physical_name

__all__ = ["FUNCTION_PATH", "gateway", "gateway_document"]

FUNCTION_PATH = "/fn/"
"""Where an HTTP function answers (:data:`skaal.serve.routes.PREFIX`)."""
WEB_PAGES = {"/": "home", "/docs": "docs", "/openapi.json": "openapi"}
"""What the ``web`` service answers besides the mounted apps."""
_MOUNT_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_DEFAULT_TIMEOUT_S = 60.0


def _placeholder(var: str) -> str:
    return "{" + var + "}"


def _backend(var: str, timeout_s: float) -> dict[str, object]:
    return {
        "address": _placeholder(var),
        "path_translation": "APPEND_PATH_TO_ADDRESS",
        "deadline": float(min(timeout_s, 3600.0)),
    }


def _operation(operation_id: str, *, path_param: bool = False) -> dict[str, object]:
    operation: dict[str, object] = {
        "operationId": operation_id,
        "responses": {"default": {"description": "the service's answer"}},
    }
    if path_param:
        operation["parameters"] = [
            {"name": "path", "in": "path", "required": True, "type": "string"}
        ]
    return operation


def gateway_document(
    app: str,
    *,
    http: Sequence[ResourceSpec],
    services: Mapping[str, str],
    mounts: Sequence[MountSpec],
    version: str,
) -> dict[str, Any]:
    """The API Gateway's OpenAPI 2.0 document, each address a ``{variable}`` placeholder.

    The placeholders name the keys of the Cloud Run services: ``{web}``
    and, per HTTP function, ``services[name]``
    (:func:`~skaal.builder.targets.gcp_basis.service_vars`).
    """
    paths: dict[str, dict[str, object]] = {}
    for page, operation_id in WEB_PAGES.items():
        paths[page] = {"get": _operation(operation_id)}
    for index, mount in enumerate(mounts):
        prefix = mount.path.rstrip("/")
        for template, param in ((prefix, False), (f"{prefix}/{{path=**}}", True)):
            if not template:
                continue
            paths[template] = {
                method: _operation(
                    f"mount{index}_{method}{'_below' if param else ''}", path_param=param
                )
                for method in _MOUNT_METHODS
            }
    for fn in http:
        var = services[fn.name]
        backend = _backend(var, fn.requirements.timeout_s or _DEFAULT_TIMEOUT_S)
        paths[FUNCTION_PATH + fn.name] = {
            method: {**_operation(f"{var}_{method}"), "x-google-backend": backend}
            for method in ("get", "post")
        }
    return {
        "swagger": "2.0",
        "info": {"title": app, "version": version},
        "schemes": ["https"],
        "x-google-backend": _backend("web", _DEFAULT_TIMEOUT_S),
        "paths": dict(sorted(paths.items())),
    }


def gateway(basis: Basis) -> Gateway | None:
    """The gateway of the app, when it answers HTTP."""
    if not basis.has_gateway:
        return None
    app = basis.plan.app
    document = gateway_document(
        app,
        http=basis.fns.web,
        services=basis.service_vars,
        mounts=basis.blueprint.mounts,
        version=basis.plan.content_hash()[:12],
    )
    return Gateway(
        api_id=physical_name(basis.name_base, "api"),
        display_name=f"{app} (skaal)",
        config_prefix=physical_name(basis.name_base, "cfg", max_length=50) + "-",
        gateway_id=physical_name(basis.name_base, "gateway"),
        region=basis.regions.stack,
        account=GATEWAY_ACCOUNT,
        document=json.dumps(document, indent=1),
        backends=tuple(sorted(["web", *(basis.service_vars[name] for name in basis.http)])),
    )
