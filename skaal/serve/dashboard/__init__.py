"""The local dashboard ``skaal run`` serves at ``/_skaal/``.

One static page (``static/index.html``, ``dashboard.js``, ``dashboard.css``:
plain HTML, JavaScript and CSS shipped in the package, no CDN, works
offline) over the JSON endpoints of :mod:`~skaal.serve.dashboard.api`.  Its
views:

* **Plan** -- the plan drawn as a graph (:mod:`skaal.graph.svg`) with
  every node's backend, region and monthly cost, the defaulted ones
  highlighted, the cost breakdown, and the same app planned against another
  bundled catalog side by side;
* **Data** -- maps, collections (paged, searchable, read-only until an edit
  is confirmed), blobs (size, download), queues (depth, in flight, dead
  letters with inspect and redrive), topics (subscribers);
* **Schedules** -- next runs, last run, "run now";
* **Requests** -- the latest calls with status, latency and the storage
  operations each made (:mod:`~skaal.serve.dashboard.traces`).

The dashboard is only mounted by ``skaal run`` (a local server, behind the
``Host``/``Origin`` checks of :mod:`skaal.serve.hosts`); a built artifact
never serves it.  :mod:`~skaal.serve.dashboard.data` is where it reads and
writes the data plane, through the runtime's typed clients.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from skaal.serve.dashboard.api import API, api_routes

if TYPE_CHECKING:
    from skaal.serve.dashboard.traces import TraceLog
    from skaal.serve.discover import Entrypoints
    from skaal.serve.state import ServeState

__all__ = ["API", "PREFIX", "dashboard_routes"]

PREFIX: Final = "/_skaal"
_STATIC: Final = Path(str(files("skaal.serve.dashboard") / "static"))
_SECURITY: Final = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


def dashboard_routes(
    found: Entrypoints, state: ServeState, traces: TraceLog | None
) -> list[BaseRoute]:
    """The page, its static files and the JSON API."""
    page = (_STATIC / "index.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_SECURITY)

    async def bare(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/")

    return [
        Route(f"{PREFIX}/", index, methods=["GET"], include_in_schema=False),
        Route(PREFIX, bare, methods=["GET"], include_in_schema=False),
        Mount(f"{PREFIX}/static", app=StaticFiles(directory=_STATIC), name="skaal-static"),
        *api_routes(found, state, traces),
    ]
