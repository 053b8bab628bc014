"""The dashboard's JSON endpoints (``/_skaal/api/``) against a real runtime.

The app is served in-process (``httpx.ASGITransport``) with the same
runtime, scheduler, workers and tracing ``skaal run`` uses.  Every test runs
with its map and queue on SQLite, and again on Redis and on PostgreSQL when
their test servers are up (``SKAAL_TEST_REDIS_URL``,
``SKAAL_TEST_POSTGRES_DSN``; CI starts them): the collection moves to
PostgreSQL and the topic to Redis where those serve them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Cron, Index, Map, Queue, Topic
from skaal.catalog.loader import load_catalog
from skaal.plan.model import Plan
from skaal.serve.app import build_asgi
from skaal.serve.bridge import open_runtime
from skaal.serve.dashboard.traces import local_telemetry
from skaal.serve.hosts import HostPolicy
from skaal.solver import solve
from tests.serve.test_wsgi import BACKENDS, _drop, _server_env

pytestmark = pytest.mark.asyncio

CONFIRM = {"x-skaal-confirm": "yes"}


class Book(BaseModel):
    isbn: str
    title: str
    genre: str


def make_app(backend: str) -> App:
    app = App("library")

    @app.storage(durability="ephemeral", backend=backend)
    class Loans(Map[str, int]): ...

    @app.storage(durability="persistent", backend="postgres" if backend == "postgres" else "sqlite")
    class Books(Collection[Book]):
        key = "isbn"
        by_genre = Index("genre")

    @app.blob()
    class Covers(BlobStore): ...

    @app.queue(durability="ephemeral", max_attempts=1, backend=backend)
    class Returns(Queue[str]): ...

    @app.topic(durability="ephemeral", backend="redis" if backend == "redis" else "sqlite")
    class News(Topic[str]): ...

    @app.function()
    async def lend(isbn: str) -> int:
        await Covers.put(f"covers/{isbn}.txt", b"cover of " + isbn.encode())
        return await Loans.increment(isbn)

    @app.function()
    async def give_back(isbn: str) -> str:
        return await Returns.send(isbn)

    @app.consumer(Returns)
    async def shelve(isbn: str) -> None:
        raise RuntimeError(f"shelf for {isbn} is full")

    @app.subscriber(News)
    async def read_news(item: str) -> None: ...

    @app.schedule(Cron("0 6 * * *"))
    async def morning() -> None:
        await Loans.set("morning", 1)

    return app


@pytest_asyncio.fixture(params=sorted(BACKENDS))
async def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    backend: str = request.param
    env = _server_env(backend)
    app = make_app(backend)
    plan = solve(app.blueprint(), load_catalog(BACKENDS[backend][0]))
    assert plan.binding("Loans").implementation == backend
    try:
        async with _served(app, plan, env, tmp_path) as c:
            yield c
    finally:
        await _drop(backend, env)


@contextlib.asynccontextmanager
async def _served(
    app: App, plan: Plan, env: dict[str, str], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    tracing = local_telemetry()
    assert tracing is not None
    telemetry, traces = tracing
    asgi = build_asgi(
        app,
        lambda: open_runtime(
            app,
            plan,
            data_dir=tmp_path / "data",
            project_dir=tmp_path,
            env={**os.environ, **env},
            telemetry=telemetry,
        ),
        dashboard=True,
        traces=traces,
    )
    async with asgi.router.lifespan_context(asgi):
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c


async def _eventually(probe: object, what: str) -> None:
    assert callable(probe)
    for _ in range(200):
        if await probe():
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"gave up waiting for {what}")


async def test_overview_and_resources(client: httpx.AsyncClient) -> None:
    overview = (await client.get("/_skaal/api/overview")).json()
    assert overview["app"] == "library"
    assert overview["provider"] == "local"
    assert overview["traces"] is True
    assert {"aws", "gcp", "local"} <= set(overview["catalogs"])
    resources = {r["name"]: r for r in (await client.get("/_skaal/api/resources")).json()}
    assert set(resources) == {"Loans", "Books", "Covers", "Returns", "News"}
    assert resources["Loans"]["implementation"] in BACKENDS


async def test_plan_graph_and_another_catalog(tmp_path: Path) -> None:
    app = App("counter")

    @app.storage(size="1GB")
    class Counts(Map[str, int]): ...

    @app.schedule(Cron("0 6 * * *"))
    async def morning() -> None:
        await Counts.increment("mornings")

    plan = solve(app.blueprint(), load_catalog("local"))
    async with _served(app, plan, {}, tmp_path) as client:
        served = (await client.get("/_skaal/api/plan")).json()
        assert served["served"] is True
        ids = {n["id"] for n in served["graph"]["nodes"]}
        assert {"Counts", "morning", "schedule:morning"} <= ids
        aws = (await client.get("/_skaal/api/plan", params={"catalog": "aws"})).json()
        assert aws["served"] is False
        assert aws["plan"]["provider"] == "aws"
        assert aws["graph"]["total_monthly_cost"] > 0
        svg = await client.get("/_skaal/api/plan/graph.svg", params={"catalog": "aws"})
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.startswith("<svg")
        missing = await client.get("/_skaal/api/plan", params={"catalog": "nowhere"})
        assert missing.status_code == 404
        assert "no bundled catalog 'nowhere'" in missing.json()["detail"]


async def test_a_catalog_the_app_cannot_be_planned_on_answers_400(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/_skaal/api/plan", params={"catalog": "aws"})  # pinned backends
    assert answer.status_code == 400
    assert "catalog 'aws' does not have" in answer.json()["detail"]


async def test_maps_page_search_and_confirmed_edits(client: httpx.AsyncClient) -> None:
    for isbn in ("b-1", "b-2", "c-1"):
        assert (await client.post("/fn/lend", json={"isbn": isbn})).json() == 1
    page = (await client.get("/_skaal/api/maps/Loans", params={"limit": 2})).json()
    assert [i["key"] for i in page["items"]] == ["b-1", "b-2"]
    rest = (await client.get("/_skaal/api/maps/Loans", params={"cursor": page["cursor"]})).json()
    assert [i["key"] for i in rest["items"]] == ["c-1"]
    assert rest["cursor"] is None
    found = (await client.get("/_skaal/api/maps/Loans", params={"prefix": "c-"})).json()
    assert found["items"] == [{"key": "c-1", "value": 1}]

    refused = await client.put("/_skaal/api/maps/Loans/c-1", json={"value": 5})
    assert refused.status_code == 428
    assert refused.json()["error"] == "confirmation_required"
    put = await client.put("/_skaal/api/maps/Loans/c-1", json={"value": 5}, headers=CONFIRM)
    assert put.json() == {"key": "c-1", "value": 5}
    wrong = await client.put("/_skaal/api/maps/Loans/c-1", json={"value": "five"}, headers=CONFIRM)
    assert wrong.status_code == 400
    assert "int" in wrong.json()["detail"]
    deleted = await client.delete("/_skaal/api/maps/Loans/c-1", headers=CONFIRM)
    assert deleted.json() == {"deleted": True}
    assert (await client.get("/_skaal/api/maps/Loans", params={"prefix": "c-"})).json()[
        "items"
    ] == []


async def test_collections_filter_and_edit(client: httpx.AsyncClient) -> None:
    for isbn, genre in (("1", "poetry"), ("2", "crime"), ("3", "poetry")):
        doc = {"isbn": isbn, "title": f"Book {isbn}", "genre": genre}
        answer = await client.put(
            "/_skaal/api/collections/Books", json={"document": doc}, headers=CONFIRM
        )
        assert answer.json()["key"] == isbn
    every = (await client.get("/_skaal/api/collections/Books")).json()
    assert every["key_field"] == "isbn"
    assert every["indexes"] == ["genre"]
    assert [i["key"] for i in every["items"]] == ["1", "2", "3"]
    poetry = (
        await client.get(
            "/_skaal/api/collections/Books", params={"field": "genre", "value": "poetry"}
        )
    ).json()
    assert [i["document"]["title"] for i in poetry["items"]] == ["Book 1", "Book 3"]
    bad = await client.put(
        "/_skaal/api/collections/Books", json={"document": {"isbn": "4"}}, headers=CONFIRM
    )
    assert bad.status_code == 400
    undeclared = await client.get(
        "/_skaal/api/collections/Books", params={"field": "title", "value": "x"}
    )
    assert undeclared.status_code == 400
    gone = await client.delete("/_skaal/api/collections/Books/2", headers=CONFIRM)
    assert gone.json() == {"deleted": True}


async def test_blobs_list_and_download(client: httpx.AsyncClient) -> None:
    await client.post("/fn/lend", json={"isbn": "9"})
    listing = (await client.get("/_skaal/api/blobs/Covers", params={"prefix": "covers/"})).json()
    (info,) = listing["items"]
    assert (info["key"], info["size"]) == ("covers/9.txt", len(b"cover of 9"))
    download = await client.get("/_skaal/api/blobs/Covers/content/covers/9.txt")
    assert download.content == b"cover of 9"
    assert 'filename="9.txt"' in download.headers["content-disposition"]
    missing = await client.get("/_skaal/api/blobs/Covers/content/covers/none.txt")
    assert missing.status_code == 404
    escape = await client.get("/_skaal/api/blobs/Covers", params={"prefix": "../"})
    assert escape.status_code == 400


async def test_queue_dead_letters_and_redrive(client: httpx.AsyncClient) -> None:
    await client.post("/fn/give_back", json={"isbn": "7"})

    async def dead() -> bool:
        queues = (await client.get("/_skaal/api/queues")).json()
        return bool(queues[0]["dead_letters"] == 1)

    await _eventually(dead, "the message to be dead-lettered")
    (queue,) = (await client.get("/_skaal/api/queues")).json()
    assert queue["name"] == "Returns"
    assert queue["redrive"] is True
    assert queue["consumers"][0]["name"] == "shelve"
    (letter,) = (await client.get("/_skaal/api/queues/Returns/dead")).json()
    assert letter["body"] == "7"
    assert "shelf for 7 is full" in letter["error"]
    url = f"/_skaal/api/queues/Returns/dead/{letter['id']}/redrive"
    assert (await client.post(url)).status_code == 428
    redriven = await client.post(url, headers=CONFIRM)
    assert redriven.status_code == 200
    again = await client.post(url, headers=CONFIRM)
    assert again.status_code == 404
    await _eventually(dead, "the redriven message to fail again")
    calls = (await client.get("/_skaal/api/requests")).json()["requests"]
    handled = [c for c in calls if c["function"] == "shelve"]
    assert len(handled) == 2  # the first delivery and the redriven one
    assert all(c["trigger"] == "queue" and c["status"] == "error" for c in handled)
    assert "shelf for 7 is full" in handled[0]["error"]


async def test_topics_and_schedules_run_now(client: httpx.AsyncClient) -> None:
    (topic,) = (await client.get("/_skaal/api/topics")).json()
    assert topic["subscribers"][0]["name"] == "read_news"
    assert topic["subscribers"][0]["running"] is True
    assert topic["subscribers"][0]["lag"] == 0
    (schedule,) = (await client.get("/_skaal/api/schedules")).json()
    assert schedule["name"] == "morning"
    assert len(schedule["next_runs"]) == 3
    assert all(run.endswith("06:00:00+00:00") for run in schedule["next_runs"])
    assert schedule["last"] is None
    assert (await client.post("/_skaal/api/schedules/morning/run")).status_code == 428
    started = await client.post("/_skaal/api/schedules/morning/run", headers=CONFIRM)
    assert started.status_code == 202

    async def ran() -> bool:
        (s,) = (await client.get("/_skaal/api/schedules")).json()
        return s["last"] is not None and s["last"]["seconds"] is not None

    await _eventually(ran, "the schedule to finish")
    (schedule,) = (await client.get("/_skaal/api/schedules")).json()
    assert schedule["last"]["manual"] is True
    assert schedule["last"]["error"] is None
    assert (await client.get("/_skaal/api/maps/Loans", params={"prefix": "morning"})).json()[
        "items"
    ] == [{"key": "morning", "value": 1}]
    calls = (await client.get("/_skaal/api/requests")).json()["requests"]
    (run,) = [c for c in calls if c["function"] == "morning"]
    assert (run["trigger"], run["status"], run["method"]) == ("schedule", "ok", None)
    assert [(o["resource"], o["operation"]) for o in run["operations"]] == [("Loans", "set")]
    unknown = await client.post("/_skaal/api/schedules/evening/run", headers=CONFIRM)
    assert unknown.status_code == 404
    assert "schedules: morning" in unknown.json()["detail"]


async def test_requests_carry_their_storage_operations(client: httpx.AsyncClient) -> None:
    await client.post("/fn/lend", json={"isbn": "42"})
    await client.post("/fn/lend", json={"isbn": "../x"})  # a blob key that is refused: 400
    calls = (await client.get("/_skaal/api/requests")).json()
    assert calls["enabled"] is True
    refused, lent = calls["requests"][:2]
    assert (lent["function"], lent["trigger"], lent["status"]) == ("lend", "http", 200)
    operations = [(o["resource"], o["operation"]) for o in lent["operations"]]
    assert operations == [("Covers", "put"), ("Loans", "increment")]
    assert lent["operations"][0]["backend"] == "filesystem"
    assert lent["ms"] >= max(o["ms"] for o in lent["operations"])
    assert (refused["status"], refused["operations"]) == (400, [])
    assert not any(r["path"] and r["path"].startswith("/_skaal") for r in calls["requests"])


async def test_unknown_names_answer_404_with_the_names_there_are(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/_skaal/api/maps/Lons")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": "not_found",
        "detail": "library has no map called 'Lons'; maps of this app: Loans",
    }
    assert (await client.get("/_skaal/api/collections/Loans")).status_code == 404
    assert (await client.get("/_skaal/api/queues/Nope/dead")).status_code == 404
    bad_limit = await client.get("/_skaal/api/maps/Loans", params={"limit": "many"})
    assert bad_limit.status_code == 400
    assert bad_limit.json()["detail"] == "limit='many' is not a number"


async def test_the_page_and_its_assets_are_served_without_a_cdn(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/_skaal/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace('href="/', "").split("<body>")[0].lower().replace(
        "http-equiv", ""
    )
    for asset in ("dashboard.js", "dashboard.css"):
        served = await client.get(f"/_skaal/static/{asset}")
        assert served.status_code == 200
        assert "https://" not in served.text
    assert (await client.get("/_skaal", follow_redirects=False)).headers["location"] == "/_skaal/"


async def test_the_dashboard_is_behind_the_host_and_origin_checks(tmp_path: Path) -> None:

    app = App("guarded")

    @app.storage()
    class Notes(Map[str, str]): ...

    plan = solve(app.blueprint(), load_catalog("local"))
    asgi = build_asgi(
        app,
        lambda: open_runtime(app, plan, data_dir=tmp_path, project_dir=tmp_path, env={}),
        hosts=HostPolicy.for_address("127.0.0.1"),
        dashboard=True,
    )
    async with asgi.router.lifespan_context(asgi):
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            assert (await c.get("/_skaal/api/overview")).status_code == 200
            rebound = await c.get("/_skaal/api/maps/Notes", headers={"host": "evil.example"})
            assert rebound.status_code == 421
            cross_site = await c.put(
                "/_skaal/api/maps/Notes/a",
                json={"value": "x"},
                headers={**CONFIRM, "origin": "http://evil.example"},
            )
            assert cross_site.status_code == 403
            assert (await c.get("/_skaal/api/maps/Notes")).json()["items"] == []
            requests = (await c.get("/_skaal/api/requests")).json()
            assert requests == {"enabled": False, "requests": []}  # opened without telemetry
