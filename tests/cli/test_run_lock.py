"""``skaal run`` honours the lock it is given: its catalog, its pins, its servers.

A lock planned with ``--catalog local-servers`` and a map pinned to Redis is
served as planned, never re-planned against the bundled ``local`` catalog;
when the declarations change it is re-planned against its own catalog,
keeping the pin; a lock whose catalog ``skaal run`` cannot find is served
while it matches and otherwise refused with the command that fixes it.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.errors import PlanError
from skaal.plan.lock import read_lock
from skaal.serve.local_plan import plan_local
from tests._server import skaal_run

APP = """
from skaal import App, Map

app = App("demo")


@app.storage(durability="ephemeral")
class Sessions(Map[str, str]): ...


@app.function()
async def read(key: str) -> str | None:
    return await Sessions.get(key)


@app.function()
async def remember(key: str, value: str) -> None:
    await Sessions.set(key, value)
"""

MORE = """

@app.storage()
class Notes(Map[str, str]): ...
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(APP).lstrip())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _plan(*args: str) -> None:
    result = CliRunner().invoke(cli, ["plan", "app.py", *args])
    assert result.exit_code == 0, result.output


def test_a_lock_planned_against_another_catalog_is_served_as_planned(project: Path) -> None:
    _plan("--catalog", "local-servers", "--pin", "Sessions=redis")
    lock = project / "skaal.lock"
    before = lock.read_bytes()
    planned = read_lock(lock)

    plan, notes = plan_local(load_app("app.py", cwd=project), cwd=project)

    assert plan == planned
    assert plan.catalog == "local-servers"
    assert plan.binding("Sessions").backend == "redis"
    assert notes == ()
    assert lock.read_bytes() == before  # not rewritten


def test_changed_declarations_are_re_planned_against_the_locks_catalog(project: Path) -> None:
    _plan("--catalog", "local-servers", "--pin", "Sessions=redis")
    with (project / "app.py").open("a") as source:
        source.write(textwrap.dedent(MORE))

    plan, notes = plan_local(load_app("app.py", cwd=project), cwd=project)

    assert plan.catalog == "local-servers"
    sessions = plan.binding("Sessions")
    assert (sessions.backend, sessions.status) == ("redis", "pinned")
    assert plan.binding("Notes").backend in {"sqlite", "postgres"}
    assert read_lock(project / "skaal.lock") == plan
    assert notes == (
        "skaal.lock re-planned against its catalog 'local-servers' (declarations changed since "
        "the plan was made), keeping its placements and pins",
    )


def _custom_catalog(project: Path) -> None:
    (project / "mine.toml").write_text(
        'schema_version = 1\nname = "mine"\nextends = "local-servers"\n'
        'description = "Local servers, as this team runs them."\n'
    )


def test_a_lock_whose_catalog_is_a_file_is_served_while_it_matches(project: Path) -> None:
    _custom_catalog(project)
    _plan("--catalog", "mine.toml", "--pin", "Sessions=redis")
    before = (project / "skaal.lock").read_bytes()

    plan, notes = plan_local(load_app("app.py", cwd=project), cwd=project)

    assert (plan.catalog, plan.binding("Sessions").backend) == ("mine", "redis")
    assert notes == (
        "skaal.lock was planned against catalog 'mine', which is not bundled: serving it as "
        "planned (re-plan with skaal plan --catalog PATH after editing that catalog)",
    )
    assert (project / "skaal.lock").read_bytes() == before


def test_a_changed_app_with_a_lock_on_a_catalog_file_is_refused(project: Path) -> None:
    _custom_catalog(project)
    _plan("--catalog", "mine.toml")
    with (project / "app.py").open("a") as source:
        source.write(textwrap.dedent(MORE))
    before = (project / "skaal.lock").read_bytes()

    with pytest.raises(PlanError) as info:
        plan_local(load_app("app.py", cwd=project), cwd=project)
    assert "planned against catalog 'mine' and the declarations changed" in info.value.what
    assert info.value.fix == (
        "re-plan against that catalog file (skaal plan --catalog path/to/mine.toml), "
        "or switch deliberately: skaal plan --catalog local"
    )

    result = CliRunner().invoke(cli, ["run", "app.py"])
    assert result.exit_code == 1
    assert "error (PlanError) skaal.lock: skaal.lock was planned against catalog 'mine'" in (
        result.output
    )
    assert "try: skaal plan --catalog PATH" in result.output
    assert "Traceback" not in result.output
    assert (project / "skaal.lock").read_bytes() == before


def test_a_lock_for_another_provider_is_left_alone(project: Path) -> None:
    _plan("--target", "aws")
    before = (project / "skaal.lock").read_bytes()

    plan, notes = plan_local(load_app("app.py", cwd=project), cwd=project)

    assert (plan.catalog, plan.provider) == ("local", "local")
    assert notes[-1] == (
        "skaal.lock holds a plan for 'aws'; planning for local in memory and leaving the lock "
        "as it is"
    )
    assert (project / "skaal.lock").read_bytes() == before


def test_without_a_lock_the_local_catalog_is_planned_and_written(project: Path) -> None:
    plan, notes = plan_local(load_app("app.py", cwd=project), cwd=project)
    assert plan.catalog == "local"
    assert read_lock(project / "skaal.lock") == plan
    assert notes == ()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("SKAAL_TEST_REDIS_URL")
    if not url:
        pytest.skip("SKAAL_TEST_REDIS_URL not set: start redis (see .ci/services/10-redis.sh)")
    return url


@pytest.mark.slow
def test_skaal_run_keeps_the_pinned_map_on_redis(project: Path, redis_url: str) -> None:
    _plan("--catalog", "local-servers", "--pin", "Sessions=redis")
    before = (project / "skaal.lock").read_bytes()
    prefix = f"skaal-test-{uuid.uuid4().hex}:"
    env = {"SKAAL_REDIS_URL": redis_url, "SKAAL_REDIS_PREFIX": prefix}
    with skaal_run(project, "app.py", env=env) as client:
        assert client.post("/fn/remember", json={"key": "k", "value": "v"}).status_code == 200
        assert client.post("/fn/read", json={"key": "k"}).json() == "v"
    server = redis.Redis.from_url(redis_url)
    try:
        stored = {key.decode() for key in server.scan_iter(match=f"{prefix}*")}
        assert f"{prefix}m:Sessions:v:k" in stored  # the data went where the lock says
        server.delete(*stored)
    finally:
        server.close()
    assert (project / "skaal.lock").read_bytes() == before
