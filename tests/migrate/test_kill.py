"""A migration killed in the middle of its copy resumes and loses nothing, on real servers.

Each case plans ``Orders`` (a map) or ``Invoices`` (a collection) on a
source backend, fills it, re-plans it onto PostgreSQL (a pending move),
runs the copy in a subprocess that SIGKILLs itself after three batches,
changes the source as the app would meanwhile (an insert, an update of a
copied item, a delete of a copied item), then runs ``skaal migrate`` again:
it resumes after the journal's last batch, catches up, verifies and switches,
and the runtime then serves exactly the source's items from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _migrate_env import drop_namespaces, server_env

from skaal.catalog import load_catalog
from skaal.cli.app_ref import load_app
from skaal.migrate import migrate
from skaal.migrate.journal import journal_path
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.plan.moves import pending_moves
from skaal.runtime.runtime import Runtime

ITEMS = 400
BATCH = 25
KILL_AFTER = 3
HELPER = Path(__file__).with_name("_kill_after.py")

CASES = [
    ("sqlite", "postgres", "Orders"),
    ("redis", "postgres", "Orders"),
    ("sqlite", "postgres", "Invoices"),
]


def _plan(project: Path, pins: dict[str, str]) -> None:
    app = load_app("shop.py:app", cwd=project)
    plan_blueprint(
        app.blueprint(),
        load_catalog("local-servers"),
        lock=FileLockStore(project / "skaal.lock"),
        pins=pins,
    )


async def _contents(project: Path, env: dict[str, str], resource: str) -> dict[str, Any]:
    """Every item of ``resource`` as the runtime serves it, and the backend serving it."""
    app = load_app("shop.py:app", cwd=project)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    async with Runtime.open(app, plan, env=env, project_dir=project) as runtime:
        client: Any = runtime.client_named(resource)
        found: dict[str, Any] = {}
        cursor = None
        while True:
            if resource == "Orders":
                page = await client.items(limit=100, cursor=cursor)
                found |= {k: v.model_dump() for k, v in page.items}
            else:
                page = await client.find(limit=100, cursor=cursor)
                found |= {d.id: d.model_dump() for d in page.items}
            cursor = page.cursor
            if cursor is None:
                return {"backend": runtime.binding(resource).backend, "items": found}


async def _write(
    project: Path, env: dict[str, str], resource: str, ops: list[tuple[str, int | None]]
) -> None:
    app = load_app("shop.py:app", cwd=project)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    module = sys.modules["shop"]
    async with Runtime.open(app, plan, env=env, project_dir=project) as runtime:
        client: Any = runtime.client_named(resource)
        for key, total in ops:
            if total is None:
                await client.delete(key)
                continue
            order = module.Order(id=key, owner=f"u{total % 7}", total=total)
            if resource == "Orders":
                await client.set(key, order)
            else:
                await client.put(order)


@pytest.mark.parametrize(("source", "target", "resource"), CASES)
def test_killed_copy_resumes_and_loses_nothing(
    project: Path, source: str, target: str, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env(source, target)
    monkeypatch.chdir(project)
    try:
        asyncio.run(_run(project, env, source, target, resource))
    finally:
        asyncio.run(drop_namespaces(env))


async def _run(project: Path, env: dict[str, str], source: str, target: str, resource: str) -> None:
    lock = project / "skaal.lock"
    _plan(project, {resource: source})
    await _write(project, env, resource, [(f"k{i:04}", i) for i in range(ITEMS)])
    before = await _contents(project, env, resource)
    assert before["backend"] == source
    assert len(before["items"]) == ITEMS

    _plan(project, {resource: target})
    (move,) = pending_moves(read_lock(lock))  # type: ignore[arg-type]
    assert move.moving_from is not None
    assert move.moving_from.backend == source
    assert (await _contents(project, env, resource))[
        "backend"
    ] == source  # served where its data is

    killed = subprocess.run(
        [
            sys.executable,
            str(HELPER),
            str(project),
            str(lock),
            str(BATCH),
            str(KILL_AFTER),
            resource,
        ],
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(project), *sys.path])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    progress = json.loads(journal_path(lock).read_text())["moves"][resource]
    assert progress["batches"] == KILL_AFTER
    assert progress["copied"] == KILL_AFTER * BATCH
    assert pending_moves(read_lock(lock))  # type: ignore[arg-type]  # not switched

    # the app keeps writing to the source meanwhile: new, changed and deleted items
    await _write(project, env, resource, [("k9999", 9999), ("k0001", 111_111), ("k0002", None)])
    expected = (await _contents(project, env, resource))["items"]
    assert len(expected) == ITEMS

    app = load_app("shop.py:app", cwd=project)
    (result,) = await migrate(app.blueprint(), lock, batch=BATCH, env=env, project_dir=project)
    assert result.resumed_at == KILL_AFTER * BATCH
    assert result.copied == ITEMS - KILL_AFTER * BATCH + 1  # the rest (k9999 included)
    assert result.caught_up == 2  # k0001 changed and k0002 deleted after they were copied
    assert result.switched
    assert result.verified is not None
    assert result.verified.matches
    assert result.verified.source_items == ITEMS
    assert not pending_moves(read_lock(lock))  # type: ignore[arg-type]
    assert not journal_path(lock).exists()

    after = await _contents(project, env, resource)
    assert after["backend"] == target
    assert after["items"] == expected
