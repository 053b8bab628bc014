"""HiGHS as the planner runs it: single-threaded, with a fixed seed and no output.

The pooled relaxation (:mod:`.pooled`), the fee bound of :mod:`.cover` and
the re-solves of :mod:`.rebound` each make their models here, given column by
column.  HiGHS (and numpy) are imported when a model is made, not with this
module: a plan the one-instance bound settles never loads them.

**Work beside a solve.**  HiGHS releases the GIL while it solves, and the
planner's thread only waits: on the ``users`` draw of 100,000 resources on
gcp the pooled relaxation keeps it 3.7 s.  :func:`run_beside` hands work the
plan needs anyway, and that does not depend on HiGHS's answer, to a helper
thread for that time (the blueprint's content hash: 0.8 s there), on a
spare CPU only.  The work must be a pure computation whose result its owner
keeps (a memo): the plan is then the same whether it ran beside HiGHS or
later, when first asked for.  :class:`Ahead` is the other way round: a
solve whose answer is asked for later (a bound: :mod:`.rebound`,
:mod:`.quota_bound`) started on a thread of its own while the planner's
thread goes on with Python work.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from highspy._core import _Highs

    from skaal.solver.sparse import Columns

__all__ = ["Ahead", "highs_holding", "quiet_highs", "run_beside", "spare_cpu"]

_T = TypeVar("_T")


def highs_holding(
    cost: Sequence[float],
    upper: Sequence[float],
    row_lower: Sequence[float],
    row_upper: Sequence[float],
    columns: Columns,
    *,
    integer: bool,
    max_nodes: int,
    abs_gap: float,
    presolve: bool = True,
) -> _Highs:
    """HiGHS, single-threaded with a fixed seed and no output, holding the model
    ``min cost·x``, ``row_lower ≤ A x ≤ row_upper``, ``0 ≤ x ≤ upper`` (integer if
    ``integer``, at most ``max_nodes`` branch-and-bound nodes, closed to ``abs_gap``),
    ``A`` given column by column; not run yet.  ``presolve``: HiGHS simplifies the
    model before it solves it (HiGHS's default).

    ``columns`` is emptied: HiGHS keeps its own copy, and the entries (a million
    at 100,000 resources) go before it solves, when the process is largest.
    """
    import numpy as np  # noqa: PLC0415 - HiGHS and numpy load only for a plan with pooled servers
    from highspy import _core  # noqa: PLC0415 - the core, not the wrapper (which prints a banner)

    highs = quiet_highs()
    settings: tuple[tuple[str, bool | int | float], ...] = (
        ("mip_rel_gap", 0.0),
        ("mip_abs_gap", abs_gap),
        ("mip_max_nodes", max_nodes),
    )
    for option, setting in settings:
        highs.setOptionValue(option, setting)
    if not presolve:
        highs.setOptionValue("presolve", "off")
    lp = _core.HighsLp()
    lp.num_col_ = len(cost)
    lp.num_row_ = len(row_lower)
    lp.col_cost_ = np.array(cost, dtype=float)
    lp.col_lower_ = np.zeros(len(cost))
    lp.col_upper_ = np.array(upper, dtype=float)
    lp.row_lower_ = np.array(row_lower, dtype=float)
    lp.row_upper_ = np.array(row_upper, dtype=float)
    matrix = lp.a_matrix_
    matrix.format_ = _core.MatrixFormat.kColwise
    matrix.start_, matrix.index_, matrix.value_ = columns.compressed()
    del matrix
    columns.clear()
    if integer:
        lp.integrality_ = [_core.HighsVarType.kInteger] * len(cost)
    highs.passModel(lp)
    return highs


def quiet_highs() -> _Highs:
    """A HiGHS instance, single-threaded with a fixed seed and no output."""
    from highspy import _core  # noqa: PLC0415 - the core, not the wrapper (which prints a banner)

    highs = _core._Highs()
    for option, setting in (("output_flag", False), ("threads", 1), ("random_seed", 0)):
        highs.setOptionValue(option, setting)
    return highs


def run_beside(highs: _Highs, work: Callable[[], object] | None) -> None:
    """``highs.run()``, with ``work`` done on a helper thread meanwhile when the process
    may run on more than one CPU (see the module docstring); returns when both are done.

    An error in ``work`` is dropped: whoever needs its result computes it again, and
    meets the error there, where it belongs.
    """
    if work is None or not spare_cpu():
        highs.run()
        return
    helper = threading.Thread(target=_quietly, args=(work,), name="skaal-beside", daemon=True)
    helper.start()
    try:
        highs.run()
    finally:
        helper.join()


def _quietly(work: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # met again where the result is asked for
        work()


def spare_cpu() -> bool:
    """Whether this process may run on more than one CPU."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not on Linux
        return (os.cpu_count() or 1) > 1


class Ahead(Generic[_T]):
    """``compute()`` started at once on a thread of its own, for a solve whose answer is
    asked for later (HiGHS releases the GIL while it solves): :meth:`result` waits for
    it and hands over its answer, or raises its error in the thread that asks.  The
    answer must not depend on when it is computed (a pure computation)."""

    def __init__(self, compute: Callable[[], _T], name: str) -> None:
        self._answer: list[_T] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(compute,), name=name, daemon=True)
        self._thread.start()

    def _run(self, compute: Callable[[], _T]) -> None:
        try:
            self._answer.append(compute())
        except BaseException as exc:  # handed to the thread that asks
            self._error = exc

    def join(self) -> None:
        """Wait for the computation (its answer stays for :meth:`result`)."""
        self._thread.join()

    def result(self) -> _T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._answer[0]
