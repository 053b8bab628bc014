"""The ``gcs`` backend: a BlobStore in a Google Cloud Storage bucket.

Each BlobStore resource is one bucket named by :func:`gcp_name`; a blob key
is the object name unchanged (keys are validated by the client: no ``..``, no
absolute paths, no empty segments).

* ``put`` streams: the content is fed chunk by chunk into a resumable upload
  session (:data:`UPLOAD_CHUNK` bytes per request), so a large upload never
  sits in memory whole.  GCS makes the object visible only when the session
  is finalised, so an overwrite is atomic -- readers see the old blob or the
  new one.  If the caller's stream fails, the session is cancelled, never
  finalised (closing the writer, as its finaliser would, publishes a part).
* ``open_read`` streams ranged downloads of the generation that ``stat`` saw,
  so a concurrent overwrite cannot mix two versions into one read (the read
  fails instead, unless the bucket keeps noncurrent versions).
* ``list`` is keyset pagination on object names (GCS lists in UTF-8 byte
  order, which is code-point order): ``start_offset`` just past the last key
  returned, ``max_results`` one more than the page.  The names are filtered
  again here, which keeps pages right on a server that ignores those
  parameters (the local emulator does).

Against an emulator (``STORAGE_EMULATOR_HOST``) a missing bucket is created
on open; on Google it must exist (the deploy stage creates it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.blob_listing import blob_chunk
from skaal.runtime.backends.gcp_common import GcpBackendError, Offload, gcp_name, gcp_project
from skaal.runtime.ports import (
    BackendSettings,
    BlobInfo,
    BlobStream,
    Chunk,
)

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Client  # type: ignore[import-untyped]

__all__ = ["UPLOAD_CHUNK", "GcsBlobs", "GcsProvider", "storage_client"]

T = TypeVar("T")

UPLOAD_CHUNK = 8 * 256 * 1024
"""Bytes per resumable-upload request (GCS wants multiples of 256 KiB)."""


def storage_client(env: Mapping[str, str]) -> Client:
    """A Storage client for Google, or for the emulator at ``STORAGE_EMULATOR_HOST``."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    host = env.get("STORAGE_EMULATOR_HOST")
    project = gcp_project(env, emulator=host is not None, service="Cloud Storage")
    if host is None:
        return storage.Client(project=project)
    endpoint = host if "://" in host else f"http://{host}"
    return storage.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint},
    )


def _info(blob: Blob) -> BlobInfo:
    return BlobInfo(
        key=blob.name,
        size=int(blob.size or 0),
        content_type=blob.content_type or "application/octet-stream",
        etag=blob.etag or "",
        modified=blob.updated.timestamp() if blob.updated is not None else 0.0,
        metadata=dict(blob.metadata or {}),
    )


class GcsBlobs:
    """A ``BlobBackend`` on one bucket."""

    def __init__(
        self, client: Client, offload: Offload, *, bucket: str, resource: str, create: bool
    ) -> None:
        self._client = client
        self._offload = offload
        self._bucket = client.bucket(bucket)
        self._resource = resource
        self._create = create

    async def _run(self, fn: Callable[[], T], what: str) -> T:
        return await self._offload.run(fn, what=what, where=self._resource)

    async def open(self) -> None:
        def ensure() -> None:
            if self._bucket.exists():
                return
            if not self._create:
                raise GcpBackendError(
                    f"bucket {self._bucket.name!r} of {self._resource} does not exist",
                    where=self._resource,
                    fix="deploy the app first: the deploy stage creates its buckets",
                    command="skaal deploy",
                )
            self._client.create_bucket(self._bucket.name)

        await self._run(ensure, "check its bucket")

    async def close(self) -> None:
        return None

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> BlobInfo:
        blob = self._bucket.blob(key)
        blob.metadata = dict(metadata)
        writer: Any = await self._run(
            lambda: blob.open("wb", chunk_size=UPLOAD_CHUNK, content_type=content_type),
            "start an upload",
        )
        try:
            async for chunk in chunks:
                if chunk:
                    await self._run(lambda c=chunk: writer.write(c), "upload")  # type: ignore[misc]
        except BaseException:
            # Cancel the session: closing (as the writer's finaliser would)
            # would publish the part uploaded so far as the new blob.
            await asyncio.shield(self._run(writer.terminate, "cancel an upload"))
            raise
        await self._run(writer.close, "finish an upload")
        await self._run(blob.reload, "read back an upload")
        return _info(blob)

    async def stat(self, key: str) -> BlobInfo | None:
        blob = await self._run(lambda: self._bucket.get_blob(key), "stat a blob")
        return None if blob is None else _info(blob)

    async def open_read(self, key: str, *, chunk_size: int) -> BlobStream | None:
        blob = await self._run(lambda: self._bucket.get_blob(key), "open a blob")
        if blob is None:
            return None
        info = _info(blob)
        pinned = self._bucket.blob(key, generation=blob.generation)

        async def read() -> AsyncIterator[bytes]:
            for start in range(0, info.size, chunk_size):
                end = min(start + chunk_size, info.size) - 1
                yield await self._run(
                    lambda s=start, e=end: pinned.download_as_bytes(start=s, end=e),  # type: ignore[misc]
                    "read a blob",
                )

        return BlobStream(info, read())

    async def delete(self, key: str) -> bool:
        from google.api_core import exceptions as gexc

        def delete() -> bool:
            try:
                self._bucket.delete_blob(key)
            except gexc.NotFound:
                return False
            return True

        return await self._run(delete, "delete a blob")

    async def list(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[BlobInfo]:
        def page() -> Chunk[BlobInfo]:
            listing = self._client.list_blobs(
                self._bucket,
                prefix=prefix or None,
                start_offset=None if after is None else after + "\x00",
                max_results=limit + 1,
            )
            out: list[BlobInfo] = []
            for blob in listing:
                if after is not None and blob.name <= after:
                    continue
                out.append(_info(blob))
                if len(out) > limit:
                    break
            return blob_chunk(out, limit)

        return await self._run(page, "list blobs")


class GcsProvider(UnsupportedKinds):
    """The ``gcs`` implementation: one client and thread pool per runtime."""

    implementation = "gcs"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self._offload = Offload("gcs")
        self._client: Client | None = None

    async def open(self) -> None:
        if self._client is None:
            self._client = storage_client(self.settings.env)
        self._offload.open()

    async def close(self) -> None:
        self._offload.close()
        if self._client is not None:
            self._client.close()
            self._client = None

    def blobs(self, spec: ResourceSpec) -> GcsBlobs:
        if self._client is None:
            raise GcpBackendError(
                f"the gcs provider was used for {spec.name} before it was opened",
                where=spec.name,
                fix="open the runtime (async with Runtime(...)) before using the resource",
            )
        prefix = self.settings.env.get("SKAAL_GCP_NAME_PREFIX", "")
        return GcsBlobs(
            self._client,
            self._offload,
            bucket=gcp_name(self.settings.app, spec.name, prefix=prefix),
            resource=spec.name,
            create="STORAGE_EMULATOR_HOST" in self.settings.env,
        )
