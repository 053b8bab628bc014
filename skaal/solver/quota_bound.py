"""The pooled relaxation's bound within the quotas on provisioned capacity, when asked.

:mod:`.mode_rows` says which quotas the relaxation's units could pass and
what each table takes of them.  Once the linear relaxation is solved (its
count rows added), :meth:`QuotaBound.of` reads whether its optimum passes
one: if not, that optimum already bounds every plan within them.  If so, it
keeps the relaxation and its basis, and :meth:`QuotaBound.value` solves it
again with the quotas as rows (below); :mod:`.mode_quotas` asks for it only
for a plan that passes them.

Each table provisioned on a pool passed may take its other mode instead: a
column ``z`` per table (how many of its group's units do, at what that costs
more), at most its unit column ``y`` (``z - y ≤ 0``), giving back its units
in the pool's rows::

    Σ units · y  -  Σ units · z  ≤  quota

so each member of a co-located unit chooses its mode alone, as the build
provisions them.  Every plan within the quotas is a solution (each table in
one mode or the other), and so the optimum bounds them all.  It is solved in
a copy of the relaxation, from its basis: the relaxation the plan is rounded
from stays as it was, and so does the plan.  Its instance counts are then
branched on where rounding them passes a quota (:mod:`.branching`), as the
relaxation's own are: on the aws ``users`` draws of 7,000 and 10,000
resources that raises the bound by up to $3,712 a month.

**Solved beside placement.**  That solve is HiGHS's work (0.2 s on the aws
``users`` draw of 10,000 resources), during which HiGHS releases the GIL.
Where the process may run on more than one CPU it starts on a thread of its
own as soon as the relaxation is kept, while the optimiser places the units
(as :mod:`.rebound` does), and :meth:`QuotaBound.value` waits for it; on
one CPU it runs when first asked.  Either way the bound is the same number:
the plan never depends on the thread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from skaal.solver.branching import branch_counts
from skaal.solver.highs import Ahead, quiet_highs, spare_cpu
from skaal.solver.opening import Opening, solve_again

if TYPE_CHECKING:
    from highspy._core import HighsBasis, HighsLp, _Highs

    from skaal.solver.mode_rows import ModeRows
    from skaal.solver.pooled_model import PooledModel
    from skaal.solver.quota_tables import ModePool
    from skaal.solver.servers import Shape

__all__ = ["QuotaBound", "Summed"]

#: A quota a relaxation passes: its pool, which units (0 read, 1 write), and the quota.
_Passed = tuple["ModePool", int, float]


class QuotaBound:
    """A lower bound (dollars) on every plan of a component within the quotas on
    provisioned capacity: known at once, or solved for (module docstring)."""

    def __init__(self, known: float | None, solve: _Solve | None = None) -> None:
        self._known = known
        self._solve = solve
        self._floor = -math.inf
        self._ahead = (
            Ahead(solve.bound, "skaal-quota") if solve is not None and spare_cpu() else None
        )

    @classmethod
    def of(cls, highs: _Highs, model: PooledModel, provisioned: ModeRows) -> QuotaBound:
        """The bound of the linear relaxation ``highs`` holds (solved, its count rows
        added), with ``provisioned``'s quotas as rows (module docstring)."""
        values = highs.getSolution().col_value
        passed: list[_Passed] = []
        for pool, entries in sorted(model.provisioned.items()):
            for units, room in enumerate(provisioned.rooms[pool]):
                used = sum(values[entry[0]] * entry[1 + units] for entry in entries)
                if not math.isinf(room) and used > room + 1e-6:
                    passed.append((pool, units, room))
        objective = model.constant + float(highs.getInfo().objective_function_value)
        if not passed:  # within every quota: the relaxation's own optimum bounds them
            return cls(objective)
        return cls(None, _Solve(highs.getLp(), highs.getBasis(), model, passed))

    def above(self, bound: float) -> QuotaBound:
        """This bound, or ``bound`` (dollars, one every plan meets) where that is higher."""
        self._floor = max(self._floor, bound)
        return self

    def value(self) -> float | None:
        """The bound (dollars); ``None`` when the relaxation has no solution within the
        quotas (some tables have no other mode): then none is known."""
        if self._ahead is not None:
            self._known, self._ahead = self._ahead.result(), None
        elif self._solve is not None:
            self._known = self._solve.bound()
        self._solve = None
        return None if self._known is None else max(self._known, self._floor)


class Summed:
    """A bound within the quotas over several components (dollars): ``lower``, every
    component's bound without them summed, each component with a :class:`QuotaBound`
    counting that one instead where it is higher (``None`` when one has none)."""

    def __init__(self, lower: float, bounds: Sequence[tuple[QuotaBound, float]]) -> None:
        self.lower, self.bounds = lower, bounds

    def __call__(self) -> float | None:
        total = self.lower
        for bound, lower in self.bounds:
            value = bound.value()
            if value is None:
                return None
            total += max(0.0, value - lower)
        return total


class _Solve:
    """What solving the relaxation again within the quotas needs, kept from its solve."""

    def __init__(
        self, lp: HighsLp, basis: HighsBasis, model: PooledModel, passed: list[_Passed]
    ) -> None:
        pools = {pool for pool, _, _ in passed}
        self.lp, self.basis, self.passed = lp, basis, passed
        self.constant = model.constant
        self.opening: Opening = model.opening.forked()
        self.provisioned = {pool: model.provisioned[pool] for pool in pools}
        self.switches = [switch for switch in model.switches if switch[3] in pools]
        self.shapes: Mapping[str, Sequence[tuple[Shape, int]]] = model.shapes
        self.quotas = model.quotas
        self.upper = [*model.upper, *(size for _, _, size, *_ in self.switches)]

    def bound(self) -> float | None:
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS

        again = quiet_highs()
        again.passModel(self.lp)
        again.setBasis(self.basis)
        first = again.getNumCol()
        count = len(self.switches)
        if count:
            again.addCols(
                count,
                np.array([extra for _, extra, *_ in self.switches]),
                np.zeros(count),
                np.array([size for _, _, size, *_ in self.switches]),
                0,
                np.zeros(count, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0),
            )
            links = np.empty(2 * count, dtype=np.int32)
            links[0::2] = np.arange(first, first + count, dtype=np.int32)
            links[1::2] = [col for col, *_ in self.switches]
            again.addRows(
                count,
                np.full(count, -np.inf),
                np.zeros(count),
                2 * count,
                np.arange(0, 2 * count, 2, dtype=np.int32),
                links,
                np.tile(np.array([1.0, -1.0]), count),
            )
        for pool, units, room in self.passed:
            weights: dict[int, float] = {}
            for col, *taken in self.provisioned[pool]:
                weights[col] = weights.get(col, 0.0) + taken[units]
            for k, (_, _, _, where, *given) in enumerate(self.switches):
                if where == pool:
                    weights[first + k] = -given[units]
            index = np.array(list(weights), dtype=np.int32)
            again.addRow(-np.inf, room, len(index), index, np.array(list(weights.values())))
        if solve_again(again, self.opening) is not True:
            return None
        dive = branch_counts(
            again, self.shapes, self.quotas, self.upper, lambda: solve_again(again, self.opening)
        )
        return self.constant + dive.bound
