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

The rows are kept in compact arrays as the model is written, and checked
all at once (:class:`Opening`): the branching of :mod:`.branching` solves a
model up to 24 times more, and a loop over 15,000 rows in Python took half
of that time.  At 100,000 resources (gcp ``users``: 128,204 rows) ``skaal
plan`` peaks at 896.6 MiB with them, 900.9 MiB with the rows as tuples.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from highspy._core import _Highs

__all__ = ["BROKEN", "Opening", "solve_again", "solve_open"]

#: How far a solution may exceed an opening row before it is added: HiGHS's own
#: primal feasibility tolerance, within which it calls any row met.
BROKEN = 1e-7


class Opening:
    """Opening rows ``y ≤ |g| · Σ n`` (unit column, ``|g|``, instance columns), kept as
    arrays: the instance columns are those of a family of shapes, shared by many
    rows, so each family's sum is taken once per check, in the order of its columns."""

    def __init__(self) -> None:
        self.units = array("q")
        self.sizes = array("d")
        self.families = array("q")
        self.instances: list[tuple[int, ...]] = []
        self._index: dict[tuple[int, ...], int] = {}
        self._added: set[int] = set()

    def __len__(self) -> int:
        return len(self.units)

    def forked(self) -> Opening:
        """The same rows, those added so far counted as added, for a copy of the model
        (rows added to one are not added to the other)."""
        fork = Opening()
        fork.units, fork.sizes, fork.families = self.units, self.sizes, self.families
        fork.instances, fork._index = self.instances, self._index
        fork._added = set(self._added)
        return fork

    def append(self, unit: int, size: float, instances: tuple[int, ...]) -> None:
        """The row of unit column ``unit`` (``size`` units) held by ``instances``."""
        family = self._index.get(instances)
        if family is None:
            family = self._index[instances] = len(self.instances)
            self.instances.append(instances)
        self.units.append(unit)
        self.sizes.append(size)
        self.families.append(family)

    def broken(self, value: Sequence[float]) -> list[int]:
        """The rows not added yet that ``value`` breaks, in order."""
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS

        values = np.asarray(value, dtype=float)
        held = np.array([sum(value[col] for col in cols) for cols in self.instances])
        units = np.frombuffer(self.units, dtype=np.int64)
        sizes = np.frombuffer(self.sizes, dtype=float)
        families = np.frombuffer(self.families, dtype=np.int64)
        over = values[units] - sizes * held[families] > BROKEN
        found: list[int] = np.flatnonzero(over).tolist()
        return [i for i in found if i not in self._added]

    def add(self, highs: _Highs, broken: Sequence[int]) -> None:
        """Add rows ``broken`` to the model ``highs`` holds."""
        import numpy as np  # noqa: PLC0415

        starts: list[int] = []
        index: list[int] = []
        coefficients: list[float] = []
        for i in broken:
            instances = self.instances[self.families[i]]
            size = self.sizes[i]
            starts.append(len(index))
            index += [self.units[i], *instances]
            coefficients += [1.0, *(-size for _ in instances)]
        self._added.update(broken)
        highs.addRows(
            len(broken),
            np.full(len(broken), -np.inf),
            np.zeros(len(broken)),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(coefficients, dtype=float),
        )


def solve_open(highs: _Highs, opening: Opening) -> int:
    """Add the opening rows the solution ``highs`` holds breaks and solve again, until it
    breaks none (or HiGHS reaches no optimum); the simplex iterations of every run,
    the one before the call included (HiGHS's work, deterministic)."""
    from highspy import _core  # noqa: PLC0415

    spent = highs.getInfo().simplex_iteration_count
    if not len(opening):
        return spent
    while highs.getModelStatus() == _core.HighsModelStatus.kOptimal:
        broken = opening.broken(highs.getSolution().col_value)
        if not broken:
            break
        opening.add(highs, broken)
        highs.run()
        spent += highs.getInfo().simplex_iteration_count
    return spent


def solve_again(highs: _Highs, opening: Opening) -> bool | None:
    """Solve the model ``highs`` holds again from its basis, the opening rows it breaks
    added: optimal (``True``), infeasible (``False``), or neither (``None``)."""
    from highspy import _core  # noqa: PLC0415

    highs.run()
    solve_open(highs, opening)
    status = highs.getModelStatus()
    if status == _core.HighsModelStatus.kOptimal:
        return True
    return False if status == _core.HighsModelStatus.kInfeasible else None
