"""The planning rules, written a second time, plainly: workload, feasibility, cost, shapes.

This is the oracle's statement of what the planner promises (the rules in
``skaal/solver/feasibility.py``, ``cost.py`` and ``servers.py``), written
from those docstrings without using their code, so that a slip in either
shows up as a disagreement.  It reads the Blueprint record (the pipeline's
input) and a :class:`~solver.oracle_catalog.CatalogData`.

Workload (what was not declared takes its default)::

    map, collection     size 1 GB,  reads 1/s, writes 1/s; a collection has as
                        many indexes as it declares, a map none
    blob                size 10 GB, reads 1/s, writes 1/s
    queue               messages m = 1/s:  writes m, reads 2m (receive + delete)
    topic               messages m = 1/s:  writes m, reads m  (one delivery)
    function            invocations 1/s (reads), memory 0.5 GB, 0.1 s each
                        (less when the timeout is shorter); a scheduled one
                        without invocations= as often as it fires in 2026;
                        1,000 bytes of logs per invocation, kept 30 days; an
                        HTTP function's invocations are requests to the API
                        in front of it; a scheduled one is started by one
                        job, as often as its schedule fires
    secret              nothing

A backend serves a resource when every rule holds:

* it lists the resource's kind, and is the pinned backend if ``backend=`` names one;
* latency: it publishes a figure and the bound admits it (``<`` strict, ``<=`` not);
* durability, ordered ephemeral < persistent < durable: at least the declared
  level; maps, collections, blobs and queues that declare none ask "persistent";
* consistency "strong" needs "strong" among its levels; a map or collection
  declaring none is not served by a server whose classes offer read replicas
  (the runtime spreads reads over them);
* availability at least the declared percentage, and residency: one of its
  regions is the declared region or in the declared family (neither is
  checked on the ``local`` provider);
* ttl needs the ``ttl`` capability and at most ``max_ttl_s``; retention at
  most ``max_retention_s``; ``access="prefix"`` needs ``ordered_keys``;
  indexes need ``secondary_index``; ``ordered`` needs ``fifo``;
  ``max_attempts`` needs ``dead_letter``; a schedule needs ``schedule``; an
  HTTP function needs ``http``;
* size and memory within ``limits.max_*``; a declared timeout within
  ``max_timeout_s``;
* reads and writes within ``limits.max_reads_per_s`` and
  ``max_writes_per_s`` in some billing mode, counted in that mode's units:
  a read served eventual counts ``f`` of a unit where the mode has
  ``eventual_reads = { factor = f }``, and a provisioned mode (one with a
  ``target_utilisation``) counts ``ceil(units / target_utilisation)``, at
  least 1 (what it provisions).  Only such modes are billed (below).

A queue a function consumes, and a topic a function subscribes to, must also
be able to start that function on every compute backend it may land on: a
Lambda is started by an SQS queue or an SNS topic only (an event source
mapping, a subscription), so on aws such a queue is on SQS and such a topic
on SNS; Cloud Run and the local processes poll any queue or topic
(:func:`starts`).

Whether one instance of a server can hold a resource is not a rule here: the
oracle's programme places every resource on an instance whose class holds it.

Reads of a map or collection are served eventually consistent when it
declares ``consistency="eventual"`` and the backend lists "eventual", or when
the backend lists no "strong"; strongly consistent otherwise.  Other kinds
have no read consistency.

Cost per month (730 hours = 2,628,000 s), the cheapest of the backend's
billing modes within its throughput limits (its ``[price]`` when it has no
modes); served eventual, a mode with ``eventual_reads = { factor = f }``
counts ``reads × f`` instead of ``reads`` in the two read components below::

    fixed_monthly          1                     (not for a server backend)
    per_gb_month           size_gb
    per_million_reads      reads × 2,628,000 / 10⁶
    per_million_writes     writes × 2,628,000 / 10⁶
    per_million_requests   (reads + writes) × 2,628,000 / 10⁶
    per_gb_second          memory × reads × duration × 2,628,000
    per_read_per_s_month   ceil(reads / target_utilisation), at least 1
    per_write_per_s_month  ceil(writes / target_utilisation), at least 1
    backup_per_gb_month    size_gb if the backend backs the resource up: a
                           postgres or firestore one always, a dynamodb one
                           unless it is declared ephemeral, no other
    log_ingestion_per_gb   invocations × 2,628,000 × 1,000 B / 10⁹ (a function)
    log_storage_per_gb_month   that × 30 / (730 / 24)
    per_million_http_requests  invocations × 2,628,000 / 10⁶ (an HTTP function)
    per_million_scheduled_runs fires per second × 2,628,000 / 10⁶
    per_scheduled_job_month    1 (a scheduled function)
    message_storage_per_gb_month  messages/s × declared retention s × 1,000 B / 10⁹
    per_million_deliveries     messages/s × 2,628,000 / 10⁶ (a queue or topic: each
                               message delivered once; acknowledging is no delivery)

A collection with ``n`` indexes, on a mode with ``index_copies = { factor = c }``,
pays its indexes as ``n × c`` more copies of the table: each of
``per_gb_month``, ``per_million_writes``, ``per_read_per_s_month`` and
``per_write_per_s_month`` is paid ``1 + n × c`` times the quantity above (each
index stores every item, is written on every write and, provisioned, is given
the table's read and write units).  Backups and on-demand reads are paid once.

A mode with a regional quota (``quota_read_units``, ``quota_write_units``:
DynamoDB's provisioned capacity per account and region) holds the units of
all the resources of a region billed in it, ``ceil(units / target_utilisation)``
each as above and ``1 + n × c`` times that for a collection with indexes: at
most the quota together.  A resource whose cheapest mode has such a quota may
instead be billed in its cheapest mode without one (on-demand): a plan does
that when the quota is spent, and nothing else.

A server instance of class c with r read replicas (0 … max_replicas) costs
``c.price × (1 + r) + per_instance_month + min_disk_gb × per_gb_month`` and holds ``size_gb``,
``reads_per_s × (1 + r)``, ``writes_per_s`` and ``resources`` (each resource
counts 1); a missing figure does not limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from skaal.blueprint.model import ResourceSpec
from solver.oracle_catalog import CatalogData, Entry, ModePrice

__all__ = [
    "DIMENSIONS",
    "Load",
    "Shape",
    "broken_rules",
    "fallback_cost",
    "load_of",
    "mode_costs",
    "monthly_cost",
    "read_consistency",
    "shapes_of",
    "starts",
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
#: Compute implementation -> kind -> the implementations of that kind able to start it;
#: an implementation absent here (Cloud Run, local processes) polls any.
STARTED_BY: Mapping[str, Mapping[str, frozenset[str]]] = {
    "lambda": {"queue": frozenset({"sqs"}), "topic": frozenset({"sns"})},
}


def starts(source: Entry, kind: str, compute: Entry) -> bool:
    """Whether a ``kind`` (queue or topic) on ``source`` can start a function on ``compute``."""
    allowed = STARTED_BY.get(compute.implementation)
    return allowed is None or source.implementation in allowed.get(kind, frozenset())


@dataclass(frozen=True, slots=True)
class Load:
    size_gb: float
    reads_per_s: float
    writes_per_s: float
    memory_gb: float
    duration_s: float
    ephemeral: bool = False
    http: bool = False
    function: bool = False
    fires_per_s: float = 0.0
    scheduled: bool = False
    retention_s: float = 0.0
    messages_per_s: float = 0.0
    indexes: int = 0

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
            ephemeral=req.durability == "ephemeral",
            indexes=len(spec.indexes) if spec.kind == "collection" else 0,
        )
    if spec.kind in ("queue", "topic"):
        messages = given(req.writes_per_s, 1.0)
        reads = 2 * messages if spec.kind == "queue" else messages
        return Load(
            0.0, reads, messages, 0.0, 0.0, retention_s=req.retention_s or 0.0,
            messages_per_s=messages,
        )  # fmt: skip
    if spec.kind == "function":
        duration = 0.1 if req.timeout_s is None else min(0.1, req.timeout_s)
        invocations = req.reads_per_s
        fires = 0.0
        if spec.schedule is not None:
            fires = fires_per_second(spec.schedule.cron, spec.schedule.every_s)
        if invocations is None and spec.schedule is not None:
            invocations = fires
        return Load(
            0.0,
            given(invocations, 1.0),
            0.0,
            given(req.memory_gb, 0.5),
            duration,
            http=spec.http,
            function=True,
            fires_per_s=fires,
            scheduled=spec.schedule is not None,
        )
    return Load(0.0, 0.0, 0.0, 0.0, 0.0)


def fires_per_second(cron: str | None, every_s: float | None) -> float:
    """How often a schedule fires: a period once per period; a cron as often as in 2026.

    Written again, plainly: every minute of 2026 is tested against the five
    fields (day-of-month and day-of-week OR-ed when both are restricted).
    """
    if every_s is not None:
        return 1.0 / every_s
    if cron is None:
        return 0.0
    names = {
        **{
            m: str(i + 1)
            for i, m in enumerate(
                ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            )
        },
        **{d: str(i) for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
    }
    bounds = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))

    def allowed(text: str, low: int, high: int) -> set[int]:
        out: set[int] = set()
        for part in text.lower().split(","):
            base, _, step = part.partition("/")
            lo, _, hi = base.partition("-")
            start = low if base == "*" else int(names.get(lo, lo))
            end = high if base == "*" or (step and not hi) else int(names.get(hi or lo, hi or lo))
            out.update(range(start, end + 1, int(step or 1)))
        return out

    fields = cron.split()
    sets = [allowed(f, lo, hi) for f, (lo, hi) in zip(fields, bounds, strict=True)]
    if 7 in sets[4]:
        sets[4].add(0)
    both = not fields[2].startswith("*") and not fields[4].startswith("*")
    moment, end, count = datetime(2026, 1, 1), datetime(2027, 1, 1), 0
    while moment < end:
        in_day = moment.day in sets[2]
        in_week = (moment.isoweekday() % 7) in sets[4]
        day_ok = (in_day or in_week) if both else (in_day and in_week)
        if (
            day_ok
            and moment.month in sets[3]
            and moment.hour in sets[1]
            and moment.minute in sets[0]
        ):
            count += 1
        moment += timedelta(minutes=1)
    return count / (365 * 86400)


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
    elif (
        req.consistency is None
        and spec.kind in ("map", "collection")
        and entry.server is not None
        and any(size.max_replicas for size in entry.server.classes)
    ):  # its reads would be spread over read replicas
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
        ("memory", load.memory_gb, "max_memory_gb"),
    ):
        if value > limits.get(limit, math.inf):
            broken.append(rule)
    if not within_limits(load, entry, read_consistency(spec, entry)):
        broken.append("reads or writes")  # in every billing mode
    if req.timeout_s is not None and req.timeout_s > limits.get("max_timeout_s", math.inf):
        broken.append("timeout")
    return broken


def throughput_units(load: Load, mode: ModePrice, consistency: str | None) -> tuple[float, float]:
    """The read and write units per second ``load`` takes in ``mode`` (module docstring)."""
    reads = load.reads_per_s
    if consistency == "eventual" and mode.eventual_factor is not None:
        reads = reads * mode.eventual_factor
    writes = load.writes_per_s
    if mode.target_utilisation is None:
        return reads, writes
    target = mode.target_utilisation
    return max(1, math.ceil(reads / target - 1e-9)), max(1, math.ceil(writes / target - 1e-9))


def within_limits(load: Load, entry: Entry, consistency: str | None) -> list[ModePrice]:
    """The billing modes of ``entry`` whose units for ``load`` are within its limits."""
    most_reads = entry.limits.get("max_reads_per_s", math.inf)
    most_writes = entry.limits.get("max_writes_per_s", math.inf)
    return [
        mode
        for mode in entry.modes
        for reads, writes in (throughput_units(load, mode, consistency),)
        if reads <= most_reads and writes <= most_writes
    ]


def read_consistency(spec: ResourceSpec, entry: Entry) -> str | None:
    """How ``entry`` serves ``spec``'s reads (the rule in the module docstring)."""
    if spec.kind not in ("map", "collection"):
        return None
    if spec.requirements.consistency == "eventual" and "eventual" in entry.consistency:
        return "eventual"
    if "strong" in entry.consistency:
        return "strong"
    return "eventual"


def monthly_cost(
    load: Load, entry: Entry, consistency: str | None = None
) -> tuple[float, str | None]:
    """The resource's own monthly cost on ``entry`` and the billing mode giving it.

    The cheapest mode wins; on a tie the first declared.  A server's instance
    fees are not in it (see :func:`shapes_of`).  ``consistency`` is the one
    :func:`read_consistency` serves.
    """
    best: tuple[float, str | None] | None = None
    for total, name in mode_costs(load, entry, consistency):
        if best is None or total < best[0] - 1e-12:
            best = (total, name)
    assert best is not None
    return best


def fallback_cost(
    load: Load, entry: Entry, consistency: str | None = None
) -> tuple[float, str | None] | None:
    """The cost and mode of the cheapest billing mode without a regional quota, when the
    cheapest of all has one (else ``None``): where a resource goes when its Region's
    quota is spent (first declared on a tie)."""
    _, cheapest = monthly_cost(load, entry, consistency)
    quoted = {m.name for m in entry.modes if m.quoted}
    if cheapest not in quoted:
        return None
    best: tuple[float, str | None] | None = None
    for total, name in mode_costs(load, entry, consistency):
        if name not in quoted and (best is None or total < best[0] - 1e-12):
            best = (total, name)
    return best


def mode_costs(
    load: Load, entry: Entry, consistency: str | None = None
) -> list[tuple[float, str | None]]:
    """The resource's own monthly cost in each billing mode of ``entry`` within its
    limits (every mode when none is), in catalog order."""
    months_of_ops = SECONDS_PER_MONTH / 1e6
    invocations = load.reads_per_s * months_of_ops
    logs_gb = invocations * 1e6 * 1000 / 1e9 if load.function else 0.0
    backed_up = entry.implementation in ("postgres", "firestore") or (
        entry.implementation == "dynamodb" and not load.ephemeral
    )
    costs: list[tuple[float, str | None]] = []
    for mode in within_limits(load, entry, consistency) or entry.modes:
        target = mode.target_utilisation or 1.0
        reads = load.reads_per_s  # read units
        if consistency == "eventual" and mode.eventual_factor is not None:
            reads = load.reads_per_s * mode.eventual_factor
        quantity = {
            "fixed_monthly": 0.0 if entry.server is not None else 1.0,
            "per_gb_month": load.size_gb,
            "per_million_reads": reads * months_of_ops,
            "per_million_writes": load.writes_per_s * months_of_ops,
            "per_million_requests": (load.reads_per_s + load.writes_per_s) * months_of_ops,
            "per_gb_second": load.memory_gb * load.reads_per_s * load.duration_s
            * SECONDS_PER_MONTH,
            "per_read_per_s_month": max(1, math.ceil(reads / target - 1e-9)),
            "per_write_per_s_month": max(1, math.ceil(load.writes_per_s / target - 1e-9)),
            "backup_per_gb_month": load.size_gb if backed_up else 0.0,
            "log_ingestion_per_gb": logs_gb,
            "log_storage_per_gb_month": logs_gb * 30 / (730 / 24),
            "per_million_http_requests": invocations if load.http else 0.0,
            "per_million_scheduled_runs": load.fires_per_s * months_of_ops,
            "per_scheduled_job_month": 1.0 if load.scheduled else 0.0,
            "per_instance_month": 0.0,  # paid per instance (shapes_of)
            "message_storage_per_gb_month": load.writes_per_s * load.retention_s * 1000 / 1e9,
            "per_million_deliveries": load.messages_per_s * months_of_ops,
            "inter_region_per_gb": 0.0,  # placement, not workload (solver/oracle_regions.py)
            # traces exported only with [tool.skaal] traces = true; the oracle plans without
            "per_million_traces": 0.0,
            "per_million_spans": 0.0,
        }  # fmt: skip
        # each index is c more copies of the table's storage, writes and provisioned units
        copies = 1 + load.indexes * (mode.index_copies or 0.0)
        copied = ("per_gb_month", "per_million_writes", "per_read_per_s_month",
                  "per_write_per_s_month")  # fmt: skip
        total = sum(
            amount * quantity[component] * (copies if component in copied else 1)
            for component, amount in mode.amounts.items()
        )
        costs.append((total, mode.name))
    return costs


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
    volume = server.min_disk_gb * entry.price.get("per_gb_month", 0.0) + entry.price.get(
        "per_instance_month", 0.0
    )
    out = []
    for item in server.classes:
        for replicas in range(item.min_replicas, item.max_replicas + 1):
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
