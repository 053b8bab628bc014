"""``app.mount(path, application)``: which web applications mount, and how they are called.

Two interfaces are served under a path prefix:

* **ASGI** (FastAPI, Starlette, Quart...): ``await app(scope, receive, send)``,
  called on the server's event loop;
* **WSGI** (Flask, Django, Bottle, any PEP 3333 app):
  ``app(environ, start_response)``, called on a thread pool of its own
  (:mod:`skaal.serve.wsgi`) so a blocking view never stalls the event loop.

The rule that tells them apart, applied to the application (or, for an
instance, to its ``__call__``):

1. a coroutine function (``async def``) taking ``(scope, receive, send)`` is ASGI;
2. a plain function taking exactly two positional arguments is WSGI
   (``Flask.__call__(self, environ, start_response)``);
3. a plain function taking exactly three is ASGI (an app whose ``__call__``
   returns an awaitable, as some middleware wrappers do);
4. anything that could be called either way (``*args``, a class, a builtin
   whose signature cannot be read) is ambiguous: ``interface="asgi"`` or
   ``interface="wsgi"`` says which, and is then taken as written;
5. anything else (not callable, one argument, four...) is neither and is
   refused.

An explicit ``interface`` that contradicts a certain reading (``interface="wsgi"``
on an ``async def``) is refused too.  ``threads`` sizes a WSGI app's pool
(default :data:`DEFAULT_WSGI_THREADS`).  Every refusal is a
:class:`~skaal.errors.DeclarationError` at the user's ``file:line``.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, Final, get_args

from skaal.blueprint.model import Interface, MountSpec, SourceLocation
from skaal.declare.constraints import UNSET, Unset
from skaal.declare.introspect import describe, object_ref
from skaal.errors import DeclarationError, did_you_mean

__all__ = ["DEFAULT_WSGI_THREADS", "INTERFACES", "MAX_WSGI_THREADS", "detect", "mount_spec"]

INTERFACES: Final[tuple[Interface, ...]] = get_args(Interface)
DEFAULT_WSGI_THREADS: Final = 10
"""Threads a WSGI app gets unless ``threads=`` says otherwise (a2wsgi's default)."""
MAX_WSGI_THREADS: Final = 256
_PATH = re.compile(r"^/[A-Za-z0-9_\-/]*$")
_WSGI_ARGS = "(environ, start_response)"
_ASGI_ARGS = "(scope, receive, send)"


def _callee(application: object) -> Callable[..., Any] | None:
    """What a call of ``application`` runs: itself, or an instance's ``__call__``."""
    target = application
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.isfunction(target) or inspect.ismethod(target):
        return application  # type: ignore[return-value]  # the partial, if any, binds arguments
    if isinstance(application, type) or not callable(application):
        return None
    call: Callable[..., Any] = application.__call__
    return call


def _takes(signature: inspect.Signature, count: int) -> bool:
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def detect(application: object) -> Interface | None:
    """``"asgi"`` or ``"wsgi"`` by the module docstring's rule; ``None`` if ambiguous.

    Raises ``TypeError`` naming the arguments taken when it is neither.
    """
    callee = _callee(application)
    if callee is None:
        if callable(application):
            return None  # a class: its instances, not the class, are usually the app
        raise TypeError("not callable")
    try:
        signature = inspect.signature(callee)
    except (TypeError, ValueError):
        return None
    two, three = _takes(signature, 2), _takes(signature, 3)
    taking = f"taking ({', '.join(signature.parameters)})"
    if inspect.iscoroutinefunction(callee):
        if three:
            return "asgi"
        raise TypeError(f"an async callable {taking}")
    if two and three:
        return None
    if two:
        return "wsgi"
    if three:
        return "asgi"
    raise TypeError(f"a callable {taking}")


def _path(path: object, location: SourceLocation) -> str:
    if not isinstance(path, str) or not _PATH.match(path):
        raise DeclarationError(
            f"mount path {path!r} is not a URL path",
            where=str(location),
            fix="use a path starting with '/', e.g. app.mount('/api', api)",
        )
    return path.rstrip("/") or "/"


def _interface(
    path: str, application: object, given: object, location: SourceLocation
) -> Interface:
    call = f"app.mount({path!r}, ...)"
    if given is not UNSET and given not in INTERFACES:
        raise DeclarationError(
            f"{call}: interface={given!r} is not one of {', '.join(map(repr, INTERFACES))}"
            + did_you_mean(str(given), INTERFACES),
            where=str(location),
            fix="write interface='wsgi' for a Flask/Django app, interface='asgi' for "
            "FastAPI/Starlette (or leave it out: it is usually detected)",
        )
    try:
        found = detect(application)
    except TypeError as exc:
        what = "not callable" if str(exc) == "not callable" else str(exc)
        raise DeclarationError(
            f"{call} got {application!r}, which is not an ASGI or WSGI application ({what})",
            where=str(location),
            fix=f"pass the app object itself: an ASGI app takes {_ASGI_ARGS} "
            f"(a FastAPI() instance), a WSGI app takes {_WSGI_ARGS} (a Flask() instance)",
        ) from None
    if given is UNSET:
        if found is None:
            raise DeclarationError(
                f"{call} cannot tell whether {describe(application)} is an ASGI or a WSGI "
                "application (it could be called either way)",
                where=str(location),
                fix=f"say which: app.mount({path!r}, ..., interface='wsgi') for "
                f"{_WSGI_ARGS}, or interface='asgi' for {_ASGI_ARGS}",
            )
        return found
    chosen: Interface = "wsgi" if given == "wsgi" else "asgi"
    if found is not None and found != chosen:
        raise DeclarationError(
            f"{call}: interface={chosen!r}, but {describe(application)} is called as "
            f"{found.upper()} ({_ASGI_ARGS if found == 'asgi' else _WSGI_ARGS})",
            where=str(location),
            fix=f"leave interface= out (it is detected), or write interface={found!r}",
        )
    return chosen


def _threads(
    path: str, interface: Interface, threads: object, location: SourceLocation
) -> int | None:
    if threads is UNSET:
        return None
    call = f"app.mount({path!r}, ...)"
    if interface == "asgi":
        raise DeclarationError(
            f"{call}: threads= is for WSGI apps; this one is ASGI and runs on the event loop",
            where=str(location),
            fix="leave threads= out for an ASGI app",
        )
    if (
        isinstance(threads, bool)
        or not isinstance(threads, int)
        or not (1 <= threads <= MAX_WSGI_THREADS)
    ):
        raise DeclarationError(
            f"{call}: threads={threads!r} is not a whole number from 1 to {MAX_WSGI_THREADS}",
            where=str(location),
            fix=f"write threads={DEFAULT_WSGI_THREADS} (the default) or another pool size",
        )
    return threads


def mount_spec(
    path: object,
    application: object,
    *,
    interface: Interface | Unset,
    threads: int | Unset,
    location: SourceLocation,
) -> MountSpec:
    """The checked :class:`MountSpec` of one ``app.mount`` call (see the module docstring)."""
    normal = _path(path, location)
    chosen = _interface(str(path), application, interface, location)
    return MountSpec(
        path=normal,
        python_ref=object_ref(application),
        location=location,
        interface=chosen,
        threads=_threads(str(path), chosen, threads, location),
    )
