"""The API Gateway section of the gcp program: one public address for every service.

Each declared function runs in a Cloud Run service of its own, as an
identity of its own (:meth:`~skaal.builder.targets.gcp_writer.ProgramWriter.identities`),
so no service can reach the data of another function.  The services are
private; an API Gateway is the app's one public address and routes each
path to its service, calling it with the ``gateway`` identity's token
(``roles/run.invoker`` on those services only):

* ``/fn/<name>`` (``GET`` and ``POST``; the service answers 405 to a method
  the function does not take) to that function's service;
* ``/docs``, ``/openapi.json``, ``/`` and each mounted app's prefix (with
  everything below it, ``{path=**}``) to the ``web`` service, which is also
  the document's default backend.

The OpenAPI 2.0 document is written at build time with a placeholder per
service address (:func:`gateway_document`); the program fills in the
services' URLs when Google has assigned them.  Each backend's deadline is
its function's timeout (the gateway's own default is 15 s).  An API config
cannot be changed in place: each change makes a new one (its id has a
generated suffix) and the gateway moves to it.

API Gateway bills per call: the cloud-run price's
``per_million_http_requests`` on each HTTP function's line.
"""

from __future__ import annotations

import pprint
from collections.abc import Mapping, Sequence
from typing import Any

from skaal.blueprint.model import MountSpec, ResourceSpec
from skaal.builder.targets.gcp_code import Code, call
from skaal.builder.targets.gcp_writer import ProgramWriter, physical_name

__all__ = ["FUNCTION_PATH", "Gateway", "gateway_document"]

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

    The placeholders name the program's Cloud Run service variables: ``{web}``
    and, per HTTP function, ``services[name]``
    (:func:`~skaal.builder.targets.gcp_writer.service_vars`).
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


class Gateway(ProgramWriter):
    """Writes the gateway identity, the API, its config and the gateway."""

    def gateway(self) -> None:
        if not self.has_gateway:
            return
        self.section("API Gateway")
        app = self.plan.app
        document = gateway_document(
            app,
            http=self.fns.web,
            services=self.service_vars,
            mounts=self.blueprint.mounts,
            version=self.plan.content_hash()[:12],
        )
        backends = sorted(["web", *(self.service_vars[name] for name in self.http)])
        self.add(
            "GATEWAY_DOCUMENT = " + pprint.pformat(document, width=96, sort_dicts=False) + "\n\n\n"
            "def gateway_document(addresses):\n"
            '    """The OpenAPI document with each service\'s URL in place, base64-encoded."""\n'
            "    text = json.dumps(GATEWAY_DOCUMENT, indent=1)\n"
            "    for var, uri in addresses.items():\n"
            '        text = text.replace("{" + var + "}", uri)\n'
            "    return base64.b64encode(text.encode()).decode()\n\n"
        )
        self.add(
            call(
                "api",
                "gcp.apigateway.Api",
                "api",
                {"api_id": physical_name(self.name_base, "api"), "display_name": f"{app} (skaal)"},
            )
        )
        addresses = ", ".join(f"{var}={var}.uri" for var in backends)
        self.add(
            call(
                "api_config",
                "gcp.apigateway.ApiConfig",
                "api-config",
                {
                    "api": Code("api.api_id"),
                    "api_config_id_prefix": physical_name(self.name_base, "cfg", max_length=50)
                    + "-",
                    "openapi_documents": [
                        {
                            "document": {
                                "path": "openapi.json",
                                "contents": Code(
                                    f"pulumi.Output.all({addresses}).apply(gateway_document)"
                                ),
                            }
                        }
                    ],
                    "gateway_config": {
                        "backend_config": {"google_service_account": Code("gateway_account.email")}
                    },
                },
            )
        )
        self.add(
            call(
                "gateway",
                "gcp.apigateway.Gateway",
                "gateway",
                {
                    "gateway_id": physical_name(self.name_base, "gateway"),
                    "api_config": Code("api_config.id"),
                    "region": Code("REGION"),
                    "display_name": f"{app} (skaal)",
                },
            )
        )
        self.add(
            'pulumi.export("url", pulumi.Output.concat("https://", gateway.default_hostname))\n'
        )
