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
   and a feasible packing ``UB``.  ``UB == LB`` proves the packing optimal
   with no solver.  Otherwise z3 (:mod:`.encode`, exact per-instance bin
   packing, identical units symmetry-broken) looks for a plan cheaper than
   ``UB`` within the time left; "none exists" proves ``UB``; on timeout the
   better of ``UB`` and z3's model is returned, marked ``best_found``.
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

from skaal.solver import conflicts
from skaal.solver.bounds import (
    Bins,
    Placement,
    Shared,
    lower_bound,
    pack,
    relaxed,
    total,
    upper_bound,
)
from skaal.solver.deadline import Deadline
from skaal.solver.decompose import (
    DIMENSIONS,
    Unit,
    components,
    cost_micro,
    fits,
    groups,
    prune,
    scaled_capacity,
    units,
)
from skaal.solver.problem import Problem

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
) -> Outcome:
    """Steps 1–3 of the module docstring; ``exact=False`` stops before z3."""
    names = frozenset(shared)
    placement: Placement = {}
    bins: Bins = {}
    coupled: list[Unit] = []
    cost = lower = 0
    for unit in (prune(u, names) for u in all_units):
        if unit.options[0].backend in names:
            coupled.append(unit)
        else:
            placement.setdefault(unit.options[0].backend, []).append(unit)
            cost += unit.options[0].cost
    lower = cost
    for part in components(coupled, names):
        found = _solve_part(part, shared, deadline, problem, exact=exact)
        for backend, placed in found.placement.items():
            placement.setdefault(backend, []).extend(placed)
        bins.update(found.bins)
        cost += found.cost
        lower += found.lower
    return Outcome(placement, bins, cost, lower)


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
) -> Outcome:
    """One component: capacity-ignored optimum, then bounds, then z3 (module docstring)."""
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
    if upper is not None:
        if deadline.expired():
            return Outcome(upper[0], upper[1], upper[2], lower)
        lower = max(lower, lower_bound(part, shared, start))
        best = Outcome(upper[0], upper[1], upper[2], lower)
        if best.proven or not exact or deadline.expired():
            return best
    elif not exact:
        return Outcome(start, {}, 1 << 62, floor)
    return _with_z3(part, shared, deadline, problem, best)


def _with_z3(
    part: Sequence[Unit],
    shared: Mapping[str, Shared],
    deadline: Deadline,
    problem: Problem,
    best: Outcome | None,
) -> Outcome:
    from skaal.solver.encode import SharedSpec, solve_component

    grouped = groups(part)
    specs = {
        s.name: SharedSpec(s.fee, s.capacity, s.max_instances)
        for s in shared.values()
        if any(o.backend == s.name for u in part for o in u.options)
    }
    answer = solve_component(
        grouped,
        specs,
        max_backends=None,
        timeout_ms=deadline.remaining_ms(),
        upper=None if best is None else best.cost,
    )
    if answer.counts is None:
        if best is not None:
            # Unsatisfiable below the known plan's cost proves it; a timeout does not.
            return Outcome(
                best.placement, best.bins, best.cost, best.cost if answer.core else best.lower
            )
        if answer.core:
            raise conflicts.from_core(problem, answer.core, grouped, specs)
        raise conflicts.time_limit(problem, part)
    placement: Placement = {}
    slots: dict[str, dict[int, list[Unit]]] = {}
    flat = [unit for group in grouped for unit in group.units]
    for unit, counts, slot in zip(flat, answer.counts, answer.slots, strict=True):
        backend = counts[0][0]
        placement.setdefault(backend, []).append(unit)
        if slot >= 0:
            slots.setdefault(backend, {}).setdefault(slot, []).append(unit)
    bins = {s: [b for _, b in sorted(by.items())] for s, by in slots.items()}
    cost = total(placement, {s: len(b) for s, b in bins.items()}, shared)
    floor = best.lower if best is not None else 0
    return Outcome(placement, bins, cost, cost if answer.proven else floor)


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
