"""The ``gcs`` backend: a BlobStore in a Google Cloud Storage bucket.

Each BlobStore resource is one bucket named by :func:`gcp_name`; a blob key
is the object name unchanged (keys are validated by the client: no ``..``, no
absolute paths, no empty segments, no control characters), checked against
Cloud Storage's own rules before any request -- at most 1,024 bytes of UTF-8,
not under ``.well-known/acme-challenge/``
(:mod:`~skaal.runtime.backends.blob_object_keys`): ``put`` of such a key is a
``BlobKeyError``, reads of one find nothing.

* ``put`` streams: the content is fed chunk by chunk into a resumable upload
  session (:data:`UPLOAD_CHUNK` bytes per request), so a large upload never
  sits in memory whole.  GCS makes the object visible only when the session
  is finalised, so an overwrite is atomic -- readers see the old blob or the
  new one.  If the caller's stream fails, the session is cancelled by a
  DELETE to its URL, never finalised (closing the writer, as its finaliser
  would, publishes a part), so no partial upload is left behind.
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

Every call has one deadline and the client's own retries are off
(:mod:`~skaal.runtime.backends.gcp_common`).  Reads and listings are
retried after a timeout; a delete is not (a repeat would answer ``False``
for a blob it deleted), nor are the steps of an upload -- a resumable session cannot take a chunk
again from this side -- so a ``put`` that fails is cancelled and raised,
and the caller puts the whole blob again (the same object: idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.blob_listing import blob_chunk
from skaal.runtime.backends.blob_object_keys import GCS_OBJECT_NAMES
from skaal.runtime.backends.gcp_common import (
    GcpBackendError,
    Offload,
    gcp_name,
    gcp_native,
    gcp_project,
    rpc,
)
from skaal.runtime.ports import (
    BackendSettings,
    BlobInfo,
    BlobStream,
    Chunk,
)
from skaal.runtime.retry import RetryPolicy, Safety

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Client  # type: ignore[import-untyped]

    from skaal.native import Native

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


def _cancel(writer: Any, timeout: float) -> None:
    """Cancel ``writer``'s resumable session (if it started one), never publishing it.

    Cloud Storage cancels a session on a DELETE to the session's own URL.
    ``BlobWriter.terminate`` sends its DELETE to the URL that *starts*
    sessions instead, which cancels nothing: the session and the bytes it
    holds would stay until Cloud Storage reaps it a week later.  So the
    writer's buffer is closed here (its finaliser then cannot finalise the
    upload) and the DELETE goes to the session itself.
    """
    started = writer._upload_and_transport  # (upload, transport) once a chunk was sent
    writer._buffer.close()
    if started is None:
        return
    upload, transport = started
    if upload.resumable_url is not None:
        transport.delete(upload.resumable_url, headers={"Content-Length": "0"}, timeout=timeout)


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

    async def native(self) -> Native[Client]:
        """Blob ``key`` is the object ``key`` of the bucket, unchanged."""
        return gcp_native(self._client, "gcs", "blob", self._resource, bucket=self._bucket.name)

    async def _run(self, fn: Callable[[], T], what: str, safety: Safety) -> T:
        return await self._offload.run(fn, what=what, where=self._resource, safety=safety)

    async def _step(self, fn: Callable[[], T], what: str) -> T:
        """One step of an upload session: the deadline only, never repeated."""
        return await self._offload.run(
            fn, what=what, where=self._resource, safety=Safety.UNSAFE, retried=False
        )

    async def open(self) -> None:
        def ensure() -> None:
            if self._bucket.exists(**rpc()):
                return
            if not self._create:
                raise GcpBackendError(
                    f"bucket {self._bucket.name!r} of {self._resource} does not exist",
                    where=self._resource,
                    fix="deploy the app first: the deploy stage creates its buckets",
                    command="skaal deploy",
                )
            self._client.create_bucket(self._bucket.name, **rpc())

        await self._run(ensure, "check its bucket", Safety.IDEMPOTENT)

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
        GCS_OBJECT_NAMES.check(key, self._resource)
        blob = self._bucket.blob(key)
        blob.metadata = dict(metadata)
        # each request of the session gets the deadline of the step that sends it
        timeout = self._offload.policy.deadline
        writer: Any = await self._step(
            lambda: blob.open(
                "wb",
                chunk_size=UPLOAD_CHUNK,
                content_type=content_type,
                retry=None,
                timeout=timeout,
            ),
            "start an upload",
        )
        try:
            async for chunk in chunks:
                if chunk:
                    await self._step(lambda c=chunk: writer.write(c), "upload")  # type: ignore[misc]
            await self._step(writer.close, "finish an upload")
        except BaseException:
            # Cancel the session: closing (as the writer's finaliser would)
            # would publish the part uploaded so far as the new blob.
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self._step(lambda: _cancel(writer, timeout), "cancel an upload")
                )
            raise
        await self._run(lambda: blob.reload(**rpc()), "read back an upload", Safety.READ)
        return _info(blob)

    async def stat(self, key: str) -> BlobInfo | None:
        if not GCS_OBJECT_NAMES.holds(key):
            return None
        blob = await self._run(
            lambda: self._bucket.get_blob(key, **rpc()), "stat a blob", Safety.READ
        )
        return None if blob is None else _info(blob)

    async def open_read(self, key: str, *, chunk_size: int) -> BlobStream | None:
        if not GCS_OBJECT_NAMES.holds(key):
            return None
        blob = await self._run(
            lambda: self._bucket.get_blob(key, **rpc()), "open a blob", Safety.READ
        )
        if blob is None:
            return None
        info = _info(blob)
        pinned = self._bucket.blob(key, generation=blob.generation)

        async def read() -> AsyncIterator[bytes]:
            for start in range(0, info.size, chunk_size):
                end = min(start + chunk_size, info.size) - 1
                yield await self._run(
                    lambda s=start, e=end: pinned.download_as_bytes(start=s, end=e, **rpc()),  # type: ignore[misc]
                    "read a blob",
                    Safety.READ,  # a byte range of one generation: the same bytes again
                )

        return BlobStream(info, read())

    async def delete(self, key: str) -> bool:
        if not GCS_OBJECT_NAMES.holds(key):
            return False
        from google.api_core import exceptions as gexc

        def delete() -> bool:
            try:
                self._bucket.delete_blob(key, **rpc())
            except gexc.NotFound:
                return False
            return True

        # not repeated: a repeat would answer False for a blob it deleted
        return await self._run(delete, "delete a blob", Safety.UNSAFE)

    async def list(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[BlobInfo]:
        if not GCS_OBJECT_NAMES.may_prefix(prefix):
            return blob_chunk([], limit)

        def page() -> Chunk[BlobInfo]:
            listing = self._client.list_blobs(
                self._bucket,
                prefix=prefix or None,
                start_offset=None if after is None else after + "\x00",
                max_results=limit + 1,
                **rpc(),
            )
            out: list[BlobInfo] = []
            for blob in listing:
                if after is not None and blob.name <= after:
                    continue
                out.append(_info(blob))
                if len(out) > limit:
                    break
            return blob_chunk(out, limit)

        return await self._run(page, "list blobs", Safety.READ)


class GcsProvider(UnsupportedKinds):
    """The ``gcs`` implementation: one client and thread pool per runtime."""

    implementation = "gcs"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self._offload = Offload("gcs", policy=RetryPolicy.from_env(settings.env))
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
        from skaal.build.wiring import resource_env  # the wiring imports the runtime

        prefix = self.settings.env.get("SKAAL_GCP_NAME_PREFIX", "")
        # the gcp target's buckets get a unique suffix: the program sets the real name
        named = self.settings.env.get(resource_env(spec.name))
        adopted = self.settings.adopted.get(spec.name)  # existing=: never created
        return GcsBlobs(
            self._client,
            self._offload,
            bucket=named or adopted or gcp_name(self.settings.app, spec.name, prefix=prefix),
            resource=spec.name,
            create="STORAGE_EMULATOR_HOST" in self.settings.env and adopted is None,
        )
