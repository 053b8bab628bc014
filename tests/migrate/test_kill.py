"""A migration killed in the middle of its copy resumes and loses nothing, on real servers.

Each case plans ``Orders`` (a map), ``Invoices`` (a collection) or
``Receipts`` (a blob store) on a source backend, fills it, re-plans it onto
the target backend (a pending move),
runs the copy in a subprocess that SIGKILLs itself after three batches,
changes the source as the app would meanwhile (an insert, an update of a
copied item, a delete of a copied item), then runs ``skaal migrate`` again:
it resumes after the journal's last batch, catches up, verifies and switches,
and the runtime then serves exactly the source's items from the target.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _migrate_env import drop_namespaces, server_env

from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.migrate import migrate
from skaal.migrate.journal import journal_path
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock, write_lock
from skaal.runtime.runtime import Runtime

ITEMS = 200
BATCH = 20
KILL_AFTER = 3
HELPER = Path(__file__).with_name("_kill_after.py")


@dataclass(frozen=True)
class End:
    """One end of a move: the catalog planned against, the backend pinned, its implementation."""

    catalog: str
    backend: str
    implementation: str


SQLITE = End("local-servers", "sqlite", "sqlite")
REDIS = End("local-servers", "redis", "redis")
POSTGRES = End("local-servers", "postgres", "postgres")
FILESYSTEM = End("local-servers", "filesystem", "filesystem")
DYNAMODB = End("aws", "dynamodb", "dynamodb")
RDS = End("aws", "rds-postgres", "postgres")
S3 = End("aws", "s3", "s3")
GCS = End("gcp", "gcs", "gcs")
FIRESTORE = End("gcp", "firestore", "firestore")
CLOUDSQL = End("gcp", "cloudsql-postgres", "postgres")

CASES = [
    pytest.param(SQLITE, POSTGRES, "Orders", id="sqlite-postgres-map"),
    pytest.param(REDIS, POSTGRES, "Orders", id="redis-postgres-map"),
    pytest.param(SQLITE, POSTGRES, "Invoices", id="sqlite-postgres-collection"),
    pytest.param(DYNAMODB, RDS, "Orders", id="dynamodb-postgres-map"),
    pytest.param(DYNAMODB, RDS, "Invoices", id="dynamodb-postgres-collection"),
    pytest.param(FIRESTORE, CLOUDSQL, "Invoices", id="firestore-postgres-collection"),
    pytest.param(FILESYSTEM, S3, "Receipts", id="filesystem-s3-blob"),
    pytest.param(FILESYSTEM, GCS, "Receipts", id="filesystem-gcs-blob"),
]


def _plan(project: Path, end: End, resource: str) -> None:
    """Plan ``resource`` onto ``end``; a move from a lock of another provider is recorded by hand.

    ``skaal plan`` starts from scratch on another provider (it records no
    moves), so the filesystem → S3 and GCS cases write the move the lock would
    hold into the new plan: what is tested is the copy between those backends.
    """
    app = load_app("shop.py:app", cwd=project)
    lock = project / "skaal.lock"
    before = read_lock(lock)
    plan = plan_blueprint(
        app.blueprint(),
        load_catalog(end.catalog),
        lock=FileLockStore(lock),
        pins={resource: end.backend},
    ).plan
    if before is not None and before.provider != plan.provider:
        origin = before.binding(resource)
        write_lock(
            plan.model_copy(
                update={
                    "bindings": tuple(
                        b.model_copy(update={"moving_from": origin})
                        if b.resource == resource
                        else b
                        for b in plan.bindings
                    )
                }
            ),
            lock,
        )


async def _contents(project: Path, env: dict[str, str], resource: str) -> dict[str, Any]:
    """Every item of ``resource`` as the runtime serves it, and the backend serving it."""
    app = load_app("shop.py:app", cwd=project)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    only = {**env, "SKAAL_USED_RESOURCES": resource}  # the app's other resources stay closed
    async with Runtime.open(app, plan, env=only, project_dir=project) as runtime:
        client: Any = runtime.client_named(resource)
        found: dict[str, Any] = {}
        cursor = None
        while True:
            if resource == "Orders":
                page = await client.items(limit=100, cursor=cursor)
                found |= {k: v.model_dump() for k, v in page.items}
            elif resource == "Receipts":
                page = await client.list(limit=100, cursor=cursor)
                for listed in page.items:
                    info = await client.stat(listed.key)
                    assert info is not None
                    found[info.key] = (await client.get(info.key), info.content_type, info.metadata)
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
    only = {**env, "SKAAL_USED_RESOURCES": resource}
    async with Runtime.open(app, plan, env=only, project_dir=project) as runtime:
        client: Any = runtime.client_named(resource)
        for key, total in ops:
            if total is None:
                await client.delete(key)
                continue
            order = module.Order(id=key, owner=f"u{total % 7}", total=total)
            if resource == "Receipts":
                await client.put(
                    key,
                    order.model_dump_json().encode() * (total % 5 + 1),
                    content_type="application/json",
                    metadata={"owner": order.owner},
                )
            elif resource == "Orders":
                await client.set(key, order)
            else:
                await client.put(order)


def _moving(lock: Path, resource: str) -> bool:
    plan = read_lock(lock)
    assert plan is not None
    return plan.binding(resource).moving_from is not None


@pytest.mark.parametrize(("source", "target", "resource"), CASES)
def test_killed_copy_resumes_and_loses_nothing(
    project: Path, source: End, target: End, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env(source.implementation, target.implementation)
    monkeypatch.chdir(project)
    try:
        asyncio.run(_run(project, env, source, target, resource))
    finally:
        asyncio.run(drop_namespaces(env))


async def _run(project: Path, env: dict[str, str], source: End, target: End, resource: str) -> None:
    lock = project / "skaal.lock"
    _plan(project, source, resource)
    await _write(project, env, resource, [(f"k{i:04}", i) for i in range(ITEMS)])
    before = await _contents(project, env, resource)
    assert before["backend"] == source.backend
    assert len(before["items"]) == ITEMS

    _plan(project, target, resource)
    moving = read_lock(lock)
    assert moving is not None
    move = moving.binding(resource).moving_from
    assert move is not None
    assert move.backend == source.backend
    served = await _contents(project, env, resource)
    assert served["backend"] == source.backend  # served where its data is

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
    assert _moving(lock, resource)  # not switched

    # the app keeps writing to the source meanwhile: new, changed and deleted items
    await _write(project, env, resource, [("k9999", 9999), ("k0001", 111_111), ("k0002", None)])
    expected = (await _contents(project, env, resource))["items"]
    assert len(expected) == ITEMS

    app = load_app("shop.py:app", cwd=project)
    (result,) = await migrate(
        app.blueprint(), lock, resources=(resource,), batch=BATCH, env=env, project_dir=project
    )
    assert result.resumed_at == KILL_AFTER * BATCH
    assert result.copied == ITEMS - KILL_AFTER * BATCH + 1  # the rest (k9999 included)
    assert result.caught_up == 2  # k0001 changed and k0002 deleted after they were copied
    assert result.switched
    assert result.verified is not None
    assert result.verified.matches
    assert result.verified.source_items == ITEMS
    assert not _moving(lock, resource)
    assert not journal_path(lock).exists()

    after = await _contents(project, env, resource)
    assert after["backend"] == target.backend
    assert after["items"] == expected
