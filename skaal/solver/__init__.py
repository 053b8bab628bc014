"""The planner: from a Blueprint and a Catalog to the cheapest Plan meeting every constraint.

:func:`solve` is a pure function (no globals, environment or files) and
deterministic: the same inputs give the same :meth:`Plan.content_hash`.  Its
one effect on the process is temporary: the cyclic garbage collector is
paused during the call and restored after (:mod:`.collector` says why).

Stages: :func:`~skaal.solver.feasibility.build_problem` filters every
backend for every resource in plain Python; any resource left without an
option is reported (all of them at once) by
:func:`~skaal.solver.diagnosis.diagnose_resources`; :mod:`.optimise` picks
the cheapest assignment and the server instances (HiGHS for the pooled
relaxation of coupled parts, z3 for packing that first fit cannot do; each
imported only when a part needs it);
:mod:`.vpc` weighs the network's fixed fee of each region holding a server;
:mod:`.counts` keeps what the plan creates within the provider's quotas on how
many tables, topics or buckets one account holds;
:mod:`.mode_quotas` keeps each Region's provisioned capacity within the
provider's quota on it;
:mod:`.stability` keeps the previous lock's choices; :mod:`.assemble` writes
the Plan with a reason per binding.

What only a failure needs is imported when one happens, not with the
package: :mod:`.diagnosis` (its records and :func:`explain`, re-exported
here through a module ``__getattr__``, PEP 562) and :mod:`.conflicts`.  A
plan that succeeds has no use for them, and a small plan's time is nearly
all start-up: importing them, and building their classes, is left to the
plans that fail.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from msgspec.structs import replace

from skaal.blueprint.model import Blueprint
from skaal.catalog.model import Catalog
from skaal.declare.existing import adopts_server
from skaal.errors import PlanError, UnsatisfiableError
from skaal.plan.model import Plan
from skaal.plan.network import vpc_fee
from skaal.registry import DEFAULT_REGISTRY, Registry
from skaal.solver.assemble import assemble, total_cost, vpc_regions
from skaal.solver.collector import collector_paused
from skaal.solver.counts import fit_counts, lost_notes, refuse_fixed
from skaal.solver.feasibility import build_problem
from skaal.solver.mode_quotas import fit_mode_quotas
from skaal.solver.optimise import Assignment
from skaal.solver.optimise import optimise as _optimise
from skaal.solver.problem import Problem, ResourceOptions, chosen_options
from skaal.solver.regions import place_functions
from skaal.solver.stability import kept_backends, restrict
from skaal.solver.vpc import cheapest_with_network

if TYPE_CHECKING:
    from skaal.solver.diagnosis import (
        CandidateReport,
        Diagnosis,
        Fix,
        GlobalConflict,
        ResourceDiagnosis,
        explain,
        format_diagnosis,
        unsatisfiable,
    )

__all__ = [
    "CandidateReport",
    "Diagnosis",
    "Fix",
    "GlobalConflict",
    "ResourceDiagnosis",
    "build_problem",
    "explain",
    "format_diagnosis",
    "solve",
    "solve_problem",
    "unsatisfiable",
]

_NO_PINS: Mapping[str, str] = MappingProxyType({})

#: Exported names of :mod:`.diagnosis`, imported on first use (see the module docstring).
_DIAGNOSIS = frozenset(
    {
        "CandidateReport",
        "Diagnosis",
        "Fix",
        "GlobalConflict",
        "ResourceDiagnosis",
        "explain",
        "format_diagnosis",
        "unsatisfiable",
    }
)


def __getattr__(name: str) -> object:
    if name not in _DIAGNOSIS:
        raise AttributeError(f"module 'skaal.solver' has no attribute {name!r}")
    value = getattr(importlib.import_module("skaal.solver.diagnosis"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def solve(
    blueprint: Blueprint,
    catalog: Catalog,
    *,
    previous: Plan | None = None,
    pins: Mapping[str, str] = _NO_PINS,
    reoptimize: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    existing: Mapping[str, str] = _NO_PINS,
    traces: bool = False,
) -> Plan:
    """The cheapest plan for ``blueprint`` on ``catalog``.

    ``previous`` is the last lock: its choices are kept when still valid
    unless ``reoptimize``.  ``pins`` (resource → backend, from ``--pin``)
    override ``backend=`` declarations.  ``existing`` (resource → what it
    adopts, from the configuration: :mod:`skaal.envs.existing`) overrides
    ``existing=`` declarations the same way, beside the Blueprint.
    ``traces``: the build exports traces (``[tool.skaal] traces``), which
    each function pays for (:mod:`skaal.solver.traces`).  Raises ``UnsatisfiableError`` listing
    every unplaceable resource or global conflict, ``PlanError`` for bad pins.

    No result depends on the clock: the solvers' limits count work, not
    seconds.  A plan the planner cannot prove cheapest (adversarial bin
    packing) has status ``best_found`` and a proven ``lower_bound``.
    """
    with collector_paused():  # see skaal.solver.collector for why and what it restores
        problem = build_problem(blueprint, catalog, registry=registry, pins=pins, existing=existing)
        if traces:
            problem = replace(problem, traces=True)
        return solve_problem(
            problem,
            previous=None if reoptimize else previous,
            pins=pins,
        )


def solve_problem(
    problem: Problem,
    *,
    previous: Plan | None = None,
    pins: Mapping[str, str] = _NO_PINS,
) -> Plan:
    """:func:`solve` from an already built :class:`Problem` (pure data, for tests and tools)."""
    problem = replace(problem, resources=tuple(sorted(problem.resources, key=_name)))
    if not all(r.options for r in problem.resources):
        raise _unplaceable(problem)
    whole = problem
    # A resource on an adopted database server has one option, costs what its
    # cost= states (else nothing) and opens no instance: it stays out of the
    # optimisation and is placed as is; its stated cost counts against the budget.
    on_servers = [r for r in problem.resources if adopts_server(r.spec, problem.catalog.provider)]
    adopted = {r.spec.name: r.options[0].backend for r in on_servers}
    stated = {r.spec.name: r.options[0].cost for r in on_servers if r.options[0].cost}
    if adopted:
        problem = replace(
            problem, resources=tuple(r for r in problem.resources if r.spec.name not in adopted)
        )
    refuse_fixed(problem)  # resources that fit one pool only, past its quota: no plan
    fresh = _cheapest(problem)
    notes: dict[str, str] = {}
    unrestricted = problem
    counted = fit_counts(problem, fresh, _cheapest)
    if counted is not None:  # more tables or topics than an account holds: some move
        problem, whole, fresh = counted.apply(problem), counted.apply(whole), counted.assignment
        notes |= counted.notes
    notes = lost_notes(problem, fresh.lost) | notes  # kept within a count quota, in one go
    fit = fit_mode_quotas(problem, fresh, unrestricted=unrestricted)
    if fit is not None:  # provisioned past a Region's quota: some tables change mode
        problem, whole, fresh = fit.apply(problem), fit.apply(whole), fit.assignment(fresh)
        notes |= fit.notes
    # each resource's option under ``fresh`` and where its functions run: its total,
    # network and plan read them
    chosen = chosen_options(problem, fresh.backends)
    placement = place_functions(problem, fresh.backends, chosen)
    fresh_total = total_cost(problem, fresh, chosen, placement) + sum(stated.values())
    budget = problem.budget_usd_month
    if budget is not None and fresh_total > budget + 1e-9:
        costs = {
            r.spec.name: next(o.cost for o in r.options if o.backend == fresh.backends[r.spec.name])
            for r in problem.resources
        } | stated
        costs |= {
            f"{i} {shape.label} (instance fee)": shape.fee for i, shape in fresh.shapes.items()
        }
        for region in vpc_regions(problem, fresh, chosen):
            costs[f"the network of the VPC in {region}"] = vpc_fee(problem.catalog.provider)
        from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it (see the module docstring)

        bound = None if fresh.proven else fresh.lower_bound
        raise conflicts.budget(problem, fresh_total, costs, bound=bound)
    kept = kept_backends(problem, previous, pins)
    # Resource -> where a fresh optimisation would move it.  When nothing would
    # move, the lock agrees with the optimum and the plan *is* the fresh one:
    # re-planning unchanged inputs then writes the same lock, byte for byte.
    moved = {name: fresh.backends[name] for name, b in kept.items() if fresh.backends[name] != b}
    if moved:
        held = _keep(problem, kept)
        if held is not None:
            # a table the first fit moved says so where the kept plan holds it there too
            held_notes = {n: t for n, t in notes.items() if held.backends[n] == fresh.backends[n]}
            held_problem, held_whole = problem, whole
            held_fit = fit_mode_quotas(problem, held, unrestricted=unrestricted)
            if held_fit is not None:
                held_problem, held_whole = held_fit.apply(problem), held_fit.apply(whole)
                held, held_notes = held_fit.assignment(held), {**held_notes, **held_fit.notes}
            held_total = total_cost(held_problem, held) + sum(stated.values())
            if budget is None or held_total <= budget + 1e-9:
                return assemble(
                    held_whole,
                    _placing(held, adopted),
                    pins=pins,
                    kept=moved,
                    reoptimize_savings=held_total - fresh_total,
                    notes=held_notes,
                )
    if adopted:  # the plan places the adopted resources too: their options are looked up
        return assemble(whole, _placing(fresh, adopted), pins=pins, notes=notes)
    return assemble(whole, fresh, pins=pins, chosen=chosen, placement=placement, notes=notes)


def _unplaceable(problem: Problem) -> UnsatisfiableError:
    """The error listing every resource of ``problem`` left without an option."""
    from skaal.solver.diagnosis import diagnose_resources, unsatisfiable  # noqa: PLC0415 - only a failure needs it (see the module docstring)

    diagnosis = diagnose_resources(problem)
    assert diagnosis is not None  # some resource has no option
    return unsatisfiable(diagnosis)


def _placing(assignment: Assignment, adopted: Mapping[str, str]) -> Assignment:
    """``assignment`` with the resources on adopted servers (resource -> backend) placed."""
    if not adopted:
        return assignment
    return replace(assignment, backends={**assignment.backends, **adopted})


def _cheapest(problem: Problem) -> Assignment:
    """The optimum including the network fee paid once per region whose VPC the plan
    needs (decided exactly by :mod:`skaal.solver.vpc`)."""
    return cheapest_with_network(problem, _optimise)


def _name(res: ResourceOptions) -> str:
    return res.spec.name


def _keep(problem: Problem, kept: Mapping[str, str]) -> Assignment | None:
    """The optimum with kept resources fixed, or None if the kept set breaks a constraint.

    A work limit with no plan for the kept set (a ``PlanError``) keeps nothing:
    the fresh plan is already known.
    """
    try:
        return _optimise(restrict(problem, kept))
    except (UnsatisfiableError, PlanError):
        return None
