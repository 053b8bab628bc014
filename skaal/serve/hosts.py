"""Who may call a local server: the ``Host`` and ``Origin`` checks of ``skaal run``.

A server on a developer's machine is reachable by every web page that
machine's browser opens.  Two attacks follow, and two checks stop them:

* **Cross-site requests.**  A page on ``https://evil.example`` can POST to
  ``http://127.0.0.1:8000/fn/delete_everything``; the browser sends it and
  only hides the answer.  The browser also sends ``Origin:
  https://evil.example``, so any request whose ``Origin`` is present and
  is neither this server's own origin (``http://`` + its ``Host``) nor in
  the allow-list answers 403.  (Forms and ``no-cors`` fetches that omit
  nothing can only send ``text/plain`` or form bodies, which the function
  endpoints refuse with 415 anyway.)
* **DNS rebinding.**  ``evil.example`` can re-point its name at 127.0.0.1;
  the page is then "same-origin" with the server, but its requests carry
  ``Host: evil.example``.  So the ``Host`` must name this server: a
  loopback name (``localhost``, ``127.0.0.1``, ``::1``), the address the
  server is bound to (unless it is a wildcard such as ``0.0.0.0``), or a
  name in the allow-list (``--allow-host``; ``*`` accepts any).  Anything
  else answers 421.  Only the host name is compared, not the port: a page
  able to choose the port is already on this machine.

:class:`HostGuard` applies a :class:`HostPolicy` to every HTTP and
WebSocket request, the mounted apps' included, before anything else runs.
Deployed targets do not use it: there the platform routes by host name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from msgspec import Struct
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from skaal.serve.problems import RequestRefusedError, clip

__all__ = ["LOOPBACK_NAMES", "HostGuard", "HostPolicy", "host_name"]

LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS: Final = frozenset({"", "0.0.0.0", "::", "*"})
_REMEMBERED: Final = 16


def host_name(host: str) -> str:
    """The lower-case name of a ``Host`` value, without port, brackets or trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:  # name:8000 (a bare IPv6 address has several colons)
        host = host.partition(":")[0]
    return host.rstrip(".")


class HostPolicy(Struct, frozen=True):
    """The host names and origins a local server answers."""

    hosts: frozenset[str]
    """Accepted ``Host`` names (lower case, no port); ``*`` accepts any."""
    origins: frozenset[str] = frozenset()
    """Accepted ``Origin`` values besides the server's own (``http://localhost:5173``)."""

    @classmethod
    def for_address(
        cls,
        host: str,
        *,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> HostPolicy:
        """The policy of a server bound to ``host``: loopback names, ``host``, the extras."""
        names = set(LOOPBACK_NAMES)
        bound = host_name(host if ":" not in host or host.startswith("[") else f"[{host}]")
        if bound not in _WILDCARDS:
            names.add(bound)
        for extra in allowed_hosts:
            names.add("*" if extra.strip() == "*" else host_name(extra))
        return cls(
            hosts=frozenset(names),
            origins=frozenset(o.strip().rstrip("/").lower() for o in allowed_origins),
        )

    def refusal(
        self, scheme: str, host: str | None, origin: str | None
    ) -> RequestRefusedError | None:
        """Why a request with these headers is refused, or ``None`` if it may pass."""
        if host is not None and "*" not in self.hosts and host_name(host) not in self.hosts:
            return RequestRefusedError(
                421,
                "misdirected_request",
                f"Host {clip(host)!r} does not name this server; open it as "
                "http://localhost:<port>, or allow the name with --allow-host",
            )
        if origin is None:
            return None
        normalised = origin.strip().rstrip("/").lower()
        own = f"{'https' if scheme in ('https', 'wss') else 'http'}://{(host or '').lower()}"
        if normalised == own or normalised in self.origins:
            return None
        return RequestRefusedError(
            403,
            "forbidden_origin",
            f"requests from the web page at {clip(origin)!r} are refused (cross-site); "
            "allow that origin with --allow-origin if it is yours",
        )


class HostGuard:
    """ASGI middleware refusing requests whose ``Host`` or ``Origin`` fails the policy."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy
        self._passed: set[bytes] = set()
        """Raw ``Host`` values already accepted (a few: checked once, not on every request)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = origin = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"origin":
                origin = value
        if origin is None and host in self._passed:
            await self.app(scope, receive, send)
            return
        refusal = self.policy.refusal(
            scope.get("scheme", "http"),
            None if host is None else host.decode("latin-1"),
            None if origin is None else origin.decode("latin-1"),
        )
        if refusal is None:
            if host is not None and len(self._passed) < _REMEMBERED:
                self._passed.add(host)
            await self.app(scope, receive, send)
        elif kind == "http":
            response: Response = refusal.response()
            await response(scope, receive, send)
        else:  # refuse the WebSocket handshake (the client sees 403)
            await send({"type": "websocket.close", "code": 1008})
