"""Turn the optimiser's assignment into a :class:`~skaal.plan.Plan`, with a reason per binding.

The reason says why this backend, in the user's terms:

* ``cheapest of 3 feasible backends ($0.41/month; next: dynamodb $2.10)``;
* ``shares redis#1 with Sessions (fixed $11.68/month paid once)``;
* ``kept from skaal.lock ($0.41/month; re-optimising would move it to s3)``;
* ``pinned by backend="postgres" at app.py:12 ($3.00/month)``;
* when co-location or ``max_backends`` ruled out the cheapest option, which
  option it ruled out.

Money is rounded to the plan's precision (:func:`~skaal.solver.cost.money`);
the total is the sum of the bindings' own costs plus each shared instance's
fixed fee.

Speed: assembly is linear in the number of resources.  Only the chosen
option of each resource is itemised (:func:`~skaal.solver.cost.cost_lines`),
and the facts a reason needs about the whole problem (who is co-located,
which backends are shared, each instance's first members) are gathered once.
Records are built through their validating constructors: pydantic's
compiled validation measured faster than ``model_construct``, which runs in
Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from skaal.plan.model import Binding, BindingStatus, Plan, SharedInstance, UsedPrice
from skaal.solver.cost import Pricing, money, monthly_quantities
from skaal.solver.optimise import Assignment
from skaal.solver.problem import Option, Problem, ResourceOptions

__all__ = ["assemble", "pin_source", "total_cost"]

_PEERS_SHOWN = 3


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount == 0 or amount >= 0.01 else f"${amount:.2g}"


def pin_source(res: ResourceOptions, pins: Mapping[str, str]) -> str | None:
    """How a resource is pinned (command line first), or None."""
    name = res.spec.name
    if name in pins:
        return f"--pin {name}={pins[name]}"
    backend = res.spec.requirements.backend
    if backend is not None:
        return f'backend="{backend}" at {res.spec.location}'
    return None


def total_cost(problem: Problem, assignment: Assignment) -> float:
    """Monthly total of an assignment: own costs plus shared instances' fees."""
    fees = {s.backend.name: s.fixed_monthly for s in problem.shared}
    own = 0.0
    for res in problem.resources:
        backend = assignment.backends[res.spec.name]
        own += next(o.cost for o in res.options if o.backend == backend)
    return money(own + sum(fees[i.split("#")[0]] for i in assignment.instances))


def assemble(
    problem: Problem,
    assignment: Assignment,
    *,
    pins: Mapping[str, str],
    kept: Mapping[str, str | None] | None = None,
    reoptimize_savings: float = 0.0,
) -> Plan:
    """The Plan for ``assignment``.

    ``kept`` maps each resource kept from the previous lock to the backend a
    fresh optimisation would choose instead (``None`` if the same).
    """
    kept = kept or {}
    catalog = problem.catalog
    fees = {s.backend.name: s.fixed_monthly for s in problem.shared}
    instance_of = {m: i for i, members in assignment.instances.items() for m in members}
    context = _Context(
        problem=problem,
        fees=fees,
        instances=assignment.instances,
        shared=frozenset(fees),
        collocated=frozenset(name for pair in problem.collocations for name in pair),
    )
    pricing: dict[str, Pricing] = {}
    bindings: list[Binding] = []
    for res in problem.resources:
        name = res.spec.name
        backend = catalog.backend(assignment.backends[name])
        option = next(o for o in res.options if o.backend == backend.name)
        status: BindingStatus = "chosen"
        instance = instance_of.get(name)
        pinned = pin_source(res, pins)
        if pinned is not None:
            status, reason = "pinned", f"pinned by {pinned} ({_usd(option.cost)}/month)"
        elif name in kept:
            status = "kept"
            other = kept[name]
            moved = f"; re-optimising would move it to {other}" if other else ""
            reason = f"kept from skaal.lock ({_usd(option.cost)}/month{moved})"
        else:
            reason = _reason(context, res, option=option, instance=instance)
        prices = pricing.get(backend.name)
        if prices is None:
            prices = pricing[backend.name] = Pricing.of(backend)
        lines = prices.cost_of(monthly_quantities(res.workload))[1]
        bindings.append(
            Binding(
                resource=name,
                kind=res.spec.kind,
                backend=backend.name,
                implementation=backend.implementation,
                region=option.region or catalog.region,
                instance=instance,
                monthly_cost=money(option.cost),
                cost=lines,
                status=status,
                reason=reason,
            )
        )
    instances = tuple(
        SharedInstance(
            id=ident,
            backend=ident.split("#")[0],
            fixed_monthly=fees[ident.split("#")[0]],
            resources=members,
        )
        for ident, members in sorted(assignment.instances.items(), key=lambda i: _key(i[0]))
    )
    used = sorted({b.backend for b in bindings})
    total = money(sum(b.monthly_cost for b in bindings) + sum(i.fixed_monthly for i in instances))
    return Plan(
        app=problem.blueprint.app,
        catalog=catalog.name,
        provider=catalog.provider,
        region=catalog.region,
        blueprint_hash=problem.blueprint.content_hash(),
        catalog_hash=catalog.content_hash(),
        bindings=tuple(bindings),
        instances=instances,
        prices=tuple(UsedPrice(backend=b, price=catalog.backend(b).price) for b in used),
        total_monthly_cost=total,
        status="optimal" if assignment.proven else "best_found",
        reoptimize_savings=money(max(0.0, reoptimize_savings)),
    )


def _key(ident: str) -> tuple[str, int]:
    backend, _, number = ident.partition("#")
    return backend, int(number)


@dataclass(frozen=True, slots=True)
class _Context:
    """What the reasons need to know about the whole problem, gathered once."""

    problem: Problem
    fees: Mapping[str, float]
    instances: Mapping[str, tuple[str, ...]]
    shared: frozenset[str]
    collocated: frozenset[str]
    """Every resource named in a co-location pair (either side)."""


def _reason(
    context: _Context, res: ResourceOptions, *, option: Option, instance: str | None
) -> str:
    cost = _usd(option.cost)
    if instance is not None:
        name = res.spec.name
        members = context.instances[instance]
        # Only the first few peers are named: look at one more than shown, not at all.
        peers = [m for m in members[: _PEERS_SHOWN + 1] if m != name][:_PEERS_SHOWN]
        count = len(members) - 1 if name in members else len(members)
        fee = _usd(context.fees[option.backend])
        if not count:
            head = f"on {instance} alone (fixed {fee}/month; own cost {cost}/month)"
        else:
            shown = ", ".join(peers)
            more = f" and {count - _PEERS_SHOWN} more" if count > _PEERS_SHOWN else ""
            head = f"shares {instance} with {shown}{more} (fixed {fee} paid once; own {cost}/month)"
        return head + _cheaper_note(context, res, option)
    if len(res.options) == 1:
        return f"only feasible backend ({cost}/month)"
    if option is res.options[0]:
        nxt = res.options[1]
        return (
            f"cheapest of {len(res.options)} feasible backends "
            f"({cost}/month; next: {nxt.backend} {_usd(nxt.cost)})"
        )
    return f"{cost}/month" + _cheaper_note(context, res, option)


def _cheaper_note(context: _Context, res: ResourceOptions, option: Option) -> str:
    cheapest = res.options[0]
    if cheapest is option or cheapest.cost >= option.cost:
        return ""
    causes = []
    if res.spec.requirements.collocate_with or res.spec.name in context.collocated:
        causes.append("collocate_with")
    limit = context.problem.max_backends
    if limit is not None:
        causes.append(f"max_backends={limit}")
    if cheapest.backend in context.shared:
        opened = any(i.partition("#")[0] == cheapest.backend for i in context.instances)
        with_fee = cheapest.cost + context.fees[cheapest.backend]
        if not opened and with_fee >= option.cost:
            # not ruled out: dearer once its instance's fixed fee is paid
            return f"; {cheapest.backend} would cost {_usd(with_fee)} with its instance fee"
        causes.append("shared capacity")
    why = " and ".join(causes) or "the other constraints"
    return f"; {cheapest.backend} ({_usd(cheapest.cost)}) ruled out by {why}"
