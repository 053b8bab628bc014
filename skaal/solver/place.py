"""Put the units a server received into instances, one by one.

The pooled relaxation (:mod:`.pooled`) decides how many instances of each
shape a server backend runs and which units go to it; this module decides
which instance holds each unit, so that every instance holds its units in
every dimension (bin packing with the bins given).

1. **First fit decreasing.**  Units sorted by their largest share of the
   biggest instance, instances biggest first; each unit goes to the first
   instance that still holds it.  This places almost every realistic plan
   (many units, each small next to an instance).
2. **Counting, then dot-product fit.**  When first fit leaves a unit over,
   :func:`short` checks by counting (Hall's condition per family of shapes)
   that the instances can hold the units at all; then
   :func:`balanced_fit_partial` pairs each unit with the instance whose
   room matches its needs (reads-heavy units where reads are left), which
   packs instances filled to the brim in two dimensions where first fit
   strands room.
3. **z3.**  When both leave a unit over, z3 decides the packing
   exactly: one Boolean per (unit, instance that can hold it), each unit
   placed once (``PbEq``), each instance within its capacity per dimension
   (``PbLe``), interchangeable instances opened in order.  Its work is
   bounded by a resource limit (:data:`Z3_RLIMIT`, deterministic units, not
   seconds) and it is only asked when the model is small enough
   (:data:`Z3_PLACE_LITERALS`) to be built quickly and likely to be solved
   within that limit.
4. Either way, ``None`` means "not placed": the caller then adds capacity
   and labels the plan ``best_found`` with the relaxation's lower bound.

Co-located resources are one unit, so they always share an instance.
"""

from __future__ import annotations

import ctypes
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from skaal.solver import fitarrays
from skaal.solver.decompose import Unit
from skaal.solver.servers import Shape

__all__ = [
    "MAX_UNHELD",
    "Z3_CORE_RLIMIT",
    "Z3_MAX_LITERALS",
    "Z3_PLACE_LITERALS",
    "Z3_RLIMIT",
    "balanced_fit_partial",
    "cheapest_packing",
    "fees",
    "first_fit",
    "first_fit_grown",
    "first_fit_partial",
    "hall_needs",
    "limits",
    "load",
    "most_held",
    "place",
    "rooms",
    "short",
    "tightened",
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

Bins = list[tuple[Shape, list[Unit]]]
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


def place(
    units: Sequence[Unit], shapes: Sequence[Shape], *, rlimit: int = Z3_RLIMIT
) -> Bins | None:
    """The units packed into one instance per entry of ``shapes``, or ``None``; z3, when
    the greedy fits fail, within ``rlimit`` (:data:`Z3_RLIMIT`)."""
    found = first_fit(units, shapes)
    if found is not None:
        return found
    if short(units, shapes):
        return None
    bins, left = balanced_fit_partial(units, shapes)
    if not left:
        return bins
    return _with_z3(units, shapes, rlimit)


def short(units: Sequence[Unit], shapes: Sequence[Shape]) -> bool:
    """Whether ``shapes`` surely cannot hold ``units``, by counting (no search).

    For every set ``F`` of the instances' shapes, the units that only shapes
    of ``F`` hold must fit the instances of ``F`` in every dimension (Hall's
    condition).  A rounded relaxation can hand a server more than its
    instances hold; this proves it in a pass instead of a z3 search.
    """
    kinds = list(dict.fromkeys(shapes))
    count = {k: shapes.count(k) for k in kinds}
    needs = hall_needs(units, kinds)
    if needs is None:
        return True
    for family, need in needs.items():
        members = sorted(family)
        for d, total in enumerate(need):
            caps = [kinds[i].capacity[d] for i in members]
            if any(c is None for c in caps):
                continue
            room = sum((c or 0) * count[kinds[i]] for i, c in zip(members, caps, strict=True))
            if total > room:
                return True
    return False


def hall_needs(
    units: Sequence[Unit], kinds: Sequence[Shape]
) -> dict[frozenset[int], list[int]] | None:
    """Per *family* (the indexes of the ``kinds`` one empty instance of which holds a
    unit), what the units whose family lies inside it use, summed per dimension: they
    can only go on instances of that family's kinds (Hall's condition).  ``None`` when
    a unit fits no kind.  Families come in the order their first unit does.  Past
    :data:`.fitarrays.SHARES` units, summed over arrays (:func:`.fitarrays.family_sums`).
    """
    own: dict[frozenset[int], list[int]] = {}
    if len(units) >= fitarrays.SHARES and len(kinds) <= fitarrays.FAMILY_BITS:
        sums = fitarrays.family_sums([u.usage for u in units], [k.capacity for k in kinds])
        if sums is None:
            return None
        for bits, row in sums:
            own[fitarrays.family_of(bits, len(kinds))] = row
    else:
        for unit in units:
            family = frozenset(i for i, k in enumerate(kinds) if k.holds(unit.usage))
            if not family:
                return None
            row = own.setdefault(family, [0] * len(unit.usage))
            for d, u in enumerate(unit.usage):
                row[d] += u
    return {
        family: [
            sum(column) for column in zip(*(r for f, r in own.items() if f <= family), strict=True)
        ]
        for family in own
    }


def tightened(bins: Bins, shapes: Sequence[Shape]) -> Bins:
    """``bins`` with fewer, cheaper instances holding the same units (exact checks only).

    Placement fills the instances the relaxation counted, and repair adds
    instances one unit at a time, so a plan can run an instance larger than
    its units need, or two instances one cheaper shape would hold together.
    Two passes, each only ever lowering the fees:

    1. every instance takes the cheapest of ``shapes`` that holds the sum of
       its units in every dimension;
    2. then, repeatedly, the two instances whose units one shape holds for
       the largest saving over their two fees are merged into it.

    Each unit stays on one instance that holds it, so the result is a
    packing whenever ``bins`` is one; ties keep the earlier shape.
    """
    order = sorted(shapes, key=lambda s: s.fee_micro)
    width = len(shapes[0].capacity) if shapes else 0

    # (fee, room per dimension, shape), cheapest first: the pair search below
    # asks for the cheapest shape holding a usage tens of thousands of times.
    table = [(shape.fee_micro, limits(shape.capacity), shape) for shape in order]

    fees = {shape: price for price, _, shape in table}

    def fee_of(shape: Shape) -> int:
        found = fees.get(shape)
        return shape.fee_micro if found is None else found

    def cheapest(usage: tuple[int, ...], fee: int) -> Shape | None:
        size, reads, writes, count = usage
        for price, room, shape in table:
            if price >= fee:
                return None
            if size <= room[0] and reads <= room[1] and writes <= room[2] and count <= room[3]:
                return shape
        return None

    out: list[tuple[Shape, list[Unit], tuple[int, ...]]] = []
    for shape, members in bins:
        if not members:
            continue
        usage = load(members, width)
        out.append((cheapest(usage, shape.fee_micro) or shape, list(members), usage))
    # Per dimension, the most any shape holds: most pairs exceed it at once.
    top = [
        _UNLIMITED if any(c is None for c in column) else max(c or 0 for c in column)
        for column in _dims(shapes)
    ]
    merges: fitarrays.Merges | None = None
    if len(out) * (len(out) - 1) // 2 >= _MANY_PAIRS:
        merges = fitarrays.Merges(
            [row[2] for row in out],
            [fee_of(row[0]) for row in out],
            top,
            [(price, room) for price, room, _ in table],
        )
    while len(out) > 1:
        best: tuple[int, int, int, Shape] | None = None
        pairs: Iterable[tuple[int, int]] = ()
        if merges is not None:
            found = merges.best()
            if found is not None:
                saving, i, j, k = found
                best = (saving, i, j, table[k][2])
        else:
            pairs = itertools.combinations(range(len(out)), 2)
        for i, j in pairs:
            usage = tuple(a + b for a, b in zip(out[i][2], out[j][2], strict=True))
            if any(u > t for u, t in zip(usage, top, strict=True)):
                continue
            fee = fee_of(out[i][0]) + fee_of(out[j][0])
            fits = cheapest(usage, fee)
            if fits is not None and (best is None or fee - fees[fits] > best[0]):
                best = (fee - fees[fits], i, j, fits)
        if best is None:
            break
        _, i, j, into = best
        merged = (
            into,
            out[i][1] + out[j][1],
            tuple(a + b for a, b in zip(out[i][2], out[j][2], strict=True)),
        )
        out = [merged, *(b for k, b in enumerate(out) if k not in (i, j))]
        if merges is not None:
            merges.merge(i, j, merged[2], fees[into])
    return [(shape, members) for shape, members, _ in out]


#: Pairs of instances from which :func:`tightened` weighs them over numpy arrays
#: (:class:`.fitarrays.Merges`), each merge then weighing only the merged one's pairs.
_MANY_PAIRS = 1_000


def _order(shapes: Sequence[Shape]) -> list[Shape]:
    return sorted(shapes, key=lambda s: (-s.fee_micro, s.instance_class.name, s.replicas))


def first_fit(units: Sequence[Unit], shapes: Sequence[Shape]) -> Bins | None:
    """First fit decreasing (step 1); ``None`` if some unit fits nowhere (known at the
    first such unit: the units after it are not tried)."""
    bins: Bins = [(shape, []) for shape in _order(shapes)]
    if not bins:
        return None if units else bins
    return None if _fill(bins, _stream(units, shapes, ()), whole=True) else bins


def first_fit_partial(
    units: Sequence[Unit], shapes: Sequence[Shape], *, before: Sequence[Unit] = ()
) -> tuple[Bins, list[Unit]]:
    """First fit decreasing, and the units that fit nowhere (largest first).

    ``before`` are placed first (each list largest first): units that have
    nowhere else to go take the room before those that do.
    """
    bins: Bins = [(shape, []) for shape in _order(shapes)]
    if not bins:
        return bins, [*before, *units]
    return bins, _fill(bins, _stream(units, shapes, before))


def first_fit_grown(
    units: Sequence[Unit],
    shapes: Sequence[Shape],
    added: Shape,
    previous: Bins,
    *,
    before: Sequence[Unit] = (),
    streams: dict[tuple[int, ...], list[Unit]] | None = None,
) -> tuple[Bins, list[Unit]]:
    """``first_fit_partial(units, [*shapes, added], before=before)``, given ``previous``,
    the bins of ``first_fit_partial(units, shapes, before=before)``.

    First fit fills the instances in their order, and what an instance takes
    depends only on the units reaching it, in order: the instances before
    the new one take what they took before, and only the units they left
    are packed again, into the new instance and those after it.  When the
    new shape changes the order of the units (it is larger than every other
    in some dimension), everything is packed again.

    ``streams``, kept by a caller growing the same units round after round,
    holds the order of the units per largest instance (:func:`_stream`), so
    10,000 units are sorted once, not once per instance opened.
    """
    grown = [*shapes, added]
    top = _top(grown)
    if not shapes or top != _top(shapes):
        return first_fit_partial(units, grown, before=before)
    order = _order(grown)
    at = max(i for i, shape in enumerate(order) if shape is added)
    assert all(a is b for a, b in zip(order[:at], (s for s, _ in previous), strict=False))
    bins: Bins = [*((shape, list(members)) for shape, members in previous[:at])]
    bins += [(shape, []) for shape in order[at:]]
    taken = {id(u) for _, members in bins[:at] for u in members}
    if streams is None:
        streams = {}
    key = tuple(top)
    ordered = streams.get(key)
    if ordered is None:
        ordered = streams[key] = _stream(units, grown, before)
    stream = [u for u in ordered if id(u) not in taken]
    return bins, _fill(bins[at:], stream)


def _top(shapes: Sequence[Shape]) -> list[int]:
    return [max((c for c in column if c is not None), default=0) for column in _dims(shapes)]


def _stream(units: Sequence[Unit], shapes: Sequence[Shape], before: Sequence[Unit]) -> list[Unit]:
    """The order first fit takes the units in: ``before`` then ``units``, each by its
    largest share of the largest instance, decreasing (ties by name)."""
    dims = [(d, t) for d, t in enumerate(_top(shapes)) if t]
    return [*by_share(before, dims, summed=False), *by_share(units, dims, summed=False)]


def by_share(units: Sequence[Unit], dims: Sequence[tuple[int, int]], *, summed: bool) -> list[Unit]:
    """``units`` by their shares ``usage[d] / top`` of ``dims`` ((d, top) pairs), decreasing,
    ties by name: by the largest share (0 without dims), or ``summed``, by their sum from
    the left.

    Past :data:`.fitarrays.SHARES` units they are ordered over numpy arrays
    (:func:`.fitarrays.by_share`: the same IEEE operations, so the same order); the
    41,933 units of a Cloud SQL pool of gcp ``users`` 100,000 are put in order twice
    a packing.
    """
    if len(units) >= fitarrays.SHARES:
        usages, names = [u.usage for u in units], [u.name for u in units]
        return [units[i] for i in fitarrays.by_share(usages, names, dims, summed=summed)]

    def key(unit: Unit) -> tuple[float, str]:
        shares = [unit.usage[d] / top for d, top in dims]
        return (-(sum(shares) if summed else max(shares, default=0.0)), unit.name)

    return sorted(units, key=key)


def _fill(bins: Bins, stream: Sequence[Unit], *, whole: bool = False) -> list[Unit]:
    """Each unit of ``stream`` on the first of ``bins`` with room for it; the units left.

    ``whole``: only whether all fit matters, so the fill stops at the first unit left
    (the only one returned, ``bins`` then partly filled).
    """
    left: list[Unit] = []
    # Room left per instance in the four dimensions (unlimited as a huge number):
    # the loop below runs units x instances times, so it avoids generators.
    free = [limits(shape.capacity) for shape, _ in bins]
    if len(bins) >= fitarrays.MANY and len(stream) * len(bins) >= fitarrays.LARGE:
        chosen = fitarrays.first_fits(free, [u.usage for u in stream], whole=whole)
        for unit, index in zip(stream, chosen, strict=False):
            if index < 0:
                left.append(unit)
            else:
                bins[index][1].append(unit)
        return left
    for unit in stream:
        size, reads, writes, count = unit.usage
        for room, (_, members) in zip(free, bins, strict=True):
            if size <= room[0] and reads <= room[1] and writes <= room[2] and count <= room[3]:
                room[0] -= size
                room[1] -= reads
                room[2] -= writes
                room[3] -= count
                members.append(unit)
                break
        else:
            left.append(unit)
            if whole:
                break
    return left


#: Room of an unlimited dimension: more than any sum of scaled usages.
_UNLIMITED = 1 << 62


def fees(bins: Bins) -> int:
    """The micro-dollars a month the instances of ``bins`` holding something cost."""
    return sum(shape.fee_micro for shape, members in bins if members)


def load(members: Sequence[Unit], width: int) -> tuple[int, ...]:
    """What ``members`` use together in each of the ``width`` dimensions."""
    return tuple(sum(u.usage[d] for u in members) for d in range(width))


def limits(capacity: Sequence[int | None]) -> list[int]:
    """``capacity`` with each unlimited dimension (``None``) past any sum of usages."""
    return [_UNLIMITED if c is None else c for c in capacity]


def rooms(bins: Bins) -> list[list[int]]:
    """Per instance of ``bins``, the room its shape leaves past its units in each
    dimension (an unlimited one: more than any usage)."""
    return [
        [
            _UNLIMITED if cap is None else cap - sum(u.usage[d] for u in members)
            for d, cap in enumerate(shape.capacity)
        ]
        for shape, members in bins
    ]


def balanced_fit_partial(
    units: Sequence[Unit], shapes: Sequence[Shape], *, before: Sequence[Unit] = ()
) -> tuple[Bins, list[Unit]]:
    """Dot-product fit decreasing, and the units that fit nowhere.

    Units are taken by the sum of their shares of the instances (largest
    first, ``before`` first); each goes to the instance holding it whose
    room, as shares of its capacity, has the largest dot product with the
    unit's shares: a unit heavy in writes goes where writes are left.
    First fit fills one instance after the other in whichever dimension
    comes first and strands the room of the others; when a relaxation fills
    instances nearly to the brim in two dimensions at once (the reads and
    writes of a database), this pairing leaves far fewer units over.
    """
    bins: Bins = [(shape, []) for shape in _order(shapes)]
    if not bins:
        return bins, [*before, *units]
    width = len(bins[0][0].capacity)
    limited = [d for d in range(width) if any(s.capacity[d] for s, _ in bins)]
    caps = [[c if c else _UNLIMITED for c in shape.capacity] for shape, _ in bins]
    top = [max((row[d] for row in caps if row[d] < _UNLIMITED), default=1) for d in range(width)]
    free = [list(row) for row in caps]
    # Per instance, the weight of each limited dimension: 1 / capacity², so
    # that unit share x room share is usage x room x weight.
    weights = [
        [1.0 / (row[d] * row[d]) if row[d] < _UNLIMITED else 0.0 for d in limited] for row in caps
    ]
    left: list[Unit] = []

    dims = [(d, top[d]) for d in limited]
    stream = [*by_share(before, dims, summed=True), *by_share(units, dims, summed=True)]
    if len(bins) >= fitarrays.MANY and len(stream) * len(bins) >= fitarrays.LARGE:
        chosen = fitarrays.best_dots(free, weights, limited, [u.usage for u in stream])
        for unit, index in zip(stream, chosen, strict=True):
            if index < 0:
                left.append(unit)
            else:
                bins[index][1].append(unit)
        return bins, left
    for unit in stream:
        usage = unit.usage
        need = [usage[d] for d in limited]
        best = -1
        best_score = -1.0
        for i, room in enumerate(free):
            score = 0.0
            for j, d in enumerate(limited):
                rest = room[d]
                if rest < need[j]:
                    break
                score += need[j] * rest * weights[i][j]
            else:
                if score > best_score:
                    best, best_score = i, score
        if best < 0:
            left.append(unit)
            continue
        room = free[best]
        for d in range(width):
            room[d] -= usage[d]
        bins[best][1].append(unit)
    return bins, left


def _dims(shapes: Sequence[Shape]) -> list[list[int | None]]:
    return [list(column) for column in zip(*(s.capacity for s in shapes), strict=True)]


def _with_z3(units: Sequence[Unit], shapes: Sequence[Shape], rlimit: int) -> Bins | None:
    """Exact packing by z3 (step 2) within the work budget ``rlimit``."""
    ordered = _order(shapes)
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
    ordered = _order(shapes)
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
