"""BlobStore semantics every blob backend must have."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from skaal.runtime.clients import BlobClient
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError

pytestmark = pytest.mark.asyncio


async def test_put_get_stat_exists_delete(blobs: BlobClient) -> None:
    info = await blobs.put("a/b.txt", b"hello", content_type="text/plain", metadata={"x": "1"})
    assert (info.key, info.size, info.content_type) == ("a/b.txt", 5, "text/plain")
    assert await blobs.get("a/b.txt") == b"hello"
    stat = await blobs.stat("a/b.txt")
    assert stat is not None
    assert (stat.size, stat.content_type, dict(stat.metadata)) == (5, "text/plain", {"x": "1"})
    assert stat.etag == info.etag
    assert await blobs.exists("a/b.txt")
    assert await blobs.delete("a/b.txt") is True
    assert await blobs.delete("a/b.txt") is False
    assert not await blobs.exists("a/b.txt")
    assert await blobs.stat("a/b.txt") is None
    with pytest.raises(BlobNotFoundError, match="no blob"):
        await blobs.get("a/b.txt")


async def test_file_and_async_stream_inputs_and_streamed_reads(blobs: BlobClient) -> None:
    data = bytes(range(256)) * 16384  # 4 MiB, binary
    await blobs.put("file.bin", io.BytesIO(data))

    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    await blobs.put("stream.bin", gen())
    stream = await blobs.open("stream.bin", chunk_size=1 << 20)
    chunks = [c async for c in stream.chunks]
    assert len(chunks) == 4
    assert b"".join(chunks) == data
    assert await blobs.get("file.bin") == data
    assert stream.info.size == len(data)


async def test_overwrite_is_atomic_and_key_and_prefix_coexist(blobs: BlobClient) -> None:
    await blobs.put("a", b"1")
    await blobs.put("a/b", b"2")
    await blobs.put("a", b"3")
    assert await blobs.get("a") == b"3"
    assert await blobs.get("a/b") == b"2"


async def test_list_paginates_in_key_order(blobs: BlobClient) -> None:
    keys = sorted([f"img/{i:04d}.png" for i in range(250)] + ["img-x", "img/é", "other"])
    for key in keys:
        await blobs.put(key, key.encode())
    seen: list[str] = []
    cursor = None
    while True:
        page = await blobs.list(prefix="img/", limit=60, cursor=cursor)
        seen += [i.key for i in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [k for k in keys if k.startswith("img/")]
    assert [i.key for i in (await blobs.list()).items][:1] == ["img-x"]


@pytest.mark.parametrize(
    "key",
    ["", "../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "a\x00b", "./a", "a/", "a/.", 7],
)
async def test_unsafe_keys_are_rejected(blobs: BlobClient, key: object, tmp_path: Path) -> None:
    with pytest.raises(BlobKeyError, match="rejected"):
        await blobs.put(key, b"x")  # type: ignore[arg-type]
    with pytest.raises(BlobKeyError):
        await blobs.get(key)  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()


async def test_unicode_and_percent_keys(blobs: BlobClient) -> None:
    for key in ["ключ/🍕.txt", "100%d", "100%f/x", "a%25"]:
        await blobs.put(key, key.encode())
    for key in ["ключ/🍕.txt", "100%d", "100%f/x", "a%25"]:
        assert await blobs.get(key) == key.encode()
    assert sorted(i.key for i in (await blobs.list()).items) == sorted(
        ["ключ/🍕.txt", "100%d", "100%f/x", "a%25"]
    )
