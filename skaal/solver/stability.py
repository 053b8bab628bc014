"""Plan stability: keep what the previous lock chose unless asked to re-optimise.

A deployed resource should not move because a cheaper backend appeared: moving
state is a migration.  So, given the previous plan (from ``skaal.lock``), each
resource keeps its previous backend when

* the backend is still feasible for it (it is among its options, so the
  catalog still offers it and every constraint still holds),
* it is not pinned (a pin always wins), and
* the plan with every kept resource still meets the global constraints
  (capacity, ``max_backends``, co-location, budget) — otherwise nothing is kept.

Kept resources are fixed by restricting their options to the kept backend;
resources new since the lock are then optimised around them (a kept shared
instance's fee is already paid, so newcomers share it for free).  Costs always
use the current catalog's prices.  The fresh optimum is computed too, and the
difference is reported as ``reoptimize_savings``.
"""

from __future__ import annotations

from collections.abc import Mapping

from msgspec.structs import replace

from skaal.plan.model import Plan
from skaal.solver.assemble import pin_source
from skaal.solver.problem import Problem

__all__ = ["kept_backends", "restrict"]


def kept_backends(
    problem: Problem, previous: Plan | None, pins: Mapping[str, str]
) -> dict[str, str]:
    """Resource → previous backend, for every resource that may keep it."""
    if previous is None:
        return {}
    before = {b.resource: b.backend for b in previous.bindings}
    out: dict[str, str] = {}
    # Alike resources share one options tuple (alive in ``problem`` while its id is a
    # key): each is searched once per backend, not once per resource.
    offered: dict[tuple[int, str], bool] = {}
    for res in problem.resources:
        backend = before.get(res.spec.name)
        if backend is None or pin_source(res, pins) is not None:
            continue
        key = (id(res.options), backend)
        found = offered.get(key)
        if found is None:
            found = offered[key] = any(o.backend == backend for o in res.options)
        if found:
            out[res.spec.name] = backend
    return out


def restrict(problem: Problem, kept: Mapping[str, str]) -> Problem:
    """``problem`` with each kept resource's options narrowed to its kept backend."""
    resources = tuple(
        replace(res, options=tuple(o for o in res.options if o.backend == kept[res.spec.name]))
        if res.spec.name in kept
        else res
        for res in problem.resources
    )
    return replace(problem, resources=resources)
