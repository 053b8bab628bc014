"""The gcp artifact's Cloud Run entrypoint, started as a process.

No Google Cloud emulator is wired here (Pub/Sub has none that installs), so
``main.py`` runs with ``SKAAL_LOCAL_BACKENDS=1``: the same server, roles and
routes, with every resource of the gcp plan rebound to an embedded backend.
What is proven: the generated ``main.py`` imports, loads the shipped app and
lock, serves on ``$PORT``; the web role answers the docs and the document,
and each function's service answers its own route (HTTP, Pub/Sub push or
scheduler call) and no other.  Not proven:
the Firestore / Pub/Sub / GCS / Secret Manager clients themselves.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skaal.hosts.cloud_run import CloudRunArtifact, local_bindings
from tests._server import free_port, serve_process
from tests.builder._pulumi import write
from tests.builder.gcp_mocks import build_example


@contextlib.contextmanager
def serve(folder: Path, role: str, data: Path, function: str = "") -> Iterator[httpx.Client]:
    port = free_port()
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SKAAL_CLOUD_RUN_ROLE": role,
        "SKAAL_CLOUD_RUN_FUNCTION": function,
        "SKAAL_LOCAL_BACKENDS": "1",
        "SKAAL_DATA_DIR": str(data),
        "WEBHOOK_TOKEN": "12345",
    }
    command = [sys.executable, "main.py"]
    with serve_process(
        command, cwd=folder, port=port, env=env, ready_path="/_skaal/health"
    ) as client:
        yield client


def _push(job: dict[str, str]) -> dict[str, object]:
    data = base64.b64encode(json.dumps(job).encode()).decode()
    return {
        "message": {"data": data, "messageId": "1"},
        "subscription": "projects/p/subscriptions/s",
    }


def test_cloud_run_entrypoint_serves_the_web_role_and_one_function_per_service(
    tmp_path: Path,
) -> None:
    _, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path / "gcp")
    data = tmp_path / "data"
    with serve(folder, "web", data) as web:
        document = web.get("/openapi.json").json()
        assert document["info"]["title"] == "jobs"
        assert "/fn/submit" in document["paths"]  # listed, but served by its own service
        assert web.post("/fn/submit", json={"job": {"id": "j1"}}).status_code == 404
        assert web.get("/docs").status_code == 200
    with serve(folder, "function", data, "submit") as submit:
        sent = submit.post("/fn/submit", json={"job": {"id": "j1", "payload": "resize"}})
        assert sent.status_code == 200, sent.text
        assert submit.post("/fn/result", json={"job_id": "j1"}).status_code == 404
        assert (
            submit.post("/_skaal/push/run_job", json=_push({"id": "x", "payload": "y"})).status_code
            == 404
        )
        assert submit.post("/_skaal/schedule/hourly_report").status_code == 404
    with serve(folder, "function", data, "run_job") as worker:
        assert worker.post("/fn/submit", json={}).status_code == 404
        done = worker.post("/_skaal/push/run_job", json=_push({"id": "j1", "payload": "resize"}))
        assert done.status_code == 204, done.text
        failed = worker.post("/_skaal/push/run_job", json=_push({"id": "j2", "payload": "fail"}))
        assert failed.status_code == 500  # Pub/Sub redelivers, then dead-letters
        assert worker.post("/_skaal/push/run_job", json={"nope": 1}).status_code == 202
        assert (
            worker.post("/_skaal/push/nobody", json=_push({"id": "j", "payload": "p"})).status_code
            == 404
        )
        assert worker.post("/_skaal/schedule/hourly_report").status_code == 404
    with serve(folder, "function", data, "hourly_report") as report:
        assert report.post("/_skaal/schedule/hourly_report").status_code == 204
        assert report.post("/_skaal/schedule/nothing").status_code == 404
    with serve(folder, "function", data, "result") as result:
        answer = result.post("/fn/result", json={"job_id": "j1"})
        assert answer.json() == "done: resize (notified with a 5-char token)"
        assert result.post("/fn/result", json={"job_id": "j2"}).json() is None


def test_local_bindings_keep_the_app_and_move_every_resource() -> None:
    context, _ = build_example("shop")
    local = local_bindings(context.plan)
    assert local.provider == "local"
    assert local.blueprint_hash == context.plan.blueprint_hash
    assert {b.implementation for b in local.bindings} <= {"sqlite", "filesystem", "env", "process"}
    assert [b.resource for b in local.bindings] == [b.resource for b in context.plan.bindings]


def test_an_unknown_role_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = CloudRunArtifact(
        root=tmp_path,  # the role is checked before anything is loaded
        app_ref="app:app",
        plan_hash="0" * 64,
        environ={"SKAAL_CLOUD_RUN_ROLE": "cron", "SKAAL_LOCAL_BACKENDS": "1"},
    )
    assert artifact.main() == 1
    assert "SKAAL_CLOUD_RUN_ROLE='cron' is not a Cloud Run role" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SKAAL_CLOUD_RUN_ROLE": "function"}, "SKAAL_CLOUD_RUN_ROLE=function needs"),
        (
            {"SKAAL_CLOUD_RUN_ROLE": "function", "SKAAL_CLOUD_RUN_FUNCTION": "nope"},
            "SKAAL_CLOUD_RUN_FUNCTION='nope' is not a function of the app",
        ),
    ],
)
def test_a_function_role_names_a_declared_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], environ: dict[str, str], message: str
) -> None:
    context, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path / "gcp")
    artifact = CloudRunArtifact(
        root=folder,
        app_ref=f"{context.app_module}:{context.app_attr}",
        plan_hash=context.plan.content_hash(),
        environ={**environ, "SKAAL_LOCAL_BACKENDS": "1", "SKAAL_DATA_DIR": str(tmp_path)},
    )
    assert artifact.main() == 1
    assert message in capsys.readouterr().err
