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
   exactly (:func:`.exact.exact_fit`): one Boolean per (unit, instance that
   can hold it), each unit placed once, each instance within its capacity
   per dimension, interchangeable instances opened in order.  Its work is
   bounded by a resource limit (:data:`.exact.Z3_RLIMIT`, deterministic
   units, not seconds) and it is only asked when the model is small enough
   (:data:`.exact.Z3_PLACE_LITERALS`) to be built quickly and likely to be
   solved within that limit.
4. Either way, ``None`` means "not placed": the caller then adds capacity
   and labels the plan ``best_found`` with the relaxation's lower bound.

Co-located resources are one unit, so they always share an instance.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from skaal.solver import fitarrays
from skaal.solver.decompose import Unit
from skaal.solver.exact import Z3_RLIMIT, by_fee, exact_fit
from skaal.solver.servers import Bins, Shape

__all__ = [
    "balanced_fit_partial",
    "fees",
    "first_fit",
    "first_fit_grown",
    "first_fit_partial",
    "hall_needs",
    "limits",
    "load",
    "place",
    "rooms",
    "short",
    "tightened",
]


def place(
    units: Sequence[Unit], shapes: Sequence[Shape], *, rlimit: int = Z3_RLIMIT
) -> Bins | None:
    """The units packed into one instance per entry of ``shapes``, or ``None``; z3, when
    the greedy fits fail, within ``rlimit`` (:data:`.exact.Z3_RLIMIT`)."""
    found = first_fit(units, shapes)
    if found is not None:
        return found
    if short(units, shapes):
        return None
    bins, left = balanced_fit_partial(units, shapes)
    if not left:
        return bins
    return exact_fit(units, shapes, rlimit)


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


def first_fit(units: Sequence[Unit], shapes: Sequence[Shape]) -> Bins | None:
    """First fit decreasing (step 1); ``None`` if some unit fits nowhere (known at the
    first such unit: the units after it are not tried)."""
    bins: Bins = [(shape, []) for shape in by_fee(shapes)]
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
    bins: Bins = [(shape, []) for shape in by_fee(shapes)]
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
    order = by_fee(grown)
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
    bins: Bins = [(shape, []) for shape in by_fee(shapes)]
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
