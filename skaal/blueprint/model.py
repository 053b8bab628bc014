"""The Blueprint: everything an app declared, as frozen, serialisable data.

Decorators record specs on an :class:`~skaal.App`; ``app.blueprint()`` turns
them into a :class:`Blueprint`.  Nothing downstream (solver, builders, runtime
wiring) ever looks at the user's classes again: it reads this record.

All quantities are in canonical units: milliseconds, decimal gigabytes,
events per second, seconds, percent, US dollars per month.  A constraint that
was not declared is ``None`` here (the decorators use a distinct ``UNSET``
sentinel, so an explicit ``None`` from the user is rejected, never confused
with "not declared").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Final, Literal

import msgspec

from skaal.blueprint.canonical import canonical_pieces, records_finite
from skaal.blueprint.record import Record
from skaal.model.grammar import Access, Bound, Consistency, Durability

__all__ = [
    "KINDS",
    "Blueprint",
    "Interface",
    "Kind",
    "MountSpec",
    "Requirements",
    "ResourceSpec",
    "ScheduleSpec",
    "SourceLocation",
]

Kind = Literal["map", "collection", "blob", "queue", "topic", "function", "secret"]

#: Every resource kind, in the order tables print them.
KINDS: tuple[Kind, ...] = ("map", "collection", "blob", "queue", "topic", "function", "secret")


class SourceLocation(Record, frozen=True, kw_only=True):
    """Where the user wrote a declaration."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Requirements(Record, frozen=True, kw_only=True):
    """The constraints of one resource; ``None`` means "not declared".

    Rates are per second.  For a queue or topic, ``writes_per_s`` is the
    declared ``messages`` rate (sends); for a function, ``reads_per_s`` is the
    declared ``invocations`` rate.
    """

    read_latency: Bound | None = None
    write_latency: Bound | None = None
    durability: Durability | None = None
    size_gb: float | None = None
    reads_per_s: float | None = None
    writes_per_s: float | None = None
    consistency: Consistency | None = None
    availability: float | None = None
    residency: str | None = None
    ttl_s: float | None = None
    retention_s: float | None = None
    access: Access | None = None
    ordered: bool | None = None
    max_attempts: int | None = None
    memory_gb: float | None = None
    timeout_s: float | None = None
    backend: str | None = None
    collocate_with: str | None = None

    def declared(self) -> dict[str, object]:
        """The constraints that were declared, by field name."""
        return {k: v for k, v in self if v is not None}


class ScheduleSpec(Record, frozen=True, kw_only=True):
    """When a scheduled function fires: a cron expression or a fixed period."""

    cron: str | None = None
    every_s: float | None = None
    timezone: str = "UTC"

    def __str__(self) -> str:
        if self.cron is not None:
            return f"cron({self.cron}) {self.timezone}"
        return f"every {self.every_s:g}s"


class ResourceSpec(Record, frozen=True, kw_only=True):
    """One declared resource: a piece of state or compute to place on a backend."""

    name: str
    """The qualified name: ``'Carts'`` or ``'billing.Invoices'``."""
    kind: Kind
    requirements: Requirements = Requirements()
    location: SourceLocation
    key_type: str | None = None
    value_type: str | None = None
    key_field: str | None = None
    indexes: tuple[str, ...] = ()
    schedule: ScheduleSpec | None = None
    http: bool = False
    secrets: tuple[str, ...] = ()
    consumes: str | None = None
    """For a function: the queue whose messages it consumes."""
    subscribes: str | None = None
    """For a function: the topic it subscribes to."""
    uses: tuple[str, ...] = ()
    """For a function: the declared maps, collections, blobs, queues and topics its code
    reaches (:mod:`skaal.declare.uses`), with the queue or topic it is triggered by; every
    one of them when its code cannot be read; sorted."""
    python_ref: str | None = None
    """``'module:qualname'`` of the user's object, for builders."""
    existing: str | None = None
    """For a map, collection or blob: the existing table or bucket it adopts, as written
    (:mod:`skaal.declare.existing`); ``None``: the build creates it."""

    @property
    def routed(self) -> bool:
        """Whether the app's HTTP API on AWS routes to this function (``ANY /fn/NAME``): an
        HTTP function started neither by a schedule nor by a queue."""
        return self.kind == "function" and self.http and self.schedule is None and not self.consumes


#: How a mounted application is called: ASGI (``await app(scope, receive, send)``)
#: or WSGI (``app(environ, start_response)``, served through an adapter).
Interface = Literal["asgi", "wsgi"]


class MountSpec(Record, frozen=True, kw_only=True):
    """A web application mounted at a path prefix (:mod:`skaal.declare.mounts`).

    ``interface`` and ``threads`` say how it is served, not what is planned:
    like ``location`` they are left out of the content hash.
    """

    path: str
    python_ref: str
    location: SourceLocation
    interface: Interface = "asgi"
    threads: int | None = None
    """The WSGI app's own thread pool size (``None``: the default; ASGI apps have none)."""


#: The fields of a resource that are not its content (``existing`` is, when declared).
_NOT_RESOURCE_CONTENT: Final = ("location", "uses")
#: The fields of a mount that are not its content: where it was written and how it is served.
_NOT_MOUNT_CONTENT: Final = ("location", "interface", "threads")


#: Resources written to the content hash at a time: about 600 kB of text.
_HASHED_RESOURCES: Final = 1_000


def _resource_content(resources: tuple[ResourceSpec, ...]) -> list[dict[str, Any]]:
    """The resources as the content hash sees them (:meth:`Blueprint.canonical_json`)."""
    dumped: list[dict[str, Any]] = msgspec.to_builtins(resources)
    for resource in dumped:
        existing = resource.pop("existing")
        for name in _NOT_RESOURCE_CONTENT:
            del resource[name]
        if existing is not None:  # only when declared: older blueprints keep their hash
            resource["existing"] = existing
    return dumped


class Blueprint(Record, frozen=True, kw_only=True):
    """Everything an app declared, sorted by name, ready for the solver."""

    app: str
    resources: tuple[ResourceSpec, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    budget_usd_month: float | None = None
    max_backends: int | None = None
    location: SourceLocation | None = None

    def resource(self, name: str) -> ResourceSpec:
        """The resource called ``name``; ``KeyError`` if there is none."""
        by_name = self.memo("by_name", lambda: {spec.name: spec for spec in self.resources})
        try:
            return by_name[name]
        except KeyError:
            raise KeyError(name) from None

    def canonical_json(self) -> str:
        """JSON with sorted keys and no locations: the solver-relevant content.

        A function's ``uses`` is left out too: it is read from the code, not
        declared, and only a function's region depends on it (functions
        follow their data, :mod:`skaal.solver.regions`), never a backend: a
        lock stays fresh when the code moves, and ``skaal plan`` re-places
        the functions.  ``existing`` is there only when declared, so the hash
        of a blueprint that adopts nothing is the one it had before adoption
        existed.
        """
        return b"".join(self._canonical_pieces()).decode("ascii")

    def content_hash(self) -> str:
        """A stable hash of what was declared (moving code around does not change it).

        Computed once per Blueprint: the solver and the lock check both ask.
        Taken over :meth:`canonical_json` in pieces of :data:`_HASHED_RESOURCES`
        resources, never all of it at once: the planner takes it on a second
        CPU while its linear programme solves, when the process is largest.
        """
        return self.memo("content_hash", self._content_hash)

    def _content_hash(self) -> str:
        digest = hashlib.sha256()
        for piece in self._canonical_pieces():
            digest.update(piece)
        return digest.hexdigest()

    def _canonical_pieces(self) -> Iterator[bytes]:
        """The text of :meth:`canonical_json`, the resources a few at a time."""
        head = msgspec.to_builtins(msgspec.structs.replace(self, resources=()))
        del head["location"], head["resources"]
        for mount in head["mounts"]:
            for name in _NOT_MOUNT_CONTENT:
                del mount[name]
        resources = self.resources
        chunks = (
            _resource_content(resources[start : start + _HASHED_RESOURCES])
            for start in range(0, len(resources), _HASHED_RESOURCES)
        )
        return canonical_pieces(head, "resources", chunks, finite=records_finite(self))
