"""An independent exact solver for the planner's optimisation model (HiGHS via SciPy).

The product's optimiser (:mod:`skaal.solver`) uses z3 with a decomposition
into independent resources and coupled groups.  This module solves the same
model in one piece as a mixed-integer linear programme, so the two can be
compared on random instances.  It shares only the input, a
:class:`~skaal.solver.problem.Problem` (the feasibility filter's options and
their costs); the optimisation is written from scratch here.

Model.  For every resource ``r`` and feasible option ``b`` (a backend):

    x[r,b] ∈ {0,1}                                binary: r is placed on b
    Σ_b x[r,b] = 1                                each resource placed once

For every shared backend ``s`` with capacity ``cap`` per instance and at most
``M = max_instances(s)`` instances, the placement is explicit (bin packing):

    o[s,i] ∈ {0,1}, i < M                         instance i is paid for
    x[r,s] = Σ_i y[r,s,i],  y[r,s,i] ∈ {0,1}      r sits on exactly one instance
    Σ_r use_d(r)·y[r,s,i] ≤ cap_d(s)·o[s,i]       per instance and declared dimension d
    o[s,i+1] ≤ o[s,i]                             instances are opened in order

where the dimensions are ``size_gb``, ``reads_per_s``, ``writes_per_s``
(the resource's workload, defaults applied) and ``resources`` (each resource
uses 1).  A dimension whose capacity is not declared is unlimited.

Co-location ``(a, p)``: ``x[a,b] = x[p,b]`` for every backend ``b``
(an option of only one of them is forced to 0), i.e. the same backend, and
``y[a,s,i] = y[p,s,i]``: the same instance of a shared backend.

``max_backends = K``: ``used[b] ∈ {0,1}``, ``x[r,b] ≤ used[b]``,
``Σ_b used[b] ≤ K``.  Budget ``B``: ``Σ cost·x + Σ fixed·n ≤ B``.

Objective: minimise ``Σ cost[r,b]·x[r,b] + Σ fixed(s)·o[s,i]``.

The solution is rounded, checked against every constraint by
:func:`evaluate` (plain Python, not the MILP), and its cost is recomputed
from the rounded solution, so the reported total carries no solver
tolerance.  ``mip_rel_gap`` is set to zero: "optimal" means proven optimal.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
from scipy.sparse import coo_array  # type: ignore[import-untyped]

from skaal.solver.problem import Problem, ResourceOptions

__all__ = ["DIMENSIONS", "OracleResult", "evaluate", "solve_exact", "usage"]

#: Capacity dimensions of a shared instance, as ``Capacity`` field names.
DIMENSIONS: tuple[str, ...] = ("size_gb", "reads_per_s", "writes_per_s", "resources")

Status = Literal["optimal", "infeasible", "time_limit"]


@dataclass(frozen=True, slots=True)
class OracleResult:
    """The exact optimum (or a verdict), with the assignment that achieves it."""

    status: Status
    total: float | None
    assignment: Mapping[str, str] = field(default_factory=dict)
    """Resource name → backend name."""
    instances: Mapping[str, int] = field(default_factory=dict)
    """Shared backend name → instances paid for (only non-zero counts)."""
    placement: Mapping[str, int] = field(default_factory=dict)
    """Resource on a shared backend → index of its instance."""
    seconds: float = 0.0
    bound: float | None = None
    """HiGHS's proven lower bound on the optimum (equal to ``total`` when optimal)."""


def usage(resource: ResourceOptions, dimension: str) -> float:
    """What ``resource`` uses of one capacity dimension of a shared instance."""
    if dimension == "resources":
        return 1.0
    value = getattr(resource.workload, dimension)
    assert isinstance(value, float | int)
    return float(value)


def evaluate(
    problem: Problem,
    assignment: Mapping[str, str],
    instances: Mapping[str, int],
    placement: Mapping[str, int],
) -> tuple[float, tuple[str, ...]]:
    """The total cost of an assignment and every constraint it breaks (empty if feasible).

    ``instances`` counts the instances paid for per shared backend;
    ``placement`` gives each resource on a shared backend its instance index.
    """
    broken: list[str] = []
    total = 0.0
    shared = {s.backend.name: s for s in problem.shared}
    load: dict[tuple[str, int], dict[str, float]] = {}
    for res in problem.resources:
        name = res.spec.name
        chosen = assignment.get(name)
        costs = {o.backend: o.cost for o in res.options}
        if chosen not in costs:
            broken.append(f"{name}: {chosen!r} is not a feasible option")
            continue
        assert chosen is not None
        total += costs[chosen]
        if chosen in shared:
            slot = placement.get(name)
            if slot is None or not 0 <= slot < instances.get(chosen, 0):
                broken.append(f"{name}: no paid instance of {chosen} holds it (slot {slot})")
                continue
            bucket = load.setdefault((chosen, slot), dict.fromkeys(DIMENSIONS, 0.0))
            for dim in DIMENSIONS:
                bucket[dim] += usage(res, dim)
    for name, count in sorted(instances.items()):
        if name not in shared:
            broken.append(f"{name} is not a shared backend of the problem")
            continue
        total += shared[name].fixed_monthly * count
        capacity = shared[name].backend.shared
        assert capacity is not None
        if count > capacity.max_instances:
            broken.append(f"{name}: {count} instances > max_instances {capacity.max_instances}")
    for (name, slot), used in sorted(load.items()):
        capacity = shared[name].backend.shared
        assert capacity is not None
        for dim in DIMENSIONS:
            cap = getattr(capacity, dim)
            if cap is not None and used[dim] > cap * (1 + 1e-9) + 1e-9:
                broken.append(f"{name}#{slot + 1}: {dim} {used[dim]:g} > {cap:g}")
    for res_name, peer in problem.collocations:
        if assignment.get(res_name) != assignment.get(peer):
            broken.append(f"{res_name} and {peer} are not co-located")
        elif assignment.get(res_name) in shared and placement.get(res_name) != placement.get(peer):
            broken.append(f"{res_name} and {peer} are on different instances")
    if problem.max_backends is not None:
        used_backends = set(assignment.values())
        if len(used_backends) > problem.max_backends:
            broken.append(f"{len(used_backends)} backends > max_backends {problem.max_backends}")
    if problem.budget_usd_month is not None and total > problem.budget_usd_month + 1e-9:
        broken.append(f"total {total:.6f} > budget {problem.budget_usd_month:.6f}")
    return total, tuple(broken)


class _Rows:
    """A sparse constraint matrix built row by row."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        row = len(self.lower)
        for col, val in terms:
            self.rows.append(row)
            self.cols.append(col)
            self.vals.append(val)
        self.lower.append(lower)
        self.upper.append(upper)

    def constraint(self, width: int) -> LinearConstraint:
        matrix = coo_array(
            (self.vals, (self.rows, self.cols)), shape=(len(self.lower), width)
        ).tocsr()
        return LinearConstraint(matrix, np.array(self.lower), np.array(self.upper))


def solve_exact(problem: Problem, *, time_limit_s: float | None = None) -> OracleResult:
    """Solve ``problem`` to proven optimality, or say it is infeasible."""
    started = time.perf_counter()
    if any(not res.options for res in problem.resources):
        return OracleResult("infeasible", None, seconds=time.perf_counter() - started)

    shared = {sb.backend.name: sb for sb in problem.shared}
    cost: list[float] = []
    upper: list[float] = []

    def column(price: float) -> int:
        cost.append(price)
        upper.append(1.0)
        return len(cost) - 1

    # x[r, b] for a dedicated option; y[r, s, i] for instance i of a shared one.
    x: dict[tuple[str, str], int] = {}
    y: dict[tuple[str, str, int], int] = {}
    slots: dict[tuple[str, str], list[int]] = {}
    for res in problem.resources:
        for option in res.options:
            sb = shared.get(option.backend)
            if sb is None:
                x[res.spec.name, option.backend] = column(option.cost)
                continue
            assert sb.backend.shared is not None
            for i in range(sb.backend.shared.max_instances):
                y[res.spec.name, option.backend, i] = column(option.cost)
                slots.setdefault((res.spec.name, option.backend), []).append(
                    y[res.spec.name, option.backend, i]
                )
    opened: dict[tuple[str, int], int] = {}
    for name, sb in sorted(shared.items()):
        assert sb.backend.shared is not None
        for i in range(sb.backend.shared.max_instances):
            opened[name, i] = column(sb.fixed_monthly)

    def on(resource: str, backend: str) -> list[int]:
        """Columns meaning "resource is placed on backend" (one, or one per instance)."""
        if (resource, backend) in x:
            return [x[resource, backend]]
        return slots[resource, backend]

    rows = _Rows()
    for res in problem.resources:
        cols = [c for o in res.options for c in on(res.spec.name, o.backend)]
        rows.add([(c, 1.0) for c in cols], 1.0, 1.0)
    by_slot: dict[tuple[str, int], list[tuple[ResourceOptions, int]]] = {}
    by_name = {res.spec.name: res for res in problem.resources}
    for (r, b, i), col in y.items():
        by_slot.setdefault((b, i), []).append((by_name[r], col))
        rows.add([(col, 1.0), (opened[b, i], -1.0)], -np.inf, 0.0)
    for (name, i), open_col in sorted(opened.items()):
        capacity = shared[name].backend.shared
        assert capacity is not None
        hosted = by_slot.get((name, i), [])
        for dim in DIMENSIONS:
            cap = getattr(capacity, dim)
            if cap is not None and hosted:
                terms = [(col, usage(r, dim)) for r, col in hosted]
                rows.add([*terms, (open_col, -float(cap))], -np.inf, 0.0)
        if i > 0:
            rows.add([(open_col, 1.0), (opened[name, i - 1], -1.0)], -np.inf, 0.0)
    options = {res.spec.name: {o.backend for o in res.options} for res in problem.resources}
    for a, p in problem.collocations:
        for backend in sorted(options[a] | options[p]):
            if backend in shared:
                assert shared[backend].backend.shared is not None
                for i in range(shared[backend].backend.shared.max_instances):
                    terms = [(y[a, backend, i], 1.0)] if backend in options[a] else []
                    if backend in options[p]:
                        terms.append((y[p, backend, i], -1.0))
                    rows.add(terms, 0.0, 0.0)
                continue
            terms = [(x[a, backend], 1.0)] if backend in options[a] else []
            if backend in options[p]:
                terms.append((x[p, backend], -1.0))
            rows.add(terms, 0.0, 0.0)
    if problem.max_backends is not None:
        backends = sorted({b for _, b in x} | {b for _, b, _ in y})
        used = {b: column(0.0) for b in backends}
        for (_, backend), col in x.items():
            rows.add([(col, 1.0), (used[backend], -1.0)], -np.inf, 0.0)
        for (_, backend, _), col in y.items():
            rows.add([(col, 1.0), (used[backend], -1.0)], -np.inf, 0.0)
        rows.add([(col, 1.0) for col in used.values()], -np.inf, float(problem.max_backends))
    if problem.budget_usd_month is not None:
        rows.add([(c, v) for c, v in enumerate(cost) if v], -np.inf, problem.budget_usd_month)

    width = len(cost)
    options_: dict[str, float | bool] = {"mip_rel_gap": 0.0, "presolve": True}
    if time_limit_s is not None:
        options_["time_limit"] = time_limit_s
    result = milp(
        c=np.array(cost),
        constraints=[rows.constraint(width)],
        integrality=np.ones(width),
        bounds=Bounds(np.zeros(width), np.array(upper)),
        options=options_,
    )
    elapsed = time.perf_counter() - started
    if result.status == 2:  # infeasible
        return OracleResult("infeasible", None, seconds=elapsed)
    if result.x is None:
        status: Status = "time_limit" if result.status == 1 else "infeasible"
        if result.status not in (1, 2):
            raise RuntimeError(f"HiGHS failed: {result.message}")
        return OracleResult(status, None, seconds=elapsed)
    values = np.rint(result.x)
    assignment = {r: b for (r, b), col in x.items() if values[col] == 1}
    placement: dict[str, int] = {}
    for (r, b, i), col in y.items():
        if values[col] == 1:
            assignment[r] = b
            placement[r] = i
    instances: dict[str, int] = {}
    for (name, _), col in opened.items():
        if values[col] == 1:
            instances[name] = instances.get(name, 0) + 1
    total, broken = evaluate(problem, assignment, instances, placement)
    if broken:
        raise RuntimeError(f"rounded MILP solution breaks the model: {'; '.join(broken)}")
    status = "optimal" if result.status == 0 else "time_limit"
    bound = getattr(result, "mip_dual_bound", None)
    return OracleResult(status, total, assignment, instances, placement, elapsed, bound)
