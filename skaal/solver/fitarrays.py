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
instances: 3 s).  :func:`best_dots` makes the same choices with a few vector
operations per unit: among the instances that hold the unit in every
limited dimension, the first of largest score ``Σ_j need_j · room_j ·
weight_j``, each term and the sum computed in the same order of the same
IEEE operations as the Python loop (integers below 2^53 convert to floats
exactly, so the product of two of them is rounded once, as Python rounds
the exact integer product), so scores and ties are the same.

:func:`pairs_within` gives :func:`.place.tightened` the pairs of instances
whose units one instance of the largest shape could hold (386 instances on
gcp: 74,000 pairs, of which 28,000 pass), in their order, so that it checks
only those.  numpy is imported only here, and :mod:`.place` calls it only
past :data:`LARGE` pairs (and, for the packings, :data:`MANY` instances):
small plans never load it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LARGE", "MANY", "best_dots", "first_fits", "pairs_within"]

#: Units x instances (and instances, :data:`MANY`) from which the vector loops are used:
#: over a few dozen instances the plain loop is as fast.
LARGE = 20_000
MANY = 100


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

    # Per limited dimension, the rooms as integers (rows of ``room``, updated with it),
    # the same as floats (exact below 2^53; an unlimited room weighs 0), and the weights;
    # every vector operation below writes into a buffer made once.
    room = np.array(free, dtype=np.int64).T.copy()
    weight = np.array(weights, dtype=np.float64).reshape(len(free), len(limited)).T
    dims = [(d, room[d], room[d].astype(np.float64), weight[j]) for j, d in enumerate(limited)]
    fits, test = np.empty(len(free), dtype=bool), np.empty(len(free), dtype=bool)
    score, term = np.empty(len(free)), np.empty(len(free))
    out: list[int] = []
    if not dims:  # nothing limits any instance: every score is 0, the first instance wins
        for usage in usages:
            room[:, 0] -= usage
            out.append(0)
        free[:] = room.T.tolist()
        return out
    for usage in usages:
        np.greater_equal(dims[0][1], usage[dims[0][0]], out=fits)
        for d, rest, _, _ in dims[1:]:
            fits &= np.greater_equal(rest, usage[d], out=test)
        if not fits.any():
            out.append(-1)
            continue
        d, _, rest_f, w = dims[0]
        np.multiply(float(usage[d]), rest_f, out=score)
        score *= w
        for d, _, rest_f, w in dims[1:]:
            np.multiply(float(usage[d]), rest_f, out=term)
            term *= w
            score += term
        np.copyto(score, -np.inf, where=np.logical_not(fits, out=test))
        index = int(score.argmax())
        room[:, index] -= usage
        for _, rest, rest_f, _ in dims:
            rest_f[index] = rest[index]
        out.append(index)
    free[:] = room.T.tolist()
    return out


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
