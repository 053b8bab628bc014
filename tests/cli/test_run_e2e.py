"""End to end: every runtime example served by ``skaal run`` in a subprocess, over HTTP.

Each test copies an example into a temporary project, starts the server on a
free port (:mod:`tests._server`), uses it the way its README says, stops it
with Ctrl+C, starts it again and checks that what the app declared
persistent survived.  Waits are polls bounded at 15 s.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests._server import ROOT, copy_example, eventually, free_port, skaal_run

pytestmark = pytest.mark.slow


def test_todo_api_crud_and_index_query_through_fastapi(tmp_path: Path) -> None:
    project = copy_example("todo_api", tmp_path)
    with skaal_run(project, "app.py") as client:
        for todo in (
            {"id": "1", "owner": "ada", "title": "write docs"},
            {"id": "2", "owner": "bob", "title": "review"},
            {"id": "3", "owner": "ada", "title": "ship"},
        ):
            assert client.post("/api/todos", json=todo).status_code == 200
        assert client.post("/api/todos", json={"id": "4"}).status_code == 422
        assert client.get("/api/todos/1").json()["title"] == "write docs"
        assert client.get("/api/todos/9").status_code == 404
        listed = client.get("/api/todos", params={"owner": "ada"}).json()
        assert [t["id"] for t in listed] == ["1", "3"]
        assert client.post("/api/todos/1/done").json()["done"] is True
        assert client.delete("/api/todos/3").status_code == 204
        assert client.delete("/api/todos/3").status_code == 404
        assert client.post("/fn/count_open", json={"owner": "ada"}).json() == 0
        assert client.post("/fn/count_open", json={"owner": "bob"}).json() == 1
    with skaal_run(project, "app.py") as client:
        listed = client.get("/api/todos", params={"owner": "ada"}).json()
        assert listed == [{"id": "1", "owner": "ada", "title": "write docs", "done": True}]
        assert client.get("/api/todos", params={"owner": "bob"}).json()[0]["id"] == "2"


def test_file_upload_streams_a_multi_megabyte_file_both_ways(tmp_path: Path) -> None:
    project = copy_example("file_upload", tmp_path)
    payload = os.urandom(5 * 1024 * 1024 + 123)
    digest = hashlib.sha256(payload).hexdigest()

    def chunks() -> object:
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    with skaal_run(project, "app.py") as client:
        created = client.put(
            "/files/photos/cat.png", content=chunks(), headers={"content-type": "image/png"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["size"] == len(payload)
        client.put("/files/notes.txt", content=b"hi", headers={"content-type": "text/plain"})
        with client.stream("GET", "/files/photos/cat.png") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/png"
            received = hashlib.sha256()
            for block in response.iter_bytes():
                received.update(block)
        assert received.hexdigest() == digest
        assert client.get("/files/absent.png").status_code == 404
        assert client.post("/fn/list_files", json={"prefix": "photos/"}).json() == [
            "photos/cat.png"
        ]
        assert client.put("/files/../escape", content=b"x").status_code in (400, 404, 422, 500)
    with skaal_run(project, "app.py") as client:
        response = client.get("/files/photos/cat.png")
        assert response.headers["content-type"] == "image/png"
        assert hashlib.sha256(response.content).hexdigest() == digest
        assert client.post("/fn/list_files", json={}).json() == ["notes.txt", "photos/cat.png"]


def _dead_letters(project: Path) -> list[tuple[bytes, int, str]]:
    path = project / ".skaal" / "data" / "jobs.sqlite3"
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute('SELECT body, attempts, error FROM "queue:Work:dead"').fetchall()
    finally:
        conn.close()
    return [(bytes(body), int(attempts), str(error)) for body, attempts, error in rows]


def test_jobs_consumer_processes_and_dead_letters_after_max_attempts(tmp_path: Path) -> None:
    project = copy_example("jobs", tmp_path)
    env = {"WEBHOOK_TOKEN": "dev-token", "SKAAL_QUEUE_RETRY_DELAY": "0.05"}
    with skaal_run(project, "app.py", env=env) as client:
        sent = client.post("/fn/submit", json={"job": {"id": "j1", "payload": "resize cat.png"}})
        assert sent.status_code == 200, sent.text
        client.post("/fn/submit", json={"job": {"id": "bad", "payload": "fail"}})

        def result(job_id: str) -> str | None:
            value: str | None = client.post("/fn/result", json={"job_id": job_id}).json()
            return value

        done = eventually(lambda: result("j1"), what="job j1 to be processed")
        assert done == "done: resize cat.png (notified with a 9-char token)"
        dead = eventually(lambda: _dead_letters(project) or None, what="the failing job")
        assert result("bad") is None
    ((body, attempts, error),) = dead
    assert b'"bad"' in body
    assert attempts == 3  # the declared max_attempts
    assert "job bad asked to fail" in error
    with skaal_run(project, "app.py", env=env) as client:
        assert client.post("/fn/result", json={"job_id": "j1"}).json() == done
    assert len(_dead_letters(project)) == 1


def test_missing_secret_fails_startup_naming_it(tmp_path: Path) -> None:
    project = copy_example("jobs", tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "WEBHOOK_TOKEN"}
    result = subprocess.run(
        [
            *(sys.executable, "-c", "from skaal.cli.main import main; main()"),
            *("run", "app.py", "--port", str(free_port())),
        ],
        cwd=project,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "WEBHOOK_TOKEN" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


TOPIC_APP = """
from skaal import App, Map, Topic

app = App("alerts")


@app.topic(durability="ephemeral")
class Alerts(Topic[str]): ...


@app.storage(durability="persistent")
class Seen(Map[str, str]): ...


@Alerts.subscriber
async def page_oncall(message: str) -> None:
    await Seen.set("oncall:" + message, "paged")


@Alerts.subscriber
async def log_alert(message: str) -> None:
    await Seen.set("log:" + message, "logged")


@app.function()
async def alert(message: str) -> int:
    return await Alerts.publish(message)


@app.function()
async def seen(key: str) -> str | None:
    return await Seen.get(key)
"""


def test_topic_fans_out_to_every_subscriber(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(TOPIC_APP))
    with skaal_run(tmp_path, "app.py") as client:
        published = client.post("/fn/alert", json={"message": "disk full"})
        assert published.status_code == 200, published.text
        assert published.json() == 2  # delivered to two subscriptions

        def seen(key: str) -> str | None:
            value: str | None = client.post("/fn/seen", json={"key": key}).json()
            return value

        assert eventually(lambda: seen("oncall:disk full")) == "paged"
        assert eventually(lambda: seen("log:disk full")) == "logged"
    with skaal_run(tmp_path, "app.py") as client:
        assert client.post("/fn/seen", json={"key": "log:disk full"}).json() == "logged"


COUNTER_V2 = """
@app.function()
async def version() -> str:
    return "v2"
"""


def test_reload_serves_the_edited_app(tmp_path: Path) -> None:
    project = copy_example("counter", tmp_path)
    with skaal_run(project, "app.py", args=["--reload"]) as client:
        assert client.post("/fn/increment", json={"name": "a"}).json() == 1
        assert client.post("/fn/version", json={}).status_code == 404
        app_file = project / "app.py"
        edited = app_file.read_text() + COUNTER_V2
        app_file.write_text(edited)
        written = time.monotonic()

        def new_version() -> str | None:
            nonlocal written
            response = client.post("/fn/version", json={})
            if response.status_code == 200:
                return str(response.json())
            # The reloader's watch may start after the server answers: an edit made
            # before it is never seen, so the same text is written again each second.
            if time.monotonic() - written > 1.0:
                app_file.write_text(edited)
                written = time.monotonic()
            return None

        assert eventually(new_version, what="the reloaded app") == "v2"
        assert client.post("/fn/increment", json={"name": "a"}).json() == 2


class _Page(HTMLParser):
    """Text of the elements with class ``path``, plus the title and the scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.title = ""
        self.scripts = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        self._in = "path" if "path" in classes else tag if tag in ("title", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "path":
            self.paths.append(data.strip())
        elif self._in == "title":
            self.title += data
        elif self._in == "script":
            self.scripts += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_docs_page_is_self_contained_html(tmp_path: Path) -> None:
    project = copy_example("counter", tmp_path)
    with skaal_run(project, "app.py") as client:
        response = client.get("/docs")
        document = client.get("/openapi.json").json()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = _parse(response.text)
    assert page.title.startswith("counter")
    assert "/openapi.json" in page.scripts
    assert "<script src" not in response.text  # no external scripts: works offline
    assert set(document["paths"]) == {"/fn/increment", "/fn/read"}


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless chromium is not installed (see .ci/services/05-chromium.sh)"
)
def test_docs_page_renders_every_operation_in_a_browser(tmp_path: Path) -> None:
    project = copy_example("counter", tmp_path)
    shot = Path(os.environ.get("SKAAL_DOCS_SCREENSHOT", tmp_path / "docs.png"))
    with skaal_run(project, "app.py") as client:
        url = str(client.base_url.join("/docs"))
        budget = "--virtual-time-budget=5000"
        dom = _chromium(budget, "--dump-dom", url).stdout
        _chromium(budget, f"--screenshot={shot}", "--window-size=1000,700", url)
    assert sorted(_parse(dom).paths) == ["/fn/increment", "/fn/read"]
    # docstrings' ``literals`` are shown as code, not as backticks
    assert '<span class="sum">Add <code>by</code> to the counter <code>name</code>' in dom
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5_000  # a blank page compresses to far less
