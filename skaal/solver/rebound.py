"""Bounds on a problem already optimised, with some server pools taken away.

The network fees of :mod:`.vpc` ask, for a set of regions ``S``, whether
any plan using VPC backends only in ``S`` could beat the plan in hand: a
lower bound on the problem *restricted* to those options settles most
subsets without optimising them.  :func:`.optimise.floor` computes one
from scratch (the restricted problem's units, components and pooled
relaxations); at 100,000 resources that is 4.5 s, nearly all of it
rebuilding and solving a linear programme that differs from the one the
optimiser has just solved only by the columns it must leave empty.

So :func:`.optimise.optimise`, handed a :class:`Rebounds`, keeps what it
solved: the units outside every server (their cost is fixed), and per
component its units and, where it solved the pooled relaxation linear (its
large components), that relaxation as HiGHS holds it (:class:`Kept`).
:meth:`Rebounds.floor` then bounds the restricted problem by closing the
columns of the pools taken away (upper bound 0) and solving again from the
basis HiGHS holds (dual simplex from an optimal basis: 1.0 s instead of
4.5 s on the ``users`` draw of 100,000 resources on gcp), and by solving
the other components' relaxations anew without those pools' options
(milliseconds: they are small).

**Why it is a bound.**  Every row of a component's relaxation holds for
every plan of the component (:mod:`.pooled`); a plan of the restricted
problem is a plan of the whole one that leaves the closed columns empty,
so the relaxation with them closed bounds it.  Rows added lazily (the
opening rows of :func:`.pooled._opened`) only tighten it, and missing ones
only loosen it.  Units outside every server keep their option: their
cheapest is not a server, so no pool taken away holds it; a relaxation is
only kept when the pools that may be taken away are servers
(:meth:`Rebounds.floor` answers ``None`` otherwise, and the caller falls
back to :func:`.optimise.floor`).
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from skaal.solver.decompose import SCALE, Unit, groups
from skaal.solver.servers import Server, trimmed_for

if TYPE_CHECKING:
    from highspy._core import _Highs

__all__ = ["Kept", "Rebounds", "linear_bound"]


class Kept:
    """One component's linear relaxation as HiGHS solved it (see the module docstring)."""

    def __init__(
        self,
        highs: _Highs,
        constant: float,
        columns: Mapping[str, Sequence[int]],
        upper: Sequence[float],
    ) -> None:
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS (see .pooled)

        self._highs = highs
        self._constant = constant
        # per backend or pool: its columns (units on it; instances of its shapes), and
        # every column's upper bound, as arrays (200,000 columns at 100,000 resources)
        self._columns = {name: np.array(cols, dtype=np.int32) for name, cols in columns.items()}
        self._upper = np.array(upper, dtype=float)
        self._closed = np.zeros(0, dtype=np.int32)

    def without(self, dropped: Callable[[str], bool]) -> float | None:
        """The relaxation's optimum (dollars) with the columns of every pool that
        ``dropped`` names left empty: ``inf`` when none is feasible, ``None`` when
        HiGHS ends otherwise (no bound known)."""
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS (see .pooled)
        from highspy import _core  # noqa: PLC0415

        closed = np.unique(
            np.concatenate(
                [np.zeros(0, dtype=np.int32)]
                + [cols for name, cols in self._columns.items() if dropped(name)]
            )
        )
        opened = np.setdiff1d(self._closed, closed)
        highs = self._highs
        if len(opened):
            highs.changeColsBounds(len(opened), opened, np.zeros(len(opened)), self._upper[opened])
        if len(closed):
            zeros = np.zeros(len(closed))
            highs.changeColsBounds(len(closed), closed, zeros, zeros)
        self._closed = closed
        highs.run()
        status = highs.getModelStatus()
        if status == _core.HighsModelStatus.kInfeasible:
            return math.inf
        if status != _core.HighsModelStatus.kOptimal:
            return None
        return self._constant + float(highs.getInfo().objective_function_value)


class Rebounds:
    """What :func:`.optimise.optimise` solved, kept to bound the same problem again
    without some pools (:meth:`floor`); filled by the optimiser, read by :mod:`.vpc`."""

    def __init__(self) -> None:
        self.fixed = 0
        """Micro-dollars of the units outside every server."""
        self.servers: Mapping[str, Server] = {}
        self.max_backends: int | None = None
        self.parts: list[tuple[Sequence[Unit], Kept | None]] = []
        self.recorded = False

    def record(self, fixed: int, servers: Mapping[str, Server], max_backends: int | None) -> None:
        """The optimiser starts: the fixed units' cost and the server pools."""
        self.fixed, self.servers, self.max_backends = fixed, servers, max_backends
        self.parts.clear()
        self.recorded = True

    def add(self, part: Sequence[Unit], kept: Kept | None) -> None:
        """One component solved, with its linear relaxation when one was kept."""
        self.parts.append((part, kept))

    def floor(self, dropped: Callable[[str], bool]) -> float | None:
        """A lower bound (dollars) on what the optimiser minimises over the plans that
        use no pool ``dropped`` names (``inf``: none exists); ``None`` when unknown."""
        if not self.recorded:
            return None
        bound = self.fixed / SCALE
        for part, kept in self.parts:
            value = kept.without(dropped) if kept is not None else self._anew(part, dropped)
            if value is None or value == math.inf:
                return value
            bound += value
        return bound

    def release(self) -> None:
        """Drop what was kept; the C heap's free pages go back to the system when a
        relaxation was (see :func:`_trim`)."""
        held = any(kept is not None for _, kept in self.parts)
        self.parts.clear()
        self.recorded = False
        if held:
            _trim()

    def _anew(self, part: Sequence[Unit], dropped: Callable[[str], bool]) -> float:
        """The pooled relaxation of ``part`` without the options of the pools dropped,
        solved linear."""
        servers = {name: s for name, s in self.servers.items() if not dropped(name)}
        dedicated = 0.0
        pooled: list[Unit] = []
        for unit in part:
            options = tuple(o for o in unit.options if not dropped(o.backend))
            if not options:
                return math.inf
            if any(o.backend in servers for o in options):
                pooled.append(Unit(unit.members, options, unit.usage))
            else:  # sorted by cost: the first is the cheapest
                dedicated += options[0].cost / SCALE
        if not pooled:
            return dedicated
        return dedicated + linear_bound(pooled, servers, self.max_backends)


def linear_bound(
    part: Sequence[Unit], servers: Mapping[str, Server], max_backends: int | None
) -> float:
    """The linear relaxation of ``part``'s pooled model (dollars): a lower bound on
    every plan of it; ``inf`` when it has none."""
    from skaal.solver.pooled import solve_pooled  # noqa: PLC0415 - see .optimise

    relaxed = solve_pooled(
        groups(part), trimmed_for(part, servers), max_backends=max_backends, linear=True
    )
    return math.inf if relaxed.infeasible else relaxed.bound


def _trim() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``).

    A kept relaxation holds HiGHS's solver, 200 MB at 100,000 resources, on
    the C heap; freed, those pages stay in the process, where Python's own
    allocator (arenas of its own) never reuses them, and the plan's records
    assembled next come on top: planning the ``users`` draw of 100,000
    resources on gcp peaked at 1,024 MB instead of 958 MB.  Elsewhere than
    glibc, nothing.
    """
    if sys.platform != "linux":
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
