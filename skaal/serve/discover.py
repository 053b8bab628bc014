"""What the serving plane serves: the callables behind an app's declarations.

The Blueprint is pure data and names each function by its qualified name;
the server also needs the Python objects (the function to call, the ASGI or
WSGI app to mount).  :func:`entrypoints` walks the :class:`~skaal.App` and the modules
it uses, in the same order and with the same ``module.name`` namespacing as
``app.blueprint()``, and pairs each function declaration with its
:class:`~skaal.blueprint.ResourceSpec`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from skaal.errors import SkaalRuntimeError

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint, Interface, ResourceSpec
    from skaal.declare.app import App

__all__ = ["Entrypoints", "Function", "Mount", "entrypoints"]


class Function(Struct, frozen=True):
    """A declared function: its qualified name, the callable and its spec."""

    name: str
    fn: Callable[..., Any]
    spec: ResourceSpec


class Mount(Struct, frozen=True):
    """A web application served under ``path``: ASGI, or WSGI on ``threads`` threads."""

    path: str
    app: Any
    interface: Interface = "asgi"
    threads: int | None = None


class Entrypoints(Struct, frozen=True):
    """Everything the server runs for one app."""

    blueprint: Blueprint
    http: tuple[Function, ...]
    schedules: tuple[Function, ...]
    mounts: tuple[Mount, ...]


def entrypoints(app: App) -> Entrypoints:
    """Collect the app's HTTP functions, schedules and mounts."""
    blueprint = app.blueprint()
    http: list[Function] = []
    schedules: list[Function] = []
    mounts: list[Mount] = []
    for prefix, module in [("", app)] + [(f"{m.name}.", m) for m in app._modules]:
        for declared in module._declared:
            if declared.kind != "function":
                continue
            name = prefix + declared.name
            spec = blueprint.resource(name)
            function = Function(name=name, fn=_callable(declared.target, name), spec=spec)
            if getattr(spec, "consumes", None) or getattr(spec, "subscribes", None):
                continue
            if spec.schedule is not None:
                schedules.append(function)
            elif spec.http:
                http.append(function)
        mounts += [
            Mount(
                path=spec.path,
                app=module._mount_apps[spec.path],
                interface=spec.interface,
                threads=spec.threads,
            )
            for spec in module._mounts
        ]
    return Entrypoints(
        blueprint=blueprint,
        http=tuple(sorted(http, key=lambda f: f.name)),
        schedules=tuple(sorted(schedules, key=lambda f: f.name)),
        # longest prefix first, so /api/v2 wins over /api
        mounts=tuple(sorted(mounts, key=lambda m: (-len(m.path), m.path))),
    )


def _callable(target: object, name: str) -> Callable[..., Any]:
    if not callable(target):
        raise SkaalRuntimeError(f"function {name} is not callable")
    return target
