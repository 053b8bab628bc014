"""HiGHS as the planner runs it, and the work done beside a solve (:mod:`skaal.solver.highs`)."""

from __future__ import annotations

import threading

import pytest
from highspy import _core

from skaal.solver import highs as highs_module
from skaal.solver.highs import highs_holding, run_beside
from skaal.solver.sparse import Columns


def _model() -> _core._Highs:
    """min x + 2y with x + y >= 3, x <= 2: x = 2, y = 1."""
    columns = Columns()
    columns.new([0], [1.0])
    columns.new([0], [1.0])
    return highs_holding(
        [1.0, 2.0],
        [2.0, 10.0],
        [3.0],
        [float("inf")],
        columns,
        integer=False,
        max_nodes=10,
        abs_gap=1e-7,
    )


def _cpus(monkeypatch: pytest.MonkeyPatch, *, spare: bool) -> _core._Highs:
    """The model, with the process seen to have a spare CPU or not."""
    monkeypatch.setattr(highs_module, "spare_cpu", lambda: spare)
    return _model()


def test_the_work_runs_on_a_helper_thread_and_is_done_when_the_solve_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _cpus(monkeypatch, spare=True)
    ran: list[int] = []
    run_beside(model, lambda: ran.append(threading.get_ident()))
    assert ran
    assert ran[0] != threading.get_ident()
    assert model.getModelStatus() == _core.HighsModelStatus.kOptimal
    assert model.getInfo().objective_function_value == pytest.approx(4.0)


def test_an_error_in_the_work_is_left_to_whoever_asks_for_its_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _cpus(monkeypatch, spare=True)

    def failing() -> None:
        raise ValueError("met again where the result is asked for")

    run_beside(model, failing)
    assert model.getModelStatus() == _core.HighsModelStatus.kOptimal


def test_on_one_cpu_the_work_waits_until_it_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _cpus(monkeypatch, spare=False)
    ran: list[int] = []
    run_beside(model, lambda: ran.append(1))
    assert ran == []
    assert model.getModelStatus() == _core.HighsModelStatus.kOptimal
