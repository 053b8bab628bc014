"""Blob keys against the object-name limits of S3 and Cloud Storage.

The client (:func:`skaal.runtime.clients.blob.check_blob_key`) already
refuses what no store may hold: control characters (carriage return and line
feed among them), backslashes, empty, ``.`` or ``..`` segments (so the whole
names ``.`` and ``..`` too) and keys over 1,024 *characters*.  What is left
is where the cloud stores count differently:

* S3: an object key is at most 1,024 bytes of UTF-8;
* Cloud Storage: an object name is at most 1,024 bytes of UTF-8 and may not
  start with ``.well-known/acme-challenge/``.

A character outside ASCII takes 2 to 4 bytes, so a key the client accepts
can be up to four times too long for the store.  :class:`ObjectKeyRules`
checks the object key as the store will receive it, before any request:
``put`` raises :class:`~skaal.runtime.errors.BlobKeyError` before any of the
body is read; ``stat``, ``open_read`` and ``delete`` of a key the store
cannot hold find nothing, and a listing under a prefix no object can have is
empty -- as the ``filesystem`` backend does for keys its disk cannot name.
"""

from __future__ import annotations

from msgspec import Struct

from skaal.runtime.errors import BlobKeyError

__all__ = ["GCS_OBJECT_NAMES", "S3_OBJECT_KEYS", "ObjectKeyRules"]

_SHOWN = 60


class ObjectKeyRules(Struct, frozen=True):
    """The limits a cloud store puts on object keys, beyond the client's own checks."""

    what: str
    """What the store calls a key, e.g. ``"S3 object keys"``."""
    max_bytes: int = 1024
    reserved_prefixes: tuple[str, ...] = ()

    def problem(self, key: str) -> tuple[str, str] | None:
        """Why the store cannot hold ``key`` and how to fix it, or ``None`` if it can."""
        size = len(key.encode("utf-8"))
        if size > self.max_bytes:
            return (
                f"it takes {size:,} bytes of UTF-8; {self.what} hold at most "
                f"{self.max_bytes:,} bytes",
                f"shorten the key to {self.max_bytes:,} bytes of UTF-8 or fewer "
                "(a character outside ASCII counts 2 to 4 bytes, e.g. 'é' is 2)",
            )
        for reserved in self.reserved_prefixes:
            if key.startswith(reserved):
                return (
                    f"{self.what} may not start with {reserved!r}",
                    f"store it under another prefix than {reserved!r}",
                )
        return None

    def check(self, key: str, resource: str) -> str:
        """``key``, or a :class:`BlobKeyError` naming the limit it breaks and the fix."""
        found = self.problem(key)
        if found is None:
            return key
        problem, fix = found
        shown = key if len(key) <= _SHOWN else key[: _SHOWN - 3] + "..."
        raise BlobKeyError(
            f"blob key {shown!r} for {resource} is rejected: {problem}",
            where=resource,
            fix=fix,
        )

    def holds(self, key: str) -> bool:
        """Whether an object named ``key`` can exist in the store."""
        return self.problem(key) is None

    def may_prefix(self, prefix: str) -> bool:
        """Whether some object the store can hold starts with ``prefix``."""
        if len(prefix.encode("utf-8")) > self.max_bytes:
            return False
        return not any(prefix.startswith(reserved) for reserved in self.reserved_prefixes)


S3_OBJECT_KEYS = ObjectKeyRules("S3 object keys")
GCS_OBJECT_NAMES = ObjectKeyRules(
    "Cloud Storage object names", reserved_prefixes=(".well-known/acme-challenge/",)
)
