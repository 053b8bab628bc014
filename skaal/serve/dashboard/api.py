"""The dashboard's JSON endpoints, under ``/_skaal/api/``.

Reads (``GET``)::

    overview                          app, plan summary, counts, whether traces are on
    plan[?catalog=NAME]               {graph, plan, plan_hash}: the served plan, or the
                                      same app planned in memory against a bundled catalog
                                      (aws, gcp, ...) for a side-by-side comparison
    plan/graph.svg[?catalog=NAME]     the same graph as a picture (skaal plan --graph)
    resources                         state resources: name, kind, backend, region
    maps/{name}?prefix=&limit=&cursor=                      a page of entries
    collections/{name}?field=&value=&limit=&cursor=         a page of documents
    blobs/{name}?prefix=&limit=&cursor=                     a page of blob infos
    blobs/{name}/content/{key}                              one blob's bytes (a download)
    queues                            depth, in flight, dead letters, consumers, redrive
    queues/{name}/dead?limit=         the dead letters, bodies as stored JSON
    topics                            subscribers, what they handled, their lag (messages
                                      not taken yet; null where the backend cannot tell)
    schedules                         next runs, last run, running
    requests?limit=                   the latest traced calls, newest first, with the
                                      storage and queue operations each made

Writes (need the header ``X-Skaal-Confirm: yes``, else 428
``confirmation_required``; the page asks before sending it)::

    PUT    maps/{name}/{key}                 body {"value": ...}
    DELETE maps/{name}/{key}
    PUT    collections/{name}                body {"document": {...}}
    DELETE collections/{name}/{key}
    POST   queues/{name}/dead/{id}/redrive
    POST   schedules/{name}/run

The custom header also makes every write a CORS "non-simple" request, so a
page of another origin cannot send one without a preflight, which the
``Origin`` check (:mod:`skaal.serve.hosts`) refuses anyway.  Errors are
``{"error", "detail"}``: 404 ``not_found`` for an unknown name, 400
``bad_request`` for a value of the wrong type or a bad cursor, 409
``already_running`` for a schedule still running, 503 ``not_ready`` before
the runtime is open.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from skaal.catalog import bundled_catalogs, load_catalog
from skaal.errors import SkaalError
from skaal.graph.model import plan_graph
from skaal.graph.svg import graph_svg
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.runtime.errors import BlobNotFoundError
from skaal.serve.dashboard import data
from skaal.serve.dashboard.traces import TraceLog
from skaal.serve.problems import clip, problem_response
from skaal.serve.workers import QueueWorker, TopicWorker

if TYPE_CHECKING:
    from skaal.plan.model import Plan
    from skaal.runtime.runtime import Runtime
    from skaal.serve.discover import Entrypoints
    from skaal.serve.state import ServeState

__all__ = ["API", "CONFIRM_HEADER", "api_routes"]

API: Final = "/_skaal/api"
CONFIRM_HEADER: Final = "x-skaal-confirm"
_NEXT_RUNS: Final = 3

Handler = Callable[[Request], Awaitable[Response]]


class _RefusedError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _guarded(handler: Handler, *, write: bool = False) -> Handler:
    """Answer every failure of ``handler`` as bounded JSON; demand the confirmation on writes."""

    async def guarded(request: Request) -> Response:
        if write and request.headers.get(CONFIRM_HEADER, "").lower() != "yes":
            return problem_response(
                428,
                "confirmation_required",
                f"changing data needs the header {CONFIRM_HEADER}: yes (the dashboard asks first)",
            )
        try:
            return await handler(request)
        except _RefusedError as exc:
            return problem_response(exc.status, exc.error, clip(exc.detail, 300))
        except data.DashboardError as exc:
            return problem_response(404, "not_found", clip(f"{exc.what}; {exc.fix}", 300))
        except SkaalError as exc:
            status = 404 if isinstance(exc, BlobNotFoundError) else 400
            slug = "not_found" if status == 404 else "bad_request"
            return problem_response(status, slug, clip(exc.what, 300))

    return guarded


class DashboardApi:
    """The endpoints, over the serving state (runtime, scheduler, workers) and the trace log."""

    def __init__(self, found: Entrypoints, state: ServeState, traces: TraceLog | None) -> None:
        self.found = found
        self.state = state
        self.traces = traces
        self._plans: dict[str, Plan] = {}

    # -- helpers -----------------------------------------------------------------

    def runtime(self) -> Runtime:
        runtime: Runtime | None = self.state.runtime
        if runtime is None:
            raise _RefusedError(503, "not_ready", "the runtime is not open yet; retry in a moment")
        return runtime

    def _plan_for(self, catalog: str | None) -> Plan:
        runtime = self.runtime()
        if not catalog or catalog == runtime.plan.catalog:
            return runtime.plan
        if catalog not in self._plans:
            names = sorted(bundled_catalogs())
            if catalog not in names:
                raise _RefusedError(
                    404,
                    "not_found",
                    f"no bundled catalog {catalog!r}; catalogs: {', '.join(names)}",
                )
            outcome = plan_blueprint(
                runtime.blueprint, load_catalog(catalog), lock=MemoryLockStore()
            )
            self._plans[catalog] = outcome.plan
        return self._plans[catalog]

    @staticmethod
    async def _json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _RefusedError(400, "invalid_json", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise _RefusedError(400, "bad_request", "the body must be a JSON object")
        return body

    # -- reads -------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        runtime = self.runtime()
        plan = runtime.plan
        kinds: dict[str, int] = {}
        for spec in runtime.blueprint.resources:
            kinds[spec.kind] = kinds.get(spec.kind, 0) + 1

        return JSONResponse(
            {
                "app": plan.app,
                "provider": plan.provider,
                "catalog": plan.catalog,
                "region": plan.region,
                "total_monthly_cost": plan.total_monthly_cost,
                "plan_hash": plan.content_hash(),
                "kinds": kinds,
                "catalogs": sorted(bundled_catalogs()),
                "traces": self.traces is not None,
            }
        )

    async def plan(self, request: Request) -> Response:

        plan = self._plan_for(request.query_params.get("catalog"))
        graph = plan_graph(self.runtime().blueprint, plan)
        return JSONResponse(
            {
                "graph": graph.to_json(),
                "plan": plan.model_dump(mode="json"),
                "plan_hash": plan.content_hash(),
                "served": plan is self.runtime().plan,
            }
        )

    async def plan_svg(self, request: Request) -> Response:

        plan = self._plan_for(request.query_params.get("catalog"))
        svg = graph_svg(plan_graph(self.runtime().blueprint, plan))
        return Response(svg, media_type="image/svg+xml")

    async def resources(self, request: Request) -> Response:
        runtime = self.runtime()
        out = []
        for spec in sorted(runtime.blueprint.resources, key=lambda s: (s.kind, s.name)):
            if spec.kind in ("function", "secret"):
                continue
            binding = runtime.plan.binding(spec.name)
            out.append(
                {
                    "name": spec.name,
                    "kind": spec.kind,
                    "backend": binding.backend,
                    "implementation": binding.implementation,
                    "region": binding.region,
                }
            )
        return JSONResponse(out)

    async def map_page(self, request: Request) -> Response:
        q = request.query_params
        page = await data.map_page(
            self.runtime(),
            request.path_params["name"],
            prefix=q.get("prefix", ""),
            limit=data.page_limit(q.get("limit")),
            cursor=q.get("cursor") or None,
        )
        return JSONResponse(page)

    async def collection_page(self, request: Request) -> Response:
        q = request.query_params
        page = await data.collection_page(
            self.runtime(),
            request.path_params["name"],
            field=q.get("field") or None,
            value=q.get("value"),
            limit=data.page_limit(q.get("limit")),
            cursor=q.get("cursor") or None,
        )
        return JSONResponse(page)

    async def blob_page(self, request: Request) -> Response:
        q = request.query_params
        page = await data.list_blobs(
            self.runtime(),
            request.path_params["name"],
            prefix=q.get("prefix", ""),
            limit=data.page_limit(q.get("limit")),
            cursor=q.get("cursor") or None,
        )
        return JSONResponse(page)

    async def blob_content(self, request: Request) -> Response:
        key = request.path_params["key"]
        content_type, size, chunks = await data.blob_chunks(
            self.runtime(), request.path_params["name"], key
        )
        filename = key.rsplit("/", 1)[-1].replace('"', "")
        return StreamingResponse(
            chunks,
            media_type=content_type or "application/octet-stream",
            headers={
                "content-length": str(size),
                "content-disposition": f'attachment; filename="{filename}"',
            },
        )

    async def queues(self, request: Request) -> Response:
        runtime = self.runtime()

        out = []
        for spec in sorted(runtime.blueprint.resources, key=lambda s: s.name):
            if spec.kind != "queue":
                continue
            client = data.queue_client(runtime, spec.name)
            workers = [
                w
                for w in self.state.workers
                if isinstance(w, QueueWorker) and getattr(w.queue, "resource", None) == spec.name
            ]
            depth: int | None
            try:
                depth = await client.depth()
            except SkaalError:
                depth = None
            dead = await client.backend.dead_letters(limit=data.MAX_PAGE)
            out.append(
                {
                    "name": spec.name,
                    "backend": runtime.plan.binding(spec.name).backend,
                    "depth": depth,
                    "in_flight": sum(w.in_flight for w in workers),
                    "dead_letters": len(dead),
                    "redrive": client.redrives,
                    "consumers": [
                        {
                            "name": w.name,
                            "in_flight": w.in_flight,
                            "acked": w.acked,
                            "retried": w.retried,
                            "dead": w.dead,
                        }
                        for w in workers
                    ],
                }
            )
        return JSONResponse(out)

    async def dead(self, request: Request) -> Response:
        letters = await data.dead_letters(
            self.runtime(),
            request.path_params["name"],
            limit=data.page_limit(request.query_params.get("limit")),
        )
        return JSONResponse(letters)

    async def topics(self, request: Request) -> Response:
        runtime = self.runtime()

        by_name = {w.name: w for w in self.state.workers if isinstance(w, TopicWorker)}
        out = []
        for spec in sorted(runtime.blueprint.resources, key=lambda s: s.name):
            if spec.kind != "topic":
                continue
            subscribers = [s for s in runtime.blueprint.resources if s.subscribes == spec.name]
            lag = await data.topic_lag(runtime, spec.name)
            out.append(
                {
                    "name": spec.name,
                    "backend": runtime.plan.binding(spec.name).backend,
                    "subscribers": [
                        {
                            "name": s.name,
                            "running": s.name in by_name,
                            "delivered": by_name[s.name].delivered if s.name in by_name else 0,
                            "failed": by_name[s.name].failed if s.name in by_name else 0,
                            "in_flight": by_name[s.name].in_flight if s.name in by_name else 0,
                            "lag": None if lag is None else lag.get(s.name, 0),
                        }
                        for s in sorted(subscribers, key=lambda s: s.name)
                    ],
                }
            )
        return JSONResponse(out)

    async def schedules(self, request: Request) -> Response:
        scheduler = self.state.scheduler
        now = datetime.now(UTC) if scheduler is None else scheduler.clock.now()
        jobs = {j.name: j for j in (scheduler.jobs if scheduler is not None else [])}
        out = []
        for function in self.found.schedules:
            spec = function.spec
            job = jobs.get(function.name)
            runs: list[str] = []
            if job is not None:
                moment = now
                for _ in range(_NEXT_RUNS):
                    fire = job.times.next_after(moment)
                    if fire is None:
                        break
                    runs.append(fire.isoformat())
                    moment = fire
            last = None if job is None else job.last
            out.append(
                {
                    "name": function.name,
                    "schedule": str(spec.schedule),
                    "next_runs": runs,
                    "running": job is not None
                    and job.running is not None
                    and not job.running.done(),
                    "fired": 0 if job is None else job.fired,
                    "failed": 0 if job is None else job.failed,
                    "last": None
                    if last is None
                    else {
                        "started": last.started.isoformat(),
                        "seconds": last.seconds,
                        "error": last.error,
                        "manual": last.manual,
                    },
                }
            )
        return JSONResponse(out)

    async def requests(self, request: Request) -> Response:
        if self.traces is None:
            return JSONResponse({"enabled": False, "requests": []})
        limit = data.page_limit(request.query_params.get("limit"))
        return JSONResponse({"enabled": True, "requests": self.traces.latest(limit)})

    # -- writes ------------------------------------------------------------------

    async def map_put(self, request: Request) -> Response:
        body = await self._json_body(request)
        if "value" not in body:
            raise _RefusedError(400, "bad_request", 'the body must be {"value": ...}')
        p = request.path_params
        return JSONResponse(await data.map_set(self.runtime(), p["name"], p["key"], body["value"]))

    async def map_delete(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse({"deleted": await data.map_delete(self.runtime(), p["name"], p["key"])})

    async def collection_put(self, request: Request) -> Response:
        body = await self._json_body(request)
        if not isinstance(body.get("document"), dict):
            raise _RefusedError(400, "bad_request", 'the body must be {"document": {...}}')
        name = request.path_params["name"]
        return JSONResponse(await data.collection_put(self.runtime(), name, body["document"]))

    async def collection_delete(self, request: Request) -> Response:
        p = request.path_params
        deleted = await data.collection_delete(self.runtime(), p["name"], p["key"])
        return JSONResponse({"deleted": deleted})

    async def redrive(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse({"id": await data.redrive(self.runtime(), p["name"], p["id"])})

    async def run_schedule(self, request: Request) -> Response:
        name = request.path_params["name"]
        scheduler = self.state.scheduler
        names = [f.name for f in self.found.schedules]
        if scheduler is None or name not in names:
            raise _RefusedError(
                404,
                "not_found",
                f"no schedule called {name!r}; schedules: {', '.join(names) or 'none'}",
            )
        if not scheduler.run_now(name):
            raise _RefusedError(409, "already_running", f"{name} is still running; try again later")
        return JSONResponse({"started": name}, status_code=202)


def api_routes(found: Entrypoints, state: ServeState, traces: TraceLog | None) -> list[BaseRoute]:
    """The ``/_skaal/api/...`` routes (see the module docstring)."""
    api = DashboardApi(found, state, traces)

    def get(path: str, handler: Handler) -> Route:
        return Route(f"{API}/{path}", _guarded(handler), methods=["GET"])

    def write(path: str, handler: Handler, method: str) -> Route:
        return Route(f"{API}/{path}", _guarded(handler, write=True), methods=[method])

    return [
        get("overview", api.overview),
        get("plan", api.plan),
        get("plan/graph.svg", api.plan_svg),
        get("resources", api.resources),
        get("maps/{name}", api.map_page),
        write("maps/{name}/{key:path}", api.map_put, "PUT"),
        write("maps/{name}/{key:path}", api.map_delete, "DELETE"),
        get("collections/{name}", api.collection_page),
        write("collections/{name}", api.collection_put, "PUT"),
        write("collections/{name}/{key:path}", api.collection_delete, "DELETE"),
        get("blobs/{name}", api.blob_page),
        get("blobs/{name}/content/{key:path}", api.blob_content),
        get("queues", api.queues),
        get("queues/{name}/dead", api.dead),
        write("queues/{name}/dead/{id}/redrive", api.redrive, "POST"),
        get("topics", api.topics),
        get("schedules", api.schedules),
        write("schedules/{name}/run", api.run_schedule, "POST"),
        get("requests", api.requests),
    ]
