"""The planning problem after the feasibility filter: what the optimiser sees.

``build_problem`` (in :mod:`skaal.solver.feasibility`) turns a Blueprint and a
Catalog into a :class:`Problem`: for every resource, the backends that meet
all of its constraints (each with its monthly cost for that resource's
workload) and, for every backend that does not, why not.  An option carries
only its total: the itemised :class:`~skaal.plan.model.CostLine` records are
built for the chosen backend alone, when the plan is assembled
(:func:`skaal.solver.cost.cost_lines`).  The optimiser
(:mod:`skaal.solver.optimise`) only ever sees the feasible options; the
diagnosis (:mod:`skaal.solver.diagnosis`) reads the rejections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from msgspec import Struct

from skaal.blueprint.model import Blueprint, ResourceSpec
from skaal.catalog.model import Backend, Catalog

if TYPE_CHECKING:
    from skaal.solver.servers import Server

__all__ = [
    "Option",
    "Problem",
    "Rejection",
    "ResourceOptions",
    "SharedBackend",
    "Workload",
    "chosen_options",
]


class Workload(Struct, frozen=True):
    """A resource's workload with documented defaults applied for what was not declared."""

    size_gb: float
    reads_per_s: float
    writes_per_s: float
    memory_gb: float
    duration_s: float
    defaulted: tuple[str, ...]
    """Names of the quantities that came from defaults, for the plan's reason text."""
    ephemeral: bool = False
    """Declared ``durability="ephemeral"``: a backend backing up only what must last skips it."""
    http: bool = False
    """A function whose invocations come through the HTTP API in front of it."""
    logs: bool = False
    """A function: each invocation writes logs (``skaal.solver.cost.LOG_BYTES_PER_INVOCATION``)."""
    scheduled_per_s: float = 0.0
    """A scheduled function: how often its schedule fires (what the scheduler bills)."""
    jobs: int = 0
    """A scheduled function: the schedule jobs that start it."""
    retention_s: float = 0.0
    """A queue or topic: the declared retention its messages are kept for (0: none)."""
    deliveries_per_s: float = 0.0
    """A queue or topic: messages delivered per second, one per message (a queue's
    receive; its delete is a read too, but no delivery)."""
    indexes: int = 0
    """A collection: its secondary indexes, each priced as the price's ``index_copies``
    share of another copy of its storage, writes and provisioned capacity."""

    def key(self) -> tuple[object, ...]:
        """Everything the cost depends on (equal keys: equal costs on every backend)."""
        return (
            self.size_gb,
            self.reads_per_s,
            self.writes_per_s,
            self.memory_gb,
            self.duration_s,
            self.ephemeral,
            self.http,
            self.logs,
            self.scheduled_per_s,
            self.jobs,
            self.retention_s,
            self.deliveries_per_s,
            self.indexes,
        )


class Option(Struct, frozen=True):
    """A backend that meets every constraint of one resource, and what it costs there.

    ``cost`` excludes a shared backend's fixed fee (paid once per instance) but
    includes a dedicated backend's fixed fee.  Its itemisation is
    :func:`skaal.solver.cost.cost_lines` of the backend and the resource's
    workload, whose lines sum (rounded) to ``cost``.
    """

    backend: str
    cost: float
    rank: int
    """Position of the backend in the catalog: the stable tie-break (lower wins)."""
    region: str | None = None
    """Region the binding lives in (``build_problem`` always sets it); ``None`` means
    the catalog's default region."""
    unchecked: tuple[str, ...] = ()
    """Declared constraints this target cannot check (availability and residency on
    the local provider), for the plan's reason text."""
    mode: str | None = None
    """The backend's capacity mode this cost is for (its cheapest for this resource),
    ``None`` when the backend has no modes."""


class Rejection(Struct, frozen=True):
    """Why one backend cannot serve one resource.

    ``constraint`` is the keyword the user wrote (``read_latency``) or a
    structural reason (``kind``, ``implementation``, ``pin``); ``asked`` and
    ``offered`` are human-readable; ``relaxation`` is the declaration change
    that would remove this rejection (``read_latency="<= 10ms"``) or ``None``
    when no change to the declaration can -- or should: a declared residency
    is never relaxed.  ``catalog_change`` is the change to the catalog that
    would remove it instead, the declaration kept (a region added, a provider
    quota raised, a larger instance class), or ``None``.
    """

    backend: str
    constraint: str
    asked: str
    offered: str
    relaxation: str | None
    catalog_change: str | None = None

    def __str__(self) -> str:
        return f"{self.constraint}: offers {self.offered}, asked {self.asked}"


class ResourceOptions(Struct, frozen=True):
    """One resource, its workload, its feasible options and the rejected backends."""

    spec: ResourceSpec
    workload: Workload
    options: tuple[Option, ...]
    """Sorted by (cost, rank)."""
    rejections: tuple[tuple[str, tuple[Rejection, ...]], ...]
    """Per rejected backend (catalog order), every constraint it fails."""


class SharedBackend(Struct, frozen=True):
    """A server backend whose instances many resources share, with its shapes."""

    backend: Backend
    server: Server


class Problem(Struct, frozen=True):
    """Everything the optimiser needs; built once per ``solve`` call."""

    blueprint: Blueprint
    catalog: Catalog
    resources: tuple[ResourceOptions, ...]
    """Sorted by resource name."""
    shared: tuple[SharedBackend, ...]
    """Shared backends that appear in at least one resource's options."""
    collocations: tuple[tuple[str, str], ...]
    """(resource, peer) pairs that must land on the same backend instance."""
    budget_usd_month: float | None
    max_backends: int | None
    configured: frozenset[str] = frozenset()
    """Resources adopting what the configuration names (``existing`` of
    :func:`~skaal.solver.solve`) rather than the code's ``existing=``; their
    :attr:`ResourceOptions.spec` carries it."""
    traces: bool = False
    """The build exports traces: each function pays its trace line (:mod:`skaal.solver.traces`)."""


def chosen_options(problem: Problem, backends: Mapping[str, str]) -> list[Option]:
    """Each resource's option on its backend under ``backends`` (resource -> backend), in
    the order of ``problem.resources``.

    Alike resources share one options tuple (the feasibility filter makes one
    per distinct result), so each tuple is searched once per backend, not once
    per resource: the tuples are alive in ``problem`` while their ids key the cache.
    """
    found: dict[tuple[int, str], Option] = {}
    chosen: list[Option] = []
    for res in problem.resources:
        backend = backends[res.spec.name]
        key = (id(res.options), backend)
        option = found.get(key)
        if option is None:
            option = found[key] = next(o for o in res.options if o.backend == backend)
        chosen.append(option)
    return chosen
