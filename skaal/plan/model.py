"""The Plan: which backend serves each resource, at what cost, and why.

Produced by :func:`skaal.solver.solve`, written to ``skaal.lock``, read by the
builders and the runtime.  Frozen and canonical: the same inputs give the same
plan and therefore the same :meth:`Plan.content_hash`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final, Literal, Self

from pydantic import Field, model_validator

from skaal.blueprint.model import Kind
from skaal.blueprint.record import Record
from skaal.catalog.model import Price, PriceItem, Provider
from skaal.declare.grammar import Consistency

__all__ = [
    "EVENTUAL_PREFIX",
    "PLAN_SCHEMA_VERSION",
    "READABLE_SCHEMA_VERSIONS",
    "Binding",
    "BindingStatus",
    "CostLine",
    "Plan",
    "PlanStatus",
    "Provisioned",
    "SharedInstance",
    "UsedPrice",
]

PLAN_SCHEMA_VERSION = 4
READABLE_SCHEMA_VERSIONS = (2, 3, 4)
"""Lock schemas this Skaal reads.  Schema 3 lacks only the served consistency
(:attr:`Binding.consistency`) and the price of eventual reads
(``Price.eventual_reads``); schema 2 also the capacity-mode and
instance-class prices (:attr:`UsedPrice.mode`, :attr:`UsedPrice.classes`).
Such a plan is read as it was written, keeps its hash (see
:meth:`Plan.canonical_json`) and still anchors stability, so upgrading Skaal
never forces ``--reoptimize``; its reads were planned, priced and are issued
strongly consistent; the next ``skaal plan`` writes it as schema 4."""

EVENTUAL_PREFIX: Final = "eventual "
"""Prefix of a read line counted in eventual read units (``eventual per_million_reads``):
its quantity is the reads times the price's ``eventual_reads`` factor."""

#: Fields each older schema did not have: (binding fields, price fields, used-price fields).
_ADDED_SINCE: Final[dict[int, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    2: (("consistency",), ("eventual_reads",), ("mode", "classes")),
    3: (("consistency",), ("eventual_reads",), ()),
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


class CostLine(Record):
    """One price component applied to one resource's workload.

    ``component`` is the catalog's component name (``per_million_reads``), or
    it prefixed by what changes its quantity: ``eventual`` (read units of an
    eventually consistent resource, :data:`EVENTUAL_PREFIX`), ``volume floor``
    (a server's disk floor), or ``instance CLASS`` for a class fee.
    """

    component: str
    quantity: float = Field(description="workload quantity in the component's unit")
    monthly: float


class Provisioned(Record):
    """Capacity provisioned for a resource on a provisioned-mode backend (DynamoDB)."""

    reads_per_s: int = Field(ge=1, description="read capacity (e.g. DynamoDB RCUs)")
    writes_per_s: int = Field(ge=1, description="write capacity (e.g. DynamoDB WCUs)")
    target_utilisation: float = Field(gt=0, le=1)


class Binding(Record):
    """One resource placed on one backend."""

    resource: str
    kind: Kind
    backend: str
    implementation: str
    region: str
    instance: str | None = Field(
        default=None, description="shared instance id, e.g. 'redis#1'; None if dedicated"
    )
    mode: str | None = Field(
        default=None, description="capacity mode of a dedicated backend offering several"
    )
    provisioned: Provisioned | None = Field(
        default=None, description="capacity to provision in a provisioned mode"
    )
    consistency: Consistency | None = Field(
        default=None,
        description="the consistency its reads are served (and priced) with: maps and "
        "collections only; None for other kinds and in locks before schema 4 (strong reads)",
    )
    monthly_cost: float = Field(description="this resource's own cost (not shared fixed fees)")
    cost: tuple[CostLine, ...] = ()
    status: BindingStatus = "chosen"
    reason: str

    @model_validator(mode="after")
    def _consistent_kind(self) -> Self:
        if self.consistency is not None and self.kind not in ("map", "collection"):
            raise ValueError(f"a {self.kind} has no read consistency; only maps and collections")
        return self


class SharedInstance(Record):
    """One instance of a server backend, its size, and the resources it hosts.

    ``fixed_monthly`` is everything the instance costs besides its resources'
    own lines: the class fee per node (``1 + replicas`` nodes) and, on a disk
    server, the volume floor ``min_disk_gb`` at the backend's ``per_gb_month``.
    ``disk_gb`` is the volume to provision (the floor plus the data placed on
    it, rounded up to a whole GB); ``None`` for a memory store.
    """

    id: str
    backend: str
    instance_class: str
    replicas: int = Field(default=0, ge=0)
    disk_gb: int | None = Field(default=None, ge=1)
    connections: int | None = None
    parameters: dict[str, str | int | float] = Field(default_factory=dict)
    fixed_monthly: float
    cost: tuple[CostLine, ...] = ()
    resources: tuple[str, ...]


class UsedPrice(Record):
    """A catalog price the plan uses, frozen into the lock with its sources and dates.

    One entry per backend and capacity mode the bindings use: ``price`` is the
    mode's price (``mode`` set) or the backend's own (``mode`` ``None``).  A
    server backend's entry also holds the per-node price of each instance
    class its instances use, so every line of the plan (``skaal cost``) can
    name the published figure it was computed from without the catalog.
    """

    backend: str
    mode: str | None = Field(default=None, description="capacity mode whose price this is")
    price: Price
    classes: dict[str, PriceItem] = Field(
        default_factory=dict, description="instance class -> its price per node"
    )


class Plan(Record):
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
    prices: tuple[UsedPrice, ...] = ()
    total_monthly_cost: float
    status: PlanStatus = "optimal"
    lower_bound: float | None = Field(
        default=None, description="proven lower bound on the optimum when status is best_found"
    )
    reoptimize_savings: float = Field(
        default=0.0, description="monthly saving available with --reoptimize (0 if none)"
    )
    network: tuple[CostLine, ...] = Field(
        default=(),
        description="network the build creates for the plan (aws: the VPC's NAT gateway), "
        "see skaal.plan.network; part of total_monthly_cost",
    )

    def binding(self, resource: str) -> Binding:
        """The binding of ``resource``; ``KeyError`` if absent."""
        for binding in self.bindings:
            if binding.resource == resource:
                return binding
        raise KeyError(resource)

    def backends_used(self) -> tuple[str, ...]:
        return tuple(sorted({b.backend for b in self.bindings}))

    @model_validator(mode="after")
    def _fields_of_its_schema(self) -> Self:
        """An older schema's plan holds nothing it did not have: its hash could not cover it."""
        added = _ADDED_SINCE.get(self.schema_version)
        if added is None:
            return self
        binding_fields, price_fields, _ = added
        for binding in self.bindings:
            for name in binding_fields:
                if getattr(binding, name) is not None:
                    raise ValueError(
                        f"schema {self.schema_version} has no {name} "
                        f"(binding {binding.resource}): write schema {PLAN_SCHEMA_VERSION}"
                    )
        for used in self.prices:
            for name in price_fields:
                if getattr(used.price, name) is not None:
                    raise ValueError(
                        f"schema {self.schema_version} has no {name} "
                        f"(price of {used.backend}): write schema {PLAN_SCHEMA_VERSION}"
                    )
        return self

    def canonical_json(self) -> str:
        """The JSON the hash is taken of, in the form of the plan's own schema version."""
        data = self.model_dump(mode="json")
        added = _ADDED_SINCE.get(self.schema_version)
        if added is not None:  # fields the plan's schema did not have
            binding_fields, price_fields, used_fields = added
            for binding in data["bindings"]:
                for name in binding_fields:
                    del binding[name]
            for entry in data["prices"]:
                for name in used_fields:
                    del entry[name]
                for name in price_fields:
                    del entry["price"][name]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def content_hash(self) -> str:
        """Hash of the canonical JSON, computed once per Plan (the lock and the builders ask)."""
        return self.memo(
            "content_hash", lambda: hashlib.sha256(self.canonical_json().encode()).hexdigest()
        )
