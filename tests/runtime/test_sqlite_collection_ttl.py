"""SQLite collections expire documents: a file from before gains the column, opening purges.

The conformance suite checks what users see (expired documents are invisible);
these tests check the file itself: a collection table written before
documents could expire keeps its documents and gains ``expires``, and
opening the store deletes the rows that have expired.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.sqlite import SqliteProvider, database_path, table_name
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio

SPEC = ResourceSpec(
    name="Todos",
    kind="collection",
    requirements=Requirements(),
    location=SourceLocation(file="test.py", line=1),
    key_field="id",
    indexes=("owner",),
)


def _settings(tmp_path: Path, now: list[float]) -> BackendSettings:
    return BackendSettings(
        app="ttl", data_dir=tmp_path, project_dir=tmp_path, env={}, clock=lambda: now[0]
    )


def _rows(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        table = table_name("collection", "Todos")
        return [k for (k,) in conn.execute(f"SELECT key FROM {table} ORDER BY key")]


async def test_an_old_table_gains_expiry_and_keeps_its_documents(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    settings = _settings(tmp_path, now)
    path = database_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            f"CREATE TABLE {table_name('collection', 'Todos')} "
            "(key TEXT PRIMARY KEY, body BLOB NOT NULL, fields TEXT NOT NULL) WITHOUT ROWID"
        )
        conn.execute(
            f"INSERT INTO {table_name('collection', 'Todos')} VALUES ('old', x'7b7d', '{{}}')"
        )
    provider = SqliteProvider(settings)
    await provider.open()
    store = provider.documents(SPEC)
    await store.open()
    assert await store.get("old") == b"{}"
    await store.put("new", b"[]", {"owner": "ada"}, ttl=5)
    assert (await store.find({"owner": "ada"}, limit=10)).items == (b"[]",)
    now[0] += 5
    assert await store.get("new") is None
    await provider.close()
    assert _rows(path) == ["new", "old"]  # expired, but still in the file until it opens

    reopened = SqliteProvider(settings)
    await reopened.open()
    await reopened.documents(SPEC).open()
    await reopened.close()
    assert _rows(path) == ["old"]
