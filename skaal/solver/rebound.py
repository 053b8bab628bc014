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
large components), that relaxation and its optimal basis (:class:`Kept`).
:meth:`Rebounds.floor` then bounds the restricted problem by closing the
columns of the pools taken away (upper bound 0) and solving again from that
basis (dual simplex from an optimal basis: 1.2 to 1.35 s instead of 4.5 s
on the ``users`` draw of 100,000 resources on gcp), and by solving the
other components' relaxations anew without those pools' options
(milliseconds: they are small).

**Why it is a bound.**  Every row of a component's relaxation holds for
every plan of the component (:mod:`.pooled`); a plan of the restricted
problem is a plan of the whole one that leaves the closed columns empty,
so the relaxation with them closed bounds it.  Rows added lazily (the
opening rows of :mod:`.opening`) only tighten it, and missing ones
only loosen it.  Units outside every server keep their option: their
cheapest is not a server, so no pool taken away holds it; a relaxation is
only kept when the pools that may be taken away are servers
(:meth:`Rebounds.floor` answers ``None`` otherwise, and the caller falls
back to :func:`.optimise.floor`).

**Solved ahead.**  The bound :mod:`.vpc` most often asks for first is
that of the plans without any VPC (``S`` empty: no fee, so the lowest
floor).  A :class:`Rebounds` told which pools that closes (``ahead``)
starts that re-solve on a thread of its own as soon as a relaxation is
kept, while the optimiser places the units: HiGHS releases the GIL while
it solves, the instance it builds is that thread's alone, and HiGHS keeps
its task scheduler per thread, so the placement's own HiGHS models (cover,
repack) solve beside it (the ``users`` draw of 100,000 resources on gcp:
the 1.2 s re-solve runs under the 3.5 s of placement).  :meth:`Kept.without` then takes that
answer when it is asked for the same pools, and solves again otherwise;
either way the bound is the same number, so the plan never depends on the
thread.  It is started only where the process may run on more than one
CPU: on one, the answer would cost the same time, later, or for nothing
when the search never asks.
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from skaal.solver.decompose import SCALE, Unit, groups
from skaal.solver.highs import Ahead, spare_cpu
from skaal.solver.servers import Server, trimmed_for

if TYPE_CHECKING:
    import numpy as np
    from highspy._core import HighsBasis, HighsLp, _Highs
    from numpy.typing import NDArray

    #: What the first re-solve hands over: its solver, the columns it closed, its answer.
    _Answer = tuple[_Highs, NDArray[np.int32], float | None]

__all__ = ["Kept", "Rebounds", "linear_bound"]


class Kept:
    """One component's linear relaxation and its optimal basis (see the module docstring).

    Only the model and the basis are kept, not the solver that found them: at
    100,000 resources HiGHS holds 210 MB more once it has solved (its factors
    and work arrays) than with the model alone, 30 MB.  The first re-solve
    builds a solver again from that basis (1.35 s where a solver kept would
    take 1.16 s), and the later ones go on from its own.
    """

    def __init__(
        self,
        lp: HighsLp,
        basis: HighsBasis,
        constant: float,
        columns: Mapping[str, Sequence[int]],
        upper: Sequence[float],
    ) -> None:
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS (see .pooled)

        self._start = (lp, basis)
        self._highs: _Highs | None = None
        self._constant = constant
        # per backend or pool: its columns (units on it; instances of its shapes), and
        # every column's upper bound, as arrays (200,000 columns at 100,000 resources)
        self._columns = {name: np.array(cols, dtype=np.int32) for name, cols in columns.items()}
        self._upper = np.array(upper, dtype=float)
        self._closed: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._ahead: tuple[frozenset[str], Ahead[_Answer]] | None = None
        """The pools of the first re-solve started :meth:`ahead`, and its answer."""

    def ahead(self, dropped: Callable[[str], bool]) -> None:
        """Start answering the first :meth:`without`, for ``dropped``, on a thread of its
        own (see the module docstring)."""
        if self._highs is None and self._ahead is None:
            names = self._closing(dropped)
            self._ahead = (names, Ahead(lambda: self._first(names), "skaal-rebound"))

    def without(self, dropped: Callable[[str], bool]) -> float | None:
        """The relaxation's optimum (dollars) with the columns of every pool that
        ``dropped`` names left empty: ``inf`` when none is feasible, ``None`` when
        HiGHS ends otherwise (no bound known).

        An answer solved :meth:`ahead` serves only if it is for the same pools; else
        it is dropped with its solver, so that the solves here run as they would
        without it, from the same bases to the same numbers.
        """
        names = self._closing(dropped)
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            highs, closed, value = ahead[1].result()
            if ahead[0] == names:
                self._highs, self._closed = highs, closed
                return value
            del highs
        if self._highs is None:
            self._highs, self._closed, value = self._first(names)
        else:
            value, self._closed = self._solve(self._highs, self._closed, names)
        return value

    def settle(self) -> None:
        """Wait for a re-solve started :meth:`ahead` (its answer stays for :meth:`without`)."""
        if self._ahead is not None:
            self._ahead[1].join()

    def _first(self, names: frozenset[str]) -> _Answer:
        """The first re-solve, on a solver of its own built from the kept basis."""
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS (see .pooled)

        highs = self._fresh()
        value, closed = self._solve(highs, np.zeros(0, dtype=np.int32), names)
        return highs, closed, value

    def _fresh(self) -> _Highs:
        """HiGHS holding the model, at the kept basis."""
        from skaal.solver.highs import quiet_highs  # noqa: PLC0415 - see linear_bound

        lp, basis = self._start
        highs = quiet_highs()
        highs.passModel(lp)
        highs.setBasis(basis)
        return highs

    def _closing(self, dropped: Callable[[str], bool]) -> frozenset[str]:
        return frozenset(name for name in self._columns if dropped(name))

    def _solve(
        self, highs: _Highs, before: NDArray[np.int32], names: frozenset[str]
    ) -> tuple[float | None, NDArray[np.int32]]:
        """Re-solve ``highs`` (whose columns ``before`` are closed) with exactly the
        columns of ``names`` closed: its answer (see :meth:`without`) and those columns."""
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS (see .pooled)
        from highspy import _core  # noqa: PLC0415

        closed = _distinct(
            np.concatenate(
                [np.zeros(0, dtype=np.int32)]
                + [cols for name, cols in self._columns.items() if name in names]
            )
        )
        # ``before`` and ``closed`` are sorted and distinct: numpy's setdiff1d, without
        # the np.unique that loads numpy.ma (see _distinct)
        opened = before[~np.isin(before, closed, assume_unique=True)]
        if len(opened):
            highs.changeColsBounds(len(opened), opened, np.zeros(len(opened)), self._upper[opened])
        if len(closed):
            zeros = np.zeros(len(closed))
            highs.changeColsBounds(len(closed), closed, zeros, zeros)
        highs.run()
        status = highs.getModelStatus()
        if status == _core.HighsModelStatus.kInfeasible:
            return math.inf, closed
        if status != _core.HighsModelStatus.kOptimal:
            return None, closed
        return self._constant + float(highs.getInfo().objective_function_value), closed


class Rebounds:
    """What :func:`.optimise.optimise` solved, kept to bound the same problem again
    without some pools (:meth:`floor`); filled by the optimiser, read by :mod:`.vpc`.

    ``ahead``: the pools the first :meth:`floor` will most likely drop; a relaxation
    kept starts that re-solve at once, on a spare CPU (see the module docstring).
    """

    def __init__(self, ahead: Callable[[str], bool] | None = None) -> None:
        self._ahead = ahead if ahead is not None and spare_cpu() else None
        self.fixed = 0
        """Micro-dollars of the units outside every server."""
        self.servers: Mapping[str, Server] = {}
        self.max_backends: int | None = None
        self.parts: list[tuple[Sequence[Unit], Kept | None]] = []
        self.recorded = False

    def record(self, fixed: int, servers: Mapping[str, Server], max_backends: int | None) -> None:
        """The optimiser starts: the fixed units' cost and the server pools."""
        self._drop()
        self.fixed, self.servers, self.max_backends = fixed, servers, max_backends
        self.recorded = True

    def add(self, part: Sequence[Unit], kept: Kept | None) -> None:
        """One component solved, with its linear relaxation when one was kept."""
        if kept is not None:
            _trim()  # the solver that found it is gone (see Kept)
            if self._ahead is not None:
                for _, earlier in self.parts:  # one re-solve ahead at a time
                    if earlier is not None:
                        earlier.settle()
                kept.ahead(self._ahead)
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
        self.recorded = False
        if self._drop():
            _trim()

    def _drop(self) -> bool:
        """Forget the parts; whether a relaxation was among them."""
        held = False
        for _, kept in self.parts:
            if kept is not None:
                kept.settle()  # HiGHS may still be solving ahead
                held = True
        self.parts.clear()
        return held

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


def _distinct(values: NDArray[np.int32]) -> NDArray[np.int32]:
    """``numpy.unique(values)``: sorted, each once.  ``numpy.unique`` asks ``numpy.ma``
    whether its input is masked, which imports ``numpy.ma`` (30 ms, a twelfth of a
    1,000-resource ``skaal plan``) where nothing else of the plan needs it."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS (see .pooled)

    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    kept: NDArray[np.int32] = ordered[first]
    return kept


def _trim() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``).

    HiGHS's solvers live on the C heap (210 MB once the relaxation of 100,000
    resources is solved); freed, those pages stay in the process, where
    Python's own allocator (arenas of its own) never reuses them, and what
    comes next comes on top: the units' placement, or the plan's records
    (planning the ``users`` draw of 100,000 resources on gcp peaked at
    1,024 MB instead of 958 MB, and at 1,079 MB with a re-solve running
    ahead).  Trimmed when a relaxation is kept (its solver just freed) and
    when the kept ones are released.  Elsewhere than glibc, nothing.
    """
    if sys.platform != "linux":
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
