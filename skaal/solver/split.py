"""A quota that servers share, split between them where the relaxation's rounding passes it.

The linear relaxation of :mod:`.pooled` keeps the instances of the servers
sharing a quota within it, but in fractions: RDS PostgreSQL and RDS
PostgreSQL Multi-AZ share 40 DB instances, and 24.6 instances of one beside
15.4 of the other round up to 41.  Rounding then has to give one back, and
the units it held go to dearer dedicated options (the aws ``users`` draw of
10,000 resources: $26,370 a month above the bound, most of it this).

Let ``q_a`` be the quota units of server ``a``'s instances and ``q_r`` those
of the other servers under the same key (quota ``Q``), and ``V(A)`` the
relaxation's optimum with two rows more::

    q_a ≤ A        q_r ≤ Q - A

``V`` is convex in ``A`` (the optimum of a linear programme is convex in its
right-hand side), and smallest at ``A* = q_a`` of the relaxation's own
solution, which meets both rows there.  Every plan runs a whole number ``a``
of quota units on ``a`` and at most ``Q - a`` on the others, so it meets the
rows for ``A = a`` and costs at least ``V(a)``; by convexity, at least
``min(V(⌊A*⌋), V(⌈A*⌉))``.  Two solves, each from the basis HiGHS holds,
give that bound, above the relaxation's, and the branch reaching it is the
solution rounded: its instances of ``a`` round up within ``⌊A*⌋`` or
``⌈A*⌉``, the others' within the rest (aws ``users`` 10,000: the bound
from $1,753,383.20 to $1,757,828.27 for the coupled part).

Keys are split one after the other, each within the branch taken for the
ones before; the branches not taken stay open, so the bound is the least
optimum over them and the branch taken last.  Under a key shared by more
than two servers, the one whose quota use is the most fractional is split
from the rest (the bound holds as well; the rest may still round past
theirs, as before).  Every solve is HiGHS's simplex to its optimum: no
limit but the model, the same answer on any machine.
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

__all__ = ["Split", "split_quotas"]

#: How far below a whole number a relaxation's instance count may be and still count as
#: it (HiGHS's primal feasibility tolerance is 1e-7).
_WHOLE = 1e-6


class Split(Struct, frozen=True):
    """The relaxation after its shared quotas were split (objectives without the
    model's constant)."""

    solution: Sequence[float]
    """The column values of the branch taken (the relaxation's own when nothing was split)."""
    objective: float
    bound: float
    """The least optimum over the branches left open: at most every plan's cost."""
    unsplit: Sequence[float] | None = None
    """The relaxation's own solution, when a split changed it: its rounding is worth
    placing too where the branch's servers could not hold their units, since its
    instances rounded up leave room that packing may need (a branch fills its
    instances to the brim)."""
    servers: frozenset[str] = frozenset()
    """The servers under the keys split."""


def split_quotas(
    highs: _Highs,
    shapes: Mapping[str, Sequence[tuple[Shape, int]]],
    quotas: Mapping[str, tuple[str, int]],
    solve: Callable[[], bool | None],
) -> Split:
    """Split every shared quota whose rounded-up instances pass it (module docstring).

    ``highs`` holds the relaxation solved to its optimum; ``shapes`` maps each
    server to its (shape, instance column) pairs and ``quotas`` to its (quota
    key, quota).  ``solve()`` solves ``highs`` again (with whatever rows the
    model adds lazily) and says whether it reached an optimum (``True``), proved
    the model infeasible (``False``) or neither (``None``: nothing is split then).
    """
    solution: Sequence[float] = _values(highs)
    objective = float(highs.getInfo().objective_function_value)
    own = solution
    split: set[str] = set()
    left: list[float] = []
    restore: Callable[[], None] | None = None
    sharing: dict[tuple[str, int], list[str]] = {}
    for name in sorted(quotas):
        sharing.setdefault(quotas[name], []).append(name)
    for (_, quota), names in sorted(sharing.items()):
        if len(names) < 2 or _rounded_up(shapes, names, solution) <= quota:
            continue
        server = _most_fractional(shapes, names, solution)
        if server is None:
            continue
        if restore is not None:
            restore()
            restore = None
        share = _units(shapes[server], solution)
        rows = _add_rows(highs, shapes, server, [n for n in names if n != server])
        branches: list[tuple[float, int, Sequence[float]]] = []
        for a in (math.floor(share), math.ceil(share)):
            highs.changeRowBounds(rows, -math.inf, float(a))
            highs.changeRowBounds(rows + 1, -math.inf, float(quota - a))
            solved = solve()
            if solved is None:
                return _split(own, solution, objective, left, split)
            if solved:
                value = float(highs.getInfo().objective_function_value)
                branches.append((value, a, _values(highs)))
        if not branches:  # no whole split exists: leave it to rounding, as before
            return _split(own, solution, objective, left, split)
        split.update(names)
        branches.sort(key=lambda branch: (branch[0], branch[1]))
        objective, taken, solution = branches[0]
        left.extend(value for value, _, _ in branches[1:])
        if taken != math.ceil(share):  # HiGHS sits on the last branch solved
            restore = _restorer(highs, rows, taken, quota, solve)
    return _split(own, solution, objective, left, split)


def _split(
    own: Sequence[float],
    solution: Sequence[float],
    objective: float,
    left: Sequence[float],
    servers: set[str],
) -> Split:
    unsplit = None if solution is own else own
    return Split(solution, objective, min([objective, *left]), unsplit, frozenset(servers))


def _values(highs: _Highs) -> Sequence[float]:
    """The column values HiGHS holds, 8 bytes each (a list of floats takes four times
    that: 300,000 columns at 100,000 resources, three solutions kept at once)."""
    return array("d", highs.getSolution().col_value)


def _restorer(
    highs: _Highs, rows: int, taken: int, quota: int, solve: Callable[[], bool | None]
) -> Callable[[], None]:
    """Put HiGHS back on the branch taken (before splitting the next key within it)."""

    def restore() -> None:
        highs.changeRowBounds(rows, -math.inf, float(taken))
        highs.changeRowBounds(rows + 1, -math.inf, float(quota - taken))
        solve()

    return restore


def _units(shapes: Sequence[tuple[Shape, int]], solution: Sequence[float]) -> float:
    """The quota units a server's instances use in ``solution``."""
    return sum(shape.units * solution[col] for shape, col in shapes)


def _rounded_up(
    shapes: Mapping[str, Sequence[tuple[Shape, int]]],
    names: Sequence[str],
    solution: Sequence[float],
) -> int:
    """The quota units ``names``' instances use, each shape's count rounded up."""
    return sum(
        shape.units * math.ceil(solution[col] - _WHOLE)
        for name in names
        for shape, col in shapes[name]
        if solution[col] > _WHOLE
    )


def _most_fractional(
    shapes: Mapping[str, Sequence[tuple[Shape, int]]],
    names: Sequence[str],
    solution: Sequence[float],
) -> str | None:
    """The server whose quota use is furthest from a whole number (``None`` if all are
    whole: no split can then tighten anything)."""
    best: tuple[float, str] | None = None
    for name in names:
        use = _units(shapes[name], solution)
        distance = min(use - math.floor(use), math.ceil(use) - use)
        if distance > _WHOLE and (best is None or distance > best[0]):
            best = (distance, name)
    return None if best is None else best[1]


def _add_rows(
    highs: _Highs,
    shapes: Mapping[str, Sequence[tuple[Shape, int]]],
    server: str,
    rest: Sequence[str],
) -> int:
    """Add the rows ``q_server ≤ ·`` and ``q_rest ≤ ·`` (bounds set by the caller);
    the index of the first."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS

    first = int(highs.getNumRow())
    starts: list[int] = []
    index: list[int] = []
    values: list[float] = []
    for names in ((server,), rest):
        starts.append(len(index))
        for name in names:
            for shape, col in shapes[name]:
                index.append(col)
                values.append(float(shape.units))
    highs.addRows(
        2,
        np.full(2, -np.inf),
        np.full(2, np.inf),
        len(index),
        np.array(starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(values, dtype=float),
    )
    return first
