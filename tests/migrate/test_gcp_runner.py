"""A deployed gcp app's move, copied by its migration runner: the Cloud Run role run in-process.

``skaal migrate --env NAME`` on a gcp lock posts each step to the runner
whose URL the deployment record holds (the stack output ``migrationUrl``):
here the real role served by uvicorn on loopback.

The ``migrate`` role of the gcp artifact (:mod:`skaal.hosts.cloud_run`)
answers ``POST /_skaal/migrate`` with one step of
:mod:`skaal.migrate.remote`.  Here the operator's side
(:func:`~skaal.migrate.remote.migrate_remote`) posts each step through
httpx's ASGI transport to the real role, against the Firestore emulator
and PostgreSQL: a step whose reply is lost is resumed from the journal,
writes made meanwhile are caught up, and the lock switches only after a
matching verification.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from _migrate_env import drop_namespaces, server_env
from click.testing import CliRunner
from starlette.applications import Starlette
from test_kill import CLOUDSQL, FIRESTORE, ITEMS, _contents, _moving, _plan, _write
from test_remote import LostReplyError, _fill

from skaal.builder.stacks.gcp import MIGRATION_URL_OUTPUT
from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.deploy.state import DeploymentRecord, DeploymentStore
from skaal.errors import MigrationError
from skaal.hosts import cloud_run
from skaal.hosts.cloud_run import CloudRunArtifact, migrate_app
from skaal.migrate import remote
from skaal.migrate.journal import journal_path
from skaal.migrate.remote import Invoker, MigrateServices, cloud_run_invoker, migrate_remote
from skaal.plan.lock import read_lock
from skaal.plan.wiring import MIGRATE_PATH
from tests._server import eventually, free_port

BATCH = 20


def _runner(project: Path, env: dict[str, str]) -> Starlette:
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    app = load_app("shop.py:app", cwd=project)
    return migrate_app(app, plan, env=env, data_dir=project / ".skaal")


async def _post(runner: Starlette, **body: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=runner)
    async with httpx.AsyncClient(transport=transport, base_url="http://runner") as client:
        return await client.post(MIGRATE_PATH, **body)


def _invoker(runner: Starlette, *, lose_after: int | None = None) -> Invoker:
    """POST each step as the operator's invoker does; with ``lose_after``, that reply is lost."""
    calls = [0]

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        response = asyncio.run(_post(runner, json={remote.MIGRATE_KEY: request}))
        calls[0] += 1
        if lose_after is not None and calls[0] == lose_after:
            raise LostReplyError(request["action"])
        reply: dict[str, Any] = response.json()
        return reply

    return invoke


def test_the_step_key_is_the_one_the_role_reads() -> None:
    assert cloud_run.MIGRATE_KEY == remote.MIGRATE_KEY
    assert MIGRATE_PATH == remote.MIGRATE_PATH
    assert "migrate" in cloud_run.ROLES


def test_the_migrate_role_needs_no_function(tmp_path: Path) -> None:
    artifact = CloudRunArtifact(
        root=tmp_path,
        app_ref="app:app",
        plan_hash="0" * 64,
        environ={"SKAAL_CLOUD_RUN_ROLE": "migrate"},
    )
    assert artifact.role == "migrate"
    assert artifact.function is None


def test_a_lost_step_of_a_firestore_move_resumes_and_loses_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env("firestore", "postgres")
    monkeypatch.chdir(project)
    lock = project / "skaal.lock"
    resource = "Invoices"
    try:
        asyncio.run(_fill(project, env, FIRESTORE, CLOUDSQL, resource))
        runner = _runner(project, env)
        with pytest.raises(LostReplyError):
            migrate_remote(
                lock,
                invoke=_invoker(runner, lose_after=4),
                resources=(resource,),
                batch=BATCH,
                budget_s=0,
            )
        progress = json.loads(journal_path(lock).read_text())["moves"][resource]
        assert progress["copied"] == 3 * BATCH  # the lost step's batch is not recorded
        assert _moving(lock, resource)
        asyncio.run(
            _write(project, env, resource, [("k9999", 9999), ("k0001", 111_111), ("k0002", None)])
        )
        expected = asyncio.run(_contents(project, env, resource))["items"]
        (result,) = migrate_remote(
            lock, invoke=_invoker(runner), resources=(resource,), batch=BATCH, budget_s=0
        )
        assert result.resumed_at == 3 * BATCH
        assert result.copied == ITEMS - 3 * BATCH + 1
        assert result.caught_up == 2  # k0001 changed and k0002 deleted after they were copied
        assert result.switched
        assert result.verified is not None
        assert result.verified.matches
        assert not _moving(lock, resource)
        after = asyncio.run(_contents(project, env, resource))
        assert after["backend"] == "cloudsql-postgres"
        assert after["items"] == expected
    finally:
        asyncio.run(drop_namespaces(env))


def test_a_body_that_is_not_a_step_is_a_clean_refusal(project: Path) -> None:
    _plan(project, FIRESTORE, "Invoices")
    _plan(project, CLOUDSQL, "Invoices")
    response = asyncio.run(_post(_runner(project, {}), content=b"not json"))
    assert response.status_code == 400
    assert "is not a migration step" in response.json()["error"]["message"]


@contextlib.contextmanager
def _served(runner: Starlette) -> Iterator[str]:
    """``runner`` served by uvicorn on a loopback port, in a thread; its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(runner, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        eventually(lambda: server.started or None, what="the runner to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def test_the_cloud_run_invoker_posts_a_step_with_an_identity_token(project: Path) -> None:
    _plan(project, FIRESTORE, "Invoices")
    _plan(project, CLOUDSQL, "Invoices")
    audiences: list[str] = []

    def token(audience: str) -> str:
        audiences.append(audience)
        return "id-token"

    with _served(_runner(project, {})) as url:
        invoke = cloud_run_invoker(url, token=token)
        reply = invoke({"resource": "Invoices", "action": "copy"})  # no plan_hash: refused
    assert audiences == [url]
    assert reply["error"]["type"] == "MigrationError"
    assert "is not the one skaal migrate read" in reply["error"]["message"]


def test_the_cloud_run_invoker_says_when_the_runner_is_not_there() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    invoke = cloud_run_invoker(url, token=lambda _: "id-token")
    with pytest.raises(MigrationError, match="cannot reach the migration runner"):
        invoke({"resource": "Invoices", "action": "copy"})


def _deployed(project: Path, stack: str, *, plan_hash: str, url: str | None) -> None:
    """The record ``skaal deploy`` writes for the gcp ``stack``, its runner at ``url``."""
    DeploymentStore(project).write(
        DeploymentRecord(
            target="gcp",
            stack=stack,
            app="shop",
            plan_hash=plan_hash,
            skaal_version="0.0.0",
            backend_url="file://.skaal/pulumi",
            deployed_at="2026-12-04T00:00:00Z",
            outputs={} if url is None else {MIGRATION_URL_OUTPUT: url},
        )
    )


def _no_lambda(name: str, region: str) -> Invoker:
    raise AssertionError(f"a gcp lock invoked the Lambda {name} in {region}")


def _services(audiences: list[str]) -> MigrateServices:
    def token(audience: str) -> str:
        audiences.append(audience)
        return "id-token"

    return MigrateServices(
        invoker=_no_lambda, cloud_run=lambda url: cloud_run_invoker(url, token=token)
    )


PROD = '[tool.skaal]\napp = "shop.py:app"\n\n[tool.skaal.envs.prod]\ntarget = "gcp"\n'


def test_skaal_migrate_on_a_gcp_lock_drives_the_deployed_runner(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env("firestore", "postgres")
    monkeypatch.chdir(project)
    lock = project / "skaal.lock"
    resource = "Invoices"
    try:
        asyncio.run(_fill(project, env, FIRESTORE, CLOUDSQL, resource))
        plan = read_lock(lock)
        assert plan is not None
        (project / "pyproject.toml").write_text(PROD)
        audiences: list[str] = []
        with _served(_runner(project, env)) as url:
            _deployed(project, "prod", plan_hash=plan.content_hash(), url=url)
            result = CliRunner().invoke(
                cli,
                ["migrate", "--env", "prod", "--lock", "skaal.lock", "--batch", "50"],
                obj=_services(audiences),
            )
        assert result.exit_code == 0, result.output
        assert f"{resource}: firestore@" in result.output
        assert f"copied {ITEMS} items" in result.output
        assert "switched" in result.output
        assert audiences
        assert set(audiences) == {url}  # each step with an identity token for the runner
        assert not _moving(lock, resource)
    finally:
        asyncio.run(drop_namespaces(env))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (None, "the gcp stack 'prod' has not been deployed from this project"),
        ("other-plan", "was deployed from plan other-plan, not from skaal.lock"),
        ("no-output", "has no stack output migrationUrl"),
    ],
)
def test_skaal_migrate_says_when_the_runner_is_not_deployed(
    project: Path, monkeypatch: pytest.MonkeyPatch, record: str | None, message: str
) -> None:
    monkeypatch.chdir(project)
    _plan(project, FIRESTORE, "Invoices")
    _plan(project, CLOUDSQL, "Invoices")
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    (project / "pyproject.toml").write_text(PROD)
    if record == "other-plan":
        _deployed(project, "prod", plan_hash="other-plan", url="http://127.0.0.1:9")
    elif record == "no-output":
        _deployed(project, "prod", plan_hash=plan.content_hash(), url=None)
    audiences: list[str] = []
    result = CliRunner().invoke(
        cli, ["migrate", "--env", "prod", "--lock", "skaal.lock"], obj=_services(audiences)
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert message in text
    assert "skaal deploy" in text
    assert audiences == []  # nothing was posted
    assert _moving(project / "skaal.lock", "Invoices")
