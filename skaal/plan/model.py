"""The Plan: which backend serves each resource, at what cost, and why.

Produced by :func:`skaal.solver.solve`, written to ``skaal.lock``, read by the
builders and the runtime.  Frozen and canonical: the same inputs give the same
plan and therefore the same :meth:`Plan.content_hash`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

from skaal.blueprint.canonical import canonical_text, records_finite
from skaal.blueprint.model import Kind
from skaal.blueprint.record import Record
from skaal.catalog.model import LATER_PRICE_COMPONENTS, Price, PriceItem, Provider
from skaal.model.grammar import Consistency

__all__ = [
    "BUILDABLE_SCHEMA_VERSION",
    "EVENTUAL_PREFIX",
    "INDEXES_PREFIX",
    "PLAN_SCHEMA_VERSION",
    "READABLE_SCHEMA_VERSIONS",
    "STATED_COMPONENT",
    "Backup",
    "Binding",
    "BindingStatus",
    "CostLine",
    "Plan",
    "PlanStatus",
    "Provisioned",
    "Retention",
    "SharedInstance",
    "Transfer",
    "UsedPrice",
]

PLAN_SCHEMA_VERSION = 7
READABLE_SCHEMA_VERSIONS = (2, 3, 4, 5, 6, 7)
"""Lock schemas this Skaal reads.  Schema 6 lacks only the data a function
exchanges with another region (:attr:`Binding.transfers`) and its price
(``Price.inter_region_per_gb``): its functions were placed in the catalog's
default region, whatever their data.  Schema 5 also lacks the adopted
resources (:attr:`Binding.adopted`), so a schema-5 lock is one that adopts
nothing and is built as it is.  Schema 4 also lacks the backups and
retention the build provisions (:attr:`Binding.backup`,
:attr:`Binding.retention`, :attr:`SharedInstance.backup`,
:attr:`Plan.log_retention_days`) and the prices of what the build creates
around the resources (logs, the HTTP API, schedules, backups, server
secrets); schema 3 also the served consistency (:attr:`Binding.consistency`)
and the price of eventual reads (``Price.eventual_reads``); schema 2 also the
capacity-mode and instance-class prices (:attr:`UsedPrice.mode`,
:attr:`UsedPrice.classes`).  Such a plan is read as it was written, keeps
its hash (see :meth:`Plan.canonical_json`) and still anchors stability, so
upgrading Skaal never forces ``--reoptimize``; its reads were planned,
priced and are issued as it says; the next ``skaal plan`` writes it as
schema 7."""

BUILDABLE_SCHEMA_VERSION = 5
"""The oldest lock schema a build reads: the builders provision backups and
retention from the plan alone, and an older lock does not record them
(``skaal plan`` adds them without moving anything)."""

EVENTUAL_PREFIX: Final = "eventual "
"""Prefix of a read line counted in eventual read units (``eventual per_million_reads``):
its quantity is the reads times the price's ``eventual_reads`` factor."""

INDEXES_PREFIX: Final = "indexes "
"""Prefix of the line a collection's secondary indexes add after a table line they copy
(``indexes per_gb_month``, ``indexes eventual per_read_per_s_month``): its quantity is
the table line's times the indexes times the price's ``index_copies`` factor."""

STATED_COMPONENT: Final = "stated by existing= cost="
"""The cost line of a resource on an adopted database server whose ``existing=``
states ``cost=AMOUNT/month``: what the server costs the app, as its owner states it."""


class _Lacks(Struct, frozen=True):
    """The fields of each record an older schema did not have."""

    plan: tuple[str, ...] = ()
    binding: tuple[str, ...] = ()
    instance: tuple[str, ...] = ()
    price: tuple[str, ...] = ()
    used: tuple[str, ...] = ()

    def __add__(self, other: _Lacks) -> _Lacks:
        return _Lacks(
            plan=self.plan + other.plan,
            binding=self.binding + other.binding,
            instance=self.instance + other.instance,
            price=self.price + other.price,
            used=self.used + other.used,
        )


#: Added by schema 5: what the build keeps, and the prices of what it creates around.
_KEPT = _Lacks(
    plan=("log_retention_days",),
    binding=("backup", "retention"),
    instance=("backup",),
    price=(
        "backup_per_gb_month",
        "log_ingestion_per_gb",
        "log_storage_per_gb_month",
        "per_million_http_requests",
        "per_million_scheduled_runs",
        "per_scheduled_job_month",
        "per_instance_month",
        "message_storage_per_gb_month",
    ),
)
#: Added by schema 7: what crosses regions, and its price.
_TRANSFER = _Lacks(binding=("transfers",), price=("inter_region_per_gb",))
#: Added by schema 6: the existing resources a plan adopts.
_ADOPTED = _Lacks(binding=("adopted",))
#: Added by schema 4: the served consistency and the price of eventual reads.
_CONSISTENCY = _Lacks(binding=("consistency",), price=("eventual_reads",))
#: Fields each older schema did not have.
_ADDED_SINCE: Final[dict[int, _Lacks]] = {
    2: _TRANSFER + _ADOPTED + _KEPT + _CONSISTENCY + _Lacks(used=("mode", "classes")),
    3: _TRANSFER + _ADOPTED + _KEPT + _CONSISTENCY,
    4: _TRANSFER + _ADOPTED + _KEPT,
    5: _TRANSFER + _ADOPTED,
    6: _TRANSFER,
}

BindingStatus = Literal["chosen", "kept", "pinned"]
"""``chosen`` by optimisation, ``pinned`` by the user, ``kept`` where the previous lock
placed it although a fresh optimisation would move it (its reason says where to).

A resource the optimum places where the lock already had it is ``chosen``, with the
optimiser's reason: the plan is a function of the declarations, the catalog, the pins
and the placements it must hold, never of how often it was planned, so re-planning
unchanged inputs writes a byte-identical lock.  Which resources stayed where the last
lock put them is a fact about one run, reported by :class:`skaal.plan.diff.PlanDiff`."""

PlanStatus = Literal["optimal", "best_found"]
"""``best_found``: a plan that the planner could not prove cheapest (bin packing it could
not close within its work limit); ``lower_bound`` then says how far it can be from optimal."""


class CostLine(Record, frozen=True, kw_only=True):
    """One price component applied to one resource's workload.

    ``component`` is the catalog's component name (``per_million_reads``), or
    it prefixed by what changes its quantity: ``eventual`` (read units of an
    eventually consistent resource, :data:`EVENTUAL_PREFIX`), ``indexes`` (the
    copies a collection's secondary indexes add, :data:`INDEXES_PREFIX`),
    ``volume floor`` (a server's disk floor), or ``instance CLASS`` for a class fee.
    """

    component: str
    quantity: float
    """Workload quantity in the component's unit."""
    monthly: float
    region: str | None = None
    """The region a network line is paid in (one VPC per region holding a server,
    skaal.plan.network); None on a resource's or an instance's lines."""


class Provisioned(Record, frozen=True, kw_only=True):
    """Capacity provisioned for a resource on a provisioned-mode backend (DynamoDB).

    The table's: the build gives each secondary index of a collection the same, which
    its ``indexes`` cost lines price (:data:`INDEXES_PREFIX`)."""

    reads_per_s: Annotated[int, Meta(ge=1)]
    """Read capacity (e.g. DynamoDB RCUs)."""
    writes_per_s: Annotated[int, Meta(ge=1)]
    """Write capacity (e.g. DynamoDB WCUs)."""
    target_utilisation: Annotated[float, Meta(gt=0, le=1)]


class Backup(Record, frozen=True, kw_only=True):
    """Point-in-time recovery of a resource's data, as the build switches it on.

    DynamoDB's continuous backups, Firestore's PITR, the automated backups of
    an RDS or Cloud SQL instance: each restores the data to any moment of the
    last ``retention_days`` days.  Chosen by :mod:`skaal.plan.retention`.
    """

    retention_days: Annotated[int, Meta(ge=1)]
    """How far back the data can be restored."""


class Retention(Record, frozen=True, kw_only=True):
    """How long a resource keeps what it holds, where the build sets a time.

    Chosen by :mod:`skaal.plan.retention` from the declarations (``retention=``,
    ``durability=``) or its documented defaults; ``None``: nothing to set.
    """

    messages_s: Annotated[int, Meta(ge=1)] | None = None
    """Queue or topic: how long an unconsumed message is kept."""
    dead_letters_s: Annotated[int, Meta(ge=1)] | None = None
    """Queue: how long a dead letter is kept."""
    versions_days: Annotated[int, Meta(ge=1)] | None = None
    """Blob store: how long an overwritten or deleted object stays recoverable."""


class Transfer(Record, frozen=True, kw_only=True):
    """Data a function exchanges each month with a resource it uses in another region.

    The volume follows the rule of :mod:`skaal.solver.regions` (declared
    traffic times a default item size); the function's binding prices it as
    its ``inter_region_per_gb`` cost line.
    """

    resource: str
    """The resource reached across regions."""
    region: str
    """The region that resource lives in."""
    gb_month: Annotated[float, Meta(ge=0)]
    """GB a month between the two, both directions."""


class Binding(Record, frozen=True, kw_only=True):
    """One resource placed on one backend."""

    resource: str
    kind: Kind
    backend: str
    implementation: str
    region: str
    instance: str | None = None
    """Shared instance id, e.g. 'redis#1'; None if dedicated."""
    mode: str | None = None
    """Capacity mode of a dedicated backend offering several."""
    provisioned: Provisioned | None = None
    """Capacity to provision in a provisioned mode."""
    consistency: Consistency | None = None
    """The consistency its reads are served (and priced) with: maps and collections only;
    None for other kinds and in locks before schema 4 (strong reads)."""
    monthly_cost: float
    """This resource's own cost (not shared fixed fees)."""
    cost: tuple[CostLine, ...] = ()
    status: BindingStatus = "chosen"
    reason: str
    backup: Backup | None = None
    """Point-in-time recovery the build switches on, if any."""
    retention: Retention | None = None
    """How long the build keeps what it holds, if it sets a time."""
    adopted: str | None = None
    """The physical name of the existing table or bucket it adopts (existing=,
    skaal.declare.existing): the build references it and never creates or deletes it;
    None: the build creates the resource."""
    moving_from: Binding | None = None
    """A pending move (skaal.plan.moves): the binding whose backend still holds this
    resource's data until `skaal migrate` copies it here; the runtime serves it there."""
    transfers: tuple[Transfer, ...] | None = None
    """A function: the resources it uses in another region, and the data exchanged with each
    (priced as its inter_region_per_gb line); None if none."""

    def __post_init__(self) -> None:
        """The checks across fields, made where the binding is made (and read)."""
        super().__post_init__()
        if self.consistency is not None and self.kind not in ("map", "collection"):
            raise ValueError(f"a {self.kind} has no read consistency; only maps and collections")
        origin = self.moving_from
        if origin is not None and (
            origin.resource != self.resource
            or origin.kind != self.kind
            or origin.moving_from is not None
        ):
            raise ValueError(
                f"moving_from of {self.resource} must be a binding of the same resource and "
                "kind, with no move of its own"
            )


class SharedInstance(Record, frozen=True, kw_only=True):
    """One instance of a server backend, its size, and the resources it hosts.

    ``fixed_monthly`` is everything the instance costs besides its resources'
    own lines: the class fee per node (``1 + replicas`` nodes), the backend's
    ``per_instance_month`` (the secret holding its credentials) and, on a disk
    server, the volume floor ``min_disk_gb`` at the backend's ``per_gb_month``.
    ``disk_gb`` is the volume to provision (the floor plus the data placed on
    it, rounded up to a whole GB); ``None`` for a memory store.
    """

    id: str
    backend: str
    instance_class: str
    replicas: Annotated[int, Meta(ge=0)] = 0
    disk_gb: Annotated[int, Meta(ge=1)] | None = None
    connections: int | None = None
    parameters: dict[str, str | int | float] = msgspec.field(default_factory=dict)
    fixed_monthly: float
    cost: tuple[CostLine, ...] = ()
    resources: tuple[str, ...]
    backup: Backup | None = None
    """The instance's automated backups, if the build makes any."""


class UsedPrice(Record, frozen=True, kw_only=True):
    """A catalog price the plan uses, frozen into the lock with its sources and dates.

    One entry per backend and capacity mode the bindings use: ``price`` is the
    mode's price (``mode`` set) or the backend's own (``mode`` ``None``).  A
    server backend's entry also holds the per-node price of each instance
    class its instances use, so every line of the plan (``skaal cost``) can
    name the published figure it was computed from without the catalog.
    """

    backend: str
    mode: str | None = None
    """Capacity mode whose price this is."""
    price: Price
    classes: dict[str, PriceItem] = msgspec.field(default_factory=dict)
    """Instance class -> its price per node."""


class Plan(Record, frozen=True, kw_only=True):
    """The solver's answer for one blueprint against one catalog."""

    schema_version: int = PLAN_SCHEMA_VERSION
    app: str
    catalog: str
    provider: Provider
    region: str
    blueprint_hash: str
    catalog_hash: str
    bindings: tuple[Binding, ...]
    instances: tuple[SharedInstance, ...] = ()
    retiring: tuple[SharedInstance, ...] = ()
    """Servers the plan no longer places anything on that keep the origins of pending moves
    (skaal.plan.moves): provisioned as the previous plan sized them, and priced in
    total_monthly_cost, until the switch; each lists the origins it keeps."""
    prices: tuple[UsedPrice, ...] = ()
    total_monthly_cost: float
    status: PlanStatus = "optimal"
    lower_bound: float | None = None
    """Proven lower bound on the optimum when status is best_found."""
    reoptimize_savings: float = 0.0
    """Monthly saving available with --reoptimize (0 if none)."""
    network: tuple[CostLine, ...] = ()
    """Network the build creates for the plan, per region holding a server (aws: each VPC's
    NAT gateway; gcp: each VPC connector), see skaal.plan.network; part of
    total_monthly_cost."""
    traces: bool = False
    """The build exports traces ([tool.skaal] traces = true): each function's traces are
    priced on its binding (skaal.solver.traces)."""
    log_retention_days: Annotated[int, Meta(ge=1)] | None = None
    """How long the build keeps its functions' logs (skaal.plan.retention); None where it
    keeps none (the local target)."""

    def binding(self, resource: str) -> Binding:
        """The binding of ``resource``; ``KeyError`` if absent."""
        for binding in self.bindings:
            if binding.resource == resource:
                return binding
        raise KeyError(resource)

    def backends_used(self) -> tuple[str, ...]:
        return tuple(sorted({b.backend for b in self.bindings}))

    def __post_init__(self) -> None:
        """An older schema's plan holds nothing it did not have: its hash could not cover it."""
        super().__post_init__()
        lacks = _ADDED_SINCE.get(self.schema_version)
        if lacks is None:
            return
        held = [
            *((name, "the plan") for name in lacks.plan if getattr(self, name) is not None),
            *(
                (name, f"binding {binding.resource}")
                for binding in self.bindings
                for name in lacks.binding
                if getattr(binding, name) is not None
            ),
            *(
                (name, f"instance {instance.id}")
                for instance in self.instances
                for name in lacks.instance
                if getattr(instance, name) is not None
            ),
            *(
                (name, f"price of {used.backend}")
                for used in self.prices
                for name in lacks.price
                if getattr(used.price, name) is not None
            ),
        ]
        if held:
            name, where = held[0]
            raise ValueError(
                f"schema {self.schema_version} has no {name} ({where}): "
                f"write schema {PLAN_SCHEMA_VERSION}"
            )

    def json_data(self) -> dict[str, Any]:
        """The plan as JSON data (``skaal plan --json``): ``retiring`` only when a move keeps
        a server, as the lock writes it, so a plan without one reads as before it."""
        data = self.model_dump(mode="json")
        if not data["retiring"]:
            del data["retiring"]
        return data

    def canonical_json(self, dumped: dict[str, Any] | None = None) -> str:
        """The JSON the hash is taken of, in the form of the plan's own schema version.

        ``dumped``: this plan's :meth:`json_data` (or ``model_dump(mode="json")``) when
        the caller has just made it for something else (``skaal plan --json`` writes
        it): it is used up (changed in place) instead of dumping the plan again.
        """
        data = self.model_dump(mode="json") if dumped is None else dumped
        for binding in data["bindings"]:  # a plan without pending moves hashes as before them
            if binding["moving_from"] is None:
                del binding["moving_from"]
            else:
                del binding["moving_from"]["moving_from"]
        # Added without a schema version, each only where it says something: a plan that
        # exports no traces, a price without later components and a cost line without a
        # region (all but the network's) hash as before them.
        if not data["traces"]:
            del data["traces"]
        if not data.get("retiring"):  # a plan keeping no server for its moves hashes as before
            data.pop("retiring", None)
        for entry in data["prices"]:
            for name in LATER_PRICE_COMPONENTS:
                if entry["price"].get(name, 0) is None:
                    del entry["price"][name]
        lines = [*data["network"]]
        for owner in (*data["bindings"], *data["instances"], *data.get("retiring", ())):
            lines += owner["cost"]
            moving = owner.get("moving_from")
            if isinstance(moving, dict):
                lines += moving.get("cost", ())
        for line in lines:
            if line.get("region", 0) is None:
                del line["region"]
        lacks = _ADDED_SINCE.get(self.schema_version)
        if lacks is not None:  # fields the plan's schema did not have
            _drop(data, lacks.plan)
            for binding in data["bindings"]:
                _drop(binding, lacks.binding)
            for instance in data["instances"]:
                _drop(instance, lacks.instance)
            for entry in data["prices"]:
                _drop(entry, lacks.used)
                _drop(entry["price"], lacks.price)
        # the dump's floats are the plan's: read from the records, a field at a time
        return canonical_text(data, finite=records_finite(self))

    def content_hash(self, dumped: dict[str, Any] | None = None) -> str:
        """Hash of the canonical JSON, computed once per Plan (the lock and the builders ask).

        ``dumped``: as for :meth:`canonical_json`, used only if the hash is not known yet.
        """
        return self.memo(
            "content_hash",
            lambda: hashlib.sha256(self.canonical_json(dumped).encode()).hexdigest(),
        )


def _drop(data: dict[str, object], keys: tuple[str, ...]) -> None:
    for key in keys:
        data.pop(key, None)
