"""The escape hatch's record and marker type, below the runtime.

``await Carts.native(REDIS)`` returns a :class:`Native` record; ``REDIS`` is a
:class:`Backend` marker.  The markers themselves, typed with each client, are
defined in :mod:`skaal.native` (the public module); this module holds what the
declarations and the runtime share, so neither imports the other: the record,
the marker type, the two client wrappers Skaal defines, and the markers'
registration (a marker registers itself when created, and :func:`marker_of`
finds it by implementation name for the runtime's messages).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from msgspec import Struct, field
from msgspec.structs import force_setattr

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from google.cloud.pubsub_v1 import (  # type: ignore[import-untyped, unused-ignore]
        PublisherClient,
        SubscriberClient,
    )

    from skaal.blueprint.model import Kind
    from skaal.declare.resources import Resource

__all__ = ["Backend", "Native", "PubsubClients", "SqliteDatabase", "marker_of"]

C = TypeVar("C")
C_co = TypeVar("C_co", covariant=True)
R_contra = TypeVar("R_contra", bound="Resource", contravariant=True)
T = TypeVar("T")

#: Every marker created, by implementation (the first one for a name wins).
_MARKERS: dict[str, Backend[Any, Any]] = {}


class Native(Struct, Generic[C_co], frozen=True):
    """The client of one resource's backend and where the resource lives on it."""

    client: C_co
    """The client Skaal uses for this resource (shared: do not close it)."""
    backend: str
    """The implementation the plan bound the resource to, e.g. ``"redis"``."""
    resource: str
    """The resource's logical name, e.g. ``"Carts"`` or ``"billing.Invoices"``."""
    kind: Kind
    """``"map"``, ``"collection"``, ``"blob"``, ``"queue"`` or ``"topic"``."""
    name: str
    """The physical name a native command names to reach this resource's data."""
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Every physical name of the resource, by role (``name`` among them)."""

    def __post_init__(self) -> None:
        force_setattr(self, "names", MappingProxyType(dict(self.names)))


class Backend(Struct, Generic[C, R_contra], frozen=True):
    """A backend marker: ``native(REDIS)`` asks for the Redis client, typed as such.

    ``C`` is the client's type; ``R_contra`` the resource classes it can serve.
    """

    implementation: str
    """The implementation's name in :data:`skaal.registry.DEFAULT_REGISTRY`."""
    constant: str
    """The marker's name in :mod:`skaal.native`, for messages."""

    def __post_init__(self) -> None:
        _MARKERS.setdefault(self.implementation, self)

    def __repr__(self) -> str:
        return f"skaal.native.{self.constant}"


class SqliteDatabase:
    """The app's SQLite file as Skaal holds it: run a function on its database thread.

    ``await db.run(lambda conn: conn.execute(sql, params).fetchall())`` runs on
    the thread that owns the writer connection (autocommit: ``BEGIN
    IMMEDIATE`` ... ``COMMIT`` yourself for several statements), queued with
    Skaal's own writes and bounded by the same call deadline.  Keep the
    function short: Skaal's writes wait for it.
    """

    __slots__ = ("_runner", "path")

    def __init__(
        self,
        path: Path,
        runner: Callable[[Callable[[sqlite3.Connection], Any], str], Awaitable[Any]],
    ) -> None:
        self.path = path
        """The database file."""
        self._runner = runner

    def __repr__(self) -> str:
        return f"SqliteDatabase({str(self.path)!r})"

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the database thread; its result."""
        result: T = await self._runner(fn, "native call")
        return result


class PubsubClients(Struct, frozen=True):
    """The two Pub/Sub clients a topic or queue uses (synchronous, shared)."""

    publisher: PublisherClient
    subscriber: SubscriberClient


def marker_of(implementation: str) -> Backend[Any, Any] | None:
    """The marker of ``implementation`` (a registry name), ``None`` if it has none.

    The markers of :mod:`skaal.native` are all registered once it is imported.
    """
    return _MARKERS.get(implementation)
