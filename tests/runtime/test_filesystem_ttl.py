"""Blob expiry on the filesystem backend: hidden at expiry, deleted from disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.filesystem import FilesystemProvider
from skaal.runtime.clients import BlobClient
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _store(tmp_path: Path, clock: Clock, ttl: float | None) -> BlobClient:
    settings = BackendSettings(
        app="ttl", data_dir=tmp_path, project_dir=tmp_path, env={}, clock=clock
    )
    spec = ResourceSpec(
        name="Uploads",
        kind="blob",
        requirements=Requirements(ttl_s=ttl),
        location=SourceLocation(file="app.py", line=1),
    )
    return BlobClient(FilesystemProvider(settings).blobs(spec), resource="Uploads")


def _files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file())


async def test_a_blob_expires_ttl_after_its_last_write(tmp_path: Path) -> None:
    clock = Clock()
    blobs = _store(tmp_path, clock, ttl=100.0)
    await blobs.backend.open()
    await blobs.put("a", b"1")
    clock.now += 60
    await blobs.put("b", b"2")
    clock.now += 40  # "a" is 100 s old: expired; "b" is 40 s old
    assert await blobs.stat("a") is None
    assert [i.key for i in (await blobs.list()).items] == ["b"]
    assert await blobs.get("b") == b"2"
    await blobs.put("b", b"3")  # rewriting restarts the clock
    clock.now += 99
    assert await blobs.get("b") == b"3"
    clock.now += 1
    assert not await blobs.exists("b")
    assert _files(tmp_path) == []  # expired blobs are deleted, not only hidden
    await blobs.backend.close()


async def test_expired_blobs_are_swept_without_being_read(tmp_path: Path) -> None:
    clock = Clock()
    blobs = _store(tmp_path, clock, ttl=0.05)
    await blobs.backend.open()
    for key in ("x/1", "x/2", "y"):
        await blobs.put(key, b"data")
    clock.now += 1
    for _ in range(100):  # the background sweep runs every min(ttl, 60) s
        if not _files(tmp_path):
            break
        await asyncio.sleep(0.02)
    assert _files(tmp_path) == []
    await blobs.backend.close()


async def test_opening_a_store_sweeps_what_expired_while_it_was_closed(tmp_path: Path) -> None:
    clock = Clock()
    first = _store(tmp_path, clock, ttl=3600.0)
    await first.backend.open()
    await first.put("old", b"1")
    clock.now += 1800
    await first.put("new", b"2")
    await first.backend.close()
    clock.now += 1800
    second = _store(tmp_path, clock, ttl=3600.0)
    await second.backend.open()
    assert [name for name in _files(tmp_path) if name.startswith("old")] == []
    assert [i.key for i in (await second.list()).items] == ["new"]
    await second.backend.close()


async def test_without_ttl_nothing_expires(tmp_path: Path) -> None:
    clock = Clock()
    blobs = _store(tmp_path, clock, ttl=None)
    await blobs.backend.open()
    await blobs.put("a", b"1")
    clock.now += 10**9
    assert await blobs.get("a") == b"1"
    await blobs.backend.close()
