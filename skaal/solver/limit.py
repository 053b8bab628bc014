"""``max_backends = K`` by branch and bound over backend sets, without one big z3 model.

Let ``B`` be the backends some unit can use and ``cost(S)`` the optimum when
every unit is restricted to its options in ``S`` (solved by
:func:`~skaal.solver.optimise.solve_units`: argmin, shared-instance bounds,
z3 only per binding component).  A plan uses some set ``S*`` of at most ``K``
backends, so the answer is ``min { cost(S) : S ⊆ B, |S| ≤ K, S covers every
unit }``.  ``cost`` is monotone (a larger set only adds options), so only
maximal sets need solving.

Search: a depth-first include/exclude tree over ``B`` with state (``chosen``,
``allowed`` = not yet excluded).

* **Coverage.**  A unit with no option in ``allowed`` kills the node; a unit
  whose only allowed backend is not chosen forces it in (functions, secrets
  and blobs usually force theirs this way).  The branching backend is an
  option of the first uncovered unit (fewest options first), so only covering
  sets are built; once every unit is covered it is the allowed backend that
  is the cheapest option of most units.
* **Leaf.**  When ``|allowed| ≤ K`` the set ``allowed`` is solved (by
  monotonicity no subset of it can be cheaper).
* **Bound.**  ``LB(node) = Σ_u min_{b ∈ allowed} c[u,b]`` (own costs only;
  fees are ≥ 0), and a node with ``LB ≥`` the best cost is pruned.  Equal
  costs keep the first set found, and the search order is fixed (sorted
  names), so the choice is deterministic.

Leaves are first solved without z3 (bounds only), each stopping as soon as
its lower bound reaches the best cost so far (``cutoff`` of
:func:`~skaal.solver.optimise.solve_units`).  Leaves not proven whose
lower bound is still below the best cost are then solved exactly, best bound
first, within the time left; the result is proven when every leaf's lower
bound reaches the best cost.

Complexity: at most ``Σ_{i≤K} C(|B|, i)`` leaves and ``2^|B|`` nodes, each
``O(N·k)`` for the bound (``k`` options per unit); coverage and the bound cut
this to a handful of leaves on typical catalogs.  No covering set of size
``≤ K`` is an unsatisfiable ``max_backends`` conflict: the smallest covering
size is found by the same search without the cost bound (iterative
deepening) and the resources whose options force distinct backends are named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skaal.errors import UnsatisfiableError
from skaal.solver import conflicts
from skaal.solver.bounds import Shared
from skaal.solver.deadline import Deadline
from skaal.solver.decompose import Unit
from skaal.solver.optimise import Outcome, solve_units
from skaal.solver.problem import Problem

__all__ = ["best_within", "fewest_backends"]


def best_within(
    all_units: Sequence[Unit],
    shared: Mapping[str, Shared],
    limit: int,
    deadline: Deadline,
    problem: Problem,
) -> Outcome:
    """The cheapest outcome using at most ``limit`` distinct backends (module docstring)."""
    free = solve_units(all_units, shared, deadline, problem)
    if len(free.placement) <= limit:
        return free
    search = _Search(all_units, shared, limit, deadline, problem)
    search.run(frozenset(), frozenset(o.backend for u in all_units for o in u.options))
    if search.best is None:
        if search.error is not None:
            raise search.error
        needed = fewest_backends(all_units)
        raise conflicts.max_backends(problem, needed, _forcing(all_units))
    best_set, best = search.best
    floor = search.cut  # every unproven leaf, the search's best included, is in open_leaves
    for lower, _, subset in sorted(search.open_leaves):
        if lower >= best.cost:
            continue
        if deadline.expired():
            floor = min(floor, lower)
            continue
        try:
            exact = solve_units(_restrict(all_units, subset), shared, deadline, problem)
        except UnsatisfiableError:
            continue
        if exact.cost < best.cost or subset == best_set:
            best_set, best = subset, exact
        floor = min(floor, exact.lower)
    floor = min(floor, best.lower)
    return Outcome(best.placement, best.bins, best.cost, min(floor, best.cost))


class _Search:
    def __init__(
        self,
        all_units: Sequence[Unit],
        shared: Mapping[str, Shared],
        limit: int,
        deadline: Deadline,
        problem: Problem,
    ) -> None:
        self.units = sorted(all_units, key=lambda u: (len(u.options), u.name))
        self.shared = shared
        self.limit = limit
        self.deadline = deadline
        self.problem = problem
        self.best: tuple[frozenset[str], Outcome] | None = None
        self.open_leaves: list[tuple[int, int, frozenset[str]]] = []
        self.error: UnsatisfiableError | None = None
        self.seen: set[frozenset[str]] = set()
        self.cut = 1 << 62
        """The least bound of the subtrees left unexplored when time ran out."""

    def run(self, start: frozenset[str], allowed: frozenset[str]) -> None:
        chosen = set(start)
        bound = 0
        uncovered: Unit | None = None
        for unit in self.units:
            here = [o for o in unit.options if o.backend in allowed]
            if not here:
                return
            if len({o.backend for o in here}) == 1:
                chosen.add(here[0].backend)
            bound += here[0].cost
            if uncovered is None and not any(o.backend in chosen for o in here):
                uncovered = unit
        if len(chosen) > self.limit:
            return
        if self.best is not None and bound >= self.best[1].cost:
            return
        if self.best is not None and self.deadline.expired():
            self.cut = min(self.cut, bound)  # unexplored: only its bound is known
            return
        if len(allowed) <= self.limit:
            self._leaf(allowed)
            return
        frozen = frozenset(chosen)
        if len(frozen) == self.limit and uncovered is None:
            self._leaf(frozen)
            return
        if uncovered is not None:
            pick = next(o.backend for o in uncovered.options if o.backend in allowed)
        else:
            pick = self._popular(frozen, allowed)
        self.run(frozen | {pick}, allowed)
        if pick not in chosen:
            self.run(frozen, allowed - {pick})

    def _popular(self, chosen: frozenset[str], allowed: frozenset[str]) -> str:
        votes: dict[str, int] = {}
        for unit in self.units:
            for option in unit.options:
                if option.backend in allowed and option.backend not in chosen:
                    votes[option.backend] = votes.get(option.backend, 0) + 1
                    break
        if not votes:
            return min(allowed - chosen)
        return min(votes, key=lambda b: (-votes[b], b))

    def _leaf(self, subset: frozenset[str]) -> None:
        if subset in self.seen:
            return
        self.seen.add(subset)
        try:
            found = solve_units(
                _restrict(self.units, subset),
                self.shared,
                self.deadline,
                self.problem,
                exact=False,
                cutoff=None if self.best is None else self.best[1].cost,
            )
        except UnsatisfiableError as exc:
            self.error = exc
            return
        if not found.proven:
            self.open_leaves.append((found.lower, len(self.open_leaves), subset))
        if self.best is None or found.cost < self.best[1].cost:
            self.best = (subset, found)


def _restrict(all_units: Sequence[Unit], subset: frozenset[str]) -> list[Unit]:
    return [
        Unit(u.members, tuple(o for o in u.options if o.backend in subset), u.usage)
        for u in all_units
    ]


def fewest_backends(all_units: Sequence[Unit]) -> int:
    """The size of the smallest backend set giving every unit an option (a hitting set)."""
    options = sorted(
        {frozenset(o.backend for o in u.options) for u in all_units},
        key=lambda s: (len(s), sorted(s)),
    )
    size = 0
    while not _covers(options, frozenset(), size):
        size += 1
    return size


def _covers(options: Sequence[frozenset[str]], chosen: frozenset[str], budget: int) -> bool:
    missing = next((o for o in options if not o & chosen), None)
    if missing is None:
        return True
    if budget == 0:
        return False
    return any(_covers(options, chosen | {b}, budget - 1) for b in sorted(missing))


def _forcing(all_units: Sequence[Unit]) -> list[str]:
    """Resources with the fewest options first: those that force distinct backends."""
    ordered = sorted(all_units, key=lambda u: (len(u.options), u.name))
    return [m for u in ordered for m in u.members]
