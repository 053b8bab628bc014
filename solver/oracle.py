"""An exact solver for Skaal's planning problem that shares nothing with the planner.

The planner (:mod:`skaal.solver`) filters backends, prices them, pools
server capacity in a relaxation and then packs instances.  This oracle
starts again from the two inputs, the Blueprint record and the catalog file:
:mod:`solver.oracle_catalog` reads the TOML itself, :mod:`solver.oracle_rules`
states feasibility, workload defaults, pricing and server shapes a second
time, and this module builds one mixed-integer programme over explicit
server *instances* (the planner's is pooled per shape), solved by HiGHS
through :func:`scipy.optimize.milp`.  :func:`audit` checks any plan against
the same rules.

The programme.  ``opts(r)`` are the backends serving resource ``r``
(``c[r,b]`` its own monthly cost there, cheapest billing mode); a server
``s`` offers shapes ``k`` (fee ``f[k]``, capacity ``cap[k,d]``, quota
units ``w[k]``, dominated shapes left out) and counts against the quota
``Q_G`` of its group ``G ∋ s``: the servers whose catalog entries name the
same ``quota_group`` (or ``s`` alone).  A shape of class ``c`` with ``m``
read replicas uses ``w[k] = units(c) · (1 + m)``, ``units(c)`` the class's
``quota_units`` (default 1).  ``H_s`` are the resources that may sit on
``s`` (one instance of some shape holds each alone), in a fixed order ``≺``,
largest share of the biggest shape first.  Every instance is named after its
first member in that order, its *representative* ``q``, so a server has at
most ``|H_s|`` instance slots (fewer than its group's quota allows, or
capped by the quota row below) and no two slots are interchangeable.
``reg(r,s)`` is the region ``r`` lives in on ``s``
(:mod:`solver.oracle_regions`): an instance only ever holds resources of one
region, and the quota is per region (or, for a group whose catalog entries say
``quota_scope = "account"``, one row over all its regions)::

    x[r,b] ∈ {0,1}     r on dedicated backend b
    y[r,s,q] ∈ {0,1}   r on the instance of s that q represents (q ⪯ r,
                       reg(r,s) = reg(q,s));
                       y[q,s,q] = 1: that instance is running
    z[s,q,k] ∈ {0,1}   instance q of s runs shape k (k holds q alone)
    Σ_b x[r,b] + Σ_{s,q} y[r,s,q] = 1                 every resource placed once
    Σ_k z[s,q,k] = y[q,s,q]                           a running instance has one shape
    y[r,s,q] ≤ Σ_{k holds q and r} z[s,q,k]           r joins q only on a shape holding both
    Σ_r use[r,d] · y[r,s,q] ≤ Σ_k cap[k,d] · z[s,q,k] per instance and dimension d
    Σ_{s∈G} Σ_{q: reg(q,s)=g} Σ_k w[k] z[s,q,k] ≤ Q_G  the provider's quota, per group G
                                                      and region g
    x[a,b] = x[p,b],  y[a,s,q] = y[p,s,q]             (a, p) co-located: same instance
    x[r,b] ≤ u[b],  y[r,s,q] ≤ u[s],  Σ_b u[b] ≤ K    with max_backends = K
    x[r,b] ≤ n[g],  y[r,s,q] ≤ n[g]                   b, s need the VPC, g = reg(r,·)
    Σ_{r: reg(r,b)=g} units[r,b,d] · x[r,b] ≤ Q_{b,d}  b's cheapest mode for r has a
                                                      regional quota (d: reads, writes)
    minimise  Σ c[r,b] x[r,b] + Σ c'[r,b] x'[r,b] + Σ c[r,s] y[r,s,q]
              + Σ f[k] z[s,q,k] + F · Σ_g n[g]

``x'[r,b]`` is ``r`` on dedicated ``b`` billed in its cheapest mode without a
regional quota (cost ``c'[r,b]``), a column only where ``r``'s cheapest mode
on ``b`` has one: it counts as ``x[r,b]`` in every row but the quota's.

``n[g]`` is the network of region ``g``: a backend whose catalog entry
``requires = ["vpc"]`` is reached through the VPC of its region, and each
region holding one pays the fixed fee ``F`` once (``VPC_MONTHLY``).

``use`` is size, reads/s, writes/s and 1 (the resource count); a missing
``cap[k,d]`` is replaced by the sum of the usages, which never binds, and a
row that no shape of ``q`` can violate is left out.  The quota row is
written ``w_min · y[q,s,q] + Σ_k (w[k] - w_min) z[s,q,k]``, ``w_min`` the
least units among ``q``'s shapes (the same sum, as ``q``'s shapes add up to
``y[q,s,q]``): with every ``w[k] = 1`` it counts the running instances.  Any
plan maps to exactly one solution (name each instance by its first member),
so the optimum of the programme is the cheapest plan.  Ordering the largest
resources first makes a representative's own size choose among few shapes,
which keeps the programme small and its relaxation tight.

A budget never changes which plan is cheapest: the app is infeasible when
the optimum exceeds it (and, found faster, when the linear relaxation's
optimum already does).  The rounded solution is re-checked in plain Python
and its total recomputed from it, so no solver tolerance reaches the answer;
HiGHS runs with a zero relative gap, so "optimal" is proven.

Implementations are assumed runnable (every one in the bundled catalogs is).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
from scipy.sparse import coo_array  # type: ignore[import-untyped]

from skaal.blueprint.model import Blueprint, ResourceSpec
from skaal.plan.model import Plan
from solver.oracle_catalog import CatalogData, CountLimit, Entry, read_catalog
from solver.oracle_regions import home_region, regions_and_transfer
from solver.oracle_rules import (
    Load,
    Shape,
    broken_rules,
    fallback_cost,
    load_of,
    monthly_cost,
    read_consistency,
    shapes_of,
    starts,
    throughput_units,
)

__all__ = [
    "Answer",
    "Instance",
    "Option",
    "audit",
    "options",
    "read_catalog",
    "solve_exact",
]


@dataclass(frozen=True, slots=True)
class Option:
    backend: str
    cost: float
    mode: str | None


@dataclass(frozen=True, slots=True)
class Instance:
    backend: str
    class_name: str
    replicas: int
    fee: float
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    status: Literal["optimal", "infeasible", "best_found"]
    """``best_found``: the node limit ended HiGHS's search before it proved the optimum."""
    total: float | None
    backends: Mapping[str, str] = field(default_factory=dict)
    own: Mapping[str, Option] = field(default_factory=dict)
    instances: tuple[Instance, ...] = ()
    why: str = ""
    bound: float | None = None
    """A proven lower bound on every plan (HiGHS's dual bound; the total when optimal)."""


def options(blueprint: Blueprint, catalog: CatalogData) -> dict[str, list[Option]]:
    """Per resource, the backends serving it and its cost on each (catalog order)."""
    out: dict[str, list[Option]] = {}
    for spec in blueprint.resources:
        load = load_of(spec)
        out[spec.name] = [
            Option(entry.name, *monthly_cost(load, entry, read_consistency(spec, entry)))
            for entry in catalog.backends
            if not broken_rules(spec, load, entry, catalog)
        ]
    entries = {e.name: e for e in catalog.backends}
    kinds = {spec.name: spec.kind for spec in blueprint.resources}
    for spec in blueprint.resources:  # a consumed queue, a subscribed topic: the trigger rule
        source = spec.consumes or spec.subscribes
        if source is None or source not in out:
            continue
        computes = [entries[o.backend] for o in out[spec.name]]
        out[source] = [
            o
            for o in out[source]
            if all(starts(entries[o.backend], kinds[source], c) for c in computes)
        ]
    return out


def solve_exact(
    blueprint: Blueprint, catalog: CatalogData, *, node_limit: int | None = None
) -> Answer:
    """The cheapest plan for ``blueprint`` on ``catalog``, or why none exists.

    With ``node_limit``, HiGHS stops after that many branch-and-bound nodes (a
    deterministic unit of work): the answer is then ``best_found``, the best
    plan found with HiGHS's proven lower bound, for apps too hard to prove
    (``solver.gaps`` uses it to tell how far a plan and a bound are from the
    optimum).  Without it, HiGHS runs until it proves the optimum.
    """
    opts = options(blueprint, catalog)
    homeless = sorted(name for name, found in opts.items() if not found)
    if homeless:
        return Answer("infeasible", None, why=f"no backend serves {', '.join(homeless)}")
    loads = {spec.name: load_of(spec) for spec in blueprint.resources}
    entries = {e.name: e for e in catalog.backends}
    reachable = {o.backend for found in opts.values() for o in found}
    servers = {
        name: _undominated(shapes_of(entries[name]), entries[name])
        for name in sorted(reachable)
        if entries[name].server is not None
    }
    groups = {s: _group(entries[s]) for s in servers}
    quotas = {groups[s]: _quota(entries[s]) for s in servers}
    units = {s: tuple(_units(entries[s], k) for k in shapes) for s, shapes in servers.items()}
    specs = {spec.name: spec for spec in blueprint.resources}
    regions = {
        (r, o.backend): home_region(specs[r], entries[o.backend], catalog)
        for r, found in opts.items()
        for o in found
        if o.backend in servers
    }
    pairs = [
        (spec.name, spec.requirements.collocate_with)
        for spec in blueprint.resources
        if spec.requirements.collocate_with is not None
    ]
    vpc = (
        frozenset(e.name for e in catalog.backends if e.needs_vpc)
        if catalog.provider in VPC_MONTHLY
        else frozenset()
    )
    # the region whose VPC a resource on a VPC backend needs
    regions |= {
        (r, o.backend): home_region(specs[r], entries[o.backend], catalog)
        for r, found in opts.items()
        for o in found
        if o.backend in vpc
    }
    fallbacks, quoted = _quoted(opts, loads, specs, entries, catalog)
    model = _Model(
        opts,
        loads,
        servers,
        fallbacks=fallbacks,
        quoted=quoted,
        quotas=quotas,
        groups=groups,
        units=units,
        regions=regions,
        counted={(r, s): _counted_in(entries[s], g) for (r, s), g in regions.items()},
        pairs=pairs,
        max_backends=blueprint.max_backends,
        vpc=vpc,
        vpc_fee=VPC_MONTHLY.get(catalog.provider, 0.0),
        node_limit=node_limit,
        counts=_count_pools(opts, specs, entries, catalog),
    )
    budget = blueprint.budget_usd_month
    if budget is not None:  # the relaxation's optimum is a lower bound: above the budget, no plan
        relaxed = model.relaxation()
        if relaxed is not None and relaxed > budget + 1e-6:
            return Answer("infeasible", None, why=f"relaxation {relaxed:.2f} > budget {budget:.2f}")
    answer = model.solve()
    if answer is None:
        return Answer("infeasible", None, why="no placement meets every constraint")
    _, transfer = regions_and_transfer(blueprint, catalog, answer.backends)
    if transfer and answer.total is not None:
        # the programme does not price transfer: its dual bound says nothing of it
        answer = replace(answer, total=answer.total + sum(transfer.values()), bound=None)
    if budget is not None and answer.total is not None and answer.total > budget + 1e-9:
        if answer.status != "optimal" and (answer.bound is None or answer.bound <= budget):
            raise RuntimeError("the node limit ended the search before a plan within the budget")
        return Answer("infeasible", None, why=f"optimum {answer.total:.2f} > budget {budget:.2f}")
    problems = audit_answer(answer, blueprint, catalog, opts, loads)
    if problems:
        raise RuntimeError(f"the rounded solution breaks the model: {'; '.join(problems)}")
    return answer


#: A count quota where it counts: (backend, quota name, region; "" for the account).
_CountPool = tuple[str, str, str]


def _count_pools(
    opts: Mapping[str, Sequence[Option]],
    specs: Mapping[str, ResourceSpec],
    entries: Mapping[str, Entry],
    catalog: CatalogData,
) -> dict[_CountPool, tuple[int, list[tuple[str, str, int]]]]:
    """Per count quota and place: its quota, and each (resource, backend) counted there
    with how many it creates."""
    pools: dict[_CountPool, tuple[int, list[tuple[str, str, int]]]] = {}
    subscribers = _subscribers(specs.values())
    for r, found in sorted(opts.items()):
        for o in found:
            entry = entries[o.backend]
            for limit in entry.counts:
                n = _made(limit, specs[r], subscribers)
                if n:
                    region = home_region(specs[r], entry, catalog) if limit.per_region else ""
                    key = (entry.name, limit.name, region)
                    room = limit.quota - limit.reserved
                    pools.setdefault(key, (room, []))[1].append((r, o.backend, n))
    return pools


def _subscribers(specs: Iterable[ResourceSpec]) -> dict[str, int]:
    """Per topic, how many functions subscribe to it."""
    out: dict[str, int] = {}
    for spec in specs:
        if spec.subscribes is not None:
            out[spec.subscribes] = out.get(spec.subscribes, 0) + 1
    return out


def _made(limit: CountLimit, spec: ResourceSpec, subscribers: Mapping[str, int]) -> int:
    """How many of what ``limit`` counts ``spec`` creates."""
    # the HTTP API routes to an HTTP function that no schedule or queue starts
    routed = spec.kind == "function" and spec.http and spec.schedule is None and not spec.consumes
    return limit.made_by(
        spec.kind,
        scheduled=spec.schedule is not None,
        subscribers=subscribers.get(spec.name, 0),
        routed=routed,
    )


#: A regional quota of a mode: (backend, mode, region) -> (read units, write units).
_Quotas = Mapping[tuple[str, str | None, str], tuple[int | None, int | None]]


@dataclass(frozen=True, slots=True)
class _Quoted:
    """Resources billed on dedicated backends in modes with a regional quota."""

    units: Mapping[tuple[str, str], tuple[tuple[str, str | None, str], float, float]]
    """(resource, backend) -> its quota (backend, mode, region) and its read and write units."""
    quotas: _Quotas


def _quoted(
    opts: Mapping[str, Sequence[Option]],
    loads: Mapping[str, Load],
    specs: Mapping[str, Any],
    entries: Mapping[str, Entry],
    catalog: CatalogData,
) -> tuple[dict[tuple[str, str], Option], _Quoted]:
    """Per (resource, dedicated backend) whose cheapest mode has a regional quota: the
    option in its cheapest mode without one, and its units in the quoted mode."""
    fallbacks: dict[tuple[str, str], Option] = {}
    units: dict[tuple[str, str], tuple[tuple[str, str | None, str], float, float]] = {}
    quotas: dict[tuple[str, str | None, str], tuple[int | None, int | None]] = {}
    for r, found in opts.items():
        for o in found:
            entry = entries[o.backend]
            mode = next((m for m in entry.modes if m.name == o.mode and m.quoted), None)
            if entry.server is not None or mode is None:
                continue
            consistency = read_consistency(specs[r], entry)
            other = fallback_cost(loads[r], entry, consistency)
            if other is not None:
                fallbacks[r, o.backend] = Option(o.backend, *other)
            key = (o.backend, mode.name, home_region(specs[r], entry, catalog))
            quotas[key] = (mode.quota_read_units, mode.quota_write_units)
            reads, writes = throughput_units(loads[r], mode, consistency)
            counted = 1 + loads[r].indexes * (mode.index_copies or 0.0)  # indexes: copies
            units[r, o.backend] = (
                key,
                math.ceil(reads * counted - 1e-9),
                math.ceil(writes * counted - 1e-9),
            )
    return fallbacks, _Quoted(units, quotas)


def _undominated(shapes: Sequence[Shape], entry: Entry) -> tuple[Shape, ...]:
    """The shapes no other shape beats: none costs at most as much, uses at most as many
    quota units and holds at least as much.

    (Swapping a dominated shape for its better one keeps every plan valid and
    no dearer, so the optimum is unchanged; of equal shapes the first stays.)
    """

    def covers(big: Shape, small: Shape) -> bool:
        return (big.fee <= small.fee and _units(entry, big) <= _units(entry, small)) and all(
            b is None or (s is not None and s <= b)
            for b, s in zip(big.capacity, small.capacity, strict=True)
        )

    kept: list[Shape] = []
    for i, shape in enumerate(shapes):
        beaten = any(
            covers(other, shape) and (not covers(shape, other) or j < i)
            for j, other in enumerate(shapes)
            if j != i
        )
        if not beaten:
            kept.append(shape)
    return tuple(kept)


def _quota(entry: Entry) -> int:
    """The quota of the server's group (every member states the same one)."""
    assert entry.server is not None
    return entry.server.quota


def _group(entry: Entry) -> str:
    assert entry.server is not None
    return entry.server.quota_group


def _counted_in(entry: Entry, region: str) -> str:
    """Where the server's quota counts an instance of ``region``: that region, or every
    region at once (``"all regions"``) when the quota is the account's."""
    assert entry.server is not None
    return region if entry.server.per_region else "all regions"


def _units(entry: Entry, shape: Shape | tuple[str, int]) -> int:
    """The quota units an instance uses: its class's per node, times ``1 + replicas`` nodes.

    ``shape`` is a :class:`Shape` or a (class, replicas) pair; a class the server does not
    offer counts 1 per node (the audit reports it apart).
    """
    assert entry.server is not None
    class_name, replicas = (shape.class_name, shape.replicas) if isinstance(shape, Shape) else shape
    per_node = next((c.quota_units for c in entry.server.classes if c.name == class_name), 1)
    return per_node * (1 + replicas)


#: A NAT gateway and its public IPv4 address for a month of 730 hours, us-east-1:
#: $0.045 and $0.005 per hour (https://aws.amazon.com/vpc/pricing/, read 2026-12).
NAT_MONTHLY = (0.045 + 0.005) * 730
#: Per provider, what a plan pays once per region where any of its resources needs the VPC:
#: on aws the NAT gateway; on gcp a Serverless VPC Access connector's two e2-micro
#: instances at $0.008376 an hour each (us-central1,
#: https://cloud.google.com/vpc/pricing, read 2026-12).
VPC_MONTHLY = {"aws": NAT_MONTHLY, "gcp": 2 * 0.008376 * 730}


class _Model:
    """The programme of the module docstring."""

    def __init__(
        self,
        opts: Mapping[str, Sequence[Option]],
        loads: Mapping[str, Load],
        servers: Mapping[str, Sequence[Shape]],
        *,
        fallbacks: Mapping[tuple[str, str], Option],
        quoted: _Quoted,
        quotas: Mapping[str, int],
        groups: Mapping[str, str],
        units: Mapping[str, Sequence[int]],
        regions: Mapping[tuple[str, str], str],
        counted: Mapping[tuple[str, str], str],
        pairs: Sequence[tuple[str, str]],
        max_backends: int | None,
        vpc: frozenset[str] = frozenset(),
        vpc_fee: float = 0.0,
        node_limit: int | None = None,
        counts: Mapping[_CountPool, tuple[int, list[tuple[str, str, int]]]] | None = None,
    ) -> None:
        self.opts, self.loads, self.servers = opts, loads, servers
        self.fallbacks = fallbacks
        self.vpc_fee = vpc_fee
        self.node_limit = node_limit
        self.cost: list[float] = []
        self.rows: list[tuple[list[tuple[int, float]], float, float]] = []
        self.x: dict[tuple[str, str], int] = {}
        self.y: dict[tuple[str, str, str], int] = {}
        self.z: dict[tuple[str, str, int], int] = {}
        self.pooled: dict[tuple[str, str | None, str], list[tuple[int, float, float]]] = {}
        order = sorted(opts)
        hosted: dict[str, list[str]] = {}  # per server, who may sit on it, in order
        for s, shapes in servers.items():
            members = [
                r for r in order
                if any(o.backend == s for o in opts[r])
                and any(k.holds(loads[r].usage) for k in shapes)
            ]  # fmt: skip
            top = [max((k.capacity[d] or 0.0) for k in shapes) for d in range(4)]

            def share(r: str, top: list[float] = top) -> tuple[float, str]:
                used = loads[r].usage
                return (-max((u / t for u, t in zip(used, top, strict=True) if t), default=0.0), r)

            hosted[s] = sorted(members, key=share)  # largest first: it names its instance

        def along(s: str, q: str, members: list[str], i: int) -> list[str]:
            """q and the later members that may join its instance: those of its region."""
            return [r for r in members[i:] if regions[r, s] == regions[q, s]]

        for s, members in hosted.items():
            for i, q in enumerate(members):
                for r in along(s, q, members, i):
                    self.y[r, s, q] = self._column(self._cost(r, s))
                for k, shape in enumerate(servers[s]):
                    if shape.holds(loads[q].usage):
                        self.z[s, q, k] = self._column(shape.fee)
        for r in order:
            for o in opts[r]:
                if o.backend not in servers:
                    self.x[r, o.backend] = self._column(o.cost)
        # the same, billed in the cheapest mode without a regional quota
        self.x2 = {key: self._column(o.cost) for key, o in sorted(fallbacks.items())}
        for r in order:  # every resource placed once
            on = [c for (who, _), c in self.x.items() if who == r]
            on += [c for (who, _), c in self.x2.items() if who == r]
            on += [c for (who, _, _), c in self.y.items() if who == r]
            self.rows.append(([(c, 1.0) for c in on], 1.0, 1.0))
        # a group's quota rows follow its last server's rows (a group of one: its own)
        last = {groups[s]: s for s in hosted}
        for s, members in hosted.items():
            shapes = servers[s]
            for i, q in enumerate(members):
                opened = self.y[q, s, q]
                sizes = [(self.z[s, q, k], k) for k in range(len(shapes)) if (s, q, k) in self.z]
                # instance "q" runs one shape exactly when q opens it
                self.rows.append(([(c, 1.0) for c, _ in sizes] + [(opened, -1.0)], 0.0, 0.0))
                inside = along(s, q, members, i)
                for r in inside[1:]:  # others join only an instance whose shape holds both
                    both = tuple(a + b for a, b in zip(loads[q].usage, loads[r].usage, strict=True))
                    fitting = [(c, -1.0) for c, k in sizes if shapes[k].holds(both)]
                    self.rows.append(([(self.y[r, s, q], 1.0), *fitting], -np.inf, 0.0))
                for d in range(4):
                    total = sum(loads[r].usage[d] for r in inside)
                    caps = [shapes[k].capacity[d] for _, k in sizes]
                    if all(cap is None or total <= cap for cap in caps):
                        continue  # every shape q may run holds all of it: the row never binds
                    terms = [(self.y[r, s, q], loads[r].usage[d]) for r in inside]
                    for c, k in sizes:
                        cap = shapes[k].capacity[d]
                        terms.append((c, -(total if cap is None else cap)))
                    self.rows.append((terms, -np.inf, 0.0))
            if last[groups[s]] == s:
                group = [t for t in hosted if groups[t] == groups[s]]
                self._quota_rows(group, hosted, units, counted, float(quotas[groups[s]]))
        for key, (pool, reads, writes) in sorted(quoted.units.items()):  # regional quotas
            self.pooled.setdefault(pool, []).append((self.x[key], reads, writes))
        for pool, members in sorted(self.pooled.items()):
            for d, quota in enumerate(quoted.quotas[pool]):
                if quota is not None:
                    terms = [(col, (reads, writes)[d]) for col, reads, writes in members]
                    self.rows.append((terms, -np.inf, float(quota)))
        for _, (quota, counted_here) in sorted((counts or {}).items()):  # count quotas
            terms = [
                (col, float(n))
                for r, b, n in counted_here
                for col in (self.x.get((r, b)), self.x2.get((r, b)))
                if col is not None
            ]
            self.rows.append((terms, -np.inf, float(quota)))
        for a, p in pairs:  # co-located: the same backend and the same instance
            for b in sorted({o.backend for o in [*opts.get(a, ()), *opts.get(p, ())]}):
                if b in servers:
                    for q in hosted[b]:
                        self._equal(self.y.get((a, b, q)), self.y.get((p, b, q)))
                else:
                    left = [self.x.get((a, b)), self.x2.get((a, b))]
                    right = [self.x.get((p, b)), self.x2.get((p, b))]
                    self._same(left, right)
        # A resource on a backend that requires the VPC buys its region's way in, once per
        # region (NAT gateway, connector).
        self.nat: dict[str, int] = {}
        placed_on = [((r, b), col) for (r, b), col in [*self.x.items(), *self.x2.items()]]
        placed_on += [((r, s), col) for (r, s, _), col in self.y.items()]
        for (r, b), col in placed_on:
            if b in vpc:
                g = regions[r, b]
                if g not in self.nat:
                    self.nat[g] = self._column(self.vpc_fee)
                self.rows.append(([(col, 1.0), (self.nat[g], -1.0)], -np.inf, 0.0))
        if max_backends is not None:
            names = sorted({o.backend for found in opts.values() for o in found})
            used = {b: self._column(0.0) for b in names}
            for (_, b), col in [*self.x.items(), *self.x2.items()]:
                self.rows.append(([(col, 1.0), (used[b], -1.0)], -np.inf, 0.0))
            for (_, b, _), col in self.y.items():
                self.rows.append(([(col, 1.0), (used[b], -1.0)], -np.inf, 0.0))
            self.rows.append(([(c, 1.0) for c in used.values()], -np.inf, float(max_backends)))

    def _quota_rows(
        self,
        group: Sequence[str],
        hosted: Mapping[str, Sequence[str]],
        units: Mapping[str, Sequence[int]],
        counted: Mapping[tuple[str, str], str],
        quota: float,
    ) -> None:
        """Per region where the quota counts (``counted``: the instance's region, or one
        for all of them), the units the group's running instances use, at most its quota."""
        for g in sorted({counted[q, s] for s in group for q in hosted[s]}):
            terms: list[tuple[int, float]] = []
            for s in group:
                for q in hosted[s]:
                    if counted[q, s] != g:
                        continue
                    sizes = [
                        (self.z[s, q, k], w) for k, w in enumerate(units[s]) if (s, q, k) in self.z
                    ]
                    least = min(w for _, w in sizes)
                    terms.append((self.y[q, s, q], float(least)))
                    terms += [(col, float(w - least)) for col, w in sizes if w > least]
            self.rows.append((terms, -np.inf, quota))

    def _cost(self, r: str, backend: str) -> float:
        return next(o.cost for o in self.opts[r] if o.backend == backend)

    def _column(self, cost: float) -> int:
        self.cost.append(cost)
        return len(self.cost) - 1

    def _equal(self, left: int | None, right: int | None) -> None:
        self._same([left], [right])

    def _same(self, left: Sequence[int | None], right: Sequence[int | None]) -> None:
        """The columns of ``left`` sum to those of ``right`` (a missing one is 0)."""
        terms = [(c, 1.0) for c in left if c is not None]
        terms += [(c, -1.0) for c in right if c is not None]
        self.rows.append((terms, 0.0, 0.0))

    def relaxation(self) -> float | None:
        """The optimum with every variable between 0 and 1 (``None``: infeasible)."""
        result = self._run(integer=False)
        return None if result.status == 2 else float(result.fun)

    def _run(self, *, integer: bool) -> Any:
        width = len(self.cost)
        rows, cols, vals, lower, upper = [], [], [], [], []
        for i, (terms, lo, hi) in enumerate(self.rows):
            for c, v in terms:
                rows.append(i)
                cols.append(c)
                vals.append(v)
            lower.append(lo)
            upper.append(hi)
        matrix = coo_array((vals, (rows, cols)), shape=(len(self.rows), width)).tocsr()
        settings: dict[str, object] = {"mip_rel_gap": 0.0, "presolve": True}
        if integer and self.node_limit is not None:
            settings["node_limit"] = self.node_limit
        result = milp(
            c=np.array(self.cost),
            constraints=[LinearConstraint(matrix, np.array(lower), np.array(upper))],
            integrality=np.ones(width) if integer else np.zeros(width),
            bounds=Bounds(np.zeros(width), np.ones(width)),
            options=settings,
        )
        # stopped by the node limit (HiGHS says "node" or "solution limit") with a plan
        stopped = self.node_limit is not None and result.x is not None
        if result.status not in (0, 2) and not stopped:
            raise RuntimeError(f"HiGHS did not prove an answer: {result.message}")
        return result

    def solve(self) -> Answer | None:
        """The optimum of the programme, rounded and totalled in Python (``None``: infeasible)."""
        result = self._run(integer=True)
        if result.status == 2:
            return None
        proven = result.status == 0
        value = np.rint(result.x)
        backends: dict[str, str] = {}
        own: dict[str, Option] = {}
        by_backend = {r: {o.backend: o for o in found} for r, found in self.opts.items()}
        for (r, b), col in self.x.items():
            if value[col]:
                backends[r], own[r] = b, by_backend[r][b]
        for (r, b), col in self.x2.items():
            if value[col]:
                backends[r], own[r] = b, self.fallbacks[r, b]
        members: dict[tuple[str, str], list[str]] = {}
        for (r, s, q), col in self.y.items():
            if value[col]:
                backends[r], own[r] = s, by_backend[r][s]
                members.setdefault((s, q), []).append(r)
        instances = []
        for (s, q, k), col in self.z.items():
            inside = members.get((s, q))
            if value[col] and inside:
                shape = self.servers[s][k]
                instances.append(
                    Instance(s, shape.class_name, shape.replicas, shape.fee, tuple(sorted(inside)))
                )
        total = sum(o.cost for o in own.values()) + sum(i.fee for i in instances)
        total += self.vpc_fee * sum(1 for col in self.nat.values() if value[col])
        bound = min(total, float(result.mip_dual_bound)) if not proven else total
        status: Literal["optimal", "best_found"] = "optimal" if proven else "best_found"
        return Answer(status, total, backends, own, tuple(instances), bound=bound)


def audit_answer(
    answer: Answer,
    blueprint: Blueprint,
    catalog: CatalogData,
    opts: Mapping[str, Sequence[Option]],
    loads: Mapping[str, Load],
) -> list[str]:
    """Every constraint the oracle's own (rounded) answer breaks."""
    placed = [(r, b, answer.own[r].cost) for r, b in answer.backends.items()]
    instances = [(i.backend, i.class_name, i.replicas, i.fee, i.members) for i in answer.instances]
    network = 0.0
    if answer.total is not None:
        network = answer.total - sum(c for _, _, c in placed) - sum(i[3] for i in instances)
    return _problems(
        placed,
        instances,
        blueprint=blueprint,
        catalog=catalog,
        opts=opts,
        loads=loads,
        network=network,
    )


def audit(plan: Plan, blueprint: Blueprint, catalog: CatalogData) -> list[str]:
    """Everything wrong with ``plan`` by the oracle's rules (empty if nothing).

    Each binding is on a backend that serves its resource, costs what the
    rules say (to the cent) and records the read consistency they serve it
    with; each instance runs a class the server offers with an allowed
    replica count, costs that shape's fee, and holds its resources in every
    dimension, all of one region; the instances of no quota group use more
    quota units in a region than its quota; co-located resources share an
    instance; max_backends and the budget hold; each binding is in the region
    the rules of :mod:`solver.oracle_regions` give, a function's cost including
    the inter-region transfer they price; and the total is the sum of the
    plan's own lines.
    """
    opts = options(blueprint, catalog)
    loads = {spec.name: load_of(spec) for spec in blueprint.resources}
    found: list[str] = []
    backends = {b.resource: b.backend for b in plan.bindings}
    known = {e.name for e in catalog.backends}
    regions, transfer = (
        regions_and_transfer(blueprint, catalog, backends)
        if set(backends.values()) <= known
        and set(backends) >= {s.name for s in blueprint.resources}
        else ({}, {})  # a backend the catalog lacks: reported below as not serving
    )
    for b in plan.bindings:
        if b.resource in regions and b.region != regions[b.resource]:
            found.append(f"{b.resource} in {b.region}, the rules say {regions[b.resource]}")
    # a function's own cost includes the transfer it pays (skaal/solver/regions.py)
    placed = [
        (b.resource, b.backend, b.monthly_cost - transfer.get(b.resource, 0.0))
        for b in plan.bindings
    ]
    instances = [
        (i.backend, i.instance_class, i.replicas, i.fixed_monthly, i.resources)
        for i in plan.instances
    ]
    found += _problems(
        placed,
        instances,
        blueprint=blueprint,
        catalog=catalog,
        opts=opts,
        loads=loads,
        network=sum(line.monthly for line in plan.network) + sum(transfer.values()),
    )
    home = {r: i.id for i in plan.instances for r in i.resources}
    specs = {spec.name: spec for spec in blueprint.resources}
    entries = {e.name: e for e in catalog.backends}
    fallbacks, _ = _quoted(opts, loads, specs, entries, catalog)
    for b in plan.bindings:
        entry = entries.get(b.backend)
        if entry is not None and b.resource in specs:
            served = read_consistency(specs[b.resource], entry)
            if b.consistency != served:
                found.append(f"{b.resource}: consistency {b.consistency}, the rules say {served}")
        if b.instance != home.get(b.resource):
            found.append(
                f"{b.resource} bound to instance {b.instance}, listed in {home.get(b.resource)}"
            )
        option = next((o for o in opts.get(b.resource, ()) if o.backend == b.backend), None)
        other = fallbacks.get((b.resource, b.backend))
        modes = {option.mode} | ({other.mode} if other is not None else set()) if option else set()
        if option is not None and b.mode not in modes:
            found.append(f"{b.resource}: mode {b.mode}, the rules say {option.mode}")
        if abs(sum(line.monthly for line in b.cost) - b.monthly_cost) > 0.005:
            found.append(
                f"{b.resource}: lines sum to {sum(x.monthly for x in b.cost):.6f}, "
                f"binding says {b.monthly_cost:.6f}"
            )
    found += _network_problems(plan, catalog)
    found += _count_problems(plan, specs, entries, catalog)
    lines = (
        sum(b.monthly_cost for b in plan.bindings)
        + sum(i.fixed_monthly for i in plan.instances)
        + sum(line.monthly for line in plan.network)
    )
    if abs(lines - plan.total_monthly_cost) > 0.005:
        found.append(f"lines sum to {lines:.6f}, plan total {plan.total_monthly_cost:.6f}")
    for i in plan.instances:
        if abs(sum(line.monthly for line in i.cost) - i.fixed_monthly) > 0.005:
            found.append(f"{i.id}: fee lines do not sum to {i.fixed_monthly}")
    return found


def _count_problems(
    plan: Plan,
    specs: Mapping[str, ResourceSpec],
    entries: Mapping[str, Entry],
    catalog: CatalogData,
) -> list[str]:
    """Each count quota (tables, topics) the plan's bindings pass, where it counts."""
    used: dict[_CountPool, int] = {}
    quotas: dict[_CountPool, int] = {}
    subscribers = _subscribers(specs.values())
    for b in plan.bindings:
        entry = entries.get(b.backend)
        spec = specs.get(b.resource)
        if entry is None or spec is None:
            continue
        for limit in entry.counts:
            n = _made(limit, spec, subscribers)
            if n:
                key = (
                    entry.name,
                    limit.name,
                    (b.region or catalog.region) if limit.per_region else "",
                )
                used[key] = used.get(key, 0) + n
                quotas[key] = limit.quota - limit.reserved  # what the app's resources may use
    return [
        f"{n:,} {key[1]} on {key[0]} in {key[2] or 'the account'}, the quota is {quotas[key]:,}"
        for key, n in sorted(used.items())
        if n > quotas[key]
    ]


def _network_problems(plan: Plan, catalog: CatalogData) -> list[str]:
    """The plan's network lines against the rule: one fee per region holding a VPC backend."""
    needs = {e.name for e in catalog.backends if e.needs_vpc}
    fee = VPC_MONTHLY.get(catalog.provider, 0.0)
    wanted = sorted({b.region for b in plan.bindings if b.backend in needs}) if fee else []
    paid: dict[str, float] = {}
    for line in plan.network:
        paid[line.region or "?"] = paid.get(line.region or "?", 0.0) + line.monthly
    found = []
    if sorted(paid) != wanted:
        found.append(f"network paid in {sorted(paid)}, the rules say {wanted}")
    for region, monthly in sorted(paid.items()):
        if abs(monthly - fee) > 0.005:
            found.append(f"network of {region}: {monthly:.6f}, the rules say {fee:.6f}")
    return found


def _problems(
    placed: Sequence[tuple[str, str, float]],
    instances: Sequence[tuple[str, str, int, float, tuple[str, ...]]],
    *,
    blueprint: Blueprint,
    catalog: CatalogData,
    opts: Mapping[str, Sequence[Option]],
    loads: Mapping[str, Load],
    network: float = 0.0,
) -> list[str]:
    found: list[str] = []
    entries = {e.name: e for e in catalog.backends}
    backend_of = {r: b for r, b, _ in placed}
    if sorted(backend_of) != sorted(s.name for s in blueprint.resources):
        found.append("not every resource is placed exactly once")
    own = 0.0
    specs = {spec.name: spec for spec in blueprint.resources}
    fallbacks, quoted = _quoted(opts, loads, specs, entries, catalog)
    provisioned: dict[tuple[str, str | None, str], list[float]] = {}  # per regional quota
    for r, b, cost in placed:
        option = next((o for o in opts.get(r, ()) if o.backend == b), None)
        if option is None:
            found.append(f"{r}: {b} does not serve it")
            continue
        own += cost
        other = fallbacks.get((r, b))
        if other is not None and abs(other.cost - cost) <= 0.005 < abs(option.cost - cost):
            continue  # billed in its mode without a regional quota: not counted in it
        if abs(option.cost - cost) > 0.005:
            found.append(f"{r} on {b}: costs {cost:.6f}, the rules say {option.cost:.6f}")
        if (r, b) in quoted.units:
            pool, reads, writes = quoted.units[r, b]
            total = provisioned.setdefault(pool, [0.0, 0.0])
            total[0] += reads
            total[1] += writes
    for pool, totals in sorted(provisioned.items()):
        for word, held, quota in zip(("read", "write"), totals, quoted.quotas[pool], strict=True):
            if quota is not None and held > quota:
                backend, mode, region = pool
                found.append(
                    f"{backend} {mode}: {held:.0f} {word} units provisioned in {region} "
                    f"> quota {quota}"
                )
    home: dict[str, int] = {}
    used: dict[tuple[str, str], dict[str, int]] = {}  # (group, region) -> server -> units
    fees = 0.0
    for index, (s, class_name, replicas, fee, members) in enumerate(instances):
        entry = entries.get(s)
        if entry is None or entry.server is None:
            found.append(f"instance of {s}, not a server backend")
            continue
        held = sorted({home_region(specs[m], entry, catalog) for m in members if m in specs})
        if len(held) > 1:
            found.append(f"an instance of {s} holds resources of {', '.join(held)}")
        region = held[0] if held else catalog.region
        per_server = used.setdefault((_group(entry), _counted_in(entry, region)), {})
        per_server[s] = per_server.get(s, 0) + _units(entry, (class_name, replicas))
        fees += fee
        shape = next(
            (k for k in shapes_of(entry) if k.class_name == class_name and k.replicas == replicas),
            None,
        )
        if shape is None:
            found.append(f"{s}: no class {class_name} with {replicas} replicas")
            continue
        if abs(shape.fee - fee) > 0.005:
            found.append(
                f"{s} {class_name}+{replicas}: fee {fee:.6f}, the rules say {shape.fee:.6f}"
            )
        usage = [sum(loads[m].usage[d] for m in members) for d in range(4)]
        if not shape.holds(tuple(usage)):
            found.append(f"{s} {class_name}+{replicas} holds {usage}, capacity {shape.capacity}")
        for m in members:
            home[m] = index
            if backend_of.get(m) != s:
                found.append(f"{m} listed on an instance of {s}, bound to {backend_of.get(m)}")
    for r, b, _ in placed:
        if b in entries and entries[b].server is not None and r not in home:
            found.append(f"{r} is on server {b} but on no instance")
    for (group, region), per_server in used.items():
        quota = _quota(entries[next(iter(per_server))])
        if sum(per_server.values()) > quota:
            shares = ", ".join(f"{s} {n}" for s, n in sorted(per_server.items()))
            who = "" if list(per_server) == [group] else f" ({shares})"
            found.append(
                f"{group}: {sum(per_server.values())} quota units in {region} > quota {quota}{who}"
            )
    for spec in blueprint.resources:
        peer = spec.requirements.collocate_with
        if peer is None:
            continue
        if backend_of.get(spec.name) != backend_of.get(peer):
            found.append(f"{spec.name} and {peer} are on different backends")
        elif home.get(spec.name) != home.get(peer):
            found.append(f"{spec.name} and {peer} are on different instances")
    limit = blueprint.max_backends
    if limit is not None and len(set(backend_of.values())) > limit:
        found.append(f"{len(set(backend_of.values()))} backends > max_backends {limit}")
    budget = blueprint.budget_usd_month
    if budget is not None and own + fees + network > budget + 0.005:
        found.append(f"total {own + fees + network:.2f} > budget {budget:.2f}")
    return found
