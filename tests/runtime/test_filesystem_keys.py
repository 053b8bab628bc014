"""Blob keys against the disk's real limits, and no temporary file left behind.

A key the filesystem cannot name (a segment past ``NAME_MAX`` once escaped
and suffixed, a path past ``PATH_MAX``) is a ``BlobKeyError`` before any of
the body is read; a write that fails at any point -- the body stream, the
rename -- leaves no temporary file and no empty directory; temporary files
a crashed process left behind are swept when the store opens.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.filesystem import FilesystemBlobs, FilesystemProvider
from skaal.runtime.backends.filesystem_paths import STALE_TEMP_AGE, temp_name
from skaal.runtime.clients import BlobClient
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio

MB = 1 << 20


def _store(data_dir: Path) -> BlobClient:
    settings = BackendSettings(
        app="keys", data_dir=data_dir, project_dir=data_dir, env={}, clock=lambda: 1_000.0
    )
    spec = ResourceSpec(
        name="Uploads",
        kind="blob",
        requirements=Requirements(),
        location=SourceLocation(file="app.py", line=1),
    )
    return BlobClient(FilesystemProvider(settings).blobs(spec), resource="Uploads")


def _root(blobs: BlobClient) -> Path:
    backend = blobs.backend
    assert isinstance(backend, FilesystemBlobs)
    return backend.root


def _left_behind(root: Path) -> list[str]:
    """Every file and directory under the store's root."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


class Body:
    """A body of ``size`` bytes in 1 MiB chunks; records how much was read."""

    def __init__(self, size: int, *, fail_after: int | None = None) -> None:
        self.size = size
        self.fail_after = fail_after
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.size:
            if self.fail_after is not None and self.read >= self.fail_after:
                raise ConnectionResetError("the client went away")
            chunk = b"x" * min(MB, self.size - self.read)
            self.read += len(chunk)
            yield chunk


@pytest_asyncio.fixture
async def blobs(tmp_path: Path) -> AsyncIterator[BlobClient]:
    client = _store(tmp_path)
    await client.backend.open()
    yield client
    await client.backend.close()


async def test_a_segment_past_the_name_limit_is_rejected_before_the_body(
    blobs: BlobClient,
) -> None:
    name_max = os.pathconf(_root(blobs), "PC_NAME_MAX")
    too_long = "a" * (name_max - 1)  # 254 on most filesystems: 256 bytes with "%f"
    body = Body(10 * MB)
    with pytest.raises(BlobKeyError) as info:
        await blobs.put(f"avatars/{too_long}", body)
    assert f"this filesystem allows {name_max}" in str(info.value)
    assert f"at most {name_max - 2} bytes each" in str(info.value)
    assert body.read == 0
    assert _left_behind(_root(blobs)) == []


async def test_escaping_counts_against_the_limit(blobs: BlobClient) -> None:
    body = Body(MB)
    with pytest.raises(BlobKeyError, match="'%' is stored as '%25'"):
        await blobs.put("%" * 100, body)  # 300 bytes once escaped
    assert body.read == 0
    with pytest.raises(BlobKeyError, match="this filesystem allows"):
        await blobs.put("%" * 100 + "/a.txt", Body(MB))  # a directory segment
    assert _left_behind(_root(blobs)) == []


async def test_the_longest_segment_that_fits_is_stored(blobs: BlobClient) -> None:
    name_max = os.pathconf(_root(blobs), "PC_NAME_MAX")
    longest = "b" * (name_max - 2)
    percents = "%" * ((name_max - 2) // 3)
    await blobs.put(f"{longest}/{percents}", b"fits")
    assert await blobs.get(f"{longest}/{percents}") == b"fits"
    assert [i.key for i in (await blobs.list()).items] == [f"{longest}/{percents}"]


async def test_a_path_past_the_path_limit_is_rejected(blobs: BlobClient) -> None:
    # 16 segments of 63 four-byte characters: 1,023 characters (the client's
    # limit is 1,024), but over 4,000 bytes of path on disk.
    key = "/".join(["\N{SLIGHTLY SMILING FACE}" * 63] * 16)
    with pytest.raises(BlobKeyError, match="its file path takes"):
        await blobs.put(key, Body(MB))
    assert _left_behind(_root(blobs)) == []


async def test_reads_of_a_key_the_disk_cannot_hold_find_nothing(blobs: BlobClient) -> None:
    key = "c" * 300
    assert await blobs.stat(key) is None
    assert not await blobs.exists(key)
    assert await blobs.delete(key) is False
    with pytest.raises(BlobNotFoundError):
        await blobs.get(key)


async def test_three_rejected_10_mb_puts_leave_nothing_behind(blobs: BlobClient) -> None:
    for key in ("a" * 254, "%" * 100, "d/" + "e" * 300):
        with pytest.raises(BlobKeyError):
            await blobs.put(key, Body(10 * MB))
    assert _left_behind(_root(blobs)) == []


async def test_a_body_that_fails_midway_leaves_nothing_behind(blobs: BlobClient) -> None:
    await blobs.put("kept/one", b"1")
    for key in ("kept/two", "new/deep/three"):
        with pytest.raises(ConnectionResetError):
            await blobs.put(key, Body(10 * MB, fail_after=5 * MB))
    # the failed writes' temporary files and the directories they created are gone
    assert _left_behind(_root(blobs)) == ["kept%d", "kept%d/one%f", "kept%d/one%m"]
    assert [i.key for i in (await blobs.list()).items] == ["kept/one"]


async def test_a_failed_rename_leaves_no_temporary_file(blobs: BlobClient) -> None:
    root = _root(blobs)
    blocker = root / "x%f"  # a directory where the blob's file should go
    blocker.mkdir()
    (blocker / "keep").write_bytes(b"")
    with pytest.raises(IsADirectoryError):
        await blobs.put("x", Body(2 * MB))
    assert _left_behind(root) == ["x%f", "x%f/keep"]


async def test_stale_temporary_files_are_swept_when_the_store_opens(tmp_path: Path) -> None:
    first = _store(tmp_path)
    await first.backend.open()
    await first.put("docs/readme", b"hello")
    await first.backend.close()
    root = _root(first)
    old = time.time() - STALE_TEMP_AGE - 60
    stale = [root / temp_name(), root / "docs%d" / temp_name(), root / "gone%d" / temp_name()]
    fresh = root / "docs%d" / temp_name()
    not_ours = root / ".tmp-notours"
    for path in [*stale, fresh, not_ours]:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 1000)
    for path in [*stale, not_ours]:
        os.utime(path, (old, old))

    again = _store(tmp_path)
    await again.backend.open()
    assert _left_behind(root) == sorted(
        [".tmp-notours", "docs%d", "docs%d/readme%f", "docs%d/readme%m", f"docs%d/{fresh.name}"]
    )
    assert await again.get("docs/readme") == b"hello"
    await again.backend.close()
