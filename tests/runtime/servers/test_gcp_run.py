"""A plan for Google Cloud runs unchanged against the emulators."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Index, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.solver import solve

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[3]


def emulators() -> dict[str, str]:
    env = {}
    for name in ("FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"):
        value = os.environ.get(f"SKAAL_TEST_{name}")
        if not value:
            pytest.skip(f"SKAAL_TEST_{name} not set: start it (see .ci/services/40-gcp.sh)")
        env[name] = value
    return env


app = App("gcp-run")


class Note(BaseModel):
    id: str
    owner: str


@app.storage(backend="firestore", durability="durable")
class Visits(Map[str, int]):
    """Counters."""


@app.storage(backend="firestore", durability="durable")
class Notes(Collection[Note]):
    """Notes by owner."""

    by_owner = Index("owner")


@app.blob(backend="gcs", durability="durable")
class Files(BlobStore):
    """Uploaded files."""


async def test_a_gcp_plan_serves_its_resources_from_the_emulators(tmp_path: Path) -> None:
    env = {**emulators(), "SKAAL_GCP_NAME_PREFIX": f"r{uuid.uuid4().hex[:10]}"}
    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "gcp.toml"))
    assert {b.resource: b.implementation for b in plan.bindings} == {
        "Files": "gcs",
        "Notes": "firestore",
        "Visits": "firestore",
    }
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
        assert await Visits.increment("home", 2) == 2
        await Notes.put(Note(id="n1", owner="ada"))
        await Files.put("a/b.txt", b"hello")
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path):  # a new process
        assert await Visits.get("home") == 2
        assert [n.id for n in (await Notes.find(owner="ada")).items] == ["n1"]
        assert await Files.get("a/b.txt") == b"hello"
