"""The gcs backend beyond the conformance suite: buckets, atomic streamed overwrites."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.gcp_common import GcpBackendError, Offload
from skaal.runtime.backends.gcs import UPLOAD_CHUNK, GcsBlobs, GcsProvider, storage_client
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio


def emulator() -> str:
    host = os.environ.get("SKAAL_TEST_STORAGE_EMULATOR_HOST")
    if not host:
        pytest.skip(
            "SKAAL_TEST_STORAGE_EMULATOR_HOST not set: start the Cloud Storage emulator "
            "(see .ci/services/40-gcp.sh)"
        )
    return host


def spec(name: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind="blob",
        requirements=Requirements(),
        location=SourceLocation(file="t.py", line=1),
    )


@pytest.fixture
def env() -> dict[str, str]:
    return {
        "STORAGE_EMULATOR_HOST": emulator(),
        "SKAAL_GCP_NAME_PREFIX": f"g{uuid.uuid4().hex[:10]}",
    }


@pytest_asyncio.fixture
async def provider(env: dict[str, str], tmp_path: Path) -> AsyncIterator[GcsProvider]:
    provider = GcsProvider(
        BackendSettings(
            app="gcs-tests", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=time.time
        )
    )
    await provider.open()
    yield provider
    await provider.close()


async def chunks(*parts: bytes, fail: bool = False) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail:
        raise ConnectionError("the client went away")


async def test_each_resource_gets_its_bucket(provider: GcsProvider, env: dict[str, str]) -> None:
    uploads = provider.blobs(spec("Uploads"))
    avatars = provider.blobs(spec("Avatars"))
    await uploads.open()
    await avatars.open()
    await uploads.put("a", chunks(b"1"), content_type="text/plain", metadata={})
    assert await avatars.stat("a") is None
    names = {b.name for b in storage_client(env).list_buckets()}
    prefix = env["SKAAL_GCP_NAME_PREFIX"]
    assert {f"{prefix}-gcs-tests-uploads", f"{prefix}-gcs-tests-avatars"} <= names


async def test_a_failed_upload_leaves_the_old_blob(provider: GcsProvider) -> None:
    store = provider.blobs(spec("Uploads"))
    await store.open()
    old = b"o" * (UPLOAD_CHUNK + 10)
    await store.put("k", chunks(old), content_type="application/octet-stream", metadata={})
    big = b"n" * UPLOAD_CHUNK
    with pytest.raises(ConnectionError):
        await store.put("k", chunks(big, big, fail=True), content_type="x/y", metadata={})
    stream = await store.open_read("k", chunk_size=1 << 20)
    assert stream is not None
    assert b"".join([c async for c in stream.chunks]) == old
    assert stream.info.content_type == "application/octet-stream"


async def test_missing_bucket_outside_an_emulator_is_an_error(env: dict[str, str]) -> None:
    offload = Offload("gcs")
    offload.open()
    store = GcsBlobs(
        storage_client(env),
        offload,
        bucket="no-such-bucket-" + uuid.uuid4().hex[:8],
        resource="Uploads",
        create=False,
    )
    with pytest.raises(GcpBackendError, match="does not exist") as err:
        await store.open()
    assert err.value.command == "skaal deploy"
    offload.close()
