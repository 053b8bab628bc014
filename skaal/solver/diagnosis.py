"""Why no plan exists, and the smallest declaration change that would give one.

Unsatisfiable is a result, not a crash.  Two kinds of trouble end planning:

* **per-resource**: after the feasibility filter a resource has no option at
  all.  :func:`diagnose_resources` reports EVERY such resource at once (not the
  first), each with its source location, every candidate backend's failed
  checks, and the cheapest fix;
* **global**: every resource has options but the coupling constraints
  (budget, ``max_backends``, co-location, shared capacity) cannot all hold.
  The optimiser records those as :class:`GlobalConflict`\\ s in a
  :class:`Diagnosis`.

The cheapest fix of a resource: consider the backends whose every rejection
can be removed by a declaration change (``relaxation`` is not ``None``), and
pick the one needing the fewest changes, then the cheapest once relaxed (a
shared backend counted with one instance's fixed fee), then catalog order.
So a backend failing exactly one relaxable check always wins over one failing
two, and among single fixes the cheapest wins.  A relaxed size or rate is
priced at the relaxed value.  Where a backend refuses only the reads' rate
and would hold them served eventually consistent (in fewer units of its
throughput quota), ``consistency="eventual"`` is offered too, at the declared rate.

:func:`unsatisfiable` turns a diagnosis into the
:class:`~skaal.errors.UnsatisfiableError` the planner raises (``report`` holds
the diagnosis); :func:`format_diagnosis` is its readable text; and
:func:`explain` lists every backend of the catalog for one resource, which is
what ``skaal plan --explain RES`` shows.
"""

from __future__ import annotations

import math

from msgspec import Struct
from msgspec.structs import replace

from skaal.blueprint.model import Kind, SourceLocation
from skaal.catalog.model import Backend
from skaal.errors import UnsatisfiableError, UsageError, did_you_mean
from skaal.model.grammar import Consistency
from skaal.plan.model import CostLine
from skaal.solver.cost import cost_lines, money, option_cost, rate_ceilings, served_consistency
from skaal.solver.decompose import usage_of
from skaal.solver.problem import Problem, Rejection, ResourceOptions, Workload
from skaal.solver.servers import largest, server_of

__all__ = [
    "CandidateReport",
    "Diagnosis",
    "Fix",
    "GlobalConflict",
    "ResourceDiagnosis",
    "diagnose_resources",
    "explain",
    "format_diagnosis",
    "unsatisfiable",
]

_READS_PER_MESSAGE = {"queue": 2.0, "topic": 1.0}


class Fix(Struct, frozen=True):
    """Declaration changes that make one backend serve the resource, and its price then."""

    backend: str
    relaxations: tuple[str, ...]
    cost: float
    """The resource's monthly cost on ``backend`` once relaxed (fixed fee excluded if shared)."""
    instance_fee: float = 0.0
    """A shared backend's fixed fee per instance (0 for a dedicated backend)."""

    def __str__(self) -> str:
        fee = f" + {_usd(self.instance_fee)}/month per shared instance" if self.instance_fee else ""
        joint = "; " if any(" " in r for r in self.relaxations) else ", "
        return f"{joint.join(self.relaxations)} → {self.backend} at {_usd(self.cost)}/month{fee}"


class ResourceDiagnosis(Struct, frozen=True):
    """One resource no backend can serve."""

    resource: str
    kind: Kind
    location: SourceLocation
    rejections: tuple[tuple[str, tuple[Rejection, ...]], ...]
    """Per backend (catalog order), every check it fails."""
    fix: Fix | None
    """The cheapest way out, or ``None`` when no declaration change helps."""
    alternatives: tuple[Fix, ...] = ()
    """The cheapest fix relaxing each other set of constraints (fewest changes, then cost)."""
    catalog_fix: Fix | None = None
    """The cheapest catalog change that serves the resource as declared (a region added,
    a provider quota raised), priced at the declared workload; ``None`` if none does."""


class GlobalConflict(Struct, frozen=True):
    """Constraints that hold one by one but not together (filled in by the optimiser)."""

    constraint: str
    declarations: tuple[tuple[str, SourceLocation], ...]
    detail: str
    relaxation: str | None = None


class Diagnosis(Struct, frozen=True):
    """Everything that stands between the declarations and a plan."""

    catalog: str = ""
    resources: tuple[ResourceDiagnosis, ...] = ()
    conflicts: tuple[GlobalConflict, ...] = ()


class CandidateReport(Struct, frozen=True):
    """One catalog backend for one resource: its cost if feasible, else why not."""

    backend: str
    rank: int
    feasible: bool
    cost: float | None
    lines: tuple[CostLine, ...] = ()
    region: str | None = None
    rejections: tuple[Rejection, ...] = ()
    unchecked: tuple[str, ...] = ()


def diagnose_resources(problem: Problem) -> Diagnosis | None:
    """Every resource with no feasible option, or ``None`` when each has one."""
    found = tuple(
        _diagnose(problem, options) for options in problem.resources if not options.options
    )
    return Diagnosis(catalog=problem.catalog.name, resources=found) if found else None


def _diagnose(problem: Problem, options: ResourceOptions) -> ResourceDiagnosis:
    spec = options.spec
    best: dict[frozenset[str], tuple[tuple[int, float, int], Fix]] = {}
    kept: tuple[tuple[float, int], Fix] | None = None
    for order, (name, rejections) in enumerate(options.rejections):
        backend = problem.catalog.backend(name)
        if all(r.relaxation is not None for r in rejections):
            relaxations = tuple(dict.fromkeys(r.relaxation for r in rejections if r.relaxation))
            asked = _relaxed_consistency(spec.requirements.consistency, rejections)
            served = served_consistency(spec.kind, asked, backend.performance.consistency)
            relaxed = _relaxed(backend, options.workload, spec.kind, eventual=served == "eventual")
            cost, _ = option_cost(backend, relaxed, spec.kind, asked)
            fee = _instance_fee(backend, relaxed)
            key = (len(relaxations), money(cost + fee), order)
            group = frozenset(r.constraint for r in rejections)
            if group not in best or key < best[group][0]:
                best[group] = (key, Fix(name, relaxations, cost, fee))
        eventual = _eventual_fix(backend, options, rejections)
        if eventual is not None:
            key = (1, money(eventual.cost + eventual.instance_fee), order)
            if _EVENTUAL not in best or key < best[_EVENTUAL][0]:
                best[_EVENTUAL] = (key, eventual)
        if rejections and all(r.catalog_change for r in rejections):
            changes = tuple(dict.fromkeys(r.catalog_change for r in rejections if r.catalog_change))
            cost, _ = option_cost(
                backend, options.workload, spec.kind, spec.requirements.consistency
            )
            fee = _instance_fee(backend, options.workload)
            priced = (money(cost + fee), order)
            if kept is None or priced < kept[0]:
                kept = (priced, Fix(name, changes, cost, fee))
    fixes = [fix for _, fix in sorted(best.values(), key=lambda item: item[0])]
    return ResourceDiagnosis(
        resource=spec.name,
        kind=spec.kind,
        location=spec.location,
        rejections=options.rejections,
        fix=fixes[0] if fixes else None,
        alternatives=tuple(fixes[1 : _ALTERNATIVES + 1]),
        catalog_fix=None if kept is None else kept[1],
    )


_EVENTUAL = frozenset({"consistency"})
_RELAXED_CONSISTENCY = 'consistency="eventual"'


def _eventual_fix(
    backend: Backend, options: ResourceOptions, rejections: tuple[Rejection, ...]
) -> Fix | None:
    """``consistency="eventual"`` as the fix, when only the reads' rate keeps ``backend``
    from serving the resource and eventually consistent reads, which take fewer units
    of its throughput quota (DynamoDB: half), would fit."""
    spec = options.spec
    if not rejections or any(r.constraint != "reads" for r in rejections):
        return None
    if (
        served_consistency(
            spec.kind, spec.requirements.consistency, backend.performance.consistency
        )
        != "strong"
    ):
        return None  # not a map or collection, or its reads are already eventual
    if served_consistency(spec.kind, "eventual", backend.performance.consistency) != "eventual":
        return None
    load = options.workload
    most_reads, _ = rate_ceilings(backend, eventual=True)
    capacity = largest(backend).reads_per_s
    if load.reads_per_s > min(most_reads, math.inf if capacity is None else capacity):
        return None
    cost, _ = option_cost(backend, load, spec.kind, "eventual")
    return Fix(backend.name, (_RELAXED_CONSISTENCY,), cost, _instance_fee(backend, load))


def _relaxed_consistency(
    declared: Consistency | None, rejections: tuple[Rejection, ...]
) -> Consistency | None:
    """The consistency a relaxed declaration asks: eventual where the fix relaxes it."""
    return "eventual" if any(r.constraint == "consistency" for r in rejections) else declared


#: Other declaration fixes shown besides the cheapest, one per set of constraints.
_ALTERNATIVES = 3


def _instance_fee(backend: Backend, load: Workload) -> float:
    """The fee of the cheapest instance of a server backend that holds ``load`` alone
    (0 for a dedicated backend): what choosing it would really cost."""
    return 0.0 if backend.server is None else server_of(backend).fee_to_hold(usage_of(load))


def _cap(value: float, *bounds: float | None) -> float:
    return min([value, *(b for b in bounds if b is not None)])


def _relaxed(backend: Backend, load: Workload, kind: Kind, *, eventual: bool) -> Workload:
    """The workload once sizes and rates are lowered to the backend's limits (its
    throughput quotas as :func:`.cost.rate_ceilings` counts them; ``eventual``: the
    reads are served eventually consistent)."""
    limits = backend.limits
    cap = largest(backend)
    most_reads, most_writes = rate_ceilings(backend, eventual=eventual)
    size = _cap(load.size_gb, limits.max_size_gb, cap.size_gb)
    memory = _cap(load.memory_gb, limits.max_memory_gb)
    if kind in _READS_PER_MESSAGE:
        ratio = _READS_PER_MESSAGE[kind]
        read_bounds = (most_reads, cap.reads_per_s)
        messages = _cap(
            load.writes_per_s,
            most_writes,
            cap.writes_per_s,
            *(b / ratio for b in read_bounds if b is not None),
        )
        reads, writes = messages * ratio, messages
    else:
        reads = _cap(load.reads_per_s, most_reads, cap.reads_per_s)
        writes = _cap(load.writes_per_s, most_writes, cap.writes_per_s)
    return replace(load, size_gb=size, reads_per_s=reads, writes_per_s=writes, memory_gb=memory)


def _usd(amount: float) -> str:
    if amount == 0 or amount >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.2g}"


def format_diagnosis(diagnosis: Diagnosis) -> str:
    """Readable multi-line text: every infeasible resource, then every global conflict."""
    out: list[str] = []
    for res in diagnosis.resources:
        out.append(f"{res.resource} ({res.location}): no backend meets every constraint")
        other_kinds: list[str] = []
        for backend, rejections in res.rejections:
            if rejections[0].constraint == "kind":
                other_kinds.append(backend)
                continue
            failed = "; ".join(
                f"{r.constraint} offers {r.offered}, asked {r.asked}" for r in rejections
            )
            out.append(f"  {backend}: {failed}")
        if other_kinds and len(other_kinds) == len(res.rejections):
            out.append(f"  no backend of catalog {diagnosis.catalog!r} serves a {res.kind}")
        elif other_kinds:
            noun = "backend does" if len(other_kinds) == 1 else "backends do"
            out.append(
                f"  ({len(other_kinds)} other {noun} not serve a {res.kind}: "
                f"{', '.join(other_kinds)})"
            )
        if res.fix is not None:
            label = "cheapest fix" if len(res.fix.relaxations) == 1 else "smallest fix"
            out.append(f"  {label}: {res.fix}")
            out.extend(f"  or: {fix}" for fix in res.alternatives)
        elif any(r.constraint == "residency" for _, rs in res.rejections for r in rs):
            out.append("  no declaration change that keeps its residency makes a backend fit")
        else:
            out.append("  no declaration change makes any backend of this catalog fit")
        if res.catalog_fix is not None:
            out.append(f"  keeping the declarations: {res.catalog_fix}")
    for conflict in diagnosis.conflicts:
        # its relaxation is the error's fix line (:func:`unsatisfiable`), said once
        out.append(f"conflict on {conflict.constraint}: {conflict.detail}")
        out.extend(f"  {name} ({location})" for name, location in conflict.declarations)
    return "\n".join(out)


def unsatisfiable(diagnosis: Diagnosis) -> UnsatisfiableError:
    """The planner's error for ``diagnosis``: what, where, how to fix, with ``report`` set."""
    names = [r.resource for r in diagnosis.resources]
    of = f" of catalog {diagnosis.catalog!r}" if diagnosis.catalog else ""
    if names:
        count = "1 resource" if len(names) == 1 else f"{len(names)} resources"
        headline = f"no plan: {count} cannot be placed on any backend{of} ({', '.join(names)})"
        first = diagnosis.resources[0]
        where: str | None = str(first.location)
        command: str | None = f"skaal plan --explain {first.resource}"
    else:
        kinds = ", ".join(dict.fromkeys(c.constraint for c in diagnosis.conflicts))
        headline = f"no plan{of} meets every constraint together ({kinds})"
        decls = [d for c in diagnosis.conflicts for d in c.declarations]
        where = str(decls[0][1]) if decls else None
        command = None
    fixes = [
        f"{r.resource}: {r.fix or r.catalog_fix}"
        for r in diagnosis.resources
        if r.fix is not None or r.catalog_fix is not None
    ]
    fixes += [c.relaxation for c in diagnosis.conflicts if c.relaxation is not None]
    fix = (
        "; ".join(fixes)
        or "relax the constraints above, or plan against a catalog with more backends"
    )
    return UnsatisfiableError(
        f"{headline}\n{format_diagnosis(diagnosis)}",
        report=diagnosis,
        where=where,
        fix=fix,
        command=command,
    )


def explain(problem: Problem, resource_name: str) -> tuple[CandidateReport, ...]:
    """Every catalog backend for one resource: feasible with its cost, or every failed check."""
    options = next((r for r in problem.resources if r.spec.name == resource_name), None)
    if options is None:
        names = [r.spec.name for r in problem.resources]
        raise UsageError(
            f"{problem.blueprint.app} declares no resource {resource_name!r}"
            f"{did_you_mean(resource_name, names)}",
            where="--explain",
            fix=f"resources: {', '.join(names) or 'none'}",
        )
    feasible = {o.backend: o for o in options.options}
    rejected = dict(options.rejections)
    reports: list[CandidateReport] = []
    for rank, backend in enumerate(problem.catalog.backends):
        option = feasible.get(backend.name)
        if option is not None:
            reports.append(
                CandidateReport(
                    backend=backend.name,
                    rank=rank,
                    feasible=True,
                    cost=option.cost,
                    lines=cost_lines(
                        backend,
                        options.workload,
                        option.mode,
                        consistency=served_consistency(
                            options.spec.kind,
                            options.spec.requirements.consistency,
                            backend.performance.consistency,
                        ),
                    ),
                    region=option.region,
                    unchecked=option.unchecked,
                )
            )
        else:
            reports.append(
                CandidateReport(
                    backend=backend.name,
                    rank=rank,
                    feasible=False,
                    cost=None,
                    rejections=rejected.get(backend.name, ()),
                )
            )
    return tuple(reports)
