"""The ``filesystem`` backend: blobs as files under the data directory.

Each ``BlobStore`` gets ``<data_dir>/blobs/<resource>/``.  A key's segments
become directories and a file; every name is escaped (``%`` → ``%25``) and
suffixed -- directories ``%d``, content files ``%f``, metadata sidecars
``%m`` (JSON: content type, size, etag, metadata) -- so the keys ``a`` and
``a/b`` can coexist and no key can name anything outside the store (keys
are validated by the client as well: no ``..``, no absolute paths).

Writes are atomic: the content streams into a temporary file in the target
directory, is fsynced, then renamed over the old file (readers see the old
blob or the new one, never a mix); the sidecar is written the same way.
Reads stream the file in chunks on worker threads, so the event loop never
waits on the disk.  A sorted key index, built by walking the store when it
opens, serves ``list`` with keyset pagination in key order; it assumes one
process writes the store at a time (the local server).

A store declared with ``ttl`` expires each blob ``ttl`` seconds after it was
last written (the sidecar's ``modified`` time, from the runtime's clock):
an expired blob is invisible to ``stat``/``open``/``list`` from that moment
and is deleted when it is next touched, by a sweep when the store opens, and
by a background sweep that runs every ``min(ttl, 60)`` seconds while it is
open -- so nothing expired outlives the server by more than a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.blob_listing import blob_chunk
from skaal.runtime.backends.memory import _SortedKeys
from skaal.runtime.ports import (
    BackendSettings,
    BlobInfo,
    BlobStream,
    Chunk,
    Clock,
)

__all__ = ["FilesystemBlobs", "FilesystemProvider", "blob_root"]


def blob_root(settings: BackendSettings, resource: str) -> Path:
    return settings.data_dir / "blobs" / resource


def _escape(segment: str) -> str:
    return segment.replace("%", "%25")


def _unescape(name: str) -> str:
    return name.replace("%25", "%")


class FilesystemBlobs:
    """A ``BlobBackend`` in one directory tree."""

    def __init__(self, root: Path, clock: Clock, *, ttl: float | None = None) -> None:
        self.root = root
        self._clock = clock
        self._ttl = ttl
        self._keys = _SortedKeys()
        self._sweeper: asyncio.Task[None] | None = None

    def _paths(self, key: str) -> tuple[Path, Path]:
        *dirs, name = key.split("/")
        parent = self.root.joinpath(*(_escape(d) + "%d" for d in dirs))
        base = _escape(name)
        return parent / (base + "%f"), parent / (base + "%m")

    async def open(self) -> None:
        def scan() -> list[str]:
            self.root.mkdir(parents=True, exist_ok=True)
            keys = []
            for dirpath, _dirs, files in os.walk(self.root):
                rel = Path(dirpath).relative_to(self.root).parts
                prefix = [_unescape(p[:-2]) for p in rel]
                keys += ["/".join([*prefix, _unescape(f[:-2])]) for f in files if f.endswith("%f")]
            return keys

        for key in await asyncio.to_thread(scan):
            self._keys.add(key)
        if self._ttl is not None:
            await self.sweep()
            self._sweeper = asyncio.create_task(self._sweep_every(min(self._ttl, 60.0)))

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def sweep(self) -> int:
        """Delete every expired blob now; returns how many were deleted."""
        before = len(self._keys.keys)
        for key in list(self._keys.keys):
            await self.stat(key)  # deletes the blob if it has expired
        return before - len(self._keys.keys)

    async def _sweep_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.sweep()

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> BlobInfo:
        path, meta_path = self._paths(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        temp = path.parent / f".tmp-{uuid.uuid4().hex}"
        digest, size = hashlib.sha256(), 0
        handle = await asyncio.to_thread(open, temp, "wb")
        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(_flush_and_sync, handle)
        except BaseException:
            handle.close()
            await asyncio.to_thread(_unlink, temp)
            raise
        handle.close()
        info = BlobInfo(key, size, content_type, digest.hexdigest(), self._clock(), dict(metadata))
        sidecar = json.dumps(
            {
                "content_type": content_type,
                "size": size,
                "etag": info.etag,
                "modified": info.modified,
                "metadata": dict(metadata),
            }
        ).encode()
        await asyncio.to_thread(_replace, temp, path, sidecar, meta_path)
        self._keys.add(key)
        return info

    async def open_read(self, key: str, *, chunk_size: int) -> BlobStream | None:
        info = await self.stat(key)
        if info is None:
            return None
        path, _ = self._paths(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            return None

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    chunk = await asyncio.to_thread(handle.read, chunk_size)
                    if not chunk:
                        return
                    yield chunk
            finally:
                handle.close()

        return BlobStream(info, chunks())

    async def stat(self, key: str) -> BlobInfo | None:
        info = await self._read_info(key)
        if (
            info is not None
            and self._ttl is not None
            and info.modified + self._ttl <= self._clock()
        ):
            await self.delete(key)
            return None
        return info

    async def _read_info(self, key: str) -> BlobInfo | None:
        path, meta_path = self._paths(key)

        def read() -> BlobInfo | None:
            try:
                size = path.stat().st_size
                meta = json.loads(meta_path.read_bytes())
            except FileNotFoundError:
                return None
            return BlobInfo(
                key,
                size,
                meta["content_type"],
                meta["etag"],
                float(meta["modified"]),
                meta.get("metadata", {}),
            )

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> bool:
        path, meta_path = self._paths(key)

        def remove() -> bool:
            existed = _unlink(path)
            _unlink(meta_path)
            parent = path.parent
            while parent != self.root:
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent
            return existed

        self._keys.remove(key)
        return await asyncio.to_thread(remove)

    async def list(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[BlobInfo]:
        # Re-seek after every await: a concurrent put, a delete or an expiry
        # may have changed the index meanwhile.
        keys = self._keys.keys
        out: list[BlobInfo] = []
        while len(out) <= limit:
            i = self._keys.start(prefix, after)
            if i == len(keys) or not keys[i].startswith(prefix):
                break
            after = keys[i]
            info = await self.stat(after)
            if info is not None:
                out.append(info)
        return blob_chunk(out, limit)


def _flush_and_sync(handle: object) -> None:
    handle.flush()  # type: ignore[attr-defined]
    os.fsync(handle.fileno())  # type: ignore[attr-defined]


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _replace(temp: Path, path: Path, sidecar: bytes, meta_path: Path) -> None:
    """Rename the content into place, then write the sidecar atomically too."""
    meta_temp = meta_path.parent / f".tmp-{uuid.uuid4().hex}"
    with open(meta_temp, "wb") as handle:
        handle.write(sidecar)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    os.replace(meta_temp, meta_path)
    with contextlib.suppress(OSError):  # make the renames durable (POSIX)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FilesystemProvider(UnsupportedKinds):
    """The ``filesystem`` implementation: one directory per ``BlobStore``."""

    implementation = "filesystem"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def blobs(self, spec: ResourceSpec) -> FilesystemBlobs:
        return FilesystemBlobs(
            blob_root(self.settings, spec.name),
            self.settings.clock,
            ttl=spec.requirements.ttl_s,
        )
