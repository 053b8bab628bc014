"""A migration keeps each entry's time to live, on real servers.

``Orders`` (a map) or ``Invoices`` (a collection) is filled on the source
with entries that never expire and entries with an hour or a day to live,
re-planned onto PostgreSQL and migrated.  Every copied entry has the time it
had left on the source (within :data:`~skaal.migrate.sides.TTL_TOLERANCE`),
and the lasting ones still have none.  Nothing waits for an entry to expire:
the time left is read back from the stores
(:class:`~skaal.runtime.ports.ExpiringStore`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from _migrate_env import drop_namespaces, server_env

from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.migrate import migrate
from skaal.migrate.sides import TTL_TOLERANCE
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.runtime.ports import ExpiringStore
from skaal.runtime.runtime import Runtime

HOUR, DAY = 3600.0, 86400.0
ITEMS = 60
BATCH = 16


def _ttl(i: int) -> float | None:
    return (None, HOUR, DAY)[i % 3]


#: (catalog, backend, implementation) of each end
SQLITE = ("local-servers", "sqlite", "sqlite")
REDIS = ("local-servers", "redis", "redis")
POSTGRES = ("local-servers", "postgres", "postgres")
DYNAMODB = ("aws", "dynamodb", "dynamodb")
RDS = ("aws", "rds-postgres", "postgres")
FIRESTORE = ("gcp", "firestore", "firestore")
CLOUDSQL = ("gcp", "cloudsql-postgres", "postgres")
End = tuple[str, str, str]


def _plan(project: Path, end: End, resource: str) -> None:
    catalog, backend, _ = end
    app = load_app("shop.py:app", cwd=project)
    plan_blueprint(
        app.blueprint(),
        load_catalog(catalog),
        lock=FileLockStore(project / "skaal.lock"),
        pins={resource: backend},
    )


async def _fill(project: Path, env: dict[str, str], resource: str) -> None:
    app = load_app("shop.py:app", cwd=project)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    order = __import__("shop").Order
    only = {**env, "SKAAL_USED_RESOURCES": resource}
    async with Runtime.open(app, plan, env=only, project_dir=project) as runtime:
        client: Any = runtime.client_named(resource)
        for i in range(ITEMS):
            value = order(id=f"k{i:03}", owner="u", total=i)
            if resource == "Orders":
                await client.set(f"k{i:03}", value, ttl=_ttl(i))
            else:
                await client.put(value, ttl=_ttl(i))


async def _left(project: Path, env: dict[str, str], resource: str) -> tuple[str, dict[str, float]]:
    """The backend serving ``resource`` and the time left of each of its entries."""
    app = load_app("shop.py:app", cwd=project)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    only = {**env, "SKAAL_USED_RESOURCES": resource}
    async with Runtime.open(app, plan, env=only, project_dir=project) as runtime:
        store = runtime.store_named(resource)
        assert isinstance(store, ExpiringStore)
        keys = [f"k{i:03}" for i in range(ITEMS)]
        assert all([await store.get(key) is not None for key in keys])
        return runtime.binding(resource).backend, await store.remaining_ttl(keys)


@pytest.mark.parametrize(
    ("source", "target", "resource"),
    [
        pytest.param(SQLITE, POSTGRES, "Orders", id="sqlite-postgres-map"),
        pytest.param(REDIS, POSTGRES, "Orders", id="redis-postgres-map"),
        pytest.param(DYNAMODB, RDS, "Orders", id="dynamodb-postgres-map"),
        pytest.param(FIRESTORE, CLOUDSQL, "Orders", id="firestore-postgres-map"),
        pytest.param(SQLITE, POSTGRES, "Invoices", id="sqlite-postgres-collection"),
        pytest.param(DYNAMODB, RDS, "Invoices", id="dynamodb-postgres-collection"),
        pytest.param(FIRESTORE, CLOUDSQL, "Invoices", id="firestore-postgres-collection"),
    ],
)
def test_the_time_left_is_copied_and_verified(
    project: Path, source: End, target: End, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env(source[2], target[2])
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    try:
        asyncio.run(_run(project, env, source, target, resource))
    finally:
        asyncio.run(drop_namespaces(env))


async def _run(project: Path, env: dict[str, str], source: End, target: End, resource: str) -> None:
    _plan(project, source, resource)
    await _fill(project, env, resource)
    _plan(project, target, resource)  # a pending move: still served from the source
    served, before = await _left(project, env, resource)
    assert served == source[1]
    assert sorted(before) == [f"k{i:03}" for i in range(ITEMS) if _ttl(i) is not None]

    app = load_app("shop.py:app", cwd=project)
    lock = project / "skaal.lock"
    (result,) = await migrate(app.blueprint(), lock, batch=BATCH, env=env, project_dir=project)
    assert result.switched
    assert result.verified is not None
    assert result.verified.matches

    served, after = await _left(project, env, resource)
    assert served == target[1]
    assert sorted(after) == sorted(before)  # the lasting entries still never expire
    for key, left in after.items():
        # the copy expires when the source's entry does: no later than the
        # source's time left, and not earlier than the copy took
        assert before[key] - TTL_TOLERANCE - 60 <= left <= before[key] + TTL_TOLERANCE, key
        assert abs(left - _ttl(int(key[1:]))) < 120  # an hour stays an hour, a day a day
