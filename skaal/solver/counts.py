"""A provider's quota on how many of something one account holds: tables, topics, buckets.

DynamoDB holds at most 2,500 tables per account in a Region (raised on
request up to 10,000), Pub/Sub 10,000 topics per project; each resource on
such a backend creates a stated number of them (``per_kind`` of the
catalog's :class:`~skaal.catalog.model.CountQuota`: a table per map, three
topics per queue).  The optimiser prices each resource on its own, so a
large app may place more there than the account holds (the aws ``users``
draw of 10,000 resources, seed 1, placed 2,504 tables in us-east-1): its
deploy would fail at the first one past the quota.

The optimiser keeps a large component within them itself: its pooled
relaxation gets a row per pool its optimum passes, and the units it puts
elsewhere lose the pool's option (:mod:`.count_rows`).  What is still
passed at the end (a component small enough to be solved exactly, or whose
units outside the relaxation pass the pool alone) :func:`fit_counts`
settles after the optimisation.  For each pool (a
backend's quota in a region, or in the whole account) the plan passes, it
keeps there the resources of the pool chosen by :data:`ORDERS` (co-located
ones stay or move together; those with no other option always stay), takes
the pool's option away from every other resource (so the pool cannot fill
again) and optimises again: the moved resources go to their next backend,
a server's instances included, which the optimiser sizes for them.  That
repeats while a pool is passed (a pool fills only from resources moved out
of another).  Same inputs, same plan: the rankings end on names.

What stays is a choice, so the plan is ``best_found`` unless proven.  Its
lower bound is the bound on the plan without the quotas (every plan within
them costs at least that) or, for a small app, the cheapest plan with one
resource of each passed pool elsewhere (:func:`_one_leaves`): every plan
within the quota has one.

Before any optimisation, :func:`refuse_fixed` counts the resources that have
no option outside one pool (every function on the one compute backend, which
creates an IAM role or a service account each): when they alone pass what
the quota leaves (``reserved`` is the build's own), no plan exists, and the
error says so in milliseconds rather than after a solve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from msgspec.structs import replace

from skaal.catalog.model import CountQuota
from skaal.errors import PlanError, UnsatisfiableError
from skaal.solver.assemble import total_cost
from skaal.solver.count_pools import Pool, Quotas, pool_of
from skaal.solver.count_rows import count_rows
from skaal.solver.decompose import usage_of
from skaal.solver.optimise import Assignment
from skaal.solver.problem import Option, Problem, ResourceOptions, chosen_options
from skaal.solver.servers import Server, backend_of

__all__ = ["MAX_LEAVING_WORK", "ORDERS", "CountFit", "fit_counts", "lost_notes", "refuse_fixed"]

#: How far a proven bound may stay below the plan's total (dollars a month).
_HALF_CENT = 0.005

Optimiser = Callable[[Problem], Assignment]


@dataclass(frozen=True, slots=True)
class CountFit:
    """The plan kept within every count quota, and the options it took away."""

    assignment: Assignment
    """The optimum once the options were taken away, with what is proven of it."""
    removed: Mapping[str, frozenset[str]]
    """Resource name -> the backends it may no longer be placed on."""
    notes: Mapping[str, str]
    """Resource name (moved away) -> what its reason adds: why it is not there."""

    def apply(self, problem: Problem) -> Problem:
        """``problem`` without the options taken away (resources absent are left)."""
        return _without(problem, self.removed)


#: How the resources staying in a passed pool are chosen, tried in turn until the
#: resources moved fit elsewhere: those that would take most of a server's instance
#: (a plan placing many on such a backend has its servers full, so the small ones
#: move: the aws ``users`` draws of 10,000, seeds 1 and 2), then those saving most per
#: unit of the quota against their next option (a server's priced with its fee's share).
ORDERS: tuple[str, ...] = ("burden", "saving")


class _StuckError(Exception):
    """The resources moved off the passed pools fit nowhere else."""

    def __init__(self, over: Mapping[Pool, Sequence[str]], error: UnsatisfiableError) -> None:
        super().__init__(error.what)
        self.over = over
        self.error = error


@dataclass(frozen=True, slots=True)
class _Fitted:
    restricted: Problem
    assignment: Assignment
    removed: Mapping[str, frozenset[str]]
    notes: Mapping[str, str]


def lost_notes(problem: Problem, lost: Mapping[str, str]) -> dict[str, str]:
    """What the reason of each resource ``lost`` names (resource → a backend whose count
    quota the optimisation kept by placing it elsewhere, :mod:`.count_rows`) adds."""
    if not lost:
        return {}
    rows = count_rows(problem)
    pools = rows.rooms if rows is not None else {}
    quotas = Quotas(problem)
    words: dict[str, str] = {}
    for backend in sorted(set(lost.values())):
        passed = sorted({pool for pool in pools if pool[0] == backend})
        counted = " and ".join(sorted({pool[1] for pool in passed}))
        holder = quotas.of(passed[0])[1].holder if passed else "one account"
        words[backend] = (
            f"; not {backend}: the resources able to use it would create more {counted} than "
            f"{holder} holds there, and the optimisation kept within the quota by placing "
            "this one elsewhere"
        )
    return {name: words[backend] for name, backend in lost.items()}


def refuse_fixed(problem: Problem) -> None:
    """Raise ``UnsatisfiableError`` when the resources with no option outside one pool
    (functions on the only compute backend, maps only DynamoDB serves) alone pass its
    quota: a count over the resources, before any optimisation (milliseconds)."""
    quotas = Quotas(problem)
    if not quotas.by_backend:
        return
    used: dict[Pool, int] = {}
    members: dict[Pool, list[str]] = {}
    for res in problem.resources:
        first = res.options[0]
        if any(o.backend != first.backend for o in res.options):
            continue
        for quota in quotas.on(first.backend):
            units = quotas.units(quota, res.spec)
            pools = {pool_of(problem, quota, o) for o in res.options}
            if units and len(pools) == 1:
                (pool,) = pools
                used[pool] = used.get(pool, 0) + units
                members.setdefault(pool, []).append(res.spec.name)
    for pool, units in sorted(used.items()):
        backend, quota = quotas.of(pool)
        if units > quota.room:
            from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it

            raise conflicts.count_quota(problem, backend, quota, pool, members[pool], used=units)


def fit_counts(problem: Problem, assignment: Assignment, optimise: Optimiser) -> CountFit | None:
    """``assignment`` kept within the catalog's count quotas, or ``None`` when it already is
    (it is then left exactly as it is).

    A resource whose only options are in a passed pool stays; when those alone pass
    the quota, an ``UnsatisfiableError`` says so with the numbers, and likewise when
    the resources moved away fit nowhere else, whichever :data:`ORDERS` chose them."""
    quotas = Quotas(problem)
    over = _passed(problem, assignment, quotas) if quotas.by_backend else {}
    if not over:
        return None
    stuck: _StuckError | None = None
    for order in ORDERS:
        try:
            fitted = _fit(problem, assignment, over, optimise, quotas, order=order)
        except _StuckError as error:
            stuck = stuck or error
            continue
        total = total_cost(fitted.restricted, fitted.assignment)
        bound = _bound(problem, assignment)
        if bound < total - _HALF_CENT:
            bound = max(bound, _one_leaves(problem, over, optimise, quotas))
        proven = bound >= total - _HALF_CENT
        found = replace(
            fitted.assignment, proven=proven, lower_bound=None if proven else min(bound, total)
        )
        return CountFit(found, fitted.removed, fitted.notes)
    assert stuck is not None  # every order was tried
    from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it

    passed = {pool: (*quotas.of(pool), members) for pool, members in stuck.over.items()}
    raise conflicts.counts_moved(problem, passed, stuck.error) from stuck.error


def _fit(
    problem: Problem,
    assignment: Assignment,
    over: Mapping[Pool, Sequence[str]],
    optimise: Optimiser,
    quotas: Quotas,
    *,
    order: str,
) -> _Fitted:
    """Options taken away, resources chosen by ``order``, until no pool is passed (``over``:
    the pools ``assignment`` passes, with their resources)."""
    removed: dict[str, frozenset[str]] = {}
    notes: dict[str, str] = {}
    current, restricted = assignment, problem
    while over:
        taken: dict[str, set[str]] = {}
        for pool, members in sorted(over.items()):
            backend, quota = quotas.of(pool)
            kept, note = _kept(restricted, quotas, pool, members, order=order)
            placed = set(members)
            for res in restricted.resources:
                name = res.spec.name
                if name in kept or not any(o.backend == backend.name for o in res.options):
                    continue
                if _counted(problem, quotas, quota, pool, res):
                    taken.setdefault(name, set()).add(backend.name)
                    if name in placed:
                        notes[name] = note
        for name, backends in taken.items():
            removed[name] = removed.get(name, frozenset()) | backends
        restricted = _without(problem, removed)
        try:
            current = optimise(restricted)
        except UnsatisfiableError as error:
            raise _StuckError(over, error) from error
        over = _passed(restricted, current, quotas)
    return _Fitted(restricted, current, removed, notes)


#: The most optimisations :func:`_one_leaves` runs, times the resources of the problem
#: (work, not seconds: 8 kinds of resource leaving a pool of an app of 250).
MAX_LEAVING_WORK = 2_000


def _one_leaves(
    problem: Problem,
    over: Mapping[Pool, Sequence[str]],
    optimise: Optimiser,
    quotas: Quotas,
) -> float:
    """A lower bound on every plan within the quotas, for small apps: in any of them, at
    least one resource of each pool ``over`` (the plan without the quotas passes it,
    with those resources) is placed elsewhere, so every
    plan costs at least the cheapest optimum with one of them (its chain of co-located
    resources with it) off the pool.  Alike resources leave alike, so one of each kind
    is tried; ``-inf`` past :data:`MAX_LEAVING_WORK`."""
    best = -math.inf
    for pool, members in sorted(over.items()):
        wanted = set(members)
        together = _together(problem, wanted)
        kinds: dict[tuple[object, ...], list[str]] = {}
        for res in problem.resources:
            name = res.spec.name
            if name not in wanted or not any(o.backend != pool[0] for o in res.options):
                continue
            chain = together.get(name)
            alike = (id(res.options), res.workload.key(), res.spec.kind)
            key = ("chain", chain) if chain else alike
            kinds.setdefault(key, []).append(name)
        if not kinds or len(kinds) * len(problem.resources) > MAX_LEAVING_WORK:
            return best
        least = math.inf
        for names in kinds.values():
            chain = together.get(names[0])
            leaving = [n for n in wanted if together.get(n) == chain] if chain else names[:1]
            try:
                left = optimise(_without(problem, dict.fromkeys(leaving, frozenset({pool[0]}))))
            except UnsatisfiableError:
                continue  # it never leaves: another one does
            except PlanError:  # a work limit: nothing is known of this one
                return best
            least = min(least, _bound(problem, left))
        best = max(best, least)
    return best


def _bound(problem: Problem, assignment: Assignment) -> float:
    """What every plan of the problem ``assignment`` optimised costs at least: its total
    when proven, else its bound."""
    if assignment.proven:
        return total_cost(problem, assignment)
    assert assignment.lower_bound is not None  # an assignment not proven carries its bound
    return assignment.lower_bound


def _counted(
    problem: Problem, quotas: Quotas, quota: CountQuota, pool: Pool, res: ResourceOptions
) -> bool:
    """Whether ``res`` placed on the backend of ``pool`` counts in it."""
    if quotas.units(quota, res.spec) == 0:
        return False
    option = next(o for o in res.options if o.backend == pool[0])
    return pool_of(problem, quota, option) == pool


def _passed(
    problem: Problem,
    assignment: Assignment,
    quotas: Quotas,
) -> dict[Pool, list[str]]:
    """Each pool ``assignment`` passes, with the resources counted in it."""
    used: dict[Pool, int] = {}
    members: dict[Pool, list[str]] = {}
    chosen = chosen_options(problem, assignment.backends)
    for res, option in zip(problem.resources, chosen, strict=True):
        for quota in quotas.on(option.backend):
            units = quotas.units(quota, res.spec)
            if units:
                pool = pool_of(problem, quota, option)
                used[pool] = used.get(pool, 0) + units
                members.setdefault(pool, []).append(res.spec.name)
    return {pool: members[pool] for pool, units in used.items() if units > quotas.of(pool)[1].room}


def _kept(
    problem: Problem, quotas: Quotas, pool: Pool, members: Sequence[str], *, order: str
) -> tuple[frozenset[str], str]:
    """The members staying in ``pool``, and the note of those moved.

    Co-located resources (on one backend by definition) stay or move together.  Those
    with no other option stay; the others are kept in ``order`` (:data:`ORDERS`; then by
    name), each while it fits."""
    backend, quota = quotas.of(pool)
    wanted = set(members)
    together = _together(problem, wanted)
    chains: dict[str, list[ResourceOptions]] = {}
    for res in problem.resources:
        if res.spec.name in wanted:
            chains.setdefault(together.get(res.spec.name, res.spec.name), []).append(res)
    ranked: list[tuple[float, str, int]] = []
    fixed: list[str] = []
    room = quota.room
    servers = {s.backend.name: s.server for s in problem.shared}
    for first, chain in chains.items():
        units = sum(quotas.units(quota, res.spec) for res in chain)
        saving = burden = 0.0
        for res in chain:
            here = next(o.cost for o in res.options if o.backend == backend.name)
            others = [o for o in res.options if o.backend != backend.name]
            if not others:
                saving = math.inf
                break
            saving += min(_effective(o, res, servers) for o in others) - here
            burden += min(_burden(o, res, servers) for o in others)
        if saving == math.inf:
            fixed += [res.spec.name for res in chain]
            room -= units
        else:
            ranked.append(((saving if order == "saving" else burden) / units, first, units))
    if room < 0:
        from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it

        used = quota.room - room
        raise conflicts.count_quota(problem, backend, quota, pool, fixed, used=used)
    ranked.sort(key=lambda item: (-item[0], item[1]))
    kept = set(fixed)
    for _, first, units in ranked:
        if units <= room:
            kept.update(res.spec.name for res in chains[first])
            room -= units
    where = quota.where(pool[2])
    note = (
        f"; not {backend.name}: the {len(members):,} resources the optimum placed there create "
        f"more {quota.name} {where} than the provider's quota of {quota.quota:,}; the "
        f"{len(kept):,} it holds stay"
    )
    return frozenset(kept), note


def _effective(option: Option, res: ResourceOptions, servers: Mapping[str, Server]) -> float:
    """What ``res`` costs on ``option``, a server's with the share of an instance's fee its
    busiest dimension takes in the shape where that share is least: a resource filling
    servers is dear there even when its own line is small."""
    server = servers.get(backend_of(option.backend))
    if server is None:
        return option.cost
    usage = usage_of(res.workload)
    shares = [
        shape.fee
        * max((use / cap if cap else 0.0) for use, cap in zip(usage, shape.capacity, strict=True))
        for shape in server.shapes
        if shape.holds(usage)
    ]
    return option.cost + (min(shares) if shares else server.shapes[-1].fee)


def _burden(option: Option, res: ResourceOptions, servers: Mapping[str, Server]) -> float:
    """The share of its server's largest instance ``res`` takes on ``option``, in its
    busiest dimension (0 on a dedicated backend)."""
    server = servers.get(backend_of(option.backend))
    if server is None:
        return 0.0
    usage = usage_of(res.workload)
    return max(
        (use / cap if cap else 0.0) for use, cap in zip(usage, server.largest(), strict=True)
    )


def _together(problem: Problem, names: set[str]) -> dict[str, str]:
    """Each of ``names`` co-located with another -> the first name (sorted) of its chain."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.get(name, name) != name:
            name = parent[name]
        return name

    for a, b in problem.collocations:
        if a in names and b in names:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {name: root(name) for name in {n for pair in problem.collocations for n in pair} & names}


def _without(problem: Problem, removed: Mapping[str, frozenset[str]]) -> Problem:
    """``problem`` with each resource's options on its ``removed`` backends dropped;
    resources whose options were alike keep sharing one tuple."""
    if not removed:
        return problem
    made: dict[tuple[int, frozenset[str]], tuple[Option, ...]] = {}
    resources = []
    for res in problem.resources:
        gone = removed.get(res.spec.name)
        if not gone:
            resources.append(res)
            continue
        key = (id(res.options), gone)
        options = made.get(key)
        if options is None:
            options = made[key] = tuple(o for o in res.options if o.backend not in gone)
        resources.append(replace(res, options=options))
    return replace(problem, resources=tuple(resources))
