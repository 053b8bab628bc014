"""Serving a mounted WSGI app (Flask, Django...) on the ASGI server, through a2wsgi.

``app.mount("/legacy", flask_app)`` records a WSGI app
(:mod:`skaal.declare.mounts` tells it from an ASGI one).  Every host serves
the same Starlette app (:mod:`skaal.serve.app`): ``skaal run``, the local
artifact, the Lambda handler and Cloud Run; each mounts :class:`WsgiApp`
there, so WSGI works on all of them alike.

The adapter is `a2wsgi <https://github.com/abersheeran/a2wsgi>`_'s
``WSGIMiddleware``, the one Starlette's documentation points to since its own
was deprecated.  It was chosen over asgiref's ``WsgiToAsgi`` because:

* it streams: the request body is read from the ASGI ``receive`` as the app
  reads ``wsgi.input``, and the response is sent chunk by chunk with a
  bounded queue, where asgiref spools the whole body first;
* it runs the app on a thread pool of its own (``threads`` workers, the
  mount's ``threads=``, default 10), so a slow view blocks one of those
  threads -- never the event loop that serves Skaal's functions, and never
  the loop's default pool that Skaal's sync functions use; asgiref's default
  runs every request on one shared thread;
* it runs each request in a copy of the request's context, so the worker
  thread sees the active runtime (:mod:`skaal.declare.active`) and the
  serving loop :class:`WsgiApp` records (:func:`skaal.runtime.blocking.serving_loop`):
  ``skaal.blocking(Visits.get(k))`` in a view runs on the server's loop.

``SCRIPT_NAME`` is the mount path (Starlette's ``root_path``) and
``PATH_INFO`` the rest, so ``url_for`` in the app builds URLs under the
mount.  ``wsgi.input_terminated`` is set (a2wsgi's input does end where the
body ends), so a body sent without ``Content-Length`` -- chunked, or an API
Gateway event that omits the header -- still reaches the app: Werkzeug
reads no body at all without one of the two.  A WSGI app receives no
WebSocket (a2wsgi closes the handshake) and no lifespan events.  An
exception escaping the app becomes the server's JSON 500
(:mod:`skaal.serve.errors`), as for any route; Flask answers its own views'
errors itself.

:meth:`WsgiApp.close` shuts the pool down when the server stops; a later
request starts a new one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send

from skaal.declare.mounts import DEFAULT_WSGI_THREADS
from skaal.runtime.blocking import serving_loop

if TYPE_CHECKING:
    from a2wsgi import WSGIMiddleware

__all__ = ["WsgiApp", "close_pools"]


class WsgiApp:
    """An ASGI app that serves the WSGI callable ``application`` on ``threads`` threads."""

    def __init__(self, application: Any, *, threads: int | None = None) -> None:
        self.application = application
        self.threads = threads or DEFAULT_WSGI_THREADS
        self._adapter: WSGIMiddleware | None = None

    def _middleware(self) -> WSGIMiddleware:
        if self._adapter is None:
            from a2wsgi import WSGIMiddleware  # noqa: PLC0415 - the wsgi extra, only for a mounted WSGI app

            self._adapter = WSGIMiddleware(cast(Any, self._call), workers=self.threads)
        return self._adapter

    def _call(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input_terminated"] = True
        return self.application(environ, start_response)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        adapter = cast(ASGIApp, self._middleware())  # a2wsgi types the ASGI messages itself
        with serving_loop(asyncio.get_running_loop()):
            await adapter(scope, receive, send)

    def close(self) -> None:
        """Stop the thread pool (threads still running finish their request)."""
        adapter, self._adapter = self._adapter, None
        if adapter is not None:
            adapter.executor.shutdown(wait=False)


def close_pools(mounted: Iterable[object]) -> None:
    """Stop the thread pool of every :class:`WsgiApp` among ``mounted``."""
    for app in mounted:
        if isinstance(app, WsgiApp):
            app.close()
