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

import functools
import hashlib
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.main import IncEx

from skaal.blueprint.canonical import all_finite, canonical_text
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


class SourceLocation(Record):
    """Where the user wrote a declaration."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Requirements(Record):
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


class ScheduleSpec(Record):
    """When a scheduled function fires: a cron expression or a fixed period."""

    cron: str | None = None
    every_s: float | None = None
    timezone: str = "UTC"

    def __str__(self) -> str:
        if self.cron is not None:
            return f"cron({self.cron}) {self.timezone}"
        return f"every {self.every_s:g}s"


class ResourceSpec(Record):
    """One declared resource: a piece of state or compute to place on a backend."""

    name: str = Field(description="qualified name: 'Carts' or 'billing.Invoices'")
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
    consumes: str | None = Field(
        default=None, description="for a function: the queue whose messages it consumes"
    )
    subscribes: str | None = Field(
        default=None, description="for a function: the topic it subscribes to"
    )
    uses: tuple[str, ...] = Field(
        default=(),
        description="for a function: the declared maps, collections, blobs, queues and topics "
        "its code reaches (skaal.declare.uses), with the queue or topic it is triggered by; "
        "every one of them when its code cannot be read; sorted",
    )
    python_ref: str | None = Field(
        default=None, description="'module:qualname' of the user's object, for builders"
    )
    existing: str | None = Field(
        default=None,
        description="for a map, collection or blob: the existing table or bucket it adopts, "
        "as written (skaal.declare.existing); None: the build creates it",
    )


#: How a mounted application is called: ASGI (``await app(scope, receive, send)``)
#: or WSGI (``app(environ, start_response)``, served through an adapter).
Interface = Literal["asgi", "wsgi"]


class MountSpec(Record):
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


#: What :meth:`Blueprint.canonical_json` leaves out, told to the serialiser
#: rather than popped from its output: the locations are then never dumped;
#: the text is then written by orjson where that gives the same bytes
#: (:mod:`skaal.blueprint.canonical`).  The resources are dumped apart
#: (:func:`_content_of`).
_EVERY_MOUNT: dict[str, IncEx | bool] = {"__all__": {"location", "interface", "threads"}}
_NOT_CONTENT: dict[str, IncEx | bool] = {
    "location": True,
    "resources": True,
    "mounts": _EVERY_MOUNT,
}
#: The fields of a resource that are not its content (``existing`` is, when declared).
_NOT_RESOURCE_CONTENT: Final = frozenset({"location", "uses", "existing"})
_RESOURCE_CONTENT: Final = tuple(
    name for name in ResourceSpec.model_fields if name not in _NOT_RESOURCE_CONTENT
)
#: Values written as they are; never a float, which the hash must look at.
_SCALARS: Final = frozenset({str, bool, int, type(None)})


@functools.cache
def _requirements_list() -> TypeAdapter[list[Requirements]]:
    """Dumps many ``Requirements`` in one call (built on first use, not at import)."""
    return TypeAdapter(list[Requirements])


def _requirements_dumped(resources: tuple[ResourceSpec, ...]) -> dict[int, dict[str, Any]]:
    """The dump of every distinct ``Requirements`` of ``resources``, by identity, in one call.

    An app whose declarations write their own sizes and rates has about as
    many records as resources: one call for all of them costs less than a
    call of ``model_dump`` for each.
    """
    distinct = {id(spec.requirements): spec.requirements for spec in resources}
    dumped = _requirements_list().dump_python(list(distinct.values()), mode="json")
    return dict(zip(distinct, dumped, strict=True))


def _content_of(spec: ResourceSpec, records: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """``spec.model_dump(mode="json")`` without its locations and ``uses``, built cheaply.

    The resources of an app share their ``Requirements`` (the declarations
    that write the same constraints share one record), so each nested record
    is dumped once, into ``records`` (by identity: every one stays alive in
    the blueprint meanwhile); the other fields are strings, flags and tuples
    of strings, written as the dump writes them (a tuple as a list).  A
    value of any other type (a float too) makes the whole resource go through
    pydantic's dump, kept in ``records`` as well: ``records`` then holds every
    float of the resources, which is where the hash looks for infinities.
    """
    fields = spec.__dict__
    content: dict[str, Any] = {}
    for name in _RESOURCE_CONTENT:
        value = fields[name]
        kind = type(value)
        if kind in _SCALARS:
            content[name] = value
        elif kind is tuple and _SCALARS.issuperset(map(type, value)):
            content[name] = list(value)
        elif isinstance(value, BaseModel):
            dumped = records.get(id(value))
            if dumped is None:
                dumped = records[id(value)] = value.model_dump(mode="json")
            content[name] = dumped
        else:
            dumped = spec.model_dump(mode="json", exclude=set(_NOT_RESOURCE_CONTENT))
            records[id(spec)] = dumped
            return dumped
    return content


class Blueprint(Record):
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
        data = self.model_dump(mode="json", exclude=_NOT_CONTENT)
        records = _requirements_dumped(self.resources)
        resources = data["resources"] = [_content_of(spec, records) for spec in self.resources]
        for spec, dumped in zip(self.resources, resources, strict=True):
            if spec.existing is not None:  # only when declared: older blueprints keep their hash
                dumped["existing"] = spec.existing
        # floats are only in the nested records and the app's own fields: looked at there
        top = {key: value for key, value in data.items() if key != "resources"}
        return canonical_text(data, finite=all_finite([top, *records.values()]))

    def content_hash(self) -> str:
        """A stable hash of what was declared (moving code around does not change it).

        Computed once per Blueprint: the solver and the lock check both ask.
        """
        return self.memo(
            "content_hash", lambda: hashlib.sha256(self.canonical_json().encode()).hexdigest()
        )
