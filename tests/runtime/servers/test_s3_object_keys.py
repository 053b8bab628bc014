"""S3 object keys against S3's real limit, and no multipart upload left behind, on moto.

An S3 key is at most 1,024 bytes of UTF-8: a longer key is a ``BlobKeyError``
before any request is sent and before any of the body is read, whatever its
count of characters (the client allows 1,024 characters, which can be four
times as many bytes); reads of such a key find nothing, without a request.
A multipart upload whose body fails is aborted: S3 keeps no parts of it.
Needs SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from skaal.runtime.backends.s3 import MULTIPART_THRESHOLD, S3Blobs
from skaal.runtime.clients import BlobClient
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError
from tests.runtime.servers.test_aws_moto import aws_env, open_provider, raw, spec

pytestmark = pytest.mark.asyncio

MB = 1 << 20


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


class Store:
    """An S3 store on moto, with its client and a count of the requests it sent."""

    def __init__(self, backend: S3Blobs, client: Any, env: dict[str, str]) -> None:
        self.backend = backend
        self.blobs = BlobClient(backend, resource="Uploads")
        self.env = env
        self.requests: list[str] = []
        client.meta.events.register("before-send.s3", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.requests.append(f"{request.method} {request.url}")

    def raw(self) -> Any:
        return raw("s3", self.env)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    env = aws_env()
    provider = await open_provider("s3", env, tmp_path)
    backend = provider.blobs(spec("Uploads", "blob"))
    await backend.open()
    yield Store(backend, provider.aws.client("s3"), env)
    await provider.close()


async def test_a_key_of_1025_bytes_is_refused_before_any_request(store: Store) -> None:
    key = "k" * 1023 + "é"  # 1,024 characters (the client's limit), 1,025 bytes
    body = Body(1024)
    with pytest.raises(BlobKeyError) as info:
        await store.blobs.put(key, body)
    assert "1,025 bytes of UTF-8; S3 object keys hold at most 1,024 bytes" in str(info.value)
    assert info.value.where == "Uploads"
    assert info.value.fix is not None
    assert "1,024 bytes of UTF-8 or fewer" in info.value.fix
    assert body.read == 0
    assert store.requests == []
    assert "Contents" not in store.raw().list_objects_v2(Bucket=store.backend.bucket)


async def test_a_key_of_1024_bytes_is_stored(store: Store) -> None:
    key = "d/" + "k" * 1022
    await store.blobs.put(key, b"hello")
    assert await store.blobs.get(key) == b"hello"
    listed = store.raw().list_objects_v2(Bucket=store.backend.bucket)
    assert [o["Key"] for o in listed["Contents"]] == [key]


async def test_multi_byte_characters_count_as_bytes(store: Store) -> None:
    fits = "€" * 341 + "k"  # 342 characters: 3 bytes each but the last, 1,024 bytes
    assert len(fits.encode()) == 1024
    await store.blobs.put(fits, b"1")
    assert await store.blobs.get(fits) == b"1"
    too_long = "€" * 342  # 342 characters, 1,026 bytes
    store.requests.clear()
    with pytest.raises(BlobKeyError, match="1,026 bytes of UTF-8"):
        await store.blobs.put(too_long, b"2")
    assert store.requests == []


async def test_reads_of_a_key_s3_cannot_hold_find_nothing_without_a_request(
    store: Store,
) -> None:
    key = "é" * 513  # 1,026 bytes
    assert await store.blobs.stat(key) is None
    assert not await store.blobs.exists(key)
    assert await store.blobs.delete(key) is False
    with pytest.raises(BlobNotFoundError):
        await store.blobs.get(key)
    assert (await store.blobs.list(prefix=key)).items == ()
    assert store.requests == []
    with pytest.raises(BlobKeyError, match="S3 object keys hold at most 1,024 bytes"):
        await store.backend.presigned_url(key)


async def test_a_multipart_upload_whose_body_fails_is_aborted(store: Store) -> None:
    key = f"big-{uuid.uuid4().hex}.bin"
    body = Body(3 * MULTIPART_THRESHOLD, fail_after=2 * MULTIPART_THRESHOLD + MB)
    with pytest.raises(ConnectionResetError):
        await store.blobs.put(key, body)
    # two parts were uploaded before the body failed ...
    assert sum("partNumber=" in r for r in store.requests) == 2
    assert any(r.startswith("DELETE ") and "uploadId=" in r for r in store.requests)
    # ... and S3 keeps neither the upload nor an object
    s3 = store.raw()
    assert s3.list_multipart_uploads(Bucket=store.backend.bucket).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=store.backend.bucket)
