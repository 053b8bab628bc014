"""The inner loops of :mod:`.place`'s greedy packings over numpy arrays, for large packings.

:func:`first_fits` makes first fit's choices (the first instance with room
for the unit in all four dimensions, exact integer comparisons) with four
vector comparisons per unit instead of a scan that, on instances filled to
the brim, passes hundreds of them: repair's first fits on gcp ``users``
10,000 (3,850 units, 262 instances, twenty times) take 0.04 s instead of
0.07 s each.

Dot-product fit puts each unit, in order, on the instance of best score
among all those that hold it: thousands of units into hundreds of
instances make millions of products, which pure Python takes seconds over
(the ``users`` draw of 10,000 resources on gcp packs 5,097 units into 366
instances: 3 s).  :func:`best_dots` makes the same choices with about a
dozen vector operations per unit, each over every instance and limited
dimension at once: among the instances that hold the unit in every limited
dimension, the first of largest score ``Σ_j need_j · room_j · weight_j``,
each term and the sum computed in the same order of the same IEEE
operations as the Python loop (integers below 2^53 convert to floats
exactly, so the product of two of them is rounded once, as Python rounds
the exact integer product), so scores and ties are the same.  gcp ``users``
100,000 packs 41,933 units into 701 instances, then 700, in about 0.6 s
each (0.8 to 1.0 s with one vector operation per dimension and step).

:func:`pairs_within` gives :func:`.place.tightened` the pairs of instances
whose units one instance of the largest shape could hold (386 instances on
gcp: 74,000 pairs, of which 28,000 pass), in their order, and
:class:`Merges` weighs them all at once and keeps them from one merge to
the next, weighing only the merged instance's pairs again (gcp ``users``
10,000 merges 65 pairs of 386 instances: 0.25 s in the loop over pairs,
0.04 s).  :func:`by_share` gives the packings the order they take the units
in (each unit's largest share of an instance, or the sum of its shares)
over arrays: 41,933 units in about 0.025 s instead of 0.05 to 0.12 s.  numpy is
imported only here, and :mod:`.place` calls it only past :data:`LARGE`
unit-instance pairs (and, for the packings, :data:`MANY` instances),
``place._MANY_PAIRS`` pairs of instances or :data:`SHARES` units to order:
small plans never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "FAMILY_BITS",
    "LARGE",
    "MANY",
    "SHARES",
    "Merges",
    "best_dots",
    "by_share",
    "family_codes",
    "family_of",
    "family_sums",
    "first_fits",
    "pairs_within",
]

#: Units x instances (and instances, :data:`MANY`) from which the vector loops are used:
#: below some 40 instances the plain loop is as fast (dot-product fit on aws ``users``
#: 10,000: 2,940 units into 25 instances 0.061 s plain, 0.059 s here; 1,019 units into
#: 65 instances 0.050 s plain, 0.021 s here).
LARGE = 20_000
MANY = 40
#: Units from which :func:`by_share` orders them (41,933 units: 0.05 to 0.12 s by Python's sort).
SHARES = 2_000


def by_share(
    usages: Sequence[tuple[int, ...]],
    names: Sequence[str],
    dims: Sequence[tuple[int, int]],
    *,
    summed: bool,
) -> list[int]:
    """The positions of ``usages`` by their shares ``usage[d] / top`` of ``dims`` ((d, top)
    pairs), decreasing, ties by ``names``: by the largest share (0.0 without dims), or
    ``summed``, by their sum from the left, as :func:`.place.by_share`'s loop orders them.

    Integers below 2^53 convert to floats exactly and each quotient is rounded once, as
    Python's; numpy's stable sort orders the shares, and Python's the names within a
    run of equal shares (a string sort of every name in numpy cost more than the
    loop it replaced, at the 5,000 units a repair orders thirty times).
    """
    import numpy as np  # noqa: PLC0415 - loaded only for large packings

    if not usages:
        return []
    table = np.array(usages, dtype=np.int64).reshape(len(usages), -1)
    negated = np.zeros(len(usages))
    if dims:
        first, *rest = (table[:, d].astype(np.float64) / float(top) for d, top in dims)
        for column in rest:
            if summed:
                first += column
            else:
                np.maximum(first, column, out=first)
        np.negative(first, out=negated)
    ranked = np.argsort(negated, kind="stable")
    order: list[int] = ranked.tolist()
    # Runs of equal shares (units of one usage) go in name order; both sorts are
    # stable, so what ties on both stays in the order given.
    shares = negated[ranked]
    changes = np.flatnonzero(shares[1:] != shares[:-1]) + 1
    starts = np.concatenate(([0], changes))
    ends = np.concatenate((changes, [len(order)]))
    runs = (ends - starts) > 1
    for start, end in zip(starts[runs].tolist(), ends[runs].tolist(), strict=True):
        order[start:end] = sorted(order[start:end], key=names.__getitem__)
    return order


#: Capacities :func:`family_codes` tells apart (one bit each of a 64-bit integer).
FAMILY_BITS = 62


def family_codes(table: NDArray[np.int64], capacities: Sequence[Sequence[int | None]]) -> Any:
    """Per row of ``table`` (a usage), the capacities one empty instance of which holds it
    (``None``: a dimension without limit) as the bits of one integer, exact integer
    comparisons; at most :data:`FAMILY_BITS` capacities (:func:`family_of` reads one)."""
    import numpy as np  # noqa: PLC0415 - loaded only for large packings

    codes = np.zeros(len(table), dtype=np.int64)
    for bit, capacity in enumerate(capacities):
        held = np.ones(len(table), dtype=bool)
        for d, cap in enumerate(capacity):
            if cap is not None:
                held &= table[:, d] <= cap
        codes |= held.astype(np.int64) << bit
    return codes


def family_of(bits: int, count: int) -> frozenset[int]:
    """The indexes of the ``count`` capacities whose bits are set in ``bits``."""
    return frozenset(k for k in range(count) if bits >> k & 1)


def family_sums(
    usages: Sequence[tuple[int, ...]], capacities: Sequence[tuple[int | None, ...]]
) -> list[tuple[int, list[int]]] | None:
    """Per family (:func:`family_codes`), the usages of its members summed per dimension,
    families in the order of their first member; ``None`` if some usage fits no capacity.
    :func:`.place.hall_needs`'s loop, in exact integer arithmetic."""
    import numpy as np  # noqa: PLC0415 - loaded only for large packings

    table = np.array(usages, dtype=np.int64).reshape(len(usages), -1)
    codes = family_codes(table, capacities)
    if not codes.all():
        return None
    families, first, members = np.unique(codes, return_index=True, return_inverse=True)
    sums = np.zeros((len(families), table.shape[1]), dtype=np.int64)
    np.add.at(sums, members.reshape(-1), table)
    return [(int(families[f]), sums[f].tolist()) for f in np.argsort(first).tolist()]


def first_fits(
    free: list[list[int]], usages: Sequence[tuple[int, ...]], *, whole: bool = False
) -> list[int]:
    """First fit: per usage (in order), the first room holding it in all four dimensions,
    or -1; the rooms are updated (exact integer arithmetic).  ``whole``: stop at the first
    -1 (the list then ends there)."""
    import numpy as np  # noqa: PLC0415 - loaded only for large packings

    size, reads, writes, count = np.array(free, dtype=np.int64).reshape(len(free), 4).T.copy()
    fits, test = np.empty(len(free), dtype=bool), np.empty(len(free), dtype=bool)
    out: list[int] = []
    for a, b, c, d in usages:
        np.greater_equal(size, a, out=fits)
        fits &= np.greater_equal(reads, b, out=test)
        fits &= np.greater_equal(writes, c, out=test)
        fits &= np.greater_equal(count, d, out=test)
        index = int(fits.argmax())
        if not fits.item(index):
            out.append(-1)
            if whole:
                break
            continue
        size[index] -= a
        reads[index] -= b
        writes[index] -= c
        count[index] -= d
        out.append(index)
    free[:] = [
        list(row)
        for row in zip(size.tolist(), reads.tolist(), writes.tolist(), count.tolist(), strict=True)
    ]
    return out


def best_dots(
    free: list[list[int]],
    weights: list[list[float]],
    limited: Sequence[int],
    usages: Sequence[tuple[int, ...]],
) -> list[int]:
    """Dot-product fit: per usage, the first room of largest score holding it, or -1.

    ``weights[i][j]`` weighs limited dimension ``limited[j]`` of room ``i``;
    rooms are updated in every dimension.
    """
    import numpy as np  # noqa: PLC0415 - loaded only for large packings

    rooms = np.array(free, dtype=np.int64).reshape(len(free), -1)
    width = len(limited)
    if not width:  # nothing limits any instance: every score is 0, the first instance wins
        for usage in usages:
            rooms[0] -= usage
        free[:] = rooms.tolist()
        return [0] * len(usages)
    # One row per limited dimension, one column per room: the rooms as integers and
    # as floats (exact below 2^53; an unlimited room weighs 0), and the weights; the
    # usages the same way, one (width x 1) column each, so that each step below is a
    # single vector operation over every room and dimension, written into a buffer
    # made once.  Only the chosen room's column changes from one unit to the next.
    room = rooms[:, limited].T.copy()
    room_f = room.astype(np.float64)
    weight = np.array(weights, dtype=np.float64).reshape(len(free), width).T.copy()
    needs = np.array(usages, dtype=np.int64).reshape(len(usages), rooms.shape[1])
    need = needs[:, limited].reshape(len(usages), width, 1).copy()
    need_f = need.astype(np.float64)
    short = np.empty((width, len(free)), dtype=bool)
    unfit = np.empty(len(free), dtype=bool)
    product = np.empty((width, len(free)))
    first, *others = product  # the rows, as views
    score = np.empty(len(free))
    chosen = np.empty(len(usages), dtype=np.int64)
    for t in range(len(usages)):
        np.less(room, need[t], out=short)
        np.logical_or.reduce(short, axis=0, out=unfit)
        # need_j x room_j, then x weight_j, summed over j in order: the loop's operations
        np.multiply(room_f, need_f[t], out=product)
        product *= weight
        np.copyto(score, first)
        for row in others:
            score += row
        np.copyto(score, -np.inf, where=unfit)
        index = int(score.argmax())
        if score.item(index) == -np.inf:  # a score that fits is finite and at least 0
            chosen[t] = -1
            continue
        column = room[:, index]
        column -= need[t][:, 0]
        room_f[:, index] = column
        chosen[t] = index
    held = chosen >= 0
    np.subtract.at(rooms, chosen[held], needs[held])
    free[:] = rooms.tolist()
    return chosen.tolist()


def pairs_within(usages: Sequence[tuple[int, ...]], top: Sequence[int]) -> list[tuple[int, int]]:
    """The pairs ``i < j`` (in that order) whose summed usage is at most ``top`` in every
    dimension: the only instances :func:`.place.tightened` may merge."""
    import numpy as np  # noqa: PLC0415 - loaded only for large packings

    used = np.array(usages, dtype=np.int64).reshape(len(usages), len(top))
    most = np.array(top, dtype=np.int64)
    out: list[tuple[int, int]] = []
    for i in range(len(usages) - 1):
        within = np.flatnonzero((used[i] + used[i + 1 :] <= most).all(axis=1))
        out += [(i, i + 1 + int(j)) for j in within]
    return out


class Merges:
    """The pairs of instances :func:`.place.tightened` may merge, weighed all at once and
    kept from one merge to the next (only the pairs of the merged instance are new).

    Each pair of :func:`pairs_within` puts its summed usage into the first row
    of ``table`` ((fee, room) per shape, cheapest first) holding it; it saves
    its two ``fees`` less that row's fee.  Pairs are kept in the order of the
    instances as ``tightened`` numbers them (after a merge: the merged one
    first, then the others in their order), so that the first of the pairs
    saving most is the one its loop finds.  Exact integer arithmetic.
    """

    def __init__(
        self,
        usages: Sequence[tuple[int, ...]],
        fees: Sequence[int],
        top: Sequence[int],
        table: Sequence[tuple[int, Sequence[int]]],
    ) -> None:
        import numpy as np  # noqa: PLC0415 - loaded only for large packings

        self._np = np
        self._used = np.array(usages, dtype=np.int64).reshape(len(usages), len(top))
        self._fee = np.array(fees, dtype=np.int64)
        self._top = np.array(top, dtype=np.int64)
        self._rooms = np.array([room for _, room in table], dtype=np.int64)
        self._prices = np.array([price for price, _ in table], dtype=np.int64)
        pairs = pairs_within(usages, top)
        first, second = np.array(pairs, dtype=np.int64).reshape(len(pairs), 2).T
        self._first, self._second = first, second
        self._saving, self._into = self._weigh(first, second)

    def _weigh(self, first: Any, second: Any) -> tuple[Any, Any]:
        np = self._np
        summed = self._used[first] + self._used[second]
        into = np.full(len(first), -1, dtype=np.int64)
        for row, room in enumerate(self._rooms):
            into[(into < 0) & (summed <= room).all(axis=1)] = row
        paid = self._fee[first] + self._fee[second]
        saving = np.where(into >= 0, paid - self._prices[np.maximum(into, 0)], 0)
        return saving, into

    def best(self) -> tuple[int, int, int, int] | None:
        """(saving, i, j, table row) of the first pair saving most, or ``None``."""
        if not len(self._saving):
            return None
        best = int(self._saving.argmax())
        if self._saving[best] <= 0:
            return None
        return (
            int(self._saving[best]),
            int(self._first[best]),
            int(self._second[best]),
            int(self._into[best]),
        )

    def merge(self, i: int, j: int, usage: tuple[int, ...], fee: int) -> None:
        """Instances ``i`` and ``j`` become one of ``usage`` and ``fee``, numbered 0."""
        np = self._np
        keep = (self._first != i) & (self._first != j) & (self._second != i) & (self._second != j)
        others = np.ones(len(self._used), dtype=bool)
        others[[i, j]] = False
        # the instances left keep their order after the merged one
        renumber = np.cumsum(others)
        first = renumber[self._first[keep]]
        second = renumber[self._second[keep]]
        self._used = np.vstack([np.array([usage], dtype=np.int64), self._used[others]])
        self._fee = np.concatenate([np.array([fee], dtype=np.int64), self._fee[others]])
        rest = np.flatnonzero((self._used[0] + self._used[1:] <= self._top).all(axis=1)) + 1
        new_first = np.zeros(len(rest), dtype=np.int64)
        saving, into = self._weigh(new_first, rest)
        self._first = np.concatenate([new_first, first])
        self._second = np.concatenate([rest, second])
        self._saving = np.concatenate([saving, self._saving[keep]])
        self._into = np.concatenate([into, self._into[keep]])
