"""Turn the optimiser's assignment into a :class:`~skaal.plan.Plan`, with a reason per binding.

The reason says why this backend, in the user's terms:

* ``cheapest of 3 feasible backends ($0.41/month; next: dynamodb $2.10)``;
* ``shares redis#1 with Sessions (fixed $11.68/month paid once)``;
* ``kept from skaal.lock ($0.41/month; re-optimising would move it to s3)``,
  only when the lock holds it away from the optimum: a resource the optimum
  would place where the lock has it gets the optimiser's reason, so an
  unchanged plan writes an unchanged lock (whether a placement is new or
  kept since the last lock is the diff's business, :mod:`skaal.plan.diff`);
* ``pinned by backend="postgres" at app.py:12 ($3.00/month)``;
* when co-location or ``max_backends`` ruled out the cheapest option, which
  option it ruled out;
* for a map or collection declaring ``consistency="eventual"``, how its reads
  are served: ``eventually consistent reads at 0.5 of a strong read's price``
  where that is cheaper, ``reads strongly consistent (firestore has no
  eventual reads)`` where the backend serves nothing weaker.  Each binding
  records the served level (:attr:`~skaal.plan.model.Binding.consistency`).

Money is rounded to the plan's precision (:func:`~skaal.solver.cost.money`);
the total is the sum of the bindings' own costs plus each shared instance's
fixed fee.

Speed: assembly is linear in the number of resources.  Only the chosen
option of each resource is itemised (:func:`~skaal.solver.cost.cost_lines`),
and the facts a reason needs about the whole problem (who is co-located,
which backends are shared, each instance's first members) are gathered once.
What alike resources share is built once for all of them: each resource's
chosen option (:func:`~skaal.solver.problem.chosen_options`), its cost
lines, provisioned capacity, backup and retention, the note on a cheaper
option ruled out, and the head of a shared instance's reason.
Records are built from the values computed here, typed, without a
validation pass: a binding's own checks (``__post_init__``) still run.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

from msgspec import Struct
from msgspec.structs import replace

from skaal.blueprint.model import ResourceSpec
from skaal.catalog.model import Backend, Catalog
from skaal.declare.existing import adopted_name, adopts_server
from skaal.model.grammar import Consistency
from skaal.plan.model import (
    STATED_COMPONENT,
    Backup,
    Binding,
    BindingStatus,
    CostLine,
    Plan,
    Provisioned,
    Retention,
    SharedInstance,
    Transfer,
    UsedPrice,
)
from skaal.plan.network import vpc_fee, vpc_lines
from skaal.plan.retention import backup_of, log_retention_days, retention_of, server_backup
from skaal.solver.cost import Pricing, money, monthly_quantities, provisioned, served_consistency
from skaal.solver.decompose import usage_of
from skaal.solver.optimise import Assignment
from skaal.solver.problem import Option, Problem, ResourceOptions, chosen_options
from skaal.solver.regions import Placement, place_functions
from skaal.solver.servers import Server
from skaal.solver.traces import trace_line, traces_cost

__all__ = [
    "assemble",
    "option_region",
    "pin_source",
    "total_cost",
    "uses_vpc",
    "vpc_backends",
    "vpc_regions",
    "within_vpc",
]

_PEERS_SHOWN = 3


@functools.lru_cache(maxsize=4096)
def _usd(amount: float) -> str:
    """Dollars as a reason shows them (cached: a plan repeats a few amounts many times)."""
    return f"${amount:,.2f}" if amount == 0 or amount >= 0.01 else "<$0.01"


def pin_source(res: ResourceOptions, pins: Mapping[str, str]) -> str | None:
    """How a resource is pinned (command line first), or None."""
    name = res.spec.name
    if name in pins:
        return f"--pin {name}={pins[name]}"
    backend = res.spec.requirements.backend
    if backend is not None:
        return f'backend="{backend}" at {res.spec.location}'
    return None


def total_cost(
    problem: Problem,
    assignment: Assignment,
    chosen: Sequence[Option] | None = None,
    placement: Placement | None = None,
) -> float:
    """Monthly total of an assignment: own costs, its instances' fees, its network, the
    data its functions exchange across regions (:mod:`skaal.solver.regions`) and their
    traces when exported (:mod:`skaal.solver.traces`).  ``chosen``: each resource's
    option under the assignment, when the caller has them (:func:`chosen_options`);
    ``placement``: :func:`place_functions` of the assignment, likewise."""
    if chosen is None:
        chosen = chosen_options(problem, assignment.backends)
    if placement is None:
        placement = place_functions(problem, assignment.backends, chosen)
    own = placement.cost()
    for option in chosen:  # one at a time, in order: the same float sum as ever
        own += option.cost
    network = vpc_fee(problem.catalog.provider) * len(_vpc_regions(problem, chosen))
    own += traces_cost(problem, assignment.backends)
    return money(own + sum(shape.fee for shape in assignment.shapes.values()) + network)


def vpc_backends(problem: Problem) -> frozenset[str]:
    """Backends whose catalog entry ``requires = ["vpc"]``: using one in a region buys the
    provider's way into that region's VPC once (aws: a NAT gateway; gcp: a connector;
    :mod:`skaal.plan.network`).

    Empty where the provider has no such fee (the local catalogs).
    """
    if not vpc_lines(problem.catalog.provider):
        return frozenset()
    return frozenset(b.name for b in problem.catalog.backends if "vpc" in b.requires)


def option_region(problem: Problem, option: Option) -> str:
    """The region a resource placed on ``option`` lives in."""
    return option.region or problem.catalog.region


def vpc_regions(
    problem: Problem, assignment: Assignment, chosen: Sequence[Option] | None = None
) -> tuple[str, ...]:
    """The regions whose VPC the assignment needs, each paying the network fee (sorted);
    ``chosen`` as for :func:`total_cost`."""
    if chosen is None:
        chosen = chosen_options(problem, assignment.backends)
    return _vpc_regions(problem, chosen)


def _vpc_regions(problem: Problem, chosen: Sequence[Option]) -> tuple[str, ...]:
    """:func:`vpc_regions` from each resource's chosen option."""
    vpc = vpc_backends(problem)
    if not vpc:
        return ()
    # alike resources share their chosen option: each distinct one is looked at once
    distinct = {id(option): option for option in chosen}.values()
    regions = {option_region(problem, o) for o in distinct if o.backend in vpc}
    return tuple(sorted(regions))


def uses_vpc(
    problem: Problem, assignment: Assignment, chosen: Sequence[Option] | None = None
) -> bool:
    """Whether the assignment needs a VPC, and so pays a network fee; ``chosen`` as for
    :func:`total_cost`."""
    return bool(vpc_regions(problem, assignment, chosen))


def within_vpc(problem: Problem, regions: frozenset[str]) -> Problem | None:
    """``problem`` with VPC backends only in ``regions``; ``None`` if a resource would
    have no option left."""
    vpc = vpc_backends(problem)
    resources = []
    for res in problem.resources:
        options = tuple(
            o for o in res.options if o.backend not in vpc or option_region(problem, o) in regions
        )
        if not options:
            return None
        resources.append(replace(res, options=options) if len(options) < len(res.options) else res)
    offered = {o.backend for res in resources for o in res.options}
    return replace(
        problem,
        resources=tuple(resources),
        shared=tuple(s for s in problem.shared if s.backend.name in offered),
    )


def _adoption_origin(problem: Problem, spec: ResourceSpec) -> str:
    """`` (configured ...)`` when the configuration, not ``existing=``, adopts it."""
    if spec.name not in problem.configured:
        return ""
    declared = next(s.existing for s in problem.blueprint.resources if s.name == spec.name)
    if declared is None:
        return " (configured, not in the code)"
    if declared == spec.existing:
        return " (configured, as in the code)"
    return f" (configured, in place of existing={declared!r} in the code)"


def assemble(
    problem: Problem,
    assignment: Assignment,
    *,
    pins: Mapping[str, str],
    kept: Mapping[str, str] | None = None,
    reoptimize_savings: float = 0.0,
    chosen: Sequence[Option] | None = None,
    placement: Placement | None = None,
    notes: Mapping[str, str] | None = None,
) -> Plan:
    """The Plan for ``assignment``.

    ``kept`` maps each resource the previous lock holds away from the optimum
    to the backend a fresh optimisation would choose instead; ``chosen`` and
    ``placement`` as for :func:`total_cost`; ``notes``, per resource, what its
    reason adds (a table moved out of a mode to fit a quota says why).
    """
    kept = kept or {}
    catalog = problem.catalog
    instance_of = {m: i for i, members in assignment.instances.items() for m in members}
    if chosen is None:
        chosen = chosen_options(problem, assignment.backends)
    regions = _vpc_regions(problem, chosen)
    context = _Context(
        problem=problem,
        fees={i: shape.fee for i, shape in assignment.shapes.items()},
        servers={s.backend.name: s.server for s in problem.shared},
        vpc=vpc_backends(problem),
        paid=frozenset(regions),
        vpc_fee=vpc_fee(catalog.provider),
        instances=assignment.instances,
        opened=_opened(problem, assignment, chosen),
        full=_at_quota(problem, assignment, chosen),
        shared=frozenset(s.backend.name for s in problem.shared),
        collocated=frozenset(name for pair in problem.collocations for name in pair),
        notes={},
        heads={},
    )
    if placement is None:
        placement = place_functions(problem, assignment.backends, chosen)
    alike = _Alike(catalog=catalog)
    bindings: list[Binding] = []
    for res, option in zip(problem.resources, chosen, strict=True):
        name = res.spec.name
        shared = alike.of(res, option)
        backend = shared.backend
        status: BindingStatus = "chosen"
        instance = instance_of.get(name)
        pinned = pin_source(res, pins)
        if pinned is not None:
            status, reason = "pinned", f"pinned by {pinned} ({_usd(option.cost)}/month)"
        elif name in kept:
            status = "kept"
            reason = (
                f"kept from skaal.lock ({_usd(option.cost)}/month; "
                f"re-optimising would move it to {kept[name]})"
            )
        else:
            reason = _reason(context, res, option=option, instance=instance)
        load = res.workload
        lines = shared.lines
        reason += shared.note
        if notes and name in notes:
            reason += notes[name]
        own = option.cost
        transfers = placement.transfers.get(name)
        if transfers is not None:
            reason += _transfer_note(placement, name, transfers)
            line = placement.lines.get(name)
            if line is not None:
                lines = (*lines, line)
                own += line.monthly
        elif res.spec.kind == "function" and placement.regions[name] != (
            option.region or catalog.region
        ):
            reason += f"; runs in {placement.regions[name]}, next to the data it uses"
        if problem.traces and res.spec.kind == "function":
            traced = trace_line(backend, res.spec, load.reads_per_s)
            if traced is not None:
                lines = (*lines, traced)
                own += traced.monthly
        adopted = None
        if res.spec.existing is not None:  # adopts what it names, on a cloud
            adopted = adopted_name(res.spec, catalog.provider)
            if adopts_server(res.spec, catalog.provider):
                own = option.cost
                lines = (
                    (CostLine(component=STATED_COMPONENT, quantity=1, monthly=own),) if own else ()
                )
                origin = _adoption_origin(problem, res.spec)
                fee = (
                    f"{_usd(own)}/month, as its cost= states"
                    if own
                    else "$0.00/month: its fees are its owner's, not the plan's"
                )
                reason = (
                    f"adopts the existing database server {adopted}{origin} ({fee}; no "
                    "instance is planned), never created or deleted by a build"
                )
            elif adopted is not None:
                origin = _adoption_origin(problem, res.spec)
                reason += (
                    f"; adopts the existing {adopted}{origin}, never created or deleted by a build"
                )
        binding = Binding(
            resource=name,
            kind=res.spec.kind,
            backend=backend.name,
            implementation=backend.implementation,
            region=placement.regions[name],
            instance=instance,
            mode=option.mode,
            provisioned=shared.provisioned,
            consistency=shared.served,
            monthly_cost=money(own),
            cost=lines,
            status=status,
            reason=reason,
            backup=shared.backup,
            retention=shared.retention,
            transfers=transfers,
            adopted=adopted,
        )
        bindings.append(binding)
    sizes = {r.spec.name: r.workload.size_gb for r in problem.resources}
    instances = tuple(
        _instance(problem, ident, members, assignment, sizes)
        for ident, members in sorted(assignment.instances.items(), key=lambda i: _key(i[0]))
    )
    network = tuple(line for region in regions for line in vpc_lines(catalog.provider, region))
    total = money(
        sum(b.monthly_cost for b in bindings)
        + sum(i.fixed_monthly for i in instances)
        + sum(line.monthly for line in network)
    )
    return Plan(
        app=problem.blueprint.app,
        catalog=catalog.name,
        provider=catalog.provider,
        region=catalog.region,
        blueprint_hash=problem.blueprint.content_hash(),
        catalog_hash=catalog.content_hash(),
        bindings=tuple(bindings),
        instances=instances,
        network=network,
        traces=problem.traces,
        prices=_used_prices(problem, bindings, instances),
        total_monthly_cost=total,
        log_retention_days=log_retention_days(catalog.provider),
        status="optimal" if assignment.proven else "best_found",
        lower_bound=None if assignment.lower_bound is None else money(assignment.lower_bound),
        reoptimize_savings=money(max(0.0, reoptimize_savings)),
    )


class _Shared(Struct, frozen=True):
    """What a binding takes from its option, workload, requirements and kind alone."""

    backend: Backend
    served: Consistency | None
    """The consistency its reads are served with (:func:`served_consistency`)."""
    lines: tuple[CostLine, ...]
    """Its own cost lines (before transfer and trace lines)."""
    note: str
    """How its declared eventual reads are served, for its reason ("" if not declared)."""
    provisioned: Provisioned | None
    backup: Backup | None
    retention: Retention | None


class _Alike:
    """What alike resources' bindings share, built once for all of them.

    :meth:`of` keys on the identities of a resource's chosen option, workload
    and requirements, with its kind: all a :class:`_Shared` is computed from.
    Alike resources share these records (the feasibility filter and the
    blueprint make one per distinct value), which stay alive in the problem
    while their ids key the cache; one assembly uses it, then drops it.  The
    caches behind it key on values (equal workloads in distinct records, one
    backend's prices), so distinct records with equal values share those.
    """

    __slots__ = ("_by_id", "_catalog", "_itemised", "_keeping", "_pricing")

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._by_id: dict[tuple[int, int, int, str], _Shared] = {}
        self._pricing: dict[tuple[str, str | None], Pricing] = {}
        # lines per (backend, mode, workload values, served consistency)
        self._itemised: dict[tuple[object, ...], tuple[CostLine, ...]] = {}
        # backup and retention per (implementation, kind, durability, declared retention)
        self._keeping: dict[tuple[object, ...], tuple[Backup | None, Retention | None]] = {}

    def of(self, res: ResourceOptions, option: Option) -> _Shared:
        spec = res.spec
        key = (id(option), id(res.workload), id(spec.requirements), spec.kind)
        shared = self._by_id.get(key)
        if shared is None:
            shared = self._by_id[key] = self._make(res, option)
        return shared

    def _make(self, res: ResourceOptions, option: Option) -> _Shared:
        spec = res.spec
        catalog = self._catalog
        backend = catalog.backend(option.backend)
        declared = spec.requirements.consistency
        served = served_consistency(spec.kind, declared, backend.performance.consistency)
        load = res.workload
        priced = (backend.name, option.mode)
        key = (*priced, *load.key(), served)
        lines = self._itemised.get(key)
        if lines is None:
            prices = self._pricing.get(priced)
            if prices is None:
                prices = self._pricing[priced] = Pricing.of(backend, option.mode)
            quantities = monthly_quantities(load)
            eventual = served == "eventual"
            lines = self._itemised[key] = prices.cost_of(quantities, eventual=eventual)[1]
        requirements = spec.requirements
        kept_key = (
            backend.implementation,
            spec.kind,
            requirements.durability,
            requirements.retention_s,
        )
        kept_as = self._keeping.get(kept_key)
        if kept_as is None:
            kept_as = self._keeping[kept_key] = (
                backup_of(catalog.provider, backend.implementation, spec),
                retention_of(catalog.provider, backend.implementation, spec),
            )
        return _Shared(
            backend=backend,
            served=served,
            lines=lines,
            note=_consistency_note(backend, option.mode, served) if declared == "eventual" else "",
            provisioned=provisioned(backend, option.mode, load, consistency=served),
            backup=kept_as[0],
            retention=kept_as[1],
        )


def _transfer_note(placement: Placement, name: str, transfers: tuple[Transfer, ...]) -> str:
    """What a function placed away from data it uses exchanges across regions."""
    here = placement.regions[name]
    gb = sum(t.gb_month for t in transfers)
    reached = ", ".join(f"{t.resource} ({t.region})" for t in transfers[:_PEERS_SHOWN])
    more = len(transfers) - _PEERS_SHOWN
    line = placement.lines.get(name)
    priced = f", {_usd(line.monthly)}/month" if line is not None else ", not priced by the catalog"
    return (
        f"; runs in {here} and reaches {reached}{f' and {more} more' if more > 0 else ''} "
        f"in another region: {gb:,.3g} GB/month of inter-region transfer{priced}"
    )


def _consistency_note(backend: Backend, mode: str | None, served: Consistency | None) -> str:
    """How a resource declaring eventual consistency is served, for its reason."""
    if served == "strong":
        return f"; reads strongly consistent ({backend.name} has no eventual reads)"
    price = next(m.price for m in backend.modes if m.name == mode) if mode else backend.price
    factor = price.eventual_reads
    if factor is None:
        return "; eventually consistent reads (priced as strong ones)"
    return f"; eventually consistent reads at {factor.factor:g} of a strong read's price"


def _used_prices(
    problem: Problem, bindings: list[Binding], instances: tuple[SharedInstance, ...]
) -> tuple[UsedPrice, ...]:
    """The prices behind every line: per (backend, mode) used, with the classes used."""
    catalog = problem.catalog
    classes: dict[str, set[str]] = {}
    for instance in instances:
        classes.setdefault(instance.backend, set()).add(instance.instance_class)
    used = sorted({(b.backend, b.mode or "") for b in bindings})
    prices = []
    for name, mode in used:
        backend = catalog.backend(name)
        price = next(m.price for m in backend.modes if m.name == mode) if mode else backend.price
        server = backend.server
        items = (
            {c: server.instance_class(c).price for c in sorted(classes.get(name, ()))}
            if server is not None
            else {}
        )
        prices.append(UsedPrice(backend=name, mode=mode or None, price=price, classes=items))
    return tuple(prices)


def _instance(
    problem: Problem,
    ident: str,
    members: tuple[str, ...],
    assignment: Assignment,
    sizes: Mapping[str, float],
) -> SharedInstance:
    """One server instance: its shape, volume and itemised fee."""
    shape = assignment.shapes[ident]
    backend = problem.catalog.backend(shape.backend)
    server = backend.server
    assert server is not None
    item = shape.instance_class
    nodes = 1 + shape.replicas
    lines = [
        CostLine(
            component=f"instance {item.name}",
            quantity=float(nodes),
            monthly=money(item.price.amount * nodes),
        )
    ]
    secret = backend.price.per_instance_month
    if secret is not None:
        # without a floor line below, this one takes what is left of the rounded fee
        last = server.min_disk_gb <= 0 or backend.price.per_gb_month is None
        lines.append(
            CostLine(
                component="per_instance_month",
                quantity=1.0,
                monthly=money(shape.fee - lines[0].monthly) if last else money(secret.amount),
            )
        )
    disk: int | None = None
    per_gb = backend.price.per_gb_month
    if server.min_disk_gb > 0:
        data = sum(sizes[m] for m in members)
        disk = max(1, math.ceil(server.min_disk_gb + data - 1e-9))
        if per_gb is not None:
            # The fee is rounded once (money(class x nodes + secret + floor)); the floor
            # line takes what is left so the lines add up to the fee to the last digit.
            lines.append(
                CostLine(
                    component="volume floor per_gb_month",
                    quantity=server.min_disk_gb,
                    monthly=money(shape.fee - sum(line.monthly for line in lines)),
                )
            )
    return SharedInstance(
        id=ident,
        backend=shape.backend,
        instance_class=item.name,
        replicas=shape.replicas,
        disk_gb=disk,
        connections=item.connections,
        parameters=dict(item.parameters),
        fixed_monthly=shape.fee,
        cost=tuple(lines),
        resources=members,
        backup=server_backup(problem.catalog.provider, backend.implementation),
    )


def _opened(
    problem: Problem, assignment: Assignment, chosen: Sequence[Option]
) -> frozenset[tuple[str, str]]:
    """(server backend, region) of every instance the assignment runs (one region each)."""
    first = {members[0]: ident for ident, members in assignment.instances.items() if members}
    opened = set()
    for res, option in zip(problem.resources, chosen, strict=True):
        if res.spec.name in first:
            opened.add((option.backend, option_region(problem, option)))
    return frozenset(opened)


def _at_quota(
    problem: Problem, assignment: Assignment, chosen: Sequence[Option]
) -> dict[tuple[str, str], str]:
    """Per (server backend, region) whose quota, shared with the servers counted under
    it, leaves no room for one more instance: how its quota reads in a reason."""
    servers = {s.backend.name: s.server for s in problem.shared}
    if not assignment.instances:
        return {}
    first = {members[0] for members in assignment.instances.values() if members}
    region_of = {
        res.spec.name: option_region(problem, option)
        for res, option in zip(problem.resources, chosen, strict=True)
        if res.spec.name in first
    }
    used: dict[tuple[str, str], int] = {}
    for ident, members in assignment.instances.items():
        shape = assignment.shapes[ident]
        if members and shape.backend in servers:
            counted = (servers[shape.backend].quota_key, region_of[members[0]])
            used[counted] = used.get(counted, 0) + shape.units
    full: dict[tuple[str, str], str] = {}
    for (quota_key, region), units in sorted(used.items()):
        sharing = sorted(n for n, server in servers.items() if server.quota_key == quota_key)
        for name in sharing:
            server = servers[name]
            if units + min(shape.units for shape in server.shapes) <= server.quota:
                continue
            what = "instances" if all(s.units == 1 for s in server.shapes) else "units"
            others = [other for other in sharing if other != name]
            whose = f"the quota it shares with {', '.join(others)}" if others else "its quota"
            full[name, region] = f"{whose} ({server.quota} {what}, all in use)"
    return full


def _key(ident: str) -> tuple[str, int]:
    backend, _, number = ident.partition("#")
    return backend, int(number)


class _Context(Struct, frozen=True):
    """What the reasons need to know about the whole problem, gathered once."""

    problem: Problem
    fees: Mapping[str, float]
    """Instance id → its fee."""
    servers: Mapping[str, Server]
    """Server backend → its shapes (for "would cost" notes: the shape a resource needs)."""
    vpc: frozenset[str]
    """Backends reached through their region's VPC."""
    paid: frozenset[str]
    """Regions whose VPC the plan pays for."""
    vpc_fee: float
    """The network fee of one region's VPC."""
    instances: Mapping[str, tuple[str, ...]]
    opened: frozenset[tuple[str, str]]
    """(server backend, region) with at least one instance in the plan."""
    full: Mapping[tuple[str, str], str]
    """(server backend, region) whose quota has no room for one more instance → how the
    quota reads ("its quota of 40 instances")."""
    shared: frozenset[str]
    collocated: frozenset[str]
    """Every resource named in a co-location pair (either side)."""
    notes: dict[tuple[object, ...], str]
    """:func:`_cheaper_note` per (options, option, workload, co-located): alike resources
    share the first three records, alive in ``problem`` while their ids key this cache."""
    heads: dict[tuple[object, ...], str]
    """The head of a shared instance's reason per (instance, cost, peers shown)."""


def _reason(
    context: _Context, res: ResourceOptions, *, option: Option, instance: str | None
) -> str:
    cost = _usd(option.cost)
    if instance is not None:
        name = res.spec.name
        members = context.instances[instance]
        # Only the first few peers are named: look at one more than shown, not at all.
        first = members[: _PEERS_SHOWN + 1]
        if name in first:
            peers = tuple(m for m in first if m != name)[:_PEERS_SHOWN]
        else:
            peers = first[:_PEERS_SHOWN]
        head_key = (instance, cost, peers)
        head = context.heads.get(head_key)
        if head is None:
            head = context.heads[head_key] = _head(context, instance, cost, peers)
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


def _head(context: _Context, instance: str, cost: str, peers: tuple[str, ...]) -> str:
    """How a resource shares ``instance`` with its first ``peers``."""
    members = context.instances[instance]
    count = len(members) - 1  # the instance holds this resource
    fee = context.fees[instance]
    if not count:
        return f"on {instance} alone ({cost}/month + instance {_usd(fee)}/month)"
    share = _usd(fee / len(members))
    shown = ", ".join(peers)
    more = f" and {count - _PEERS_SHOWN} more" if count > _PEERS_SHOWN else ""
    return (
        f"shares {instance} with {shown}{more} ({cost}/month + {share} share "
        f"of its {_usd(fee)}/month fee)"
    )


def _cheaper_note(context: _Context, res: ResourceOptions, option: Option) -> str:
    cheapest = res.options[0]
    if cheapest is option or cheapest.cost >= option.cost:
        return ""
    collocated = bool(res.spec.requirements.collocate_with) or res.spec.name in context.collocated
    key = (id(res.options), id(option), id(res.workload), collocated)
    note = context.notes.get(key)
    if note is None:
        note = context.notes[key] = _note(context, res, option, collocated=collocated)
    return note


def _note(context: _Context, res: ResourceOptions, option: Option, *, collocated: bool) -> str:
    """Why the cheapest option was ruled out (``res``'s options, option and workload
    are all the note depends on, with whether it is co-located)."""
    cheapest = res.options[0]
    causes = []
    if collocated:
        causes.append("collocate_with")
    limit = context.problem.max_backends
    if limit is not None:
        causes.append(f"max_backends={limit}")
    if cheapest.backend in context.shared:
        vpc = cheapest.backend in context.vpc
        region = option_region(context.problem, cheapest)
        opened = (cheapest.backend, region) in context.opened
        network = context.vpc_fee if vpc and region not in context.paid else 0.0
        with_fee = (
            cheapest.cost
            + context.servers[cheapest.backend].fee_to_hold(usage_of(res.workload))
            + network
        )
        if not opened and with_fee >= option.cost:
            # not ruled out: dearer once its instance's fixed fee is paid
            extra = "its instance and network fees" if network else "its instance fee"
            return f"; {cheapest.backend} would cost {_usd(with_fee)} with {extra}"
        full = context.full.get((cheapest.backend, region))
        causes.append("shared capacity" if full is None else full)
    why = " and ".join(causes) or "the other constraints"
    return f"; {cheapest.backend} ({_usd(cheapest.cost)}) ruled out by {why}"
