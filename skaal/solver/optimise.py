"""Choose one backend per resource at least total monthly cost.

The model (``x[r,b]`` is 1 when resource ``r`` is placed on feasible option ``b``)::

    Σ_b x[r,b] = 1                                   every resource placed once
    n_s ∈ {0..max_instances_s}                       instances of shared backend s
    Σ_{r on instance i of s} use[r,d] ≤ cap[s,d]     d ∈ size_gb, reads/s, writes/s, resources
    x[r,b] = x[r',b]  for (r, r') co-located         same backend, and same instance
    used_b ≥ x[r,b] ;  Σ_b used_b ≤ K                with max_backends = K
    minimise  Σ cost[r,b] · x[r,b] + Σ_s fee_s · n_s
    subject to the total ≤ budget

How it is solved, fastest first (all exact unless a time limit stops a proof):

1. :mod:`.decompose` merges co-located resources into units, drops dominated
   options and splits what is left into independent units (argmin, no
   solver) and components coupled through a shared backend.
2. A component is first solved with capacities ignored (``L(0)`` of
   :mod:`.bounds`: enumerate the opened shared backends, each unit takes its
   cheapest option among dedicated + opened).  When that assignment fits one
   instance per opened backend it is optimal.  Most components stop here.
3. Capacity binds: :mod:`.bounds` computes a Lagrangian lower bound ``LB``
   and feasible packings (from the capacity-ignored optimum and from the
   Lagrangian minimiser), which :mod:`.incumbent` improves by local search
   into ``UB``.  ``UB == LB`` proves the packing optimal with no solver.
   Otherwise rounds of z3 (:mod:`.encode`, exact per-instance bin packing,
   identical units symmetry-broken) look for a plan cheaper than ``UB`` on
   the component reduced by :mod:`.fixing` (options no cheaper plan can
   use are dropped, which needs ``UB`` close to the optimum): "none exists"
   proves ``UB``, a cheaper plan lowers ``UB`` and the next round reduces
   more.  On timeout the best plan found is returned, marked ``best_found``;
   so is a component whose reduced model would exceed
   :data:`Z3_MAX_LITERALS` (building it alone would outlast the limit).
4. ``max_backends``: the unconstrained optimum is kept if it uses at most K
   backends; otherwise :mod:`.limit` enumerates backend sets (branch and
   bound) and solves each by steps 1–3 restricted to the set.
5. The budget never changes the argmin: the optimum either fits it or no plan
   does (:mod:`.conflicts` then reports the most expensive resources).

One :class:`~skaal.solver.deadline.Deadline` bounds the whole run; a timeout
never raises when a feasible plan is known.  Ties are broken by (cost,
catalog rank, backend name): options are sorted that way and z3 runs on
sorted inputs, so the same inputs give the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from skaal.solver import conflicts
from skaal.solver.bounds import (
    Bins,
    Multipliers,
    Placement,
    Shared,
    lagrangian,
    lagrangian_start,
    pack,
    relaxed,
    total,
    upper_bound,
)
from skaal.solver.deadline import Deadline
from skaal.solver.decompose import (
    DIMENSIONS,
    Group,
    Unit,
    components,
    cost_micro,
    fits,
    groups,
    prune,
    scaled_capacity,
    units,
)
from skaal.solver.fixing import fix
from skaal.solver.incumbent import improve
from skaal.solver.problem import Problem

if TYPE_CHECKING:
    from skaal.solver.encode import Encoded, SharedSpec

__all__ = ["Assignment", "Outcome", "optimise", "solve_units"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where each resource goes: the optimiser's answer before it becomes a Plan."""

    backends: Mapping[str, str]
    """Resource name → backend name."""
    instances: Mapping[str, tuple[str, ...]]
    """Shared instance id (``redis#1``) → its resources, sorted."""
    proven: bool
    """False when a time limit stopped short of a proof."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A solved set of units: placement, shared instances, cost and how far it is proven."""

    placement: Placement
    bins: Bins
    """Shared backend → its instances' units."""
    cost: int
    lower: int
    """A lower bound on the optimum (``== cost`` when proven)."""

    @property
    def proven(self) -> bool:
        return self.lower >= self.cost


def optimise(
    problem: Problem, *, deadline: Deadline | None = None, time_limit_s: float = 10.0
) -> Assignment:
    """The cheapest assignment of ``problem``; raises ``UnsatisfiableError`` on global conflicts.

    Every resource must have at least one option (the caller diagnoses those
    that do not first).
    """
    deadline = deadline or Deadline.after(time_limit_s)
    shared = _shared_specs(problem)
    all_units, impossible = units(problem)
    if impossible:
        raise conflicts.collocation(problem, impossible)
    all_units = tuple(_drop_oversized(u, shared) for u in all_units)
    impossible = tuple(u.members for u in all_units if not u.options)
    if impossible:
        raise conflicts.collocation(problem, impossible)
    limit = problem.max_backends
    if limit is None:
        return _assignment(solve_units(all_units, shared, deadline, problem), problem)
    from skaal.solver.limit import best_within

    return _assignment(best_within(all_units, shared, limit, deadline, problem), problem)


def solve_units(
    all_units: Sequence[Unit],
    shared: Mapping[str, Shared],
    deadline: Deadline,
    problem: Problem,
    *,
    exact: bool = True,
    cutoff: int | None = None,
) -> Outcome:
    """Steps 1–3 of the module docstring; ``exact=False`` stops before z3.

    With a ``cutoff`` (the cost of a plan known elsewhere), work stops as soon
    as the lower bound reaches it: the outcome then has cost :data:`CUT` and
    only its ``lower`` is meaningful.
    """
    names = frozenset(shared)
    placement: Placement = {}
    bins: Bins = {}
    coupled: list[Unit] = []
    cost = 0
    for unit in (prune(u, names) for u in all_units):
        if unit.options[0].backend in names:
            coupled.append(unit)
        else:
            placement.setdefault(unit.options[0].backend, []).append(unit)
            cost += unit.options[0].cost
    lower = cost
    parts = components(coupled, names)
    floors = [_floor(part, shared) if cutoff is not None else 0 for part in parts]
    rest = sum(floors)
    for part, floor in zip(parts, floors, strict=True):
        rest -= floor
        target = None if cutoff is None else cutoff - lower - rest
        if target is not None and floor >= target:
            return Outcome(placement, bins, CUT, lower + floor + rest)
        found = _solve_part(part, shared, deadline, problem, exact=exact, target=target)
        if found.cost >= CUT:
            return Outcome(placement, bins, CUT, lower + found.lower + rest)
        for backend, placed in found.placement.items():
            placement.setdefault(backend, []).extend(placed)
        bins.update(found.bins)
        cost += found.cost
        lower += found.lower
    return Outcome(placement, bins, cost, lower)


#: The cost of an outcome cut short by ``cutoff`` (above any real plan).
CUT = 1 << 62


def _floor(part: Sequence[Unit], shared: Mapping[str, Shared]) -> int:
    """A cheap lower bound: the capacity-ignored optimum, or each unit's cheapest option."""
    found = relaxed(part, shared)
    return sum(u.options[0].cost for u in part) if found is None else found[1]


def _drop_oversized(unit: Unit, shared: Mapping[str, Shared]) -> Unit:
    """A co-located unit may not fit one instance of a shared backend its members each fit."""
    options = tuple(
        o for o in unit.options if o.backend not in shared or fits(unit, shared[o.backend].capacity)
    )
    return unit if len(options) == len(unit.options) else Unit(unit.members, options, unit.usage)


def _shared_specs(problem: Problem) -> dict[str, Shared]:
    out: dict[str, Shared] = {}
    for item in problem.shared:
        cap = item.backend.shared
        assert cap is not None
        out[item.backend.name] = Shared(
            name=item.backend.name,
            fee=cost_micro(item.fixed_monthly),
            capacity=tuple(scaled_capacity(getattr(cap, d)) for d in DIMENSIONS),
            max_instances=cap.max_instances,
        )
    return out


def _solve_part(
    part: Sequence[Unit],
    shared: Mapping[str, Shared],
    deadline: Deadline,
    problem: Problem,
    *,
    exact: bool,
    target: int | None = None,
) -> Outcome:
    """One component: capacity-ignored optimum, then bounds, then z3 (module docstring).

    A bound reaching ``target`` stops the work (cost :data:`CUT`).
    """
    found = relaxed(part, shared)
    if found is None:
        start: Placement = {}
        for unit in part:
            start.setdefault(unit.options[0].backend, []).append(unit)
        floor = sum(u.options[0].cost for u in part)
    else:
        start, floor = found
        single = {s: pack(placed, shared[s], 1) for s, placed in start.items() if s in shared}
        if all(b is not None for b in single.values()):
            return Outcome(start, {s: b for s, b in single.items() if b is not None}, floor, floor)
    best: Outcome | None = None
    upper = upper_bound(part, shared, start)
    lower = floor
    if upper is not None and deadline.expired():
        return Outcome(upper[0], upper[1], upper[2], lower)
    goal = target if upper is None else upper[2] if target is None else min(target, upper[2])
    bound, lam = lagrangian(part, shared, start, target=goal, expired=deadline.expired)
    lower = max(lower, bound)
    if target is not None and lower >= target:
        return Outcome(start, {}, CUT, lower)
    if upper is None or upper[2] > lower:
        upper = _better(part, shared, upper, lam)
    if upper is not None:
        best = Outcome(upper[0], upper[1], upper[2], lower)
        if best.proven or not exact or deadline.expired():
            return best
    elif not exact:
        return Outcome(start, {}, CUT, floor)
    return _with_z3(part, shared, deadline, problem, best, lam=lam)


#: Larger components skip the packing of the Lagrangian start (its cost grows
#: with units × instances: 13 s for 1,839 units on 800 possible instances).
LAGRANGIAN_START_LIMIT = 400
#: z3 is not called on a component whose model would have more Booleans than
#: this: building the model grows with it (measured 0.9 s for 8,600 Booleans
#: at load 4), so past it the build alone would use most of the time limit.
Z3_MAX_LITERALS = 40_000


def _literals(part: Sequence[Unit], shared: Mapping[str, Shared]) -> int:
    """The number of placement Booleans of the z3 model of ``part``."""
    return sum(
        shared[o.backend].max_instances if o.backend in shared else 1
        for u in part
        for o in u.options
    )


def _options(part: Sequence[Unit]) -> int:
    return sum(len(u.options) for u in part)


def _better(
    part: Sequence[Unit],
    shared: Mapping[str, Shared],
    upper: tuple[Placement, Bins, int] | None,
    lam: Multipliers,
) -> tuple[Placement, Bins, int] | None:
    """The cheapest of the packing bound and the Lagrangian start, each improved by local search."""
    starts = [upper]
    if lam and len(part) <= LAGRANGIAN_START_LIMIT:
        starts.append(upper_bound(part, shared, lagrangian_start(part, shared, lam)))
    found = [improve(part, shared, p[0], p[1]) for p in starts if p is not None]
    return min(found, key=lambda p: p[2], default=None)


def _with_z3(
    part: Sequence[Unit],
    shared: Mapping[str, Shared],
    deadline: Deadline,
    problem: Problem,
    best: Outcome | None,
    *,
    lam: Multipliers,
) -> Outcome:
    """z3 on the component; with a known plan, a loop of cheaper-plan searches (step 3).

    Each round drops the options no cheaper plan can use (:mod:`.fixing`)
    and asks z3 for a plan cheaper than the best known within a work budget
    and a time slice (both doubled after a round that found nothing).
    "None exists" proves the best plan; a cheaper plan is improved by local
    search and becomes the new best, which lets the next round drop more.
    """
    from skaal.solver.encode import solve_component

    specs = _specs(part, shared)
    if best is None:
        grouped = groups(part)
        answer = solve_component(
            grouped, specs, max_backends=None, timeout_ms=deadline.remaining_ms()
        )
        if answer.counts is None:
            if answer.core:
                raise conflicts.from_core(problem, answer.core, grouped, specs)
            raise conflicts.time_limit(problem, part)
        placement, bins, cost = _decode(grouped, answer, shared, part)
        return Outcome(placement, bins, cost, cost if answer.proven else 0)
    work = _FIRST_WORK
    while not deadline.expired():
        reduced = fix(part, shared, lam, best.cost)
        if reduced is None:
            return Outcome(best.placement, best.bins, best.cost, best.cost)
        if _literals(reduced, shared) > Z3_MAX_LITERALS:
            return best
        if _options(reduced) * 3 > _options(part) * 2:
            reduced = tuple(part)  # a small reduction: z3 measured faster on the full model
        grouped = groups(reduced)
        answer = solve_component(
            grouped,
            specs,
            max_backends=None,
            timeout_ms=min(deadline.remaining_ms(), work // _FIRST_WORK * _FIRST_SLICE_MS),
            upper=best.cost,
            rlimit=work,
        )
        if answer.counts is None:
            if answer.proven:  # unsatisfiable: nothing is cheaper than the best plan
                return Outcome(best.placement, best.bins, best.cost, best.cost)
            work *= 2
            continue
        placement, bins, cost = _decode(grouped, answer, shared, part)
        if answer.proven:  # the cheapest of the plans cheaper than the best: the optimum
            if cost < best.cost:
                return Outcome(placement, bins, cost, cost)
            return Outcome(best.placement, best.bins, best.cost, best.cost)
        if cost < best.cost:
            placement, bins, cost = improve(part, shared, placement, bins)
            best = Outcome(placement, bins, cost, best.lower)
        else:  # no progress (scaled weights can admit the known cost): more work
            work *= 2
    return best


#: z3's first work budget (``rlimit``) per round of :func:`_with_z3`, about
#: 0.5 s here.  A work budget, unlike a time slice, gives the same rounds and
#: so the same plan on every run and machine.  z3 does not count work in every
#: phase (a 1,000-resource benchmark component ran 14 s on a budget of 10⁶),
#: so each round also has a time slice, four times the budget's usual time,
#: doubled with it, and never past the deadline.
_FIRST_WORK = 5_000_000
_FIRST_SLICE_MS = 2_000


def _specs(part: Sequence[Unit], shared: Mapping[str, Shared]) -> dict[str, SharedSpec]:
    from skaal.solver.encode import SharedSpec

    return {
        s.name: SharedSpec(s.fee, s.capacity, s.max_instances)
        for s in shared.values()
        if any(o.backend == s.name for u in part for o in u.options)
    }


def _decode(
    grouped: Sequence[Group], answer: Encoded, shared: Mapping[str, Shared], part: Sequence[Unit]
) -> tuple[Placement, Bins, int]:
    """z3's placement, on the component's own units (the model may hold reduced copies)."""
    assert answer.counts is not None
    own = {unit.name: unit for unit in part}
    placement: Placement = {}
    slots: dict[str, dict[int, list[Unit]]] = {}
    flat = [own[unit.name] for group in grouped for unit in group.units]
    for unit, counts, slot in zip(flat, answer.counts, answer.slots, strict=True):
        backend = counts[0][0]
        placement.setdefault(backend, []).append(unit)
        if slot >= 0:
            slots.setdefault(backend, {}).setdefault(slot, []).append(unit)
    bins = {s: [b for _, b in sorted(by.items())] for s, by in slots.items()}
    return placement, bins, total(placement, {s: len(b) for s, b in bins.items()}, shared)


def _assignment(outcome: Outcome, problem: Problem) -> Assignment:
    backends: dict[str, str] = {}
    instances: dict[str, tuple[str, ...]] = {}
    for backend in sorted(outcome.placement):
        for unit in outcome.placement[backend]:
            for member in unit.members:
                backends[member] = backend
    for backend in sorted(outcome.bins):
        ordered = sorted(sorted(m for u in b for m in u.members) for b in outcome.bins[backend])
        for index, members in enumerate(ordered, start=1):
            instances[f"{backend}#{index}"] = tuple(members)
    return Assignment(
        backends=MappingProxyType(dict(sorted(backends.items()))),
        instances=MappingProxyType(instances),
        proven=outcome.proven,
    )
