"""The per-backend checks of the feasibility filter, one function per rule.

:mod:`skaal.solver.feasibility` states the rules and drives the filter; this
module holds the checks themselves.  :class:`Facts` is what the filter needs
to know about one backend, computed once per catalog; :class:`Need` is what
one *requirement signature* asks for (identical declarations share one), and
:func:`rejections` compares the two and returns every failed check, in a
fixed order, each with human-readable ``asked`` / ``offered`` text and the
declaration change that would remove it.
"""

from __future__ import annotations

import math
from typing import Protocol

from msgspec import Struct

from skaal.blueprint.model import Kind, Requirements, ScheduleSpec
from skaal.catalog.model import Backend, Capacity, LimitName, Limits
from skaal.declare.existing import Existing
from skaal.model.grammar import DURABILITY_LEVELS, Bound, region_matches
from skaal.solver.cost import rate_ceilings
from skaal.solver.problem import Rejection, Workload
from skaal.solver.servers import largest

__all__ = [
    "Facts",
    "Need",
    "choose_region",
    "fmt_num",
    "quality_rejections",
    "quantity_rejections",
]

_DATA_KINDS = frozenset({"map", "collection", "blob"})
_MESSAGING = frozenset({"queue", "topic"})
#: Kinds whose undeclared durability means "persistent".  A topic is not one:
#: it fans messages out to the subscribers present, so an undeclared topic is
#: served by any backend, and declaring durability makes it a requirement.
_DURABLE_BY_DEFAULT = _DATA_KINDS | frozenset({"queue"})
#: Kinds with read consistency.
_CONSISTENT_KINDS = frozenset({"map", "collection"})


def _reads_own_writes(kind: str, req: Requirements) -> bool:
    """Whether a resource declaring no consistency keeps reading its own writes: a map
    or a collection does, so a server reading from replicas takes it only when it
    declares ``consistency="eventual"``."""
    return req.consistency is None and kind in _CONSISTENT_KINDS


#: Reads caused by one message (see :mod:`skaal.solver.cost`).
_READS_PER_MESSAGE = {"queue": 2.0, "topic": 1.0}


class _Reject(Protocol):
    """``reject(constraint, asked, offered, relaxation[, catalog_change])``: one failed check."""

    def __call__(
        self,
        constraint: str,
        asked: str,
        offered: str,
        relaxation: str | None,
        catalog_change: str | None = None,
    ) -> None: ...


class Facts(Struct, frozen=True):
    """What the filter needs to know about one backend, computed once per catalog."""

    backend: Backend
    rank: int
    durability: int
    strong: bool
    replica_reads: bool
    """A server whose classes offer read replicas: the runtime reads from them."""
    capabilities: frozenset[str]
    regions: tuple[str, ...]
    """The backend's regions, or the catalog's default region when it lists none."""
    tightest: tuple[float, float, float, float, float]
    """Largest size, reads, writes, memory and timeout one resource may have (inf: no
    limit); reads and writes as the loosest capacity mode and consistency allow."""
    capacity: Capacity
    """For a server backend, the most one instance of its largest shapes holds."""
    quotas: bool
    """The backend limits each resource's reads or writes per second: a throughput
    quota, counted in each capacity mode's units (:func:`.cost.fitting_modes`)."""
    every_mode: tuple[tuple[float, float], tuple[float, float]]
    """Reads and writes per second within the quotas of every capacity mode, read strong
    then eventual: below them no mode needs checking."""
    rates: tuple[tuple[float, float], tuple[float, float]]
    """The most reads and writes per second the backend's per-resource throughput quotas
    allow one resource, read strong then eventual, in its loosest capacity mode
    (:meth:`.cost.Pricing.ceilings`): what a refusal quotes."""

    @classmethod
    def of(cls, backend: Backend, rank: int, default_region: str) -> Facts:
        perf = backend.performance
        rates = (rate_ceilings(backend, eventual=False), rate_ceilings(backend, eventual=True))
        return cls(
            backend=backend,
            rank=rank,
            durability=DURABILITY_LEVELS.index(perf.durability),
            strong="strong" in perf.consistency,
            replica_reads=backend.server is not None
            and any(c.max_replicas for c in backend.server.classes),
            capabilities=frozenset(backend.capabilities),
            regions=backend.regions or (default_region,),
            tightest=_tightest(backend, max(rates)),
            capacity=largest(backend),
            quotas=backend.limits.max_reads_per_s is not None
            or backend.limits.max_writes_per_s is not None,
            every_mode=(
                rate_ceilings(backend, eventual=False, loosest=False),
                rate_ceilings(backend, eventual=True, loosest=False),
            ),
            rates=rates,
        )


class Need(Struct, frozen=True):
    """What one requirement signature asks of a backend."""

    kind: Kind
    req: Requirements
    indexes: tuple[str, ...]
    schedule: ScheduleSpec | None
    http: bool
    pin: str | None
    pin_relaxation: str
    """How to re-pin, with ``{backend}`` to fill in: ``backend="{backend}"``."""
    pin_origin: str
    local: bool
    existing: Existing | None = None
    """What ``existing=`` adopts (:mod:`skaal.declare.existing`); never checked locally."""


def _unbounded(bound: float | None) -> float:
    return math.inf if bound is None else bound


def _tightest(
    backend: Backend, rates: tuple[float, float]
) -> tuple[float, float, float, float, float]:
    limits = backend.limits
    cap = largest(backend)

    def least(*bounds: float | None) -> float:
        return min([math.inf, *(b for b in bounds if b is not None)])

    reads, writes = rates
    return (
        least(limits.max_size_gb, cap.size_gb),
        least(reads, cap.reads_per_s),
        least(writes, cap.writes_per_s),
        least(limits.max_memory_gb),
        least(limits.max_timeout_s),
    )


def fmt_num(value: float, *, down: bool = False) -> str:
    """``value`` with up to six significant digits; ``down`` never rounds up."""
    text = f"{value:.6g}"
    if down and float(text) > value > 0:
        step = 10.0 ** (math.floor(math.log10(value)) - 5)
        text = f"{math.floor(value / step) * step:.6g}"
    return text


def _fmt_duration(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g}{unit}"
    return f"{fmt_num(seconds, down=True)}s"


def _fmt_bound(bound: Bound) -> str:
    return f"{'<' if bound.strict else '≤'} {bound.value:g} ms"


def choose_region(facts: Facts, residency: str | None, default_region: str) -> str | None:
    """The catalog's default region if allowed, else the first matching one; None if none."""
    regions = facts.regions
    if default_region in regions and (
        residency is None or region_matches(residency, default_region)
    ):
        return default_region
    if residency is None:
        return regions[0]
    return next((r for r in regions if region_matches(residency, r)), None)


def quality_rejections(facts: Facts, need: Need, default_region: str) -> list[Rejection]:
    """Every non-quantity check ``facts`` fails for ``need`` (the kind is served)."""
    out: list[Rejection] = []
    name = facts.backend.name

    def reject(
        constraint: str,
        asked: str,
        offered: str,
        relaxation: str | None,
        catalog_change: str | None = None,
    ) -> None:
        out.append(Rejection(name, constraint, asked, offered, relaxation, catalog_change))

    if need.pin is not None and need.pin != name:
        reject(
            "pin",
            f"backend {need.pin} ({need.pin_origin})",
            f"{name}, not the pinned backend",
            need.pin_relaxation.format(backend=name),
        )
    existing = need.existing
    if existing is not None and not need.local:
        implementation = facts.backend.implementation
        if implementation not in existing.implementations:
            reject(
                "existing",
                f"{' or '.join(existing.implementations)}, holding {existing.name} (existing=)",
                f"{name} ({implementation})",
                "remove existing= to have the build create the resource",
            )
        elif existing.region is not None and existing.region not in facts.regions:
            reject(
                "existing",
                f"{existing.name} in {existing.region} (existing=)",
                f"regions {', '.join(facts.regions)}",
                None,
                f"add region {existing.region} (with its prices) to {name} "
                "in a catalog that extends this one",
            )
        elif (
            existing.region is not None
            and need.req.residency is not None
            and not region_matches(need.req.residency, existing.region)
        ):
            reject(
                "existing",
                f"{existing.name} in {existing.region} (existing=)",
                f"residency {need.req.residency!r}",
                "adopt a resource in the declared residency, or remove existing=",
            )
    _check_performance(facts, need, reject, default_region)
    _check_capabilities(facts, need, reject)
    return out


def adopted_region(facts: Facts, need: Need, residency: str | None, default: str) -> str | None:
    """The binding's region: the one an adopted resource is in, else :func:`choose_region`."""
    existing = need.existing
    if existing is None or existing.region is None or need.local:
        return choose_region(facts, residency, default)
    if existing.region in facts.regions and (
        residency is None or region_matches(residency, existing.region)
    ):
        return existing.region
    return None


def _check_performance(facts: Facts, need: Need, reject: _Reject, default_region: str) -> None:
    req = need.req
    perf = facts.backend.performance
    for keyword, bound, offered in (
        ("read_latency", req.read_latency, perf.read_latency_ms),
        ("write_latency", req.write_latency, perf.write_latency_ms),
    ):
        if bound is None:
            continue
        if offered is None:
            reject(keyword, _fmt_bound(bound), "no published figure", f"remove {keyword}")
        elif not bound.admits(offered):
            reject(
                keyword,
                _fmt_bound(bound),
                f"≤ {offered:g} ms",
                f'{keyword}="<= {fmt_num(offered)}ms"',
            )
    if need.kind in _DURABLE_BY_DEFAULT or req.durability is not None:
        asked = req.durability or "persistent"
        if DURABILITY_LEVELS.index(asked) > facts.durability:
            shown = asked if req.durability else f"{asked} (default)"
            reject("durability", shown, perf.durability, f'durability="{perf.durability}"')
    if req.consistency == "strong" and not facts.strong:
        reject("consistency", "strong", "eventual", 'consistency="eventual"')
    elif facts.replica_reads and _reads_own_writes(need.kind, req):
        reject(
            "consistency",
            "strong (undeclared: a map reads its own writes)",
            "eventual (reads on read replicas)",
            'consistency="eventual"',
        )
    if need.local:
        return
    if req.availability is not None and perf.availability < req.availability:
        reject(
            "availability",
            f"≥ {req.availability:g}%",
            f"{perf.availability:g}%",
            f'availability="{perf.availability:g}%"',
        )
    if req.residency is not None and choose_region(facts, req.residency, default_region) is None:
        # Never suggest moving data out of a declared residency: the catalog changes.
        reject(
            "residency",
            req.residency,
            f"regions {', '.join(facts.regions)}",
            None,
            f"add a region in {req.residency!r} (with its prices) to "
            f"{facts.backend.name} in a catalog that extends this one",
        )


def _check_capabilities(facts: Facts, need: Need, reject: _Reject) -> None:
    req = need.req
    caps = facts.capabilities
    limits = facts.backend.limits
    if req.ttl_s is not None:
        if "ttl" not in caps:
            reject(
                "ttl", f"items expire after {_fmt_duration(req.ttl_s)}", "no expiry", "remove ttl"
            )
        elif limits.max_ttl_s is not None and req.ttl_s > limits.max_ttl_s:
            reject(
                "ttl",
                _fmt_duration(req.ttl_s),
                f"≤ {_fmt_duration(limits.max_ttl_s)}",
                f'ttl="{_fmt_duration(limits.max_ttl_s)}"',
            )
    if (
        req.retention_s is not None
        and limits.max_retention_s is not None
        and req.retention_s > limits.max_retention_s
    ):
        reject(
            "retention",
            _fmt_duration(req.retention_s),
            f"≤ {_fmt_duration(limits.max_retention_s)}",
            f'retention="{_fmt_duration(limits.max_retention_s)}"',
        )
    if req.access == "prefix" and "ordered_keys" not in caps:
        reject("access", "prefix scans", "point lookups only", 'access="point"')
    if need.indexes and "secondary_index" not in caps:
        reject("indexes", f"indexes on {', '.join(need.indexes)}", "no secondary indexes", None)
    if req.ordered and "fifo" not in caps:
        reject("ordered", "FIFO order", "unordered delivery", "ordered=False")
    if req.max_attempts is not None and "dead_letter" not in caps:
        reject(
            "max_attempts",
            f"dead-letter after {req.max_attempts} attempts",
            "no dead-letter queue",
            "remove max_attempts",
        )
    if need.schedule is not None and "schedule" not in caps:
        reject("schedule", f"a schedule: {need.schedule}", "no scheduled triggers", None)
    if need.kind == "function" and need.http and "http" not in caps:
        reject("http", "an HTTP endpoint", "no HTTP endpoint", None)


#: What the throughput quotas count (:meth:`.cost.Pricing.units`).
_UNITS: dict[LimitName, str] = {"max_reads_per_s": "read units", "max_writes_per_s": "write units"}


def quantity_rejections(
    facts: Facts, kind: Kind, load: Workload, timeout_s: float | None, *, eventual: bool = False
) -> list[Rejection]:
    """Limits per resource and, for a shared backend, one instance's capacity.

    The throughput quotas count units (:meth:`.cost.Pricing.units`): they are
    quoted in reads and writes per second as the loosest capacity mode allows
    them at the consistency served (``eventual``), :attr:`Facts.rates`.
    """
    size_max, _, _, memory_max, timeout_max = facts.tightest
    limits: Limits = facts.backend.limits
    cap: Capacity = facts.capacity
    most_reads, most_writes = facts.rates[eventual]
    reads_limit = None if limits.max_reads_per_s is None else most_reads
    writes_limit = None if limits.max_writes_per_s is None else most_writes
    if (
        load.size_gb <= size_max
        and load.reads_per_s <= min(most_reads, _unbounded(cap.reads_per_s))
        and load.writes_per_s <= min(most_writes, _unbounded(cap.writes_per_s))
        and load.memory_gb <= memory_max
        and (timeout_s is None or timeout_s <= timeout_max)
    ):
        return []  # the fast path: nothing to explain
    out: list[Rejection] = []
    name = facts.backend.name
    read_word = (
        "invocations" if kind == "function" else "messages" if kind in _MESSAGING else "reads"
    )
    write_word = "messages" if kind in _MESSAGING else "writes"
    read_scale = _READS_PER_MESSAGE.get(kind, 1.0)
    # (keyword, catalog key, asked value, relaxation scale, unit, per-resource limit,
    # one instance's capacity)
    quantities: tuple[tuple[str, LimitName, float, float, str, float | None, float | None], ...] = (
        ("size", "max_size_gb", load.size_gb, 1.0, "GB", limits.max_size_gb, cap.size_gb),
        (read_word, "max_reads_per_s", load.reads_per_s, read_scale, "/s", reads_limit,
         cap.reads_per_s),
        (write_word, "max_writes_per_s", load.writes_per_s, 1.0, "/s", writes_limit,
         cap.writes_per_s),
        ("memory", "max_memory_gb", load.memory_gb, 1.0, "GB", limits.max_memory_gb, None),
    )  # fmt: skip
    for keyword, key, asked, scale, unit, limit, capacity in quantities:
        bounds = [b for b in (limit, capacity) if b is not None]
        if asked <= 0 or not bounds or asked <= min(bounds):
            continue
        spaced = " GB" if unit == "GB" else unit
        shown = f"{fmt_num(asked / scale)}{spaced}"
        if keyword in load.defaulted:
            shown += " (default)"
        if scale != 1.0:
            shown += f" ({fmt_num(asked)} reads/s)"
        # One relaxation for both bounds: the tightest, so it removes every rejection.
        relaxation = f'{keyword}="{fmt_num(min(bounds) / scale, down=True)}{unit}"'
        quota = getattr(limits, key)
        for bound, where, change in (
            (limit, "per resource", _raised_quota(name, key, limits)),
            # a larger class has no price to offer, so no catalog change either
            (capacity, "per instance of its largest class", None),
        ):
            if bound is not None and asked > bound:
                offered = f"≤ {fmt_num(bound / scale)}{spaced} {where}"
                if where == "per resource" and quota != limit:  # a quota of units, not requests
                    offered += f" (its quota: {fmt_num(quota)} {_UNITS[key]})"
                out.append(Rejection(name, keyword, shown, offered, relaxation, change))
    if timeout_s is not None and timeout_s > timeout_max:
        out.append(
            Rejection(
                name,
                "timeout",
                _fmt_duration(timeout_s),
                f"≤ {_fmt_duration(timeout_max)}",
                f'timeout="{_fmt_duration(timeout_max)}"',
            )
        )
    return out


def _raised_quota(backend: str, field: str, limits: Limits) -> str | None:
    """The catalog change that lifts one per-resource limit, if the provider raises it."""
    if field in limits.adjustable:
        value = getattr(limits, field)
        return (
            f"{backend}'s {field} = {fmt_num(value)} is a provider quota raised on request: "
            "once it is raised for your account, raise it in a catalog that extends this one"
        )
    return None
