"""Packings decided by z3: exact placements, cheapest packings, and proofs that
given instances cannot hold some units.

The greedy fits of :mod:`.place` pack almost every plan; what they leave
over comes here, as one model: a Boolean per (unit, instance that can hold
it), each unit on one instance (``PbEq``), each instance within its
capacity per dimension (``PbLe``) and holding at most as many units as
counting allows (:func:`most_held`, redundant: it spares z3 a search).

- :func:`exact_fit` packs units into given instances (step 3 of
  :func:`.place.place`);
- :func:`cheapest_packing` chooses the instances too, minimising their
  fees (:mod:`.placement`, for servers of a few units);
- :func:`unheld` names sets of units the instances cannot hold even alone,
  each an unsatisfiable core (the cuts of :mod:`.cuts`).

Every search is bounded by z3's resource limit (deterministic units, not
seconds), and models are built through z3's C API (:func:`_pseudo_boolean`,
:func:`_booleans`): its Python API checks and coerces every term, most of
the time of building a model of a few thousand pairs.  z3 is loaded only
when a model is asked for.
"""

from __future__ import annotations

import ctypes
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from skaal.solver.decompose import Unit
from skaal.solver.servers import Bins, Shape

__all__ = [
    "CHEAPEST_MAX_UNITS",
    "MAX_UNHELD",
    "Z3_CORE_RLIMIT",
    "Z3_MAX_LITERALS",
    "Z3_PLACE_LITERALS",
    "Z3_RLIMIT",
    "by_fee",
    "cheapest_packing",
    "exact_fit",
    "most_held",
    "unheld",
]

#: z3's work budget for one packing (a deterministic count of its steps).  On the
#: ``users`` draws of 100 to 500 resources (five seeds, aws and gcp) every packing
#: z3 found took at most 4.3 million; one it could not find spent the whole
#: budget, 20 million then, about 4 s each time (a 500-resource plan took 26 s).
Z3_RLIMIT = 5_000_000
#: Packings with more (unit, instance) pairs than this are not handed to z3.
Z3_MAX_LITERALS = 4_000
#: Placing units into given instances (:func:`place`) hands z3 at most this many
#: pairs.  On the ``users`` draws of 100 to 2,000 resources (up to ten seeds, aws
#: and gcp; 2026-12-05) z3 placed every packing it could with 2,100 pairs at
#: most; each of the ten tries with 2,500 to 4,000 failed, after 0.1 to 2.3 s.
Z3_PLACE_LITERALS = 2_500

#: :func:`cheapest_packing` is tried on servers holding at most this many units.
CHEAPEST_MAX_UNITS = 60
#: z3's work budget for each check of :func:`unheld`, which proves that given
#: instances cannot hold some units.
Z3_CORE_RLIMIT = 500_000
#: :func:`unheld` names at most this many sets of units per server.
MAX_UNHELD = 4

T = TypeVar("T")

#: z3's pseudo-Boolean coefficients and bounds are C ints.
_INT32 = 2**31 - 1


def by_fee(shapes: Sequence[Shape]) -> list[Shape]:
    """``shapes`` dearest first (then by class and replicas): the order every packing
    opens instances in, so that equal inputs give equal packings."""
    return sorted(shapes, key=lambda s: (-s.fee_micro, s.instance_class.name, s.replicas))


def exact_fit(units: Sequence[Unit], shapes: Sequence[Shape], rlimit: int) -> Bins | None:
    """``units`` packed into one instance per entry of ``shapes`` by z3, within the work
    budget ``rlimit``; ``None`` when not placed (or not asked: too many pairs, too few
    instances by counting)."""
    ordered = by_fee(shapes)
    if not _few_pairs(units, ordered, Z3_PLACE_LITERALS):
        return None  # known before z3 is loaded and a context made (0.1 s at scale)
    most = most_held(units, ordered)
    if sum(most) < len(units):
        return None  # too few instances by counting: z3 would spend its whole budget on it
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    solver = z3.Solver(ctx=z3.Context())
    solver.set("rlimit", rlimit)
    var = _placement_model(solver, units, ordered, most, ranked=True)
    if var is None:
        return None
    # Interchangeable instances are opened in order: i+1 holds something only if i does.
    column = {i: [v for (_, k), v in var.items() if k == i] for i in range(len(ordered))}
    add = _asserter(solver)
    for i, j in itertools.pairwise(range(len(ordered))):
        if ordered[i] is ordered[j] and column[i] and column[j]:
            add(z3.Implies(_any(column[j], solver.ctx), _any(column[i], solver.ctx)))
    if solver.check() != z3.sat:
        return None
    return _decoded(solver.model(), var, units, ordered)


def unheld(
    units: Sequence[Unit],
    shapes: Sequence[Shape],
    *,
    rlimit: int = Z3_CORE_RLIMIT,
    most: int = MAX_UNHELD,
) -> list[list[int]] | None:
    """Sets of ``units`` (indices) that one instance per entry of ``shapes`` cannot hold,
    each even alone, proven by z3; disjoint, at most ``most`` of them.  ``[]`` when
    z3 places them all; ``None`` when nothing is proven (its budget ``rlimit`` per
    check ran out first, or the model is too large to ask).

    A unit fitting no instance is a set by itself, and more units than the
    instances can hold by counting (:func:`most_held`) are one.  Otherwise
    each unit gets a Boolean "placed"; z3, asked to place them all, answers with the few it
    could not place together (its unsatisfiable core), shrunk by leaving out
    one unit at a time while the rest still cannot be held; then the same
    for the units outside the sets found.  The capacities are rounded loose
    (:func:`_fit_int32`), so each set is a proof, whatever the rounding, and
    each becomes a cut of the pooled relaxation (:mod:`.cuts`).
    """
    alone = [u for u, unit in enumerate(units) if not any(s.holds(unit.usage) for s in shapes)]
    if alone:
        return [[u] for u in alone[:most]]
    ordered = by_fee(shapes)
    if not _few_pairs(units, ordered, Z3_PLACE_LITERALS):
        return None
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    solver = z3.Solver(ctx=z3.Context())
    solver.set("rlimit", rlimit)
    wanted = _booleans([f"w:{u}" for u in range(len(units))], solver.ctx)
    _placement_model(solver, units, ordered, most_held(units, ordered), ranked=True, wanted=wanted)
    found: list[list[int]] = []
    left = list(range(len(units)))
    while len(found) < most:
        counted = sum(most_held([units[u] for u in left], ordered))
        if counted < len(left):  # too many for the instances by counting alone (no search:
            found.append(left[: counted + 1])  # pigeonholes can spend z3's whole budget)
            left = left[counted + 1 :]
            continue
        verdict = solver.check(*(wanted[u] for u in left))
        if verdict == z3.sat:
            return found
        if verdict != z3.unsat:
            return found or None
        core = _core_of(solver, wanted, left)
        at = 0
        while at < len(core):  # each unit left out once, while the rest still cannot be held
            rest = core[:at] + core[at + 1 :]
            if solver.check(*(wanted[u] for u in rest)) == z3.unsat:
                core = _core_of(solver, wanted, rest)
            else:
                at += 1
        found.append(core)
        named = set(core)
        left = [u for u in left if u not in named]
    return found


def _core_of(solver: Any, wanted: Sequence[Any], among: Sequence[int]) -> list[int]:
    """The units of ``among`` whose Booleans are in the unsatisfiable core z3 holds."""
    named = {str(term) for term in solver.unsat_core()}
    return [u for u in among if f"w:{u}" in named]


def _few_pairs(units: Sequence[Unit], slots: Sequence[Shape], most: int) -> bool:
    """Whether ``slots`` are some and the (unit, slot) pairs that fit number at most ``most``.

    Units repeat usages and slots repeat shapes: the pairs are counted per
    distinct (usage, shape), and the count gives up as soon as it passes.
    """
    if not slots or len(units) > most:
        return False
    kinds: dict[Shape, int] = {}
    for shape in slots:
        kinds[shape] = kinds.get(shape, 0) + 1
    held: dict[tuple[int, ...], int] = {}
    total = 0
    for unit in units:
        count = held.get(unit.usage)
        if count is None:
            count = held[unit.usage] = sum(n for k, n in kinds.items() if k.holds(unit.usage))
        total += count
        if total > most:
            return False
    return True


def most_held(units: Sequence[Unit], slots: Sequence[Shape]) -> list[int]:
    """Per slot, at most how many of ``units`` one instance holds: per dimension, how
    many of the smallest usages it holds fit together (once per distinct shape).

    Units slightly over a third of an instance fit two to an instance, which
    z3 can only prove by search (fifteen such maps and seven instances: its
    whole work budget, seconds); counted, it is a sum.
    """
    found: dict[Shape, int] = {}
    out: list[int] = []
    for shape in slots:
        most = found.get(shape)
        if most is None:
            held = [u.usage for u in units if shape.holds(u.usage)]
            most = len(held)
            for d, cap in enumerate(shape.capacity):
                if cap is None:
                    continue
                total = 0
                for count, use in enumerate(sorted(x[d] for x in held)):
                    total += use
                    if total > cap:
                        most = min(most, count)
                        break
            found[shape] = most
        out.append(most)
    return out


def _placement_model(
    solver: Any,
    units: Sequence[Unit],
    slots: Sequence[Shape],
    most: Sequence[int],
    *,
    ranked: bool = False,
    wanted: Sequence[Any] = (),
) -> dict[tuple[int, int], Any] | None:
    """Booleans unit-on-instance: each unit on one instance holding it, each within capacity
    and holding at most ``most`` of them (:func:`most_held`, redundant: it spares z3 a
    search).

    ``wanted`` (a Boolean per unit, for :func:`unheld`): each unit on at most
    one instance, and on one when its Boolean holds; the capacities are then
    rounded loose (:func:`_fit_int32`), so that "unsatisfiable" is a proof.

    ``ranked``: the slots of one shape (consecutive in ``slots``) are
    interchangeable, so the ``p``-th of them may hold only units from the
    ``p``-th on (in ``units`` order): any packing, its instances of a shape
    ordered by their first unit, is one of these, and z3 no longer searches
    the same packing under every order of its instances.

    The caller has counted the pairs (:func:`_few_pairs`) before making z3's
    context.  ``None`` when a unit fits no instance.
    """
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    rank = [0] * len(slots)
    if ranked:
        for i in range(1, len(slots)):
            rank[i] = rank[i - 1] + 1 if slots[i] is slots[i - 1] else 0
    pairs = [
        (u, i)
        for u in range(len(units))
        for i in range(len(slots))
        if rank[i] <= u and slots[i].holds(units[u].usage)
    ]
    made = _booleans([_pair_name(u, i) for u, i in pairs], solver.ctx)
    var = dict(zip(pairs, made, strict=True))
    add = _asserter(solver)
    for u in range(len(units)):
        row = [(var[u, i], 1) for i in range(len(slots)) if (u, i) in var]
        if not row:
            return None
        if wanted:
            add(_pseudo_boolean(z3.Z3_mk_pble, row, 1, solver.ctx))
            add(z3.Implies(wanted[u], _any([x for x, _ in row], solver.ctx)))
        else:
            add(_pseudo_boolean(z3.Z3_mk_pbeq, row, 1, solver.ctx))
    loose = bool(wanted)
    for i, shape in enumerate(slots):
        members = [u for u in range(len(units)) if (u, i) in var]
        for d, cap in enumerate(shape.capacity):
            row = [(var[u, i], units[u].usage[d]) for u in members if units[u].usage[d]]
            if cap is not None and row and sum(w for _, w in row) > cap:
                fitted = _fit_int32(row, cap, loose=loose)
                add(_pseudo_boolean(z3.Z3_mk_pble, *fitted, solver.ctx))
        if most[i] < len(members):
            row = [(var[u, i], 1) for u in members]
            add(_pseudo_boolean(z3.Z3_mk_pble, row, most[i], solver.ctx))
    return var


def _pair_name(unit: int, slot: int) -> str:
    """The name of the Boolean "unit ``unit`` on slot ``slot``" (:func:`_decoded` reads it back)."""
    return f"p:{unit}:{slot}"


def _asserter(solver: Any) -> Callable[[Any], None]:
    """``solver.add`` of one Boolean term (a ``z3.Solver`` or ``z3.Optimize``), by z3's C
    API: the Python method checks and coerces every term it is given, a third of the
    time of building a packing model of a few thousand pairs."""
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    ref = solver.ctx.ref()
    if isinstance(solver, z3.Optimize):
        optimize = solver.optimize
        return lambda term: z3.Z3_optimize_assert(ref, optimize, term.as_ast())
    handle = solver.solver
    return lambda term: z3.Z3_solver_assert(ref, handle, term.as_ast())


def _booleans(names: Sequence[str], ctx: Any) -> list[Any]:
    """``[z3.Bool(name, ctx) for name in names]``, each made by one call of z3's C API."""
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    ref, sort = ctx.ref(), z3.BoolSort(ctx).ast
    return [
        z3.BoolRef(z3.Z3_mk_const(ref, z3.Z3_mk_string_symbol(ref, name), sort), ctx)
        for name in names
    ]


def _any(terms: Sequence[Any], ctx: Any) -> Any:
    """``z3.Or(*terms)``, made by one call of z3's C API (no coercion in Python)."""
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    size = len(terms)
    array = (z3.Ast * size)(*(t.as_ast() for t in terms))
    return z3.BoolRef(z3.Z3_mk_or(ctx.ref(), size, array), ctx)


def _pseudo_boolean(make: Any, row: Sequence[tuple[Any, int]], bound: int, ctx: Any) -> Any:
    """``Σ w·x = bound`` or ``≤ bound`` (``make``: ``Z3_mk_pbeq``, ``Z3_mk_pble``), in one call.

    The same term ``z3.PbEq``/``z3.PbLe`` build, made by z3's C API directly:
    those coerce and check every argument in Python, which took most of the
    time of building a packing model of some thousand pairs.  The weights
    and the bound fit a C int (:func:`_fit_int32`; 1 for an equality).
    """
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    size = len(row)
    terms = (z3.Ast * size)(*(x.as_ast() for x, _ in row))
    weights = (ctypes.c_int * size)(*(w for _, w in row))
    return z3.BoolRef(make(ctx.ref(), size, terms, weights, bound), ctx)


def _decoded(
    model: Any, var: dict[tuple[int, int], Any], units: Sequence[Unit], slots: Sequence[Shape]
) -> Bins:
    """The packing a z3 model chose, one entry per slot.

    The model's constants set true are read by z3's C API, one pass over the
    model: asking it for every pair (``model.eval``) built a Python term per
    pair.  A pair the model leaves out is false, as ``model_completion`` makes it.
    """
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    ref, handle = model.ctx.ref(), model.model
    true: set[str] = set()
    for k in range(z3.Z3_model_get_num_consts(ref, handle)):
        decl = z3.Z3_model_get_const_decl(ref, handle, k)
        value = z3.Z3_model_get_const_interp(ref, handle, decl)
        if z3.Z3_get_bool_value(ref, value) == z3.Z3_L_TRUE:
            true.add(z3.Z3_get_symbol_string(ref, z3.Z3_get_decl_name(ref, decl)))
    bins: Bins = [(shape, []) for shape in slots]
    for u, i in var:
        if _pair_name(u, i) in true:
            bins[i][1].append(units[u])
    return bins


def _fit_int32(
    row: list[tuple[T, int]], cap: int, *, loose: bool = False
) -> tuple[list[tuple[T, int]], int]:
    """``Σ w·x ≤ cap`` with coefficients and bound that fit a C int, only ever tightened
    (``loose``: only ever loosened).

    Divided by their greatest common divisor first (exact), then, if still
    too large, scaled down with weights rounded up and the bound rounded
    down: a packing it accepts is always a real packing.  ``loose`` rounds
    the other way (weights down, the bound up): every real packing meets
    it, so a model it makes unsatisfiable proves that no packing exists.
    """
    divisor = math.gcd(cap, *(w for _, w in row))
    row = [(x, w // divisor) for x, w in row]
    cap //= divisor
    top = max(cap, *(w for _, w in row))
    if top <= _INT32:
        return row, cap
    scale = math.ceil(top / _INT32)
    if loose:
        return [(x, w // scale) for x, w in row], -(-cap // scale)
    return [(x, -(-w // scale)) for x, w in row], cap // scale


def cheapest_packing(units: Sequence[Unit], shapes: Sequence[Shape], quota: int) -> Bins | None:
    """The instances of least total fee that hold ``units`` one by one, decided by z3.

    Used when the relaxation's instances cannot hold a server's units: each
    shape gets as many candidate instances as its capacity could need (at
    most the quota, counted in quota units), every unit sits on one instance that holds it, and z3
    minimises the fees of the instances used, within :data:`Z3_RLIMIT`.
    ``None`` when the model is too large or z3 finds no packing in budget.
    """
    if len(units) > CHEAPEST_MAX_UNITS:
        return None
    units = sorted(units, key=lambda u: u.usage, reverse=True)  # the largest anchor the ranks
    slots: list[Shape] = []
    for shape in shapes:
        if not any(shape.holds(u.usage) for u in units):
            continue
        need = max(
            (
                math.ceil(sum(u.usage[d] for u in units) / c)
                for d, c in enumerate(shape.capacity)
                if c
            ),
            default=1,
        )
        slots += [shape] * min(quota // shape.units, len(units), need + 1)
    if not _few_pairs(units, slots, Z3_MAX_LITERALS):
        return None
    most = most_held(units, slots)
    import z3  # noqa: TID251, PLC0415 - z3 is allowed only here, loaded only for coupled groups

    opt = z3.Optimize(ctx=z3.Context())
    opt.set("rlimit", Z3_RLIMIT)
    var = _placement_model(opt, units, slots, most, ranked=True)
    if var is None:
        return None
    opened = _booleans([f"open:{i}" for i in range(len(slots))], opt.ctx)
    # Redundant, but z3 proves "too few instances" by it at once instead of by search
    cover = list(zip(opened, most, strict=True))
    add = _asserter(opt)
    add(_pseudo_boolean(z3.Z3_mk_pbge, cover, len(units), opt.ctx))
    ref = opt.ctx.ref()
    for (_, i), v in var.items():  # z3.Implies by the C API: one call, no coercion in Python
        add(z3.BoolRef(z3.Z3_mk_implies(ref, v.as_ast(), opened[i].as_ast()), opt.ctx))
    for i, shape in enumerate(slots):
        if i and slots[i - 1] is shape:
            add(z3.Implies(opened[i], opened[i - 1]))
        opt.add_soft(z3.Not(opened[i]), shape.fee_micro)
    if sum(shape.units for shape in slots) > quota:
        add(z3.PbLe([(o, shape.units) for o, shape in zip(opened, slots, strict=True)], quota))
    if opt.check() != z3.sat:
        return None
    packed = _decoded(opt.model(), var, units, slots)
    return [(shape, members) for shape, members in packed if members]
