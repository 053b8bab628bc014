"""Cloud Storage object names against the store's real rules, on the emulator.

An object name is at most 1,024 bytes of UTF-8, holds no carriage return or
line feed, is not ``.`` or ``..`` and does not start with
``.well-known/acme-challenge/``: any other key is a ``BlobKeyError`` before
any request is sent and before any of the body is read; reads of such a key
find nothing, without a request.  A resumable upload whose body fails is
cancelled (its session deleted), never finalised.  Needs
SKAAL_TEST_STORAGE_EMULATOR_HOST (``.ci/services/40-gcp.sh``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from skaal.runtime.backends.gcp_common import Offload
from skaal.runtime.backends.gcs import UPLOAD_CHUNK, GcsBlobs, storage_client
from skaal.runtime.clients import BlobClient
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError
from tests.runtime.servers.test_gcp_gcs import emulator

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
    """A GCS store on the emulator, with a log of the requests its client sent."""

    def __init__(self, backend: GcsBlobs, client: Any, bucket: str) -> None:
        self.backend = backend
        self.bucket = bucket
        self.client = client
        self.blobs = BlobClient(backend, resource="Uploads")
        self.requests: list[str] = []
        client._http.hooks["response"].append(self._count)

    def _count(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.requests.append(f"{response.request.method} {response.request.url}")

    def names(self) -> list[str]:
        return [b.name for b in self.client.list_blobs(self.bucket)]


@pytest_asyncio.fixture
async def store() -> AsyncIterator[Store]:
    client = storage_client({"STORAGE_EMULATOR_HOST": emulator()})
    offload = Offload("gcs")
    offload.open()
    bucket = f"names-{uuid.uuid4().hex[:12]}"
    backend = GcsBlobs(client, offload, bucket=bucket, resource="Uploads", create=True)
    await backend.open()
    yield Store(backend, client, bucket)
    offload.close()
    client.close()


async def test_a_name_of_1025_bytes_is_refused_before_any_request(store: Store) -> None:
    key = "k" * 1023 + "é"  # 1,024 characters (the client's limit), 1,025 bytes
    body = Body(1024)
    with pytest.raises(BlobKeyError) as info:
        await store.blobs.put(key, body)
    assert "1,025 bytes of UTF-8; Cloud Storage object names hold at most 1,024 bytes" in str(
        info.value
    )
    assert info.value.fix is not None
    assert "1,024 bytes of UTF-8 or fewer" in info.value.fix
    assert body.read == 0
    assert store.requests == []
    assert store.names() == []


async def test_a_name_of_1024_bytes_is_stored(store: Store) -> None:
    key = "d/" + "k" * 1022
    await store.blobs.put(key, b"hello")
    assert await store.blobs.get(key) == b"hello"
    assert store.names() == [key]


async def test_multi_byte_characters_count_as_bytes(store: Store) -> None:
    fits = "€" * 341 + "k"  # 342 characters: 3 bytes each but the last, 1,024 bytes
    assert len(fits.encode()) == 1024
    await store.blobs.put(fits, b"1")
    assert await store.blobs.get(fits) == b"1"
    store.requests.clear()
    with pytest.raises(BlobKeyError, match="1,026 bytes of UTF-8"):
        await store.blobs.put("€" * 342, b"2")
    assert store.requests == []


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (".well-known/acme-challenge/token", "may not start with '.well-known/acme-challenge/'"),
        ("a\rb", "control character"),
        ("a\nb", "control character"),
        (".", r"empty, '\.' or '\.\.' path segment"),
        ("..", r"empty, '\.' or '\.\.' path segment"),
    ],
)
async def test_names_cloud_storage_forbids_are_refused_before_any_request(
    store: Store, key: str, problem: str
) -> None:
    body = Body(1024)
    with pytest.raises(BlobKeyError, match=problem):
        await store.blobs.put(key, body)
    assert body.read == 0
    assert store.requests == []


async def test_a_name_only_near_the_reserved_prefix_is_stored(store: Store) -> None:
    for key in (".well-known/acme-challenge", ".well-known/acme/token"):
        await store.blobs.put(key, b"ok")
    assert store.names() == [".well-known/acme-challenge", ".well-known/acme/token"]


async def test_reads_of_a_name_gcs_cannot_hold_find_nothing_without_a_request(
    store: Store,
) -> None:
    for key in ("é" * 513, ".well-known/acme-challenge/token"):
        assert await store.blobs.stat(key) is None
        assert not await store.blobs.exists(key)
        assert await store.blobs.delete(key) is False
        with pytest.raises(BlobNotFoundError):
            await store.blobs.get(key)
        assert (await store.blobs.list(prefix=key)).items == ()
    assert store.requests == []


async def test_a_resumable_upload_whose_body_fails_is_cancelled(store: Store) -> None:
    body = Body(4 * UPLOAD_CHUNK, fail_after=2 * UPLOAD_CHUNK + MB)
    with pytest.raises(ConnectionResetError):
        await store.blobs.put("big.bin", body)
    sessions = {r.split(" ", 1)[1] for r in store.requests if r.startswith("PUT ")}
    assert len(sessions) == 1  # one session took the chunks sent so far ...
    # ... and was deleted, not finalised: no object was published
    assert [r for r in store.requests if r.startswith("DELETE ")] == [
        f"DELETE {url}" for url in sessions
    ]
    assert store.names() == []
