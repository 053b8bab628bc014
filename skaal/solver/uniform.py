"""The exact optimum of a component whose units all have the same usage, without HiGHS.

When every unit of a component uses the same amount of each capacity
dimension (the common case of an app of many alike maps), one instance of
shape ``k`` holds exactly ``m[k] = min_d ⌊cap[k,d] / use[d]⌋`` units, so a
server's bill depends only on how many units it holds::

    fee[s](L) = min Σ_k f[s,k] · n[k]   subject to   Σ_k m[k] · n[k] ≥ L

(a covering knapsack, solved by dynamic programming over ``L``; among the
cheapest covers, the one using least of the quota, which must hold within
``Q_s``, shared with the other servers counted under it).  ``fee[s]`` is a
non-decreasing step function: its *levels* are (fee, the most units that fee
holds).  The component's optimum is::

    min over one level per server (closed = 0 units)   Σ_s fee(level_s) + flow(level capacities)

where ``flow`` is the cheapest assignment of the groups' units to their
options with at most ``C_s`` units on server ``s`` and dedicated options
unlimited: a transportation problem solved exactly in integers by
successive shortest paths.  Every plan is counted (its loads lie in some
level of each server, whose capacities admit its assignment), and every
level combination is a plan (the units of a server fill its instances in
any order), so the minimum is the optimum, not a bound.

The levels are searched depth first, server by server, cheapest level
first; a branch is cut when its fees plus the flow with the remaining
servers unlimited reach the best plan found.  The search is bounded by a
count of flows (:data:`MAX_FLOWS`, deterministic work, never seconds):
past it, or when a server's cheapest cover breaks its quota, the caller
solves the pooled relaxation (:mod:`.pooled`) instead.  Small apps of alike
maps therefore never import numpy and HiGHS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from msgspec import Struct

from skaal.solver.decompose import SCALE, Group
from skaal.solver.pooled import Pooled
from skaal.solver.servers import Server, Shape

__all__ = ["MAX_FLOWS", "solve_uniform"]

#: The most transportation problems one search solves before handing the
#: component to the pooled relaxation (a deterministic unit of work).
MAX_FLOWS = 2_000

_INFINITY = 1 << 62
#: Bits of a cover's instance count in its sort key (``_table``).
_COUNT_BITS = 32


class _Server(Struct, frozen=True):
    name: str
    shapes: tuple[tuple[Shape, int, int], ...]
    """The useful shapes: (shape, fee in micro-dollars, units one instance holds)."""
    fee: list[int]
    """``fee[L]``: the cheapest cover of ``L`` units (micro-dollars), for L ≤ reach."""
    count: list[int]
    """``count[L]``: the fewest quota units (:attr:`.Shape.units`) among the cheapest
    covers of ``L`` units."""
    pick: list[int]
    """``pick[L]``: the shape index of one instance of that cover (-1 for L = 0)."""
    levels: tuple[tuple[int, int], ...]
    """(fee, most units held) per step of ``fee``, cheapest first; (0, 0) is closed."""
    quota: int
    key: str
    """The quota it is counted under (:attr:`.Server.quota_key`)."""


def solve_uniform(grouped: Sequence[Group], servers: Mapping[str, Server]) -> Pooled | None:
    """The component's exact optimum as a :class:`Pooled` (``proven``), or ``None`` when
    the units' usages differ, a quota binds, or the search exceeds :data:`MAX_FLOWS`."""
    if not grouped:
        return None
    usage = grouped[0].usage
    if any(g.usage != usage for g in grouped):
        return None
    names = sorted({o.backend for g in grouped for o in g.options if o.backend in servers})
    tables = [
        _table(
            servers[name],
            usage,
            sum(len(g.units) for g in grouped if any(o.backend == name for o in g.options)),
        )
        for name in names
    ]
    search = _Search(grouped, names, tables)
    found = search.run()
    if found is None:
        return None
    return _pooled(grouped, names, tables, found)


def _table(server: Server, usage: tuple[int, ...], total: int) -> _Server:
    """The step function ``fee(L)`` of ``server`` for units of ``usage``, up to ``total`` units."""
    useful: list[tuple[Shape, int, int]] = []
    for shape in server.shapes:
        held = total
        for use, cap in zip(usage, shape.capacity, strict=True):
            if cap is not None and use > 0:
                held = min(held, cap // use)
        if held <= 0:
            continue
        fee = shape.fee_micro
        if any(f <= fee and m >= held for _, f, m in useful):
            continue  # as dear and holding no more than a shape already kept
        useful.append((shape, fee, held))
    reach = min(total, server.quota * max((m for _, _, m in useful), default=0))
    # One integer per cover, fee then quota units, so that ``min`` compares both.
    key = [0] * (reach + 1)
    pick = [-1] * (reach + 1)
    steps = [(fee << _COUNT_BITS) + shape.units for shape, fee, _ in useful]
    helds = [held for _, _, held in useful]
    for units in range(1, reach + 1):
        best, chosen = _INFINITY << _COUNT_BITS, -1
        for k, step in enumerate(steps):
            held = helds[k]
            candidate = key[units - held if units > held else 0] + step
            if candidate < best:
                best, chosen = candidate, k
        key[units], pick[units] = best, chosen
    mask = (1 << _COUNT_BITS) - 1
    fee_of = [k >> _COUNT_BITS for k in key]
    count = [k & mask for k in key]
    levels = [(0, 0)]
    for units in range(1, reach + 1):
        if fee_of[units] == levels[-1][0]:
            levels[-1] = (fee_of[units], units)
        else:
            levels.append((fee_of[units], units))
    return _Server(
        server.name,
        tuple(useful),
        fee_of,
        count,
        pick,
        tuple(levels),
        server.quota,
        server.quota_key,
    )


class _Search:
    """Depth-first search over one level per server, cut by the flow bound."""

    def __init__(self, grouped: Sequence[Group], names: Sequence[str], tables: Sequence[_Server]):
        self.tables = tables
        self.flows = 0
        index = {name: i for i, name in enumerate(names)}
        self.sizes = [len(g.units) for g in grouped]
        # Per group: its cheapest dedicated option's cost (None: only servers hold it),
        # and (server index, cost) for each server option.
        self.outside: list[int | None] = []
        self.on: list[list[tuple[int, int]]] = []
        for group in grouped:
            self.outside.append(
                next((o.cost for o in group.options if o.backend not in index), None)
            )
            self.on.append(
                [(index[o.backend], o.cost) for o in group.options if o.backend in index]
            )
        # The least fee per unit of each server (micro-dollars, rounded down).
        self.rates = [min((f // m for _, f, m in t.shapes), default=0) for t in tables]
        self.best = _INFINITY
        self.best_loads: list[int] = []
        self.best_flows: list[list[int]] = []
        self.exhausted = False

    def run(self) -> tuple[int, list[int], list[list[int]]] | None:
        widest = [t.levels[-1][1] for t in self.tables]
        self._leaf(widest, 0)  # a first plan: each server charging its cheapest rate per unit
        self._visit(0, widest, 0)
        if self.exhausted or self.best >= _INFINITY:
            return None
        return self.best, self.best_loads, self.best_flows

    def _visit(self, depth: int, caps: list[int], fees: int) -> None:
        if depth == len(self.tables):
            self._leaf(caps, depth)
            return
        # Every plan below this node pays at least the fees so far plus the flow
        # in which the servers not yet fixed charge their cheapest rate per unit.
        bound = self._flow(caps, depth)
        if bound is None or fees + bound[0] >= self.best:
            return
        # A level (F, C) of this server costs at least F plus the flow with the
        # server free of charge; and, the flow being convex in the server's
        # capacity, at least F + flow(0) - C * (flow(0) - flow(1)).
        base = self._flow(caps, depth + 1)
        if base is None:
            return
        closed = list(caps)
        closed[depth] = 0
        shut = self._flow(closed, depth + 1)
        closed[depth] = 1
        one = self._flow(closed, depth + 1) if shut is not None else None
        shut_cost = 0 if shut is None else shut[0]
        slope = None if shut is None or one is None else shut[0] - one[0]
        for fee, most in self.tables[depth].levels:
            if fees + fee + base[0] >= self.best:
                break  # the levels are sorted by fee, and the flow only grows
            if slope is not None and fees + fee + shut_cost - slope * most >= self.best:
                continue
            below = list(caps)
            below[depth] = most
            self._visit(depth + 1, below, fees + fee)
            if self.exhausted:
                return

    def _leaf(self, caps: list[int], fixed: int) -> None:
        """The plan of the flow with ``caps`` (servers from ``fixed`` on charged their
        rate), each server paying the cheapest cover of the units it got."""
        found = self._flow(caps, fixed)
        if found is None:
            return
        _, per_server = found
        loads = [sum(row[s] for row in per_server) for s in range(len(caps))]
        value = sum(t.fee[load] for t, load in zip(self.tables, loads, strict=True))
        for g, row in enumerate(per_server):
            outside = self.sizes[g] - sum(row)
            if outside:
                dedicated = self.outside[g]
                assert dedicated is not None
                value += outside * dedicated
            value += sum(row[s] * cost for s, cost in self.on[g])
        if value < self.best:
            self.best, self.best_loads, self.best_flows = value, loads, per_server

    def _flow(self, caps: Sequence[int], fixed: int) -> tuple[int, list[list[int]]] | None:
        """The cheapest assignment with at most ``caps[s]`` units on server ``s``,
        servers from ``fixed`` on charging their cheapest rate per unit (``fee(L)
        ≥ rate · L``): (cost, units per group and server), or ``None`` if the
        servers cannot hold the units only they can hold, or the work is spent."""
        self.flows += 1
        if self.flows > MAX_FLOWS:
            self.exhausted = True
        if self.exhausted:
            return None
        on = [[(s, c + (self.rates[s] if s >= fixed else 0)) for s, c in row] for row in self.on]
        return _transport(self.sizes, self.outside, on, caps)


def _transport(
    sizes: Sequence[int],
    outside: Sequence[int | None],
    on: Sequence[Sequence[tuple[int, int]]],
    caps: Sequence[int],
) -> tuple[int, list[list[int]]] | None:
    """Successive shortest paths on source → group → (server | outside) → sink."""
    groups, servers = len(sizes), len(caps)
    source, out, sink = 0, 1 + groups + servers, 2 + groups + servers
    nodes = sink + 1
    head: list[list[int]] = [[] for _ in range(nodes)]
    to: list[int] = []
    room: list[int] = []
    price: list[int] = []

    def edge(a: int, b: int, capacity: int, cost: int) -> int:
        head[a].append(len(to))
        to.append(b)
        room.append(capacity)
        price.append(cost)
        head[b].append(len(to))
        to.append(a)
        room.append(0)
        price.append(-cost)
        return len(to) - 2

    placed: list[list[tuple[int, int]]] = []
    for g in range(groups):
        edge(source, 1 + g, sizes[g], 0)
        row = []
        for s, cost in on[g]:
            if caps[s] > 0:
                row.append((s, edge(1 + g, 1 + groups + s, sizes[g], cost)))
        placed.append(row)
        dedicated = outside[g]
        if dedicated is not None:
            edge(1 + g, out, sizes[g], dedicated)
    for s in range(servers):
        if caps[s] > 0:
            edge(1 + groups + s, sink, caps[s], 0)
    edge(out, sink, sum(sizes), 0)
    need = sum(sizes)
    cost = 0
    while need:
        distance = [_INFINITY] * nodes
        through = [-1] * nodes
        distance[source] = 0
        changed = True
        while changed:  # Bellman-Ford: the residual graph has negative costs
            changed = False
            for a in range(nodes):
                base = distance[a]
                if base == _INFINITY:
                    continue
                for e in head[a]:
                    if room[e] > 0 and base + price[e] < distance[to[e]]:
                        distance[to[e]] = base + price[e]
                        through[to[e]] = e
                        changed = True
        if distance[sink] == _INFINITY:
            return None
        push = need
        node = sink
        while node != source:
            e = through[node]
            push = min(push, room[e])
            node = to[e ^ 1]
        node = sink
        while node != source:
            e = through[node]
            room[e] -= push
            room[e ^ 1] += push
            node = to[e ^ 1]
        need -= push
        cost += push * distance[sink]
    per_server = [[0] * servers for _ in range(groups)]
    for g, row in enumerate(placed):
        for s, e in row:
            per_server[g][s] = room[e ^ 1]
    return cost, per_server


def _pooled(
    grouped: Sequence[Group],
    names: Sequence[str],
    tables: Sequence[_Server],
    found: tuple[int, list[int], list[list[int]]],
) -> Pooled | None:
    """The optimum in the relaxation's terms: per group (backend, shape, units), and the
    instances of each server (each server's units fill its instances in group order)."""
    value, loads, flows = found
    instances: dict[str, tuple[tuple[Shape, int], ...]] = {}
    # Per server: the free room of each shape's instances, in shape order.
    room: list[list[tuple[Shape, int]]] = []
    used: dict[str, int] = {}
    for table, load in zip(tables, loads, strict=True):
        used[table.key] = used.get(table.key, 0) + table.count[load]
    if any(used[table.key] > table.quota for table in tables):
        return None  # the cheapest covers break a quota: the pooled relaxation decides
    for table, load in zip(tables, loads, strict=True):
        chosen = [0] * len(table.shapes)
        left = load
        while left > 0:
            k = table.pick[left]
            chosen[k] += 1
            left = max(0, left - table.shapes[k][2])
        instances[table.name] = tuple(
            (table.shapes[k][0], n) for k, n in enumerate(chosen) if n > 0
        )
        room.append([(table.shapes[k][0], n * table.shapes[k][2]) for k, n in enumerate(chosen)])
    index = {name: i for i, name in enumerate(names)}
    counts: list[tuple[tuple[str, Shape | None, int], ...]] = []
    for g, group in enumerate(grouped):
        row: list[tuple[str, Shape | None, int]] = []
        outside = len(group.units) - sum(flows[g])
        for option in group.options:
            s = index.get(option.backend)
            if s is None:
                if outside > 0:
                    row.append((option.backend, None, outside))
                    outside = 0
                continue
            want = flows[g][s]
            for k, (shape, free) in enumerate(room[s]):
                take = min(want, free)
                if take > 0:
                    row.append((option.backend, shape, take))
                    room[s][k] = (shape, free - take)
                    want -= take
        counts.append(tuple(row))
    return Pooled(tuple(counts), instances, value / SCALE, True, False)
