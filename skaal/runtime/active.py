"""The active runtime: a ``ContextVar``, so isolated runtimes never clash.

``Carts.get("k")`` looks up the runtime active in the *current context*
(``Runtime.open`` activates it; a server wraps each request in
``runtime.activate()``).  Two runtimes opened in two tasks (two tests, two
apps) each see their own clients.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from skaal.runtime.errors import NoActiveRuntimeError

if TYPE_CHECKING:
    from skaal.runtime.runtime import Runtime

__all__ = ["ACTIVE", "active_runtime", "client_for"]

ACTIVE: ContextVar[Runtime | None] = ContextVar("skaal_runtime", default=None)


def active_runtime() -> Runtime:
    """The runtime active in this context; :class:`NoActiveRuntimeError` if none."""
    runtime = ACTIVE.get()
    if runtime is None:
        raise NoActiveRuntimeError(
            "no Skaal runtime is active, so resources have no backend to talk to",
            fix="serve the app with `skaal run`, use skaal.testing in tests, or open one: "
            "`async with Runtime.open(app, plan) as rt: ...`",
            command="skaal run",
        )
    return runtime


def client_for(resource: type) -> Any:
    """The client the active runtime bound to ``resource`` (a declared class)."""
    runtime = ACTIVE.get()
    if runtime is None:
        active_runtime()
    assert runtime is not None
    client = runtime._clients.get(resource)
    return client if client is not None else runtime.client(resource)
