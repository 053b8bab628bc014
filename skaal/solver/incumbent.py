"""Local search: make a feasible packing of a binding component cheaper.

The bounds of :mod:`.bounds` prove a plan optimal only when its cost meets
the Lagrangian lower bound, so the better the plan the fewer components reach
z3.  :func:`improve` starts from any feasible plan (``placement`` and the
instances ``bins`` of each shared backend) and applies, until none helps,
moves that keep every instance within its capacity and lower the total:

* **relocate** one unit to another option: a dedicated backend, an opened
  instance with room, or the next unopened instance (paying its fee); an
  instance left empty no longer pays its fee;
* **swap** two units between places (components of at most
  :data:`SWAP_LIMIT` units, the pass being quadratic);
* **close** an instance: move each member to its best other place (room in
  other instances, or a dedicated option) when the fee saved outweighs the
  extra cost;
* **open** an instance: fill a new instance with the units that gain most
  per unit of capacity, when their gain outweighs the fee.

Every move strictly lowers the integer cost, so the search ends.  It is
deterministic: units are visited in name order, candidate places in option
order then instance order, and the first improving move is taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skaal.solver.bounds import Bins, Placement, Shared, total
from skaal.solver.decompose import Unit

__all__ = ["SWAP_LIMIT", "improve"]

#: Components with more units skip the quadratic swap pass.
SWAP_LIMIT = 300
_PASSES = 50

Place = tuple[str, int]
"""(backend, instance index); the index is -1 on a dedicated backend."""


class _State:
    def __init__(
        self, part: Sequence[Unit], shared: Mapping[str, Shared], placement: Placement, bins: Bins
    ) -> None:
        self.units = sorted(part, key=lambda u: u.name)
        self.shared = shared
        self.costs = [{o.backend: o.cost for o in u.options} for u in self.units]
        self.options = [[o.backend for o in u.options] for u in self.units]
        index = {u.name: i for i, u in enumerate(self.units)}
        self.where: list[Place] = [("", -1)] * len(self.units)
        self.members: dict[str, list[set[int]]] = {
            s: [set() for _ in range(spec.max_instances)] for s, spec in shared.items()
        }
        self.loads: dict[str, list[list[int]]] = {
            s: [[0] * len(spec.capacity) for _ in range(spec.max_instances)]
            for s, spec in shared.items()
        }
        for s, instances in bins.items():
            for i, placed in enumerate(instances):
                for unit in placed:
                    self._put(index[unit.name], (s, i))
        for backend, placed in placement.items():
            if backend not in shared:
                for unit in placed:
                    self.where[index[unit.name]] = (backend, -1)

    def _put(self, u: int, place: Place) -> None:
        self.where[u] = place
        s, i = place
        if i >= 0:
            self.members[s][i].add(u)
            load = self.loads[s][i]
            for d, amount in enumerate(self.units[u].usage):
                load[d] += amount

    def _take(self, u: int) -> None:
        s, i = self.where[u]
        if i >= 0:
            self.members[s][i].discard(u)
            load = self.loads[s][i]
            for d, amount in enumerate(self.units[u].usage):
                load[d] -= amount

    def move(self, u: int, place: Place) -> None:
        self._take(u)
        self._put(u, place)

    def room(self, u: int, place: Place, without: int = -1) -> bool:
        s, i = place
        if i < 0:
            return True
        load = self.loads[s][i]
        usage = self.units[u].usage
        other = self.units[without].usage if without >= 0 else None
        for d, cap in enumerate(self.shared[s].capacity):
            if cap is None:
                continue
            extra = load[d] + usage[d] - (other[d] if other is not None else 0)
            if extra > cap:
                return False
        return True

    def places(self, u: int) -> list[Place]:
        """Where ``u`` could go: dedicated options, opened instances, the first unopened one."""
        out: list[Place] = []
        for backend in self.options[u]:
            if backend not in self.shared:
                out.append((backend, -1))
                continue
            members = self.members[backend]
            fresh = next((i for i, m in enumerate(members) if not m), None)
            out.extend((backend, i) for i, m in enumerate(members) if m)
            if fresh is not None:
                out.append((backend, fresh))
        return out

    def fee_change(self, u: int, place: Place) -> int:
        """Fees gained (+) by putting ``u`` at ``place`` and lost (−) by leaving its own."""
        change = 0
        s, i = place
        if i >= 0 and not self.members[s][i]:
            change += self.shared[s].fee
        s0, i0 = self.where[u]
        if i0 >= 0 and self.members[s0][i0] == {u}:
            change -= self.shared[s0].fee
        return change

    def placement(self) -> tuple[Placement, Bins]:
        placement: Placement = {}
        for u, (backend, _) in enumerate(self.where):
            placement.setdefault(backend, []).append(self.units[u])
        bins: Bins = {}
        for s, instances in self.members.items():
            kept = [[self.units[u] for u in sorted(m)] for m in instances if m]
            if kept:
                bins[s] = kept
        return placement, bins


def improve(
    part: Sequence[Unit], shared: Mapping[str, Shared], placement: Placement, bins: Bins
) -> tuple[Placement, Bins, int]:
    """A plan no worse than the feasible ``placement``/``bins`` (see the module docstring)."""
    state = _State(part, shared, placement, bins)
    for _ in range(_PASSES):
        changed = _relocate(state)
        changed = _close(state) or changed
        changed = _open(state) or changed
        if len(state.units) <= SWAP_LIMIT:
            changed = _swap(state) or changed
        if not changed:
            break
    placed, opened = state.placement()
    return placed, opened, total(placed, {s: len(b) for s, b in opened.items()}, shared)


def _relocate(state: _State) -> bool:
    changed = False
    for u in range(len(state.units)):
        here = state.where[u]
        own = state.costs[u][here[0]]
        best: tuple[int, Place] | None = None
        for place in state.places(u):
            if place == here or not state.room(u, place):
                continue
            delta = state.costs[u][place[0]] - own + state.fee_change(u, place)
            if delta < 0 and (best is None or delta < best[0]):
                best = (delta, place)
        if best is not None:
            state.move(u, best[1])
            changed = True
    return changed


def _swap(state: _State) -> bool:
    changed = False
    count = len(state.units)
    for u in range(count):
        for v in range(u + 1, count):
            pu, pv = state.where[u], state.where[v]
            if pu == pv or pu[0] not in state.costs[v] or pv[0] not in state.costs[u]:
                continue
            delta = (
                state.costs[u][pv[0]]
                + state.costs[v][pu[0]]
                - state.costs[u][pu[0]]
                - state.costs[v][pv[0]]
            )
            if delta < 0 and state.room(u, pv, without=v) and state.room(v, pu, without=u):
                state.move(u, pv)
                state.move(v, pu)
                changed = True
    return changed


def _close(state: _State) -> bool:
    changed = False
    for s in sorted(state.members):
        for i, members in enumerate(state.members[s]):
            if not members:
                continue
            saved = state.shared[s].fee
            moved: list[tuple[int, Place]] = []
            for u in sorted(members):
                own = state.costs[u][s]
                options = [
                    (state.costs[u][p[0]] - own, p)
                    for p in state.places(u)
                    if p != (s, i) and (p[1] < 0 or state.members[p[0]][p[1]])
                    if state.room(u, p)
                ]
                if not options:
                    break
                delta, place = min(options)
                saved -= delta
                state.move(u, place)
                moved.append((u, place))
            else:
                if saved > 0:
                    changed = True
                    continue
            for u, _ in reversed(moved):
                state.move(u, (s, i))
    return changed


def _open(state: _State) -> bool:
    changed = False
    for s in sorted(state.members):
        spec = state.shared[s]
        fresh = next((i for i, m in enumerate(state.members[s]) if not m), None)
        if fresh is None:
            continue
        gains: list[tuple[float, int, int]] = []
        for u in range(len(state.units)):
            backend, i = state.where[u]
            if s not in state.costs[u] or backend == s:
                continue
            if i >= 0 and len(state.members[backend][i]) == 1:
                continue  # leaving would close an instance: left to relocate
            gain = state.costs[u][backend] - state.costs[u][s]
            if gain > 0:
                usage = zip(state.units[u].usage, spec.capacity, strict=True)
                weight = max((use / cap for use, cap in usage if cap), default=0.0)
                gains.append((-(gain / weight) if weight else -float(gain), -gain, u))
        for order in (sorted(gains), sorted(gains, key=lambda g: (g[1], g[2]))):
            taken: list[tuple[int, Place]] = []
            won = -spec.fee
            for _, gain, u in order:
                if state.room(u, (s, fresh)):
                    taken.append((u, state.where[u]))
                    state.move(u, (s, fresh))
                    won -= gain
            if won > 0:
                changed = True
                break
            for u, place in reversed(taken):
                state.move(u, place)
    return changed
