"""The gcp artifact's Cloud Run entrypoint, started as a process.

No Google Cloud emulator is wired here (Pub/Sub has none that installs), so
``main.py`` runs with ``SKAAL_LOCAL_BACKENDS=1``: the same server, roles and
routes, with every resource of the gcp plan rebound to an embedded backend.
What is proven: the generated ``main.py`` imports, loads the shipped app and
lock, serves on ``$PORT``, the web role answers the HTTP functions and the
worker role runs Pub/Sub push deliveries and scheduler calls.  Not proven:
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

from skaal.build.targets.gcp_serve import local_bindings
from tests._server import free_port, serve_process
from tests.build._pulumi import write
from tests.build.gcp_mocks import build_example


@contextlib.contextmanager
def serve(folder: Path, role: str, data: Path) -> Iterator[httpx.Client]:
    port = free_port()
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SKAAL_CLOUD_RUN_ROLE": role,
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


def test_cloud_run_entrypoint_serves_web_and_worker_roles(tmp_path: Path) -> None:
    _, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path / "gcp")
    data = tmp_path / "data"
    with serve(folder, "web", data) as web:
        sent = web.post("/fn/submit", json={"job": {"id": "j1", "payload": "resize"}})
        assert sent.status_code == 200, sent.text
        assert web.get("/openapi.json").json()["info"]["title"] == "jobs"
        assert (
            web.post("/_skaal/push/run_job", json=_push({"id": "x", "payload": "y"})).status_code
            == 404
        )
        assert web.post("/_skaal/schedule/hourly_report").status_code == 404
    with serve(folder, "worker", data) as worker:
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
        assert worker.post("/_skaal/schedule/hourly_report").status_code == 204
        assert worker.post("/_skaal/schedule/nothing").status_code == 404
    with serve(folder, "web", data) as web:
        result = web.post("/fn/result", json={"job_id": "j1"})
        assert result.json() == "done: resize (notified with a 5-char token)"
        assert web.post("/fn/result", json={"job_id": "j2"}).json() is None


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
    from skaal.build.targets.gcp_serve import CloudRunArtifact

    artifact = CloudRunArtifact(
        root=tmp_path,  # the role is checked before anything is loaded
        app_ref="app:app",
        plan_hash="0" * 64,
        environ={"SKAAL_CLOUD_RUN_ROLE": "cron", "SKAAL_LOCAL_BACKENDS": "1"},
    )
    assert artifact.main() == 1
    assert "SKAAL_CLOUD_RUN_ROLE='cron' is not a Cloud Run role" in capsys.readouterr().err
