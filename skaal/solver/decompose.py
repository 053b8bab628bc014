"""Shrink the problem before any z3 runs: units, dominance pruning, components, groups.

Four exact reductions, in order:

1. **Units.** Resources joined by ``collocate_with`` (union-find over
   ``Problem.collocations``) become one *unit*: its options are the backends
   every member can use (the intersection), its cost on a backend is the sum
   of its members' costs, its usage of a shared instance the sum of theirs.
   A unit lands on one backend and, if shared, on one instance: co-location
   therefore means "same instance", even with several instances.  An empty
   intersection is a global conflict, found here without a solver.
2. **Dominance** (only without ``max_backends``).  Let ``d`` be a unit's
   cheapest *dedicated* option (dedicated options have no capacity and no
   shared fee).  Any option costing at least ``d`` can be swapped for ``d``
   without raising the total or breaking a capacity (it only frees capacity
   and possibly an instance fee), so it is dropped.  A unit whose cheapest
   option is dedicated thus keeps that one option: it is *independent* and is
   solved by argmin, with no solver.  With ``max_backends`` the swap may add a
   distinct backend, so dominance is not applied (see :mod:`.optimise`).
3. **Components.** Units still offered a shared backend are coupled through
   it; union-find over (unit, shared backend) gives connected components
   that are optimised separately.
4. **Groups.** Units of one component with identical options, costs and
   usages are interchangeable: the encoder gives them one integer count per
   option instead of one 0/1 variable each.

Money is in integer micro-dollars (the plan's precision) so objectives are
exact; usages and capacities are scaled by 10⁶ and rounded up and down
respectively, so a capacity is never overrun by rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence

from msgspec import Struct

from skaal.solver.problem import Problem, Workload

__all__ = [
    "DIMENSIONS",
    "SCALE",
    "Group",
    "Unit",
    "UnitOption",
    "components",
    "cost_micro",
    "groups",
    "prune",
    "scaled_capacity",
    "units",
    "usage_of",
]

#: Capacity dimensions of a shared instance, in ``Capacity`` field names.
DIMENSIONS: tuple[str, ...] = ("size_gb", "reads_per_s", "writes_per_s", "resources")
#: Money in micro-dollars and usages in millionths: every stage of the optimiser
#: scales by this one factor.
SCALE = 1_000_000


def cost_micro(usd: float) -> int:
    """Dollars to integer micro-dollars."""
    return round(usd * SCALE)


def scaled_capacity(value: float | int | None) -> int | None:
    """One instance's capacity in a dimension, scaled and rounded down."""
    return None if value is None else math.floor(value * SCALE + 1e-6)


class UnitOption(Struct, frozen=True):
    backend: str
    cost: int
    """Micro-dollars per month for the whole unit (shared fee excluded)."""
    rank: int


class Unit(Struct, frozen=True):
    """Resources that must share a backend (one resource unless co-located)."""

    members: tuple[str, ...]
    options: tuple[UnitOption, ...]
    """Sorted by (cost, rank, backend)."""
    usage: tuple[int, ...]
    """Scaled size, reads/s, writes/s and resource count, in :data:`DIMENSIONS` order."""

    @property
    def name(self) -> str:
        return self.members[0]

    def cost_on(self, backend: str) -> int:
        """What the unit costs on ``backend``, one of its options (micro-dollars)."""
        return next(o.cost for o in self.options if o.backend == backend)


class Group(Struct, frozen=True):
    """Interchangeable units of one component, optimised as one integer count."""

    units: tuple[Unit, ...]

    @property
    def options(self) -> tuple[UnitOption, ...]:
        return self.units[0].options

    @property
    def usage(self) -> tuple[int, ...]:
        return self.units[0].usage


class _UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def usage_of(load: Workload) -> tuple[int, ...]:
    """One resource's scaled usage of an instance, in :data:`DIMENSIONS` order."""
    return (
        math.ceil(load.size_gb * SCALE - 1e-6),
        math.ceil(load.reads_per_s * SCALE - 1e-6),
        math.ceil(load.writes_per_s * SCALE - 1e-6),
        SCALE,
    )


def units(problem: Problem) -> tuple[tuple[Unit, ...], tuple[tuple[str, ...], ...]]:
    """Merge co-located resources; returns the units and the groups with no common backend."""
    together: Iterable[list[int]]
    if problem.collocations:
        names = [r.spec.name for r in problem.resources]
        uf = _UnionFind(names)
        for a, b in problem.collocations:
            if a in uf.parent and b in uf.parent:
                uf.union(a, b)
        members: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            members.setdefault(uf.find(name), []).append(index)
        together = members.values()
    else:  # every resource its own unit, in the problem's order (as the union-find gives)
        together = ([index] for index in range(len(problem.resources)))
    ranks = {b.name: i for i, b in enumerate(problem.catalog.backends)}
    out: list[Unit] = []
    impossible: list[tuple[str, ...]] = []
    # Resources of one app repeat a few option lists and workloads: equal ones
    # share one tuple, which later stages hash and compare by identity first.
    option_lists: dict[tuple[tuple[str, float, int], ...], tuple[UnitOption, ...]] = {}
    usages: dict[tuple[float, float, float], tuple[int, ...]] = {}
    # The same by the identity of the resources' shared option tuples and workloads
    # (alive in ``problem``), which skips building the keys above per resource.
    seen_options: dict[int, tuple[UnitOption, ...]] = {}
    seen_usages: dict[int, tuple[int, ...]] = {}
    for indices in together:
        if len(indices) == 1:  # the common case, without the sums and set algebra
            res = problem.resources[indices[0]]
            load = res.workload
            opts = seen_options.get(id(res.options))
            if opts is None:
                key = tuple((o.backend, o.cost, o.rank) for o in res.options)
                opts = option_lists.get(key)
                if opts is None:
                    opts = option_lists[key] = tuple(
                        UnitOption(o.backend, round(o.cost * SCALE), o.rank) for o in res.options
                    )
                seen_options[id(res.options)] = opts
            usage = seen_usages.get(id(load))
            if usage is None:
                need = (load.size_gb, load.reads_per_s, load.writes_per_s)
                usage = usages.get(need)
                if usage is None:
                    usage = usages[need] = usage_of(load)
                seen_usages[id(load)] = usage
            out.append(Unit((res.spec.name,), opts, usage))
            continue
        resources = [problem.resources[i] for i in indices]
        common = set.intersection(*({o.backend for o in r.options} for r in resources))
        if not common:
            impossible.append(tuple(r.spec.name for r in resources))
            continue
        total = dict.fromkeys(common, 0)
        for res in resources:
            for o in res.options:
                if o.backend in total:
                    total[o.backend] += cost_micro(o.cost)
        opts = tuple(
            sorted(
                (UnitOption(b, c, ranks[b]) for b, c in total.items()),
                key=lambda o: (o.cost, o.rank, o.backend),
            )
        )
        usage = (
            math.ceil(sum(r.workload.size_gb for r in resources) * SCALE - 1e-6),
            math.ceil(sum(r.workload.reads_per_s for r in resources) * SCALE - 1e-6),
            math.ceil(sum(r.workload.writes_per_s for r in resources) * SCALE - 1e-6),
            len(resources) * SCALE,
        )
        out.append(Unit(tuple(r.spec.name for r in resources), opts, usage))
    return tuple(out), tuple(impossible)


def prune(unit: Unit, shared: frozenset[str]) -> Unit:
    """Drop the options dominated by the unit's cheapest dedicated option (exact, see above)."""
    for index, option in enumerate(unit.options):
        if option.backend not in shared:
            kept = unit.options[: index + 1]
            return Unit(unit.members, kept, unit.usage) if index + 1 < len(unit.options) else unit
    return unit


def components(
    coupled: Iterable[Unit],
    shared: frozenset[str],
    together: Iterable[Sequence[str]] = (),
) -> tuple[tuple[Unit, ...], ...]:
    """Connected components of units linked through a shared backend they may both use,
    or through backends ``together`` (servers sharing one quota).

    A unit's component is decided by the set of shared backends it may use,
    so the union-find runs over those sets (a handful), not over the units.
    Components come in the order of their least backend name, each keeping
    the units' order.
    """
    keyed: list[tuple[frozenset[str], Unit]] = []
    of_options: dict[int, frozenset[str]] = {}  # once per shared options tuple (kept alive)
    for unit in coupled:
        key = of_options.get(id(unit.options))
        if key is None:
            key = of_options[id(unit.options)] = frozenset(
                o.backend for o in unit.options if o.backend in shared
            )
        keyed.append((key, unit))
    uf = _UnionFind(sorted(shared))
    for linked in together:
        for other in linked[1:]:
            uf.union(linked[0], other)
    for backends in {key for key, _ in keyed}:
        first, *rest = sorted(backends)
        for other in rest:
            uf.union(first, other)
    root = {key: uf.find(min(key)) for key in {key for key, _ in keyed}}
    parts: dict[str, list[Unit]] = {}
    for key, unit in keyed:
        parts.setdefault(root[key], []).append(unit)
    return tuple(tuple(part) for _, part in sorted(parts.items()))


def groups(
    part: Iterable[Unit], alike: Callable[[Unit], Hashable] | None = None
) -> tuple[Group, ...]:
    """Aggregate interchangeable units (same options, costs and usage, and ``alike`` of
    them the same when given: what they create in each count quota, :mod:`.count_rows`)."""
    found: dict[tuple[object, ...], list[Unit]] = {}
    if alike is not None:
        for unit in part:
            found.setdefault((unit.options, unit.usage, alike(unit)), []).append(unit)
        return tuple(Group(tuple(units)) for units in found.values())
    # Units alike share their options tuple: hashing one hashes each of its options (a
    # call in Python each), so each tuple is looked up by its identity after the first
    # time (the units, alive in ``part``, keep it alive meanwhile).
    seen: dict[tuple[int, tuple[int, ...]], list[Unit]] = {}
    for unit in part:
        mine = (id(unit.options), unit.usage)
        members = seen.get(mine)
        if members is None:
            members = seen[mine] = found.setdefault((unit.options, unit.usage), [])
        members.append(unit)
    return tuple(Group(tuple(units)) for units in found.values())
