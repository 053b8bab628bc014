"""The port through which declared classes reach the active runtime.

``Carts.get("k")`` looks up the runtime active in the *current context*: a
``ContextVar`` holding a :class:`RuntimePort`, so isolated runtimes never
clash (two runtimes opened in two tasks, two tests or two apps each see their
own clients).  The declarations only know this port; the runtime
(:class:`skaal.runtime.Runtime`) implements it and sets :data:`ACTIVE` when it
opens (``Runtime.open``; a server wraps each request in
``runtime.activate()``).  So declaring imports no runtime, and the runtime
sits above the declarations.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from skaal.errors import SkaalRuntimeError

if TYPE_CHECKING:
    from skaal.declare.native import Backend, Native
    from skaal.declare.resources import Resource

__all__ = ["ACTIVE", "NoActiveRuntimeError", "RuntimePort", "active_runtime", "client_for"]


class NoActiveRuntimeError(SkaalRuntimeError):
    """A resource's client method was called with no runtime active."""


C = TypeVar("C")
R = TypeVar("R", bound="Resource")


class RuntimePort(Protocol):
    """What a declared class asks of the runtime that serves it."""

    def client(self, resource: Any) -> Any:
        """The typed client bound to ``resource`` (a declared class)."""
        ...

    @overload
    async def native(self, resource: type[Resource]) -> Native[object]: ...
    @overload
    async def native(self, resource: type[R], backend: Backend[C, R]) -> Native[C]: ...
    async def native(
        self, resource: type[Resource], backend: Backend[Any, Any] | None = None
    ) -> Native[Any]:
        """The escape hatch of ``resource``: see :mod:`skaal.native`."""
        ...

    def secret(self, name: str) -> str | None:
        """The value of the secret ``name`` (``None`` if optional and unset)."""
        ...


ACTIVE: ContextVar[RuntimePort | None] = ContextVar("skaal_runtime", default=None)


def active_runtime() -> RuntimePort:
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
        runtime = active_runtime()
    return runtime.client(resource)
