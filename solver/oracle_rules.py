"""The planning rules, written a second time, plainly: workload, feasibility, cost, shapes.

This is the oracle's statement of what the planner promises (the rules in
``skaal/solver/feasibility.py``, ``cost.py`` and ``servers.py``), written
from those docstrings without using their code, so that a slip in either
shows up as a disagreement.  It reads the Blueprint record (the pipeline's
input) and a :class:`~solver.oracle_catalog.CatalogData`.

Workload (what was not declared takes its default)::

    map, collection     size 1 GB,  reads 1/s, writes 1/s
    blob                size 10 GB, reads 1/s, writes 1/s
    queue               messages m = 1/s:  writes m, reads 2m (receive + delete)
    topic               messages m = 1/s:  writes m, reads m  (one delivery)
    function            invocations 1/s (reads), memory 0.5 GB, 0.1 s each
                        (less when the timeout is shorter)
    secret              nothing

A backend serves a resource when every rule holds:

* it lists the resource's kind, and is the pinned backend if ``backend=`` names one;
* latency: it publishes a figure and the bound admits it (``<`` strict, ``<=`` not);
* durability, ordered ephemeral < persistent < durable: at least the declared
  level; maps, collections, blobs and queues that declare none ask "persistent";
* consistency "strong" needs "strong" among its levels;
* availability at least the declared percentage, and residency: one of its
  regions is the declared region or in the declared family (neither is
  checked on the ``local`` provider);
* ttl needs the ``ttl`` capability and at most ``max_ttl_s``; retention at
  most ``max_retention_s``; ``access="prefix"`` needs ``ordered_keys``;
  indexes need ``secondary_index``; ``ordered`` needs ``fifo``;
  ``max_attempts`` needs ``dead_letter``; a schedule needs ``schedule``; an
  HTTP function needs ``http``;
* size, reads, writes and memory within ``limits.max_*``; a declared
  timeout within ``max_timeout_s``.

Whether one instance of a server can hold a resource is not a rule here: the
oracle's programme places every resource on an instance whose class holds it.

Cost per month (730 hours = 2,628,000 s), the cheapest of the backend's
billing modes (its ``[price]`` when it has no modes)::

    fixed_monthly          1                     (not for a server backend)
    per_gb_month           size_gb
    per_million_reads      reads × 2,628,000 / 10⁶
    per_million_writes     writes × 2,628,000 / 10⁶
    per_million_requests   (reads + writes) × 2,628,000 / 10⁶
    per_gb_second          memory × reads × duration × 2,628,000
    per_read_per_s_month   ceil(reads / target_utilisation), at least 1
    per_write_per_s_month  ceil(writes / target_utilisation), at least 1

A server instance of class c with r read replicas (0 … max_replicas) costs
``c.price × (1 + r) + min_disk_gb × per_gb_month`` and holds ``size_gb``,
``reads_per_s × (1 + r)``, ``writes_per_s`` and ``resources`` (each resource
counts 1); a missing figure does not limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skaal.blueprint.model import ResourceSpec
from solver.oracle_catalog import CatalogData, Entry

__all__ = [
    "DIMENSIONS",
    "Load",
    "Shape",
    "broken_rules",
    "load_of",
    "monthly_cost",
    "shapes_of",
]

SECONDS_PER_MONTH = 730 * 3600
DURABILITY = ("ephemeral", "persistent", "durable")
#: Residency families: a region belongs to a family when it starts with one of these.
FAMILIES = {
    "us": ("us-",),
    "eu": ("eu-", "europe-"),
    "asia": ("ap-", "asia-"),
    "ca": ("ca-", "northamerica-northeast"),
    "sa": ("sa-", "southamerica-"),
    "me": ("me-", "il-"),
    "af": ("af-", "africa-"),
    "au": ("ap-southeast-2", "ap-southeast-4", "australia-"),
    "local": ("local",),
}
#: What a resource uses of a server instance, in this order.
DIMENSIONS = ("size_gb", "reads_per_s", "writes_per_s", "resources")


@dataclass(frozen=True, slots=True)
class Load:
    size_gb: float
    reads_per_s: float
    writes_per_s: float
    memory_gb: float
    duration_s: float

    @property
    def usage(self) -> tuple[float, float, float, float]:
        """Size, reads/s, writes/s and one resource, in :data:`DIMENSIONS` order."""
        return (self.size_gb, self.reads_per_s, self.writes_per_s, 1.0)


def load_of(spec: ResourceSpec) -> Load:
    """The resource's workload, defaults applied (table in the module docstring)."""
    req = spec.requirements

    def given(value: float | None, default: float) -> float:
        return default if value is None else value

    if spec.kind in ("map", "collection", "blob"):
        return Load(
            size_gb=given(req.size_gb, 10.0 if spec.kind == "blob" else 1.0),
            reads_per_s=given(req.reads_per_s, 1.0),
            writes_per_s=given(req.writes_per_s, 1.0),
            memory_gb=0.0,
            duration_s=0.0,
        )
    if spec.kind in ("queue", "topic"):
        messages = given(req.writes_per_s, 1.0)
        reads = 2 * messages if spec.kind == "queue" else messages
        return Load(0.0, reads, messages, 0.0, 0.0)
    if spec.kind == "function":
        duration = 0.1 if req.timeout_s is None else min(0.1, req.timeout_s)
        return Load(0.0, given(req.reads_per_s, 1.0), 0.0, given(req.memory_gb, 0.5), duration)
    return Load(0.0, 0.0, 0.0, 0.0, 0.0)


def _in_region(residency: str, region: str) -> bool:
    return region == residency or region.startswith(FAMILIES.get(residency, ("\0",)))


def broken_rules(spec: ResourceSpec, load: Load, entry: Entry, catalog: CatalogData) -> list[str]:
    """Every rule of the module docstring ``entry`` breaks for ``spec`` (empty: it serves it)."""
    req = spec.requirements
    if spec.kind not in entry.kinds:
        return ["kind"]
    broken: list[str] = []
    if req.backend is not None and req.backend != entry.name:
        broken.append("pin")
    for rule, bound, offered in (
        ("read_latency", req.read_latency, entry.read_latency_ms),
        ("write_latency", req.write_latency, entry.write_latency_ms),
    ):
        if bound is None:
            continue
        admitted = offered is not None and (
            offered < bound.value if bound.strict else offered <= bound.value
        )
        if not admitted:  # no published figure promises nothing
            broken.append(rule)
    asked = req.durability
    if asked is None and spec.kind in ("map", "collection", "blob", "queue"):
        asked = "persistent"
    if asked is not None and DURABILITY.index(entry.durability) < DURABILITY.index(asked):
        broken.append("durability")
    if req.consistency == "strong" and "strong" not in entry.consistency:
        broken.append("consistency")
    if catalog.provider != "local":
        if req.availability is not None and entry.availability < req.availability:
            broken.append("availability")
        residency = req.residency
        if residency is not None and not any(_in_region(residency, r) for r in entry.regions):
            broken.append("residency")
    limits = entry.limits
    caps = entry.capabilities
    if req.ttl_s is not None and (
        "ttl" not in caps or req.ttl_s > limits.get("max_ttl_s", math.inf)
    ):
        broken.append("ttl")
    if req.retention_s is not None and req.retention_s > limits.get("max_retention_s", math.inf):
        broken.append("retention")
    if req.access == "prefix" and "ordered_keys" not in caps:
        broken.append("access")
    if spec.indexes and "secondary_index" not in caps:
        broken.append("indexes")
    if req.ordered and "fifo" not in caps:
        broken.append("ordered")
    if req.max_attempts is not None and "dead_letter" not in caps:
        broken.append("max_attempts")
    if spec.schedule is not None and "schedule" not in caps:
        broken.append("schedule")
    if spec.kind == "function" and spec.http and "http" not in caps:
        broken.append("http")
    for rule, value, limit in (
        ("size", load.size_gb, "max_size_gb"),
        ("reads", load.reads_per_s, "max_reads_per_s"),
        ("writes", load.writes_per_s, "max_writes_per_s"),
        ("memory", load.memory_gb, "max_memory_gb"),
    ):
        if value > limits.get(limit, math.inf):
            broken.append(rule)
    if req.timeout_s is not None and req.timeout_s > limits.get("max_timeout_s", math.inf):
        broken.append("timeout")
    return broken


def monthly_cost(load: Load, entry: Entry) -> tuple[float, str | None]:
    """The resource's own monthly cost on ``entry`` and the billing mode giving it.

    The cheapest mode wins; on a tie the first declared.  A server's instance
    fees are not in it (see :func:`shapes_of`).
    """
    months_of_ops = SECONDS_PER_MONTH / 1e6
    best: tuple[float, str | None] | None = None
    for mode in entry.modes:
        target = mode.target_utilisation or 1.0
        quantity = {
            "fixed_monthly": 0.0 if entry.server is not None else 1.0,
            "per_gb_month": load.size_gb,
            "per_million_reads": load.reads_per_s * months_of_ops,
            "per_million_writes": load.writes_per_s * months_of_ops,
            "per_million_requests": (load.reads_per_s + load.writes_per_s) * months_of_ops,
            "per_gb_second": load.memory_gb * load.reads_per_s * load.duration_s
            * SECONDS_PER_MONTH,
            "per_read_per_s_month": max(1, math.ceil(load.reads_per_s / target - 1e-9)),
            "per_write_per_s_month": max(1, math.ceil(load.writes_per_s / target - 1e-9)),
        }  # fmt: skip
        total = sum(amount * quantity[component] for component, amount in mode.amounts.items())
        if best is None or total < best[0] - 1e-12:
            best = (total, mode.name)
    assert best is not None
    return best


@dataclass(frozen=True, slots=True)
class Shape:
    """One way to run an instance of a server: a class and its read replicas."""

    backend: str
    class_name: str
    replicas: int
    fee: float
    capacity: tuple[float | None, float | None, float | None, float | None]
    """Size, reads/s, writes/s, resources (``None``: not limited)."""

    def holds(self, usage: tuple[float, ...]) -> bool:
        return all(c is None or u <= c + 1e-9 for u, c in zip(usage, self.capacity, strict=True))


def shapes_of(entry: Entry) -> tuple[Shape, ...]:
    """Every (class, replicas) of a server backend, with its fee and capacity."""
    server = entry.server
    assert server is not None
    volume = server.min_disk_gb * entry.price.get("per_gb_month", 0.0)
    out = []
    for item in server.classes:
        for replicas in range(item.max_replicas + 1):
            nodes = 1 + replicas
            reads = None if item.reads_per_s is None else item.reads_per_s * nodes
            out.append(
                Shape(
                    backend=entry.name,
                    class_name=item.name,
                    replicas=replicas,
                    fee=item.price * nodes + volume,
                    capacity=(item.size_gb, reads, item.writes_per_s, item.resources),
                )
            )
    return tuple(out)
