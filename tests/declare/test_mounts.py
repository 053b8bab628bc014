"""``app.mount``: ASGI and WSGI apps told apart by the documented rule, and every refusal.

The rule is in :mod:`skaal.declare.mounts`; each case below is one line of it,
with real framework objects (Flask, Starlette, FastAPI) besides plain functions.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from werkzeug.middleware.proxy_fix import ProxyFix

from skaal import App, DeclarationError
from skaal.declare.mounts import MAX_WSGI_THREADS, detect

StartResponse = Callable[..., Any]


def lineno() -> int:
    return sys._getframe(1).f_lineno


def wsgi_function(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"ok"]


async def asgi_function(scope: Any, receive: Any, send: Any) -> None: ...


class SyncAsgi:
    """An ASGI app whose ``__call__`` is a plain method returning an awaitable."""

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        return asgi_function(scope, receive, send)


class Either:
    def __call__(self, *args: Any) -> Any: ...


def one_argument(environ: Any) -> None: ...


async def async_two(environ: Any, start_response: Any) -> None: ...


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        (Flask(__name__), "wsgi"),
        (ProxyFix(Flask(__name__)), "wsgi"),
        (wsgi_function, "wsgi"),
        (functools.partial(wsgi_function), "wsgi"),
        (Starlette(), "asgi"),
        (FastAPI(), "asgi"),
        (asgi_function, "asgi"),
        (SyncAsgi(), "asgi"),
        (Either(), None),
        (Flask, None),  # a class: its instances are the apps
        (print, None),  # a builtin: both arities bind
    ],
)
def test_the_interface_is_detected(application: object, expected: str | None) -> None:
    assert detect(application) == expected


def test_a_flask_app_mounts_as_wsgi_with_its_thread_pool() -> None:
    app = App("demo")
    legacy = Flask("legacy")
    app.mount("/legacy", legacy, threads=4)
    app.mount("/api", FastAPI())
    by_path = {m.path: m for m in app.blueprint().mounts}
    assert (by_path["/legacy"].interface, by_path["/legacy"].threads) == ("wsgi", 4)
    assert (by_path["/api"].interface, by_path["/api"].threads) == ("asgi", None)
    assert by_path["/legacy"].python_ref == "flask.app:Flask"


def test_how_a_mount_is_served_is_not_planned_content() -> None:
    """Interface and threads stay out of the blueprint hash (the plan does not depend on them)."""
    one, two = App("demo"), App("demo")
    one.mount("/legacy", Either(), interface="wsgi")
    two.mount("/legacy", Either(), interface="wsgi", threads=2)
    assert one.blueprint().content_hash() == two.blueprint().content_hash()
    assert "interface" not in one.blueprint().canonical_json()


def test_an_ambiguous_app_needs_the_interface() -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.mount("/either", Either())
    text = str(info.value)
    assert f"{__file__}:{line}: app.mount('/either', ...) cannot tell whether" in text
    assert "interface='wsgi'" in text
    app.mount("/either", Either(), interface="asgi")
    assert app.blueprint().mounts[0].interface == "asgi"


@pytest.mark.parametrize(
    ("application", "taken"),
    [
        (one_argument, "a callable taking (environ)"),
        (async_two, "an async callable taking (environ, start_response)"),
        ("app:api", "not callable"),
    ],
)
def test_neither_asgi_nor_wsgi_is_refused(application: object, taken: str) -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.mount("/x", application)
    text = str(info.value)
    assert f"{__file__}:{line}: app.mount('/x', ...) got {application!r}" in text
    assert f"not an ASGI or WSGI application ({taken})" in text
    assert "a WSGI app takes (environ, start_response)" in text


def test_an_interface_contradicting_the_app_is_refused() -> None:
    app = App("demo")
    with pytest.raises(DeclarationError) as info:
        app.mount("/legacy", Flask("legacy"), interface="asgi")
    text = str(info.value)
    assert "interface='asgi', but <Flask 'legacy'> (a Flask) is called as WSGI" in text
    assert "write interface='wsgi'" in text
    with pytest.raises(DeclarationError, match="is called as ASGI"):
        app.mount("/api", asgi_function, interface="wsgi")


def test_a_misspelt_interface_is_refused_with_a_suggestion() -> None:
    app = App("demo")
    with pytest.raises(DeclarationError) as info:
        app.mount("/legacy", Flask("legacy"), interface="wsgii")  # type: ignore[arg-type]
    assert "interface='wsgii' is not one of 'asgi', 'wsgi' (did you mean 'wsgi'?)" in str(
        info.value
    )


@pytest.mark.parametrize("threads", [0, MAX_WSGI_THREADS + 1, 2.5, True, "4"])
def test_threads_must_be_a_sensible_pool_size(threads: object) -> None:
    app = App("demo")
    with pytest.raises(DeclarationError) as info:
        app.mount("/legacy", Flask("legacy"), threads=threads)  # type: ignore[arg-type]
    assert f"threads={threads!r} is not a whole number from 1 to {MAX_WSGI_THREADS}" in str(
        info.value
    )


def test_threads_are_refused_for_an_asgi_app() -> None:
    app = App("demo")
    with pytest.raises(DeclarationError, match="threads= is for WSGI apps; this one is ASGI"):
        app.mount("/api", FastAPI(), threads=4)
