"""Bounds on an optimised problem with some pools taken away (:mod:`skaal.solver.rebound`).

The bound the network-fee search reads (:mod:`skaal.solver.vpc`) comes from
the relaxations the optimiser kept, re-solved with the taken-away pools'
columns closed, where it used to come from the restricted problem solved
anew (:func:`skaal.solver.optimise.floor`).  Both must agree, whichever way
the optimiser solved each component, and must bound the restricted
problem's own optimum.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest

from skaal.catalog.loader import load_catalog
from skaal.solver import rebound
from skaal.solver.assemble import vpc_backends, within_vpc
from skaal.solver.decompose import SCALE
from skaal.solver.feasibility import build_problem
from skaal.solver.highs import Ahead
from skaal.solver.optimise import floor, optimise
from skaal.solver.problem import Problem, chosen_options
from skaal.solver.rebound import Rebounds
from skaal.solver.servers import POOL
from solver.draws import draw_blueprint, write_app


def _optimised(
    tmp_path: Path, n: int, seed: int, ahead: Callable[[str], bool] | None = None
) -> tuple[Problem, Rebounds]:
    tmp_path.mkdir(exist_ok=True)
    app = draw_blueprint(write_app(tmp_path / "app.py", "users", n, seed=seed))
    problem = build_problem(app, load_catalog("gcp"))
    rebounds = Rebounds(ahead=ahead)
    optimise(problem, rebounds)
    return problem, rebounds


def _without_memorystore(problem: Problem) -> tuple[frozenset[str], Problem]:
    vpc = vpc_backends(problem)
    assert vpc == {"memorystore-redis", "memorystore-redis-standard"}
    restricted = within_vpc(problem, frozenset())
    assert restricted is not None
    return vpc, restricted


@pytest.mark.parametrize(
    ("n", "seed", "kept"),
    [(1000, 3, True), (300, 1, False)],  # the linear relaxation kept; the exact model solved
)
def test_the_kept_relaxations_bound_as_the_restricted_problem_solved_anew(
    n: int, seed: int, kept: bool, tmp_path: Path
) -> None:
    problem, rebounds = _optimised(tmp_path, n, seed)
    assert [k is not None for _, k in rebounds.parts] == [kept]
    vpc, restricted = _without_memorystore(problem)

    def dropped(pool: str) -> bool:
        return pool.partition(POOL)[0] in vpc

    without = rebounds.floor(dropped)
    assert without == pytest.approx(floor(restricted), rel=1e-9)
    # Nothing taken away: the optimiser's own relaxation, its closed columns reopened.
    assert rebounds.floor(lambda pool: False) == pytest.approx(floor(problem), rel=1e-9)
    assert without is not None
    assert without > floor(problem) + 1000.0
    assert rebounds.floor(dropped) == pytest.approx(without, rel=1e-9)


def test_the_bound_without_memorystore_never_exceeds_a_plan_without_it(tmp_path: Path) -> None:
    problem, rebounds = _optimised(tmp_path, 1000, 3)
    vpc, restricted = _without_memorystore(problem)
    without = rebounds.floor(lambda pool: pool.partition(POOL)[0] in vpc)
    plan = optimise(restricted)
    objective = sum(o.cost for o in chosen_options(restricted, plan.backends))
    objective += sum(shape.fee for shape in plan.shapes.values())
    assert without is not None
    assert without <= objective + 1e-6


@pytest.mark.parametrize(("n", "seed"), [(1000, 3), (300, 1)])
def test_without_any_server_each_unit_pays_its_cheapest_dedicated_option(
    n: int, seed: int, tmp_path: Path
) -> None:
    _, rebounds = _optimised(tmp_path, n, seed)
    servers = set(rebounds.servers)
    expected = rebounds.fixed / SCALE
    for part, _ in rebounds.parts:
        for unit in part:
            dedicated = [o.cost for o in unit.options if o.backend not in servers]
            expected += min(dedicated, default=math.inf) / SCALE
    assert rebounds.floor(lambda pool: pool in servers) == pytest.approx(expected, rel=1e-9)


def test_nothing_is_known_before_the_optimiser_records() -> None:
    assert Rebounds().floor(lambda pool: False) is None


def _running_ahead() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "skaal-rebound"]


@pytest.mark.parametrize("spare", [True, False])
def test_the_bound_solved_ahead_is_the_bound_solved_when_asked(
    spare: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan without Memorystore's pools, re-solved on a thread of its own while the
    optimiser places the units, answers exactly what the same re-solve answers when
    asked; another set of pools is solved when asked; nothing runs after release."""
    monkeypatch.setattr(rebound, "spare_cpu", lambda: spare)
    problem, plain = _optimised(tmp_path / "plain", 1000, 3)
    vpc, _ = _without_memorystore(problem)

    def dropped(pool: str) -> bool:
        return pool.partition(POOL)[0] in vpc

    _, early = _optimised(tmp_path / "early", 1000, 3, ahead=dropped)
    [(_, kept)] = early.parts
    assert kept is not None
    assert (kept._ahead is not None) is spare
    assert early.floor(dropped) == plain.floor(dropped)
    assert kept._ahead is None
    assert early.floor(lambda pool: False) == plain.floor(lambda pool: False)
    early.release()
    assert not _running_ahead()


def test_a_bound_solved_ahead_for_other_pools_changes_no_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked first about other pools than it solved ahead, the kept relaxation answers
    every question as one that never solved ahead, digit for digit: the re-solves run
    from the same bases."""
    monkeypatch.setattr(rebound, "spare_cpu", lambda: True)
    problem, plain = _optimised(tmp_path / "plain", 1000, 3)
    vpc, _ = _without_memorystore(problem)
    servers = set(plain.servers)

    def memorystore(pool: str) -> bool:
        return pool.partition(POOL)[0] in vpc

    def every_server(pool: str) -> bool:
        return pool in servers

    _, early = _optimised(tmp_path / "early", 1000, 3, ahead=memorystore)
    for dropped in (every_server, memorystore, every_server):
        assert early.floor(dropped) == plain.floor(dropped)
    early.release()


def test_a_failure_solving_ahead_reaches_the_caller() -> None:
    def fails(names: frozenset[str]) -> NoReturn:
        raise MemoryError(sorted(names))

    ahead = Ahead(lambda: fails(frozenset({"memorystore-redis"})), "skaal-rebound")
    with pytest.raises(MemoryError, match="memorystore-redis"):
        ahead.result()


def test_one_cpu_solves_nothing_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert Rebounds(ahead=lambda pool: True)._ahead is None
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert Rebounds(ahead=lambda pool: True)._ahead is not None
    # where the process's CPUs are not known (not Linux): the machine's
    monkeypatch.delattr("os.sched_getaffinity")
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert Rebounds(ahead=lambda pool: True)._ahead is None
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert Rebounds(ahead=lambda pool: True)._ahead is None
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert Rebounds(ahead=lambda pool: True)._ahead is not None


@pytest.mark.parametrize("size", [0, 1, 2, 50, 5000])
def test_distinct_columns_are_numpy_unique(size: int) -> None:
    values = np.random.default_rng(size).integers(0, max(size // 3, 1), size, dtype=np.int32)
    distinct = rebound._distinct(values)
    assert distinct.dtype == np.int32
    assert distinct.tolist() == np.unique(values).tolist()
