"""The ``firestore`` backend: Maps and Collections in Google Cloud Firestore.

Each resource is one collection named by :func:`gcp_name` (``<prefix><app>-
<resource>``).  A Map entry is a head document plus, for large values, parts
(see :mod:`skaal.runtime.backends.gcp_firestore_values`); a Collection is
served by :mod:`skaal.runtime.backends.gcp_firestore_documents`.

Atomicity is optimistic and server-checked, without transactions:

* ``compare_and_set`` reads the head, compares, then commits the new
  documents with a precondition -- "does not exist" when the key was absent,
  "last updated at T" (the head's ``update_time`` as read) otherwise.  A
  concurrent writer changes ``update_time``, so the commit fails and the
  method answers ``False``; the Map client retries.
* ``increment`` on a live counter is one ``Increment`` transform, applied by
  the server, whose result comes back in the write result; an absent or
  expired key (or a non-counter value) takes the compare-and-set path.

An entry written with a ``ttl`` has ``exp`` on its head; ``remaining_ttl``
tells the time left from it, so ``skaal migrate`` copies the entry with its
time to live.

The Google client is synchronous: every call runs on the provider's bounded
thread pool (:class:`~skaal.runtime.backends.gcp_common.Offload`), under one
deadline, with the client's own retries off.  Reads and blind writes (``set``:
the same documents again) are retried after a timeout; ``increment`` (an
``Increment`` applied twice would count twice), ``compare_and_set`` and
``delete`` (a repeat would answer ``False`` for a write that happened) are
not: after they may have reached Firestore they raise
:class:`~skaal.runtime.errors.OutcomeUnknownError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from skaal.blueprint.model import ResourceSpec
from skaal.plan.wiring import firestore_database
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.backends.gcp_common import (
    GcpBackendError,
    Offload,
    gcp_name,
    gcp_native,
    gcp_project,
    rpc,
)
from skaal.runtime.backends.gcp_firestore_values import (
    PART,
    doc_id,
    expires_at,
    is_live,
    layout,
    part_id,
    replacing,
    time_left,
)
from skaal.runtime.backends.memory import prefix_end
from skaal.runtime.errors import ConflictError, StoredValueError
from skaal.runtime.ports import (
    BackendSettings,
    Chunk,
    Clock,
)
from skaal.runtime.retry import RetryPolicy, Safety

if TYPE_CHECKING:
    from google.cloud.firestore import Client, CollectionReference, DocumentSnapshot

    from skaal.declare.native import Native
    from skaal.runtime.backends.gcp_firestore_documents import FirestoreDocuments

__all__ = ["FirestoreKeyValue", "FirestoreProvider", "firestore_client"]

T = TypeVar("T")

_ATTEMPTS = 200
"""Optimistic rounds before an operation that must succeed gives up."""

_BATCH_BYTES = 3 * PART
"""Bytes per commit: under the 4 MiB gRPC message limit of the emulator and clients."""
_PARTS_PER_COMMIT = 3
_BATCH_WRITES = 400


def firestore_client(env: Mapping[str, str], region: str | None = None) -> Client:
    """A Firestore client for Google, or for the emulator at ``FIRESTORE_EMULATOR_HOST``,
    on the database of ``region``'s resources (:func:`skaal.plan.wiring.firestore_database`)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    host = env.get("FIRESTORE_EMULATOR_HOST")
    project = gcp_project(env, emulator=host is not None, service="Firestore")
    database = firestore_database(env, region)
    if host is None:
        return firestore.Client(project=project, database=database)
    client = firestore.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        database=database,
    )
    # The library reads the emulator address only from os.environ; this
    # provider is configured from its settings, so it sets the same attribute.
    client._emulator_host = host
    return client


class FirestoreKeyValue:
    """A ``KeyValueBackend`` on one Firestore collection."""

    def __init__(
        self, client: Client, offload: Offload, *, collection: str, resource: str, clock: Clock
    ) -> None:
        self._client = client
        self._offload = offload
        self._col: CollectionReference = client.collection(collection)
        self._resource = resource
        self._clock = clock

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def native(self) -> Native[Client]:
        """Entry ``key`` is the document whose field ``k`` is ``key`` (see gcp_firestore_values)."""
        return gcp_native(self._client, "firestore", "map", self._resource, collection=self._col.id)

    async def _run(self, fn: Callable[[], T], what: str, safety: Safety) -> T:
        return await self._offload.run(fn, what=what, where=self._resource, safety=safety)

    # -- reading (worker threads) ------------------------------------------------
    def _live(self, snap: DocumentSnapshot[Any]) -> bool:
        return is_live(snap, self._clock())

    def _value(self, snap: DocumentSnapshot[Any]) -> bytes | None:
        """The value of a live head, or ``None`` if a part raced a writer."""
        data = snap.to_dict() or {}
        if "n" in data:
            return str(data["n"]).encode()
        head: bytes = data["v"]
        parts = int(data.get("parts", 1))
        if parts == 1:
            return head
        parts_of = snap.reference.collection("p")
        refs = [parts_of.document(part_id(data["ver"], i)) for i in range(1, parts)]
        found = {s.id: s for s in self._client.get_all(refs, **rpc())}
        chunks = [head]
        for i in range(1, parts):
            part = found.get(part_id(data["ver"], i))
            if part is None or not part.exists:
                return None
            chunks.append(part.get("v"))
        return b"".join(chunks)

    def _read(self, key: str) -> tuple[DocumentSnapshot[Any], bytes | None]:
        ref = self._col.document(doc_id(key))
        for _ in range(_ATTEMPTS):
            snap = ref.get(**rpc())
            if not self._live(snap):
                return snap, None
            value = self._value(snap)
            if value is not None:
                return snap, value
        raise ConflictError(
            f"reading {key!r} in {self._resource} kept racing writers of a large value",
            where=self._resource,
            fix="reduce concurrent rewrites of large values",
        )

    # -- writing (worker threads) ------------------------------------------------
    def _write(self, key: str, value: bytes, ttl: float | None, base: Any) -> bool:
        """Write ``key = value``; ``False`` if the precondition on the head failed.

        ``base`` is the head as last read (it must be unchanged), ``None`` for a
        blind write, or ``False`` when the key must not exist.  Parts are
        committed before the head, a few per commit; see the layout module.
        """
        from google.api_core import exceptions as gexc
        from google.cloud import firestore

        ref = self._col.document(doc_id(key))
        docs = layout(key, value, expires_at(self._clock(), ttl), resource=self._resource)
        staged = [ref.collection("p").document(name) for name, _ in docs.parts]
        for i in range(0, len(docs.parts), _PARTS_PER_COMMIT):
            batch = self._client.batch()
            for (_, fields), part in zip(
                docs.parts[i : i + _PARTS_PER_COMMIT],
                staged[i : i + _PARTS_PER_COMMIT],
                strict=True,
            ):
                batch.set(part, fields)
            batch.commit(**rpc())
        try:
            if base is None:
                ref.set(docs.head, **rpc())
            elif base is False or not base.exists:
                ref.create(docs.head, **rpc())
            else:
                option = self._client.write_option(last_update_time=base.update_time)
                ref.update(replacing(docs.head, firestore.DELETE_FIELD), option=option, **rpc())
        except (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.NotFound, gexc.Aborted):
            self._delete_parts(staged)
            return False
        replaced_parts = base is not None and base is not False and base.exists
        if staged or (replaced_parts and "parts" in (base.to_dict() or {})):
            keep = {part.id for part in staged}
            self._delete_parts(
                [p for p in ref.collection("p").list_documents(**rpc()) if p.id not in keep]
            )
        return True

    def _delete_parts(self, refs: Sequence[Any]) -> None:
        for i in range(0, len(refs), _BATCH_WRITES):
            batch = self._client.batch()
            for part in refs[i : i + _BATCH_WRITES]:
                batch.delete(part)
            batch.commit(**rpc())

    def _set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        batch = self._client.batch()
        size = writes = 0
        expiry = expires_at(self._clock(), ttl)
        for key, value in items.items():
            docs = layout(key, value, expiry, resource=self._resource)
            if docs.parts:
                self._write(key, value, ttl, None)
                continue
            if writes and (size + len(value) > _BATCH_BYTES or writes >= _BATCH_WRITES):
                batch.commit(**rpc())
                batch = self._client.batch()
                size = writes = 0
            batch.set(self._col.document(doc_id(key)), docs.head)
            size += len(value) + 2 * len(key.encode()) + 256
            writes += 1
        if writes:
            batch.commit(**rpc())

    def _increment(self, key: str, by: int, ttl: float | None) -> int:
        from google.api_core import exceptions as gexc
        from google.cloud import firestore

        ref = self._col.document(doc_id(key))
        for attempt in range(_ATTEMPTS):
            snap, current = self._read(key)
            if current is not None and "n" in (snap.to_dict() or {}):
                expiry = expires_at(self._clock(), ttl)
                try:
                    result = ref.update(
                        {
                            "n": firestore.Increment(by),
                            "exp": firestore.DELETE_FIELD if expiry is None else expiry,
                        },
                        **rpc(),
                    )
                except gexc.NotFound:
                    continue
                return int(result.transform_results[0].integer_value)
            try:
                new = (0 if current is None else int(current)) + by
            except ValueError:
                raise StoredValueError(
                    f"increment of {key!r} in {self._resource}: the stored value is not an int",
                    where=self._resource,
                    fix="set the key to an int (or delete it) before incrementing",
                ) from None
            if self._write(key, str(new).encode(), ttl, snap):
                return new
            time.sleep(min(0.05, 0.001 * (attempt + 1)))
        raise ConflictError(
            f"increment of {key!r} in {self._resource} lost to concurrent writers "
            f"{_ATTEMPTS} times",
            where=self._resource,
            fix="reduce contention on this key",
        )

    def _delete(self, key: str) -> bool:
        from google.api_core import exceptions as gexc

        ref = self._col.document(doc_id(key))
        for _ in range(_ATTEMPTS):
            snap = ref.get(**rpc())
            if not snap.exists:
                return False
            batch = self._client.batch()
            batch.delete(ref, option=self._client.write_option(last_update_time=snap.update_time))
            for part in ref.collection("p").list_documents(**rpc()):
                batch.delete(part)
            try:
                batch.commit(**rpc())
            except gexc.FailedPrecondition:
                continue
            return self._live(snap)
        raise ConflictError(
            f"delete of {key!r} in {self._resource} lost to concurrent writers {_ATTEMPTS} times",
            where=self._resource,
            fix="reduce contention on this key",
        )

    def _scan(self, prefix: str, limit: int, after: str | None) -> Chunk[tuple[str, bytes]]:
        from google.cloud.firestore import FieldFilter

        lower, op = prefix, ">="
        if after is not None and after >= prefix:
            lower, op = after, ">"
        end = prefix_end(prefix) if prefix else None
        out: list[tuple[str, bytes]] = []
        while True:
            query = self._col.where(filter=FieldFilter("k", op, lower))
            if end is not None:
                query = query.where(filter=FieldFilter("k", "<", end))
            snaps = list(query.order_by("k").limit(limit + 1).stream(**rpc()))
            for snap in snaps:
                if not self._live(snap):
                    continue
                key: str = snap.get("k")
                value = self._value(snap)
                if value is None:
                    _, value = self._read(key)
                if value is None:
                    continue
                out.append((key, value))
                if len(out) > limit:
                    return Chunk(tuple(out[:limit]), out[limit - 1][0])
            if len(snaps) <= limit:
                return Chunk(tuple(out), None)
            lower, op = snaps[-1].get("k"), ">"

    def _get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        refs = [self._col.document(doc_id(k)) for k in dict.fromkeys(keys)]
        found: dict[str, bytes] = {}
        for snap in self._client.get_all(refs, **rpc()):
            if not self._live(snap):
                continue
            key: str = snap.get("k")
            value = self._value(snap)
            if value is None:
                _, value = self._read(key)
            if value is not None:
                found[key] = value
        return found

    # -- the port ------------------------------------------------------------------
    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        """The ``exp`` of each live entry of ``keys`` that expires, from the heads (one
        batched read)."""
        if not keys:
            return {}
        client, col = self._client, self._col

        def read() -> dict[str, float]:
            return time_left(client, col, keys, self._clock())

        return await self._run(read, "read the expiry of entries", Safety.READ)

    async def get(self, key: str) -> bytes | None:
        return (await self._run(lambda: self._read(key), "read a key", Safety.READ))[1]

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        return await self._run(lambda: self._get_many(keys), "read keys", Safety.READ)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._run(lambda: self._set_many({key: value}, ttl), "write a key", Safety.IDEMPOTENT)

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        if items:
            await self._run(lambda: self._set_many(items, ttl), "write keys", Safety.IDEMPOTENT)

    async def delete(self, key: str) -> bool:
        return await self._run(lambda: self._delete(key), "delete a key", Safety.UNSAFE)

    async def contains(self, key: str) -> bool:
        ref = self._col.document(doc_id(key))
        return await self._run(lambda: self._live(ref.get(**rpc())), "read a key", Safety.READ)

    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        return await self._run(lambda: self._scan(prefix, limit, after), "scan keys", Safety.READ)

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        return await self._run(
            lambda: self._increment(key, by, ttl), "increment a key", Safety.UNSAFE
        )

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        def cas() -> bool:
            snap, current = self._read(key)
            return current == expected and self._write(key, value, ttl, snap)

        return await self._run(cas, "compare and set a key", Safety.UNSAFE)


class FirestoreProvider(UnsupportedKinds):
    """The ``firestore`` implementation: one client and thread pool per runtime."""

    implementation = "firestore"

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self._offload = Offload("firestore", policy=RetryPolicy.from_env(settings.env))
        self._client: Client | None = None

    async def open(self) -> None:
        if self._client is None:
            self._client = firestore_client(self.settings.env, self.settings.region)
        self._offload.open()

    async def close(self) -> None:
        self._offload.close()
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None

    def _collection(self, spec: ResourceSpec) -> tuple[Client, str]:
        if self._client is None:
            raise GcpBackendError(
                f"the firestore provider was used for {spec.name} before it was opened",
                where=spec.name,
                fix="open the runtime (async with Runtime(...)) before using the resource",
            )
        prefix = self.settings.env.get("SKAAL_GCP_NAME_PREFIX", "")
        return self._client, gcp_name(self.settings.name_base, spec.name, prefix=prefix)

    def key_value(self, spec: ResourceSpec) -> FirestoreKeyValue:
        client, collection = self._collection(spec)
        return FirestoreKeyValue(
            client,
            self._offload,
            collection=collection,
            resource=spec.name,
            clock=self.settings.clock,
        )

    def documents(self, spec: ResourceSpec) -> FirestoreDocuments:
        from skaal.runtime.backends.gcp_firestore_documents import FirestoreDocuments

        client, collection = self._collection(spec)
        return FirestoreDocuments(
            client,
            self._offload,
            collection=collection,
            resource=spec.name,
            clock=self.settings.clock,
        )
