"""Global conflicts: constraints that hold one by one but not together.

Every resource has options, yet no plan exists.  The causes, and where each
is found:

* co-location — a ``collocate_with`` chain whose resources share no backend
  (found by :mod:`.decompose` without a solver);
* shared capacity and ``max_backends`` — z3 tracks each such constraint by a
  label (``capacity:<backend>:<dimension>``, ``max_backends``, and one
  ``place:<group>`` per group of resources); the unsat core names the labels
  that conflict, which map back to declarations and their file:line;
* budget — the optimum costs more than the budget (the budget never changes
  which plan is cheapest, so no solver call is needed to prove it).

Each becomes a :class:`~skaal.solver.diagnosis.GlobalConflict` with the
relaxation that would remove it, raised as an ``UnsatisfiableError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from skaal.blueprint.model import SourceLocation
from skaal.errors import PlanError, UnsatisfiableError
from skaal.solver.decompose import Group, Unit
from skaal.solver.diagnosis import Diagnosis, GlobalConflict, unsatisfiable
from skaal.solver.problem import Problem

__all__ = ["budget", "collocation", "from_core", "max_backends", "packing", "time_limit"]

_SHOWN = 5


def _declarations(problem: Problem, names: Iterable[str]) -> tuple[tuple[str, SourceLocation], ...]:
    wanted = set(names)
    return tuple((r.spec.name, r.spec.location) for r in problem.resources if r.spec.name in wanted)


def _app(problem: Problem) -> tuple[tuple[str, SourceLocation], ...]:
    location = problem.blueprint.location
    return () if location is None else ((f"App({problem.blueprint.app!r})", location),)


def _raise(problem: Problem, *found: GlobalConflict) -> UnsatisfiableError:
    return unsatisfiable(Diagnosis(catalog=problem.catalog.name, conflicts=found))


def collocation(problem: Problem, chains: Sequence[tuple[str, ...]]) -> UnsatisfiableError:
    """Co-located resources with no backend in common."""
    found = []
    for chain in chains:
        options = {
            r.spec.name: ", ".join(o.backend for o in r.options)
            for r in problem.resources
            if r.spec.name in chain
        }
        detail = "co-located resources share no backend: " + "; ".join(
            f"{name} can use {opts}" for name, opts in options.items()
        )
        peers = [a for a, b in problem.collocations if a in chain and b in chain]
        drop = peers[0] if peers else chain[0]
        found.append(
            GlobalConflict(
                constraint="collocate_with",
                declarations=_declarations(problem, chain),
                detail=detail,
                relaxation=f"drop collocate_with on {drop}",
            )
        )
    return _raise(problem, *found)


def from_core(
    problem: Problem,
    core: Sequence[str],
    grouped: Sequence[Group],
    shared: Mapping[str, object],
) -> UnsatisfiableError:
    """Turn z3's unsat core labels into conflicts naming declarations."""
    members = [
        m
        for label in core
        if label.startswith("place:")
        for unit in grouped[int(label.split(":", 1)[1])].units
        for m in unit.members
    ]
    found: list[GlobalConflict] = []
    capacity = sorted({label.split(":")[1] for label in core if label.startswith("capacity:")})
    for backend in capacity:
        dims = [label.split(":")[2] for label in core if label.startswith(f"capacity:{backend}:")]
        cap = problem.catalog.backend(backend).shared
        count = cap.max_instances if cap is not None else 1
        found.append(
            GlobalConflict(
                constraint="shared capacity",
                declarations=_declarations(problem, members),
                detail=(
                    f"these resources need {backend} but do not fit in {count} "
                    f"instance(s) ({', '.join(dims)})"
                ),
                relaxation=(
                    f"lower the {', '.join(dims)} of some of these resources, or allow "
                    f"them a dedicated backend (relax their constraints)"
                ),
            )
        )
    if "max_backends" in core:
        needed = _fewest_backends(grouped, shared)
        found.append(
            GlobalConflict(
                constraint="max_backends",
                declarations=_app(problem) + _declarations(problem, members[:_SHOWN]),
                detail=(
                    f"max_backends={problem.max_backends} but the resources need "
                    f"{'more' if needed is None else needed} distinct backends"
                ),
                relaxation=None if needed is None else f"max_backends={needed}",
            )
        )
    if not found:
        found.append(
            GlobalConflict(
                constraint="placement",
                declarations=_declarations(problem, members),
                detail="the coupling constraints cannot all hold",
            )
        )
    return _raise(problem, *found)


def _fewest_backends(grouped: Sequence[Group], shared: Mapping[str, object]) -> int | None:
    from skaal.solver.encode import SharedSpec, solve_component

    specs = {k: v for k, v in shared.items() if isinstance(v, SharedSpec)}
    answer = solve_component(
        grouped, specs, max_backends=None, timeout_ms=5000, minimise_backends=True
    )
    if answer.counts is None:
        return None
    return len({b for row in answer.counts for b, _ in row})


def max_backends(problem: Problem, needed: int, forcing: Sequence[str]) -> UnsatisfiableError:
    """No set of ``max_backends`` backends gives every resource an option.

    ``forcing`` lists resources with the fewest options first: those whose
    options pin down distinct backends.
    """
    return _raise(
        problem,
        GlobalConflict(
            constraint="max_backends",
            declarations=_app(problem) + _declarations(problem, forcing[:_SHOWN]),
            detail=(
                f"max_backends={problem.max_backends} but the resources need "
                f"{needed} distinct backends"
            ),
            relaxation=f"max_backends={needed}",
        ),
    )


def budget(problem: Problem, total: float, costs: Mapping[str, float]) -> UnsatisfiableError:
    """The cheapest plan costs more than the declared budget.

    ``costs`` holds each resource's own cost and each shared instance's fee
    (named ``"<instance> (instance fee)"``), so the listed items explain the total.
    """
    assert problem.budget_usd_month is not None
    top = sorted(costs.items(), key=lambda item: (-item[1], item[0]))[:_SHOWN]
    listed = ", ".join(f"{name} ${cost:,.2f}" for name, cost in top)
    return _raise(
        problem,
        GlobalConflict(
            constraint="budget",
            declarations=_app(problem) + _declarations(problem, [n for n, _ in top]),
            detail=(
                f"the cheapest plan costs ${total:,.2f}/month, over the budget of "
                f"${problem.budget_usd_month:,.2f}/month (most expensive: {listed})"
            ),
            relaxation=f"raise budget to ${total:,.2f}/month",
        ),
    )


def packing(problem: Problem, backend: str, names: Sequence[str]) -> UnsatisfiableError:
    """Resources placed on a shared backend that could not be packed into its instances."""
    return _raise(
        problem,
        GlobalConflict(
            constraint="shared capacity",
            declarations=_declarations(problem, names),
            detail=f"these resources could not be packed into the instances of {backend}",
            relaxation="lower their sizes or rates, or allow them a dedicated backend",
        ),
    )


def time_limit(problem: Problem, part: Sequence[Unit]) -> PlanError:
    """The solver ran out of time before finding any plan."""
    names = sorted(m for unit in part for m in unit.members)
    shown = ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")
    return PlanError(
        f"the solver's time limit ran out before it found any plan for {shown}",
        where=problem.blueprint.app,
        fix="raise the time limit, or simplify the shared-capacity constraints",
    )
