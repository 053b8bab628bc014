"""The opening rows of the pooled relaxation, added only once a solution breaks them.

Pooled per server (:mod:`.pooled`), a unit column ``y[g,s]`` needs an
instance able to hold the unit where it goes: ``y[g,s] ≤ |g| · Σ n[s,k]``
over the shapes ``k`` that hold it.  At scale hardly any of those rows binds
(a server runs many instances of every family of shapes): on the ``users``
draw of 10,000 resources on gcp they are 14,766 of the model's 21,968 rows,
and HiGHS solves it in 0.92 s with them, 0.15 s without, to the same
optimum.  So the model leaves them out; after each solve the ones the
solution breaks are added and HiGHS solves again from the basis it holds,
until none is broken: then the solution is an optimum of the whole model.

The rows are checked all at once, over numpy arrays (:class:`Opening`):
the branching of :mod:`.branching` solves a model up to 25 times more, and
a loop over 15,000 rows in Python took half of that time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from highspy._core import _Highs

__all__ = ["BROKEN", "Opening", "solve_again", "solve_open"]

#: How far a solution may exceed an opening row before it is added: HiGHS's own
#: primal feasibility tolerance, within which it calls any row met.
BROKEN = 1e-7


class Opening:
    """Opening rows ``(unit column, |g|, instance columns)``, as arrays."""

    def __init__(self, rows: Sequence[tuple[int, float, tuple[int, ...]]]) -> None:
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS

        self.rows = rows
        self.units = np.array([row[0] for row in rows], dtype=np.int64)
        self.sizes = np.array([row[1] for row in rows], dtype=float)
        counts = np.array([len(row[2]) for row in rows], dtype=np.int64)
        self.starts = np.zeros(len(rows), dtype=np.int64)
        np.cumsum(counts[:-1], out=self.starts[1:])
        self.flat = np.fromiter(
            itertools.chain.from_iterable(row[2] for row in rows),
            dtype=np.int64,
            count=int(counts.sum()),
        )
        self.full = counts > 0
        self.added = np.zeros(len(rows), dtype=bool)

    def broken(self, value: Sequence[float]) -> list[int]:
        """The rows not added yet that ``value`` breaks, in order."""
        import numpy as np  # noqa: PLC0415

        values = np.asarray(value, dtype=float)
        held = np.zeros(len(self.rows), dtype=float)
        if len(self.flat):
            # each row's instances summed left to right; a row with none counts 0
            held[self.full] = np.add.reduceat(values[self.flat], self.starts[self.full])
        over = values[self.units] - self.sizes * held > BROKEN
        found: list[int] = np.flatnonzero(over & ~self.added).tolist()
        return found

    def add(self, highs: _Highs, broken: Sequence[int]) -> None:
        """Add rows ``broken`` to the model ``highs`` holds."""
        import numpy as np  # noqa: PLC0415

        starts: list[int] = []
        index: list[int] = []
        coefficients: list[float] = []
        for i in broken:
            col, size, instances = self.rows[i]
            starts.append(len(index))
            index += [col, *instances]
            coefficients += [1.0, *(-size for _ in instances)]
        self.added[list(broken)] = True
        highs.addRows(
            len(broken),
            np.full(len(broken), -np.inf),
            np.zeros(len(broken)),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(coefficients, dtype=float),
        )


def solve_open(highs: _Highs, opening: Opening | None) -> None:
    """Add the opening rows the solution ``highs`` holds breaks and solve again, until it
    breaks none (or HiGHS reaches no optimum)."""
    from highspy import _core  # noqa: PLC0415

    if opening is None:
        return
    while highs.getModelStatus() == _core.HighsModelStatus.kOptimal:
        broken = opening.broken(highs.getSolution().col_value)
        if not broken:
            return
        opening.add(highs, broken)
        highs.run()


def solve_again(highs: _Highs, opening: Opening | None) -> bool | None:
    """Solve the model ``highs`` holds again from its basis, the opening rows it breaks
    added: optimal (``True``), infeasible (``False``), or neither (``None``)."""
    from highspy import _core  # noqa: PLC0415

    highs.run()
    solve_open(highs, opening)
    status = highs.getModelStatus()
    if status == _core.HighsModelStatus.kOptimal:
        return True
    return False if status == _core.HighsModelStatus.kInfeasible else None
