"""``BlobClient``: binary objects by key, streamed in and out.

Keys are validated here, before any backend sees them, so no backend can be
tricked into leaving its store: a key is 1-1024 characters of ``/``-separated
segments, none empty, ``.`` or ``..``; no leading ``/``, no backslash, no NUL
or other control character.  ``put`` accepts ``bytes``, a binary file object
or an async iterable of ``bytes`` and hands the backend a stream of chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import BinaryIO

from skaal.runtime.clients.map import check_limit
from skaal.runtime.errors import BlobKeyError, BlobNotFoundError, ValueTypeError
from skaal.runtime.ports import (
    BlobBackend,
    BlobInfo,
    BlobStream,
    Page,
    decode_cursor,
    encode_cursor,
)

__all__ = ["CHUNK_SIZE", "BlobClient", "check_blob_key"]

CHUNK_SIZE = 1 << 16
_MAX_KEY = 1024

BlobData = bytes | bytearray | memoryview | BinaryIO | AsyncIterable[bytes]


def check_blob_key(key: object, resource: str, *, prefix: bool = False) -> str:
    """``key`` if it is a safe blob key (or, with ``prefix``, a safe key prefix)."""
    problem = _key_problem(key, prefix=prefix)
    if problem is None:
        assert isinstance(key, str)
        return key
    raise BlobKeyError(
        f"blob key {key!r} for {resource} is rejected: {problem}",
        where=resource,
        fix="use relative keys of '/'-separated names, e.g. 'avatars/ada.png'",
    )


def _key_problem(key: object, *, prefix: bool) -> str | None:
    if not isinstance(key, str):
        return f"it is a {type(key).__name__}, not a str"
    if not key:
        return None if prefix else "it is empty"
    if len(key) > _MAX_KEY:
        return f"it is longer than {_MAX_KEY} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        return "it contains a NUL or control character"
    if "\\" in key:
        return "it contains a backslash"
    if key.startswith("/"):
        return "it is absolute (starts with '/')"
    segments = key.split("/")
    if prefix:
        segments = segments[:-1]  # the last segment of a prefix may be partial or empty
    for segment in segments:
        if segment in ("", ".", ".."):
            return "it has an empty, '.' or '..' path segment"
    if not prefix and key.endswith("/"):
        return "it ends with '/'"
    return None


async def _chunks(data: BlobData) -> AsyncIterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])
        return
    if isinstance(data, AsyncIterable):
        async for chunk in data:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise ValueTypeError(
                    f"an async blob stream yielded {type(chunk).__name__}, not bytes",
                    fix="yield bytes chunks",
                )
            yield bytes(chunk)
        return
    read = getattr(data, "read", None)
    if read is None:
        raise ValueTypeError(
            f"cannot store a {type(data).__name__} as a blob",
            fix="pass bytes, a file opened in binary mode, or an async iterable of bytes",
        )
    while True:
        chunk = read(CHUNK_SIZE)
        if not chunk:
            return
        if not isinstance(chunk, bytes | bytearray):
            raise ValueTypeError(
                "the file object returned text, not bytes", fix="open the file with mode 'rb'"
            )
        yield bytes(chunk)


class BlobClient:
    """Typed access to one ``BlobStore`` resource."""

    def __init__(self, backend: BlobBackend, *, resource: str) -> None:
        self.backend = backend
        self.resource = resource

    def __repr__(self) -> str:
        return f"BlobClient({self.resource!r})"

    async def put(
        self,
        key: str,
        data: BlobData,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> BlobInfo:
        """Store ``data`` at ``key`` atomically (readers see the old or the new blob)."""
        checked = check_blob_key(key, self.resource)
        meta = dict(metadata or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
            raise ValueTypeError("blob metadata must map str to str", where=self.resource)
        return await self.backend.put(
            checked, _chunks(data), content_type=content_type, metadata=meta
        )

    async def get(self, key: str) -> bytes:
        """The whole blob; :class:`BlobNotFoundError` if absent."""
        stream = await self.open(key)
        return b"".join([chunk async for chunk in stream.chunks])

    async def open(self, key: str, *, chunk_size: int = CHUNK_SIZE) -> BlobStream:
        """The blob's info and its content as an async iterator of chunks."""
        stream = await self.backend.open_read(
            check_blob_key(key, self.resource), chunk_size=chunk_size
        )
        if stream is None:
            raise BlobNotFoundError(
                f"no blob {key!r} in {self.resource}",
                where=self.resource,
                fix="check exists() or stat() first",
            )
        return stream

    async def stat(self, key: str) -> BlobInfo | None:
        return await self.backend.stat(check_blob_key(key, self.resource))

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def delete(self, key: str) -> bool:
        return await self.backend.delete(check_blob_key(key, self.resource))

    async def list(
        self, *, prefix: str = "", limit: int = 100, cursor: str | None = None
    ) -> Page[BlobInfo]:
        """Blob infos in key order, ``limit`` at a time."""
        chunk = await self.backend.list(
            prefix=check_blob_key(prefix, self.resource, prefix=True),
            limit=check_limit(limit, self.resource),
            after=decode_cursor(cursor, resource=self.resource),
        )
        return Page(chunk.items, encode_cursor(chunk.next))
