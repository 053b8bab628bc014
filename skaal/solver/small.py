"""The exact optimum of a component of a few units, by dynamic programming over subsets.

A component of a few units (a small app: a handful of resources a server
could hold) is solved without HiGHS or z3:

* for each server ``s`` and each set ``T`` of units it may hold,
  ``cover[s][T]`` is the cheapest set of instances holding ``T``: one
  instance of the cheapest shape holding all of ``T``, or ``T`` split into
  the part holding its first unit and the rest (every partition of ``T`` is
  reached that way, so the minimum is exact);
* servers are then given disjoint sets, server by server, and what no
  server takes goes to its cheapest dedicated option::

      best(i, R) = min over T ⊆ R  cover[i][T] + Σ_{u ∈ T} cost[u, i] + best(i + 1, R − T)
      best(S, R) = Σ_{u ∈ R} dedicated[u]   (no plan when a unit of R has none)

The work is about ``Σ_s 2^(n − a_s) · 3^a_s`` steps for ``n`` units of
which ``a_s`` may go on server ``s``: fixed by the input, never by the
clock.  The search ignores quotas: its optimum is the optimum with them when
its instances hold within every quota (counted in units, shared by the
servers counted under it), and otherwise, or past :data:`MAX_WORK` steps, the
caller solves the pooled relaxation instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skaal.solver.decompose import Unit
from skaal.solver.servers import Bins, Server, Shape, over_quota

__all__ = ["MAX_WORK", "solve_small"]

#: The most steps (see the module docstring) a component may need for this search.
MAX_WORK = 30_000

_NONE = 1 << 62
#: Components of more units are never searched (2^n subset sums).
_MOST_UNITS = 14


def solve_small(
    part: Sequence[Unit], servers: Mapping[str, Server]
) -> tuple[dict[str, list[Unit]], dict[str, Bins], int] | None:
    """(units per backend, instances per server, cost in micro-dollars) of the cheapest
    plan of ``part``; ``None`` when the component is too large for the search, its
    optimum passes a quota, or no plan exists (the caller then explains or solves it otherwise)."""
    n = len(part)
    if n > _MOST_UNITS:  # before looking at the units' options: a large part is never searched
        return None
    names = sorted({o.backend for u in part for o in u.options if o.backend in servers})
    held = [sum(1 for u in part if any(o.backend == name for o in u.options)) for name in names]
    if sum(2 ** (n - a) * 3**a for a in held) > MAX_WORK:
        return None
    dedicated = [next((o for o in u.options if o.backend not in servers), None) for u in part]
    full = (1 << n) - 1
    usage = _usages(part)
    covers = [_covers(servers[name], name, part, usage) for name in names]
    best: dict[tuple[int, int], tuple[int, int]] = {}

    def solve(i: int, rest: int) -> int:
        """The least cost of units ``rest`` on servers ``i`` onwards (``_NONE``: impossible)."""
        if i == len(names):
            total = 0
            for u in range(n):
                if rest >> u & 1:
                    option = dedicated[u]
                    if option is None:
                        return _NONE
                    total += option.cost
            return total
        key = (i, rest)
        found = best.get(key)
        if found is not None:
            return found[0]
        cover, own = covers[i]
        value, taken = solve(i + 1, rest), 0
        allowed = rest & own.mask
        subset = allowed
        while subset:
            fee = cover.get(subset)
            if fee is not None:
                after = solve(i + 1, rest & ~subset)
                if after < _NONE:
                    candidate = fee[0] + own.cost(subset) + after
                    if candidate < value:
                        value, taken = candidate, subset
            subset = (subset - 1) & allowed
        best[key] = (value, taken)
        return value

    total = solve(0, full)
    if total >= _NONE:
        return None
    placement: dict[str, list[Unit]] = {}
    bins: dict[str, Bins] = {}
    rest = full
    for i, name in enumerate(names):
        taken = best[i, rest][1]
        if taken:
            placement[name] = [part[u] for u in range(n) if taken >> u & 1]
            bins[name] = [
                (shape, [part[u] for u in range(n) if members >> u & 1])
                for shape, members in covers[i][0][taken][1]
            ]
        rest &= ~taken
    for u in range(n):
        if rest >> u & 1:
            option = dedicated[u]
            assert option is not None
            placement.setdefault(option.backend, []).append(part[u])
    if over_quota(bins, servers) is not None:
        return None  # the optimum without quotas passes one: it may not be the optimum with
    return placement, bins, total


def _usages(part: Sequence[Unit]) -> list[tuple[int, ...]]:
    """The summed usage of every subset of ``part`` (by bit mask)."""
    width = len(part[0].usage) if part else 0
    sums: list[tuple[int, ...]] = [(0,) * width]
    for mask in range(1, 1 << len(part)):
        low = mask & -mask
        unit = part[low.bit_length() - 1]
        sums.append(tuple(a + b for a, b in zip(sums[mask ^ low], unit.usage, strict=True)))
    return sums


class _Own:
    """The units a server may hold (bit mask) and their costs there."""

    def __init__(self, name: str, part: Sequence[Unit]) -> None:
        self.mask = 0
        self.costs: dict[int, int] = {}
        for u, unit in enumerate(part):
            option = next((o for o in unit.options if o.backend == name), None)
            if option is not None:
                self.mask |= 1 << u
                self.costs[u] = option.cost

    def cost(self, subset: int) -> int:
        total = 0
        while subset:
            low = subset & -subset
            total += self.costs[low.bit_length() - 1]
            subset ^= low
        return total


def _covers(
    server: Server, name: str, part: Sequence[Unit], usage: Sequence[tuple[int, ...]]
) -> tuple[dict[int, tuple[int, tuple[tuple[Shape, int], ...]]], _Own]:
    """Per non-empty set of units ``name`` may hold: (least fee, its instances as
    (shape, units mask)); sets no instances hold are absent."""
    own = _Own(name, part)
    single: dict[int, tuple[int, Shape]] = {}
    masks: list[int] = []
    subset = own.mask
    while subset:
        masks.append(subset)
        subset = (subset - 1) & own.mask
    masks.sort()
    for mask in masks:
        shape = next((s for s in server.shapes if s.holds(usage[mask])), None)
        if shape is not None:
            single[mask] = (shape.fee_micro, shape)
    cover: dict[int, tuple[int, tuple[tuple[Shape, int], ...]]] = {}
    for mask in masks:  # increasing: every proper subset is done first
        one = single.get(mask)
        best: tuple[int, tuple[tuple[Shape, int], ...]] | None = (
            None if one is None else (one[0], ((one[1], mask),))
        )
        low = mask & -mask
        rest = mask ^ low
        part_ = rest
        while part_:  # the instance holding the lowest unit takes low | part_
            first = single.get(low | part_)
            others = cover.get(mask ^ (low | part_))
            if first is not None and others is not None:
                fee = first[0] + others[0]
                if best is None or fee < best[0]:
                    best = (fee, ((first[1], low | part_), *others[1]))
            part_ = (part_ - 1) & rest
        first = single.get(low)
        others = cover.get(rest) if rest else None
        if first is not None and others is not None:
            fee = first[0] + others[0]
            if best is None or fee < best[0]:
                best = (fee, ((first[1], low), *others[1]))
        if best is not None:
            cover[mask] = best
    return cover, own
