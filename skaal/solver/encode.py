"""The z3 model of one coupled component (the only module that imports z3).

Pure pseudo-Boolean, which keeps z3 in its SAT core with MaxSAT for the
objective (an integer-count formulation with a linear objective measured
orders of magnitude slower: z3 could not prove a 10-variable knapsack in 20 s).
For every unit ``u`` (co-located resources count as one), option ``b`` with
integer cost ``w[u,b]`` (micro-dollars), and instance ``i`` of a shared
backend ``s`` (fee ``f_s``, capacity ``cap[s,d]``, at most ``m_s`` instances)::

    x[u,b]  (dedicated b)  or  x[u,s,i]  (i < m_s)          Booleans
    PbEq(row of u, 1)                        placed once       (tracked "place:<g>:<u>")
    x[u,s,i] → open[s,i] ;  open[s,i+1] → open[s,i]          (symmetry breaking)
    PbLe(Σ_u use[u,d] · x[u,s,i], cap[s,d])  per instance     (tracked "capacity:<s>:<d>:<i>")
    x[u,b] → used_b ;  PbLe(Σ used_b, K)     with max_backends (tracked "max_backends")
    minimise  Σ (w[u,b] − min_b w[u,b]) · x[u,b] + Σ f_s · open[s,i]   (soft literals)

Capacity is therefore exact per instance (bin packing), co-located units share
an instance, and weights are shifted so each unit's cheapest option costs 0.
PB coefficients must fit a machine int: they are divided by their gcd and, if
still too large, scaled with usages rounded up and capacity down (only ever
tightening).  An unsatisfiable model returns its unsat-core labels.  On the
time limit z3 returns its best model so far, marked not proven optimal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import z3  # noqa: TID251 (the solver package is the one place z3 is allowed)

from skaal.solver.decompose import DIMENSIONS, Group

__all__ = ["Encoded", "SharedSpec", "solve_component"]


@dataclass(frozen=True, slots=True)
class SharedSpec:
    """What the model needs of one shared backend (fees and capacities scaled to ints)."""

    fee: int
    capacity: tuple[int | None, ...]
    """Per :data:`DIMENSIONS`; ``None`` is unlimited."""
    max_instances: int


@dataclass(frozen=True, slots=True)
class Encoded:
    """The solver's answer for one component."""

    counts: tuple[tuple[tuple[str, int], ...], ...] | None
    """Per group, (backend, units) with units > 0; ``None`` when unsatisfiable or no model."""
    instances: Mapping[str, int]
    proven: bool
    core: tuple[str, ...] = ()
    """Labels of a conflicting subset of constraints when unsatisfiable."""
    slots: tuple[int, ...] = ()
    """Per unit (groups flattened in order), its instance index on a shared backend, else -1."""


def solve_component(
    groups: Sequence[Group],
    shared: Mapping[str, SharedSpec],
    *,
    max_backends: int | None,
    timeout_ms: int,
    minimise_backends: bool = False,
    upper: int | None = None,
    rlimit: int | None = None,
) -> Encoded:
    """Optimise one component; see the module docstring for the model.

    Every unit gets one Boolean per (dedicated backend) and per (shared
    backend, instance); instances are opened in order (symmetry breaking).
    Pure pseudo-Boolean constraints keep z3 in its SAT core, and the weighted
    objective is a MaxSAT over soft literals.  ``minimise_backends`` minimises
    the number of distinct backends instead (for a conflict report).

    ``upper`` is the cost (micro-dollars, unshifted) of a known feasible plan:
    the model then only admits strictly cheaper plans (``objective ≤ upper −
    1``, weights rounded *down* when scaled, so the constraint only loosens),
    and "unsatisfiable" proves that plan optimal.  Interchangeable units of a
    group are ordered (unit ``j+1`` sits at a position — option, instance —
    no earlier than unit ``j``), which removes their permutations.
    """
    ctx = z3.Context()  # a fresh context: no state carried between calls, same answer each time
    opt = z3.Optimize(ctx=ctx)
    opt.set("timeout", max(1, timeout_ms))
    if rlimit is not None:
        opt.set("rlimit", rlimit)  # a deterministic work budget, unlike the timeout
    backends = sorted({o.backend for g in groups for o in g.options})
    used = {b: z3.Bool(f"used:{b}", ctx) for b in backends}
    opened = {
        s: [z3.Bool(f"open:{s}:{i}", ctx) for i in range(shared[s].max_instances)]
        for s in backends
        if s in shared
    }
    for bins in opened.values():
        for a, b in itertools.pairwise(bins):
            opt.add(z3.Implies(b, a))
    per_bin: dict[tuple[str, int], list[tuple[z3.BoolRef, tuple[int, ...]]]] = {}
    objective: list[tuple[z3.BoolRef, int]] = []
    shift = 0
    unit_vars: list[list[list[tuple[str, int, z3.BoolRef]]]] = []
    for gi, group in enumerate(groups):
        base = min(o.cost for o in group.options)
        shift += base * len(group.units)
        rows: list[list[tuple[str, int, z3.BoolRef]]] = []
        for ui in range(len(group.units)):
            row: list[tuple[str, int, z3.BoolRef]] = []
            for option in group.options:
                slots = range(len(opened[option.backend])) if option.backend in opened else [-1]
                for i in slots:
                    var = z3.Bool(f"x:{gi}:{ui}:{option.backend}:{i}", ctx)
                    row.append((option.backend, i, var))
                    if option.cost > base and not minimise_backends:
                        opt.add_soft(z3.Not(var), option.cost - base)
                        objective.append((var, option.cost - base))
                    if max_backends is not None or minimise_backends:
                        opt.add(z3.Implies(var, used[option.backend]))
                    if i >= 0:
                        opt.add(z3.Implies(var, opened[option.backend][i]))
                        per_bin.setdefault((option.backend, i), []).append((var, group.usage))
            _track(opt, z3.PbEq([(v, 1) for _, _, v in row], 1), f"place:{gi}:{ui}")
            if rows:
                _ordered(opt, rows[-1], row)
            rows.append(row)
        unit_vars.append(rows)
    for s, bins in opened.items():
        spec = shared[s]
        for i, flag in enumerate(bins):
            if spec.fee and not minimise_backends:
                opt.add_soft(z3.Not(flag), spec.fee)
                objective.append((flag, spec.fee))
            for d, cap in enumerate(spec.capacity):
                terms = [(v, use[d]) for v, use in per_bin.get((s, i), []) if use[d]]
                if cap is not None and terms and sum(w for _, w in terms) > cap:
                    _track(opt, z3.PbLe(*_small(terms, cap)), f"capacity:{s}:{DIMENSIONS[d]}:{i}")
    if max_backends is not None:
        _track(opt, z3.PbLe([(u, 1) for u in used.values()], max_backends), "max_backends")
    if upper is not None and not minimise_backends:
        opt.add(_at_most(objective, upper - shift - 1, ctx))
    if minimise_backends:
        for flag in used.values():
            opt.add_soft(z3.Not(flag), 1)
    result = opt.check()
    if result == z3.unsat:
        core = tuple(sorted({_label(str(label)) for label in opt.unsat_core()}))
        return Encoded(None, {}, proven=True, core=core)
    proven = result == z3.sat
    try:
        model = opt.model()
    except z3.Z3Exception:
        return Encoded(None, {}, proven=False)
    placements: list[tuple[tuple[str, int], ...]] = []
    for rows in unit_vars:
        for row in rows:
            chosen = [(b, i) for b, i, v in row if z3.is_true(model.eval(v))]
            if len(chosen) != 1:
                return Encoded(None, {}, proven=False)
            placements.append((chosen[0],))
    counts = tuple(tuple((b, 1) for b, _ in p) for p in placements)
    bins_used = {
        s: sum(1 for flag in bins if z3.is_true(model.eval(flag))) for s, bins in opened.items()
    }
    return Encoded(
        counts,
        bins_used,
        proven=proven,
        slots=tuple(p[0][1] for p in placements),
    )


def _ordered(
    opt: z3.Optimize,
    before: Sequence[tuple[str, int, z3.BoolRef]],
    after: Sequence[tuple[str, int, z3.BoolRef]],
) -> None:
    """Symmetry breaking for interchangeable units: ``pos(after) ≥ pos(before)``."""
    for p, (_, _, var) in enumerate(after):
        opt.add(z3.Implies(var, z3.Or([v for _, _, v in before[: p + 1]])))


def _at_most(terms: Sequence[tuple[z3.BoolRef, int]], bound: int, ctx: z3.Context) -> z3.BoolRef:
    """``Σ w·v ≤ bound`` relaxed to fit machine ints (weights and bound rounded down)."""
    if bound < 0:
        return z3.BoolVal(False, ctx)
    if not terms:
        return z3.BoolVal(True, ctx)
    largest = max([bound, *(w for _, w in terms)])
    factor = 1 if largest < _PB_LIMIT else -(-largest // _PB_LIMIT) + 1
    return z3.PbLe([(v, w // factor) for v, w in terms], bound // factor)


def _label(label: str) -> str:
    """``place:g:u`` → ``place:g``; ``capacity:s:d:i`` → ``capacity:s:d``."""
    parts = label.split(":")
    return ":".join(parts[:2]) if parts[0] == "place" else ":".join(parts[:3])


_PB_LIMIT = 2**30


def _small(
    terms: Sequence[tuple[z3.BoolRef, int]], cap: int
) -> tuple[list[tuple[z3.BoolRef, int]], int]:
    """Coefficients that fit z3's machine ints: divide by the gcd, then (rarely) scale
    down rounding usages up and the capacity down, so the constraint only tightens."""
    divisor = math.gcd(cap, *(w for _, w in terms)) or 1
    cap //= divisor
    terms = [(v, w // divisor) for v, w in terms]
    largest = max([cap, *(w for _, w in terms)])
    if largest < _PB_LIMIT:
        return terms, cap
    factor = -(-largest // _PB_LIMIT) + 1
    return [(v, -(-w // factor)) for v, w in terms], cap // factor


def _track(opt: z3.Optimize, constraint: z3.BoolRef, label: str) -> None:
    """Add a hard constraint under a label, so it can appear in an unsat core."""
    opt.assert_and_track(constraint, label)
