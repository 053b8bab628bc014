"""Instance counts branched on where rounding the linear relaxation passes a quota.

The linear relaxation of :mod:`.pooled` keeps instances within every quota,
but in fractions.  RDS PostgreSQL and RDS PostgreSQL Multi-AZ share 40 DB
instances, and 24.6 of one beside 15.4 of the other round up to 41;
Memorystore counts GB, and 12.4 instances of 50 GB beside fractions of the
other sizes fill 1,000 GB to the GB and round up past it.  Rounding then has
to give instances back, and the units they held go to dearer dedicated
options: on the aws ``users`` draw of 10,000 resources most of the $26,370 a
month between the plan and the bound was that.

So, as a branch and bound would, the planner dives: while the instances of
the servers under some quota, each shape's count rounded up, pass it, it
takes a *lever* there with value ``v`` furthest from a whole number: where
several servers share the quota, a server's share of it (the quota units of
its instances, a row added the first time), else an instance count
(weighted by the quota units an instance uses), and solves the relaxation
twice more, from the basis HiGHS holds, with the lever ``≤ ⌊v⌋`` and with it
``≥ ⌈v⌉``.  Every plan runs whole instances, so its shares and counts are
whole and it meets one of the two: the least of their optima is a lower
bound on every plan, at or above the relaxation's.  The dive goes on
in the branch with the lower optimum (the branch ``≤ ⌊v⌋`` on a tie) and
the other stays open; the bound is the least optimum over the branches left
open and the branch reached last.  A lever may be branched on again, within
the bounds of its branch; the dive stops after :data:`MAX_BRANCHES`
branchings: a number of solves, never a clock, so the same model gives the
same answer on any machine.  The branch reached fills its instances to the
brim, where the relaxation's own rounding leaves room that packing may
need: placement tries both (:mod:`.optimise`).

aws ``users`` 10,000 (seed 2026): bound $1,753,383.20 to $1,757,828.27 for
the coupled part, and a plan $13,021 a month cheaper; gcp ``users`` 10,000
(seed 3), where Memorystore's GB were passed: $74,337 cheaper.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct

from skaal.solver.servers import Shape

if TYPE_CHECKING:
    from highspy._core import _Highs

__all__ = ["MAX_BRANCHES", "Branched", "branch_counts"]

#: The most branchings in one dive (each two or three simplex solves from a basis).
#: On the ``users`` draws of 1,000 to 10,000 resources (aws, seeds 1 to 3) 8 gave the
#: plans and bounds of 12 in less time (the RDS quota of the 1,000 draws is still
#: passed after 12); 4 and 6 left plans of 1,000 resources up to $29 dearer.
MAX_BRANCHES = 8
#: How far from a whole number an instance count may be and still count as one
#: (HiGHS's primal feasibility tolerance is 1e-7).
_WHOLE = 1e-6


class Branched(Struct, frozen=True):
    """The relaxation after the dive (objectives without the model's constant)."""

    solution: Sequence[float]
    """The column values of the branch reached (the relaxation's own if none was taken)."""
    bound: float
    """The least optimum over the branches left open and the one reached: at most
    every plan's cost."""
    own: Sequence[float] | None = None
    """The relaxation's own solution, when the dive moved from it: its rounding leaves
    room that packing may need where a branch fills its instances to the brim, so
    placement tries both."""


def branch_counts(
    highs: _Highs,
    shapes: Mapping[str, Sequence[tuple[Shape, int]]],
    quotas: Mapping[str, tuple[str, int]],
    upper: Sequence[float],
    solve: Callable[[], bool | None],
) -> Branched:
    """Dive on the instance counts whose rounding passes a quota (module docstring).

    ``highs`` holds the relaxation solved to its optimum; ``shapes`` maps each
    server to its (shape, instance column) pairs, ``quotas`` to its (quota key,
    quota), and ``upper`` holds every column's upper bound.  ``solve()`` solves
    ``highs`` again (with whatever rows the model adds lazily) and says whether
    it reached an optimum (``True``), proved the model infeasible (``False``) or
    neither (``None``: the dive stops there).
    """
    dive = _Dive(highs, shapes, quotas, upper)
    solution: Sequence[float] = _values(highs)
    objective = float(highs.getInfo().objective_function_value)
    own = solution
    left: list[float] = []
    restore: Callable[[], object] | None = None
    for _ in range(MAX_BRANCHES):
        lever = dive.lever(solution)
        if lever is None:
            break
        if restore is not None:
            restore()
        value = dive.value(lever, solution)
        low, high = dive.bounds[lever]
        branches: list[tuple[float, int, Sequence[float], tuple[float, float]]] = []
        for side, sides in enumerate(((low, math.floor(value)), (math.ceil(value), high))):
            if sides[0] > sides[1]:
                continue
            dive.set(lever, sides)
            solved = solve()
            if solved is None:
                return _branched(own, solution, objective, left)
            if solved:
                optimum = float(highs.getInfo().objective_function_value)
                branches.append((optimum, side, _values(highs), sides))
        if not branches:  # no whole count is feasible: leave it to rounding
            return _branched(own, solution, objective, left)
        branches.sort(key=lambda branch: (branch[0], branch[1]))
        objective, side, solution, dive.bounds[lever] = branches[0]
        left.extend(branch[0] for branch in branches[1:])
        # HiGHS holds the last branch solved; the next lever is branched on in this one.
        restore = None if side == 1 else dive.restorer(lever, solve)
    return _branched(own, solution, objective, left)


def _branched(
    own: Sequence[float], solution: Sequence[float], objective: float, left: Sequence[float]
) -> Branched:
    return Branched(solution, min([objective, *left]), None if solution is own else own)


#: What a dive branches on: ("count", instance column) or ("share", server).
_Lever = tuple[str, int | str]


class _Dive:
    """The levers of one dive, their bounds in the branch reached, and the rows of the
    servers' shares of a quota, added to HiGHS as they are first branched on."""

    def __init__(
        self,
        highs: _Highs,
        shapes: Mapping[str, Sequence[tuple[Shape, int]]],
        quotas: Mapping[str, tuple[str, int]],
        upper: Sequence[float],
    ) -> None:
        self.highs = highs
        self.shapes = shapes
        self.sharing: dict[tuple[str, int], list[str]] = {}
        for name in sorted(quotas):
            self.sharing.setdefault(quotas[name], []).append(name)
        self.bounds: dict[_Lever, tuple[float, float]] = {}
        for name, pairs in shapes.items():
            self.bounds["share", name] = (0.0, float(quotas[name][1]))
            for _, col in pairs:
                self.bounds["count", col] = (0.0, upper[col])
        self.rows: dict[str, int] = {}

    def value(self, lever: _Lever, solution: Sequence[float]) -> float:
        kind, which = lever
        if kind == "count":
            return solution[int(which)]
        return sum(shape.units * solution[col] for shape, col in self.shapes[str(which)])

    def lever(self, solution: Sequence[float]) -> _Lever | None:
        """What to branch on: under the first quota (by key) that the counts rounded up
        pass, the share of the server furthest from a whole number where several share
        it, else the count furthest from one, in quota units (ties: the first server,
        the lowest column); ``None`` when every quota holds."""
        for (_, quota), names in sorted(self.sharing.items()):
            used = sum(
                shape.units * math.ceil(solution[col] - _WHOLE)
                for name in names
                for shape, col in self.shapes[name]
                if solution[col] > _WHOLE
            )
            if used <= quota:
                continue
            levers: list[tuple[float, _Lever, int]] = []
            if len(names) > 1:
                levers += [(1.0, ("share", name), 0) for name in names]
            levers += [
                (float(shape.units), ("count", col), 1)
                for name in names
                for shape, col in self.shapes[name]
            ]
            best: tuple[int, float] | None = None
            chosen: _Lever | None = None
            for weight, lever, rank in levers:
                value = self.value(lever, solution)
                distance = min(value - math.floor(value), math.ceil(value) - value)
                if distance <= _WHOLE:
                    continue
                if best is None or (rank, -weight * distance) < best:
                    best, chosen = (rank, -weight * distance), lever
            if chosen is not None:
                return chosen
        return None

    def set(self, lever: _Lever, bounds: tuple[float, float]) -> None:
        kind, which = lever
        if kind == "count":
            self.highs.changeColBounds(int(which), *bounds)
        else:
            self.highs.changeRowBounds(self._row(str(which)), *bounds)

    def restorer(self, lever: _Lever, solve: Callable[[], bool | None]) -> Callable[[], object]:
        """Put HiGHS back on the branch taken, before branching on the next lever in it."""
        bounds = self.bounds[lever]

        def restore() -> object:
            self.set(lever, bounds)
            return solve()

        return restore

    def _row(self, server: str) -> int:
        """The row of ``server``'s quota units, added the first time it is asked for."""
        row = self.rows.get(server)
        if row is None:
            import numpy as np  # noqa: PLC0415 - loaded with HiGHS

            pairs = self.shapes[server]
            row = self.rows[server] = int(self.highs.getNumRow())
            self.highs.addRows(
                1,
                np.full(1, -np.inf),
                np.full(1, np.inf),
                len(pairs),
                np.zeros(1, dtype=np.int32),
                np.array([col for _, col in pairs], dtype=np.int32),
                np.array([float(shape.units) for shape, _ in pairs]),
            )
        return row


def _values(highs: _Highs) -> Sequence[float]:
    """The column values HiGHS holds, 8 bytes each (a list of floats takes four times
    that, and three solutions are kept at once)."""
    return array("d", highs.getSolution().col_value)
