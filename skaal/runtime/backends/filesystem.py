"""The ``filesystem`` backend: blobs as files under the data directory.

Each ``BlobStore`` gets ``<data_dir>/blobs/<resource>/``; how a key maps to
files (escaped names with ``%d``/``%f``/``%m`` suffixes, metadata sidecars
as JSON: content type, size, etag, metadata) is
:mod:`skaal.runtime.backends.filesystem_paths`.  Keys are validated by the
client (no ``..``, no absolute paths) and here against the filesystem's own
limits: a key whose names or path are too long for the disk is a
:class:`~skaal.runtime.errors.BlobKeyError` before any content is read, and
reads of such a key find nothing.

Writes are atomic: the content streams into a temporary file in the target
directory, is fsynced, then renamed over the old file (readers see the old
blob or the new one, never a mix); the sidecar is written the same way.
Whatever fails -- the body stream, the disk, the rename, a cancelled
request -- the temporary files are removed and directories the write created
are pruned if left empty; temporary files a crashed process left behind are
swept when the store opens.  Reads stream the file in chunks on worker
threads, so the event loop never waits on the disk.  A sorted key index,
built by walking the store when it opens, serves ``list`` with keyset
pagination in key order; it assumes one process writes the store at a time
(the local server).

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
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.blob_listing import blob_chunk
from skaal.runtime.backends.filesystem_paths import (
    Layout,
    remove_empty_parents,
    sweep_stale_temps,
    temp_name,
    unescape,
    unlink,
)
from skaal.runtime.backends.memory import _SortedKeys
from skaal.runtime.errors import BlobKeyError
from skaal.runtime.ports import (
    BackendSettings,
    BlobInfo,
    BlobStream,
    Chunk,
    Clock,
)

if TYPE_CHECKING:
    from skaal.declare.native import Native

__all__ = ["FilesystemBlobs", "FilesystemProvider", "blob_root"]


def blob_root(settings: BackendSettings, resource: str) -> Path:
    return settings.data_dir / "blobs" / resource


class FilesystemBlobs:
    """A ``BlobBackend`` in one directory tree."""

    def __init__(self, root: Path, clock: Clock, *, ttl: float | None = None) -> None:
        self.root = root
        self._clock = clock
        self._ttl = ttl
        self._keys = _SortedKeys()
        self._sweeper: asyncio.Task[None] | None = None
        self._layout: Layout | None = None

    def _laid_out(self) -> Layout:
        if self._layout is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._layout = Layout.of(self.root)
        return self._layout

    def _paths(self, key: str) -> tuple[Path, Path] | None:
        """The files of ``key``; ``None`` if this filesystem cannot hold such a key."""
        layout = self._laid_out()
        return None if layout.problem(key) is not None else layout.files(key)

    def _checked_paths(self, key: str) -> tuple[Path, Path]:
        """The files of ``key`` to write; a ``BlobKeyError`` if the disk cannot name them."""
        layout = self._laid_out()
        problem = layout.problem(key)
        if problem is None:
            return layout.files(key)
        shown = key if len(key) <= 60 else key[:57] + "..."
        raise BlobKeyError(
            f"blob key {shown!r} for {self.root.name} is rejected: {problem}",
            where=self.root.name,
            fix=f"use shorter '/'-separated segments (at most {layout.name_max - 2} bytes "
            "each, a '%' counting 3)",
        )

    async def open(self) -> None:
        def scan() -> list[str]:
            self._laid_out()
            sweep_stale_temps(self.root)
            keys = []
            for dirpath, _dirs, files in os.walk(self.root):
                rel = Path(dirpath).relative_to(self.root).parts
                prefix = [unescape(p[:-2]) for p in rel]
                keys += ["/".join([*prefix, unescape(f[:-2])]) for f in files if f.endswith("%f")]
            return keys

        for key in await asyncio.to_thread(scan):
            self._keys.add(key)
        if self._ttl is not None:
            await self.sweep()
            self._sweeper = asyncio.create_task(self._sweep_every(min(self._ttl, 60.0)))

    async def native(self) -> Native[Path]:
        """The store's directory (key layout: :mod:`~skaal.runtime.backends.filesystem_paths`)."""
        from skaal.declare.native import Native

        root = str(self.root)
        return Native(
            self.root,
            backend="filesystem",
            resource=self.root.name,
            kind="blob",
            name=root,
            names={"directory": root},
        )

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
        path, meta_path = await asyncio.to_thread(self._checked_paths, key)
        temp, handle = await asyncio.to_thread(_open_temp, path.parent)
        committed = False
        try:
            digest, size = hashlib.sha256(), 0
            try:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_flush_and_sync, handle)
            finally:
                handle.close()
            info = BlobInfo(
                key, size, content_type, digest.hexdigest(), self._clock(), dict(metadata)
            )
            sidecar = json.dumps(
                {
                    "content_type": content_type,
                    "size": size,
                    "etag": info.etag,
                    "modified": info.modified,
                    "metadata": dict(metadata),
                }
            ).encode()
            await asyncio.to_thread(_commit, temp, path, sidecar, meta_path)
            committed = True
        finally:
            if not committed:
                await asyncio.to_thread(_discard, temp, self.root)
        self._keys.add(key)
        return info

    async def open_read(self, key: str, *, chunk_size: int) -> BlobStream | None:
        info = await self.stat(key)
        if info is None:
            return None
        paths = self._paths(key)
        if paths is None:
            return None
        try:
            handle = await asyncio.to_thread(open, paths[0], "rb")
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
        paths = self._paths(key)
        if paths is None:
            return None
        path, meta_path = paths

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
        paths = self._paths(key)
        if paths is None:
            return False
        path, meta_path = paths

        def remove() -> bool:
            existed = unlink(path)
            unlink(meta_path)
            remove_empty_parents(path, self.root)
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


def _open_temp(folder: Path) -> tuple[Path, BinaryIO]:
    """A new temporary file in ``folder`` (created if needed), open for writing.

    A concurrent delete may prune ``folder`` between ``mkdir`` and ``open``;
    then it is created again.
    """
    for _ in range(3):
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / temp_name()
        try:
            return temp, open(temp, "xb")  # the caller closes it
        except FileNotFoundError:
            continue
    raise FileNotFoundError(f"{folder} keeps disappearing while a blob is written")


def _flush_and_sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _discard(temp: Path, root: Path) -> None:
    """Remove a write's temporary file and the directories it leaves empty."""
    unlink(temp)
    remove_empty_parents(temp, root)


def _commit(temp: Path, path: Path, sidecar: bytes, meta_path: Path) -> None:
    """Rename the content into place, then write the sidecar atomically too.

    The sidecar's own temporary file is removed if anything fails; the
    content's is the caller's to remove.
    """
    meta_temp = meta_path.parent / temp_name()
    try:
        with open(meta_temp, "wb") as handle:
            handle.write(sidecar)
            _flush_and_sync(handle)
        os.replace(temp, path)
        os.replace(meta_temp, meta_path)
    except BaseException:
        unlink(meta_temp)
        raise
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
