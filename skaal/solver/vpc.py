"""The network's fixed charge: one fee per region whose VPC the plan needs, decided exactly.

A backend whose catalog entry ``requires = ["vpc"]`` (RDS and ElastiCache on
aws, Memorystore on gcp) is reached through its region's VPC, and the first
resource placed on one in a region buys that region's way in (a NAT gateway,
a connector: :mod:`skaal.plan.network`).  With ``R`` the regions of the VPC
options, ``F`` one region's fee and ``c(A)`` an assignment's cost without
the network (own costs, instance fees, transfers), the planner minimises::

    c(A) + F * |regions(A)|,   regions(A) = { region of a VPC option A uses }

The fee couples every resource of a region through one yes/no decision per
region, which the optimiser (:mod:`skaal.solver.optimise`) does not model.
It is decided by enumerating subsets ``S`` of ``R``: the optimiser solves the
problem restricted to VPC options in ``S`` (``opt(S)``), and the cheapest
``c(opt(S)) + F * |regions(opt(S))|`` wins.  This is exact: the optimum
``A*`` uses some ``S* = regions(A*)``, and ``opt(S*)`` costs no more without
the fee and pays it in at most ``|S*|`` regions.

Most subsets are never solved.  ``floor(S) = sum over resources of the
cheapest option S allows + F * |S|`` is a lower bound on every plan using
exactly the regions ``S`` (instance fees and transfers only add).  The
subsets are visited by increasing floor, after the unrestricted optimum, and
the search stops at the first floor that is no cheaper than the best plan
found; a subset whose floor is too high is never solved.  A plan with its
servers in one region (the usual case) takes one optimisation when that
optimum uses no VPC, and at most two otherwise (``S`` = that region and
``S`` = none), as before regions were counted.

A subset whose floor is below the best plan is first bounded again by the
optimiser's linear relaxations (:func:`.optimise.floor`, milliseconds): when
even that reaches the best plan's total, its exact optimisation (which can
take seconds of branch and bound) is skipped.  On two ``users`` draws of
200 resources on gcp the optimum without Memorystore (and its connector)
was solved for 5 to 6 s each to be thrown away; the linear relaxation of
the pooled model per shape rules both out in about 20 ms.  Those relaxations
are the optimiser's own, kept from the unrestricted optimisation and solved
again with the columns of the VPC pools outside ``S`` closed
(:mod:`.rebound`): 1.2 s instead of 4.5 s on the ``users`` draw of 100,000
resources on gcp, the same bound.  The one asked first, that of the plans
using no VPC, is solved on a second CPU while the optimiser places the
units (``ahead``), so it is most often ready when asked.

The floors cost ``2^|R|`` sums over the resources; ``|R|`` is the number of
regions the VPC backends could be placed in for *some* resource, which the
residencies bound (one region per resource and backend,
:mod:`skaal.solver.feasibility`).

**The bound of a** ``best_found`` **plan counts the fee too.**  With ``B``
the optimiser's proven bound on ``c`` over every assignment, a plan using
exactly the regions ``S`` costs at least::

    L(S) = max(floor(S), B + F * |S|, B_S + F * |S|)

(``B_S`` the bound of ``opt(S)`` when it was solved: it bounds every plan
whose regions lie in ``S``).  Every plan uses some ``S``, so ``min_S L(S)``
is a lower bound on the optimum; the subsets never visited have a floor at
least the best total found, which caps the minimum.  Without it the bound
left out the fee the plan itself pays in every region it uses, though every
plan using a VPC pays it at least once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import combinations

from msgspec.structs import replace

from skaal.errors import PlanError, UnsatisfiableError
from skaal.plan.network import vpc_fee
from skaal.solver.assemble import (
    option_region,
    total_cost,
    uses_vpc,
    vpc_backends,
    within_vpc,
)
from skaal.solver.optimise import Assignment
from skaal.solver.optimise import floor as relaxed_floor
from skaal.solver.problem import Option, Problem, chosen_options
from skaal.solver.rebound import Rebounds
from skaal.solver.servers import POOL

__all__ = ["cheapest_with_network"]

_EPSILON = 1e-9


def cheapest_with_network(
    problem: Problem, optimise: Callable[[Problem, Rebounds | None], Assignment]
) -> Assignment:
    """The optimum of ``problem`` including one network fee per region whose VPC it needs.

    ``optimise(problem, rebounds)`` is :func:`.optimise.optimise`: it is handed a
    :class:`.rebound.Rebounds` for the unrestricted problem (to bound the restricted
    ones from what it solved) and ``None`` for a restricted one.
    """
    # the subset asked about first, whenever the plan uses a VPC: none of its regions
    rebounds = Rebounds(ahead=_dropping(problem, frozenset()))
    try:
        return _with_network(problem, optimise, rebounds)
    finally:
        rebounds.release()


def _with_network(
    problem: Problem,
    optimise: Callable[[Problem, Rebounds | None], Assignment],
    rebounds: Rebounds,
) -> Assignment:
    best = optimise(problem, rebounds)
    # each resource's option under ``best``: what the fee, the total and the bound read
    chosen = chosen_options(problem, best.backends)
    if not uses_vpc(problem, best, chosen):
        return best  # the optimum without any fee pays none
    fee = vpc_fee(problem.catalog.provider)
    best_total = total_cost(problem, best, chosen)
    everywhere = _lower(problem, best, chosen)
    subsets, every = _subsets(problem)
    # The full set of regions: no floor above the optimiser's bound is known.
    bound = everywhere + fee * every
    # The same for the plans within the quotas on provisioned capacity, from the
    # optimiser's bound of those plans when it has one (.quota_bound): every term below
    # holds for them too (as max(a, within + b)), and the subsets never visited cost at
    # least their floor.
    held = best.within_quotas
    terms: list[tuple[float, float]] = [(-math.inf, fee * every)]
    for floor, regions in subsets:
        if floor >= best_total - _EPSILON:
            terms.append((floor, 0.0))  # the subsets left, floor upwards
            break
        restricted = within_vpc(problem, regions)
        if restricted is None:
            continue
        lower = max(floor, everywhere + fee * len(regions))
        relaxed = _relaxed(problem, restricted, regions, rebounds)
        if relaxed >= best_total - _EPSILON:
            # every plan of ``restricted`` costs at least that: none is cheaper
            bound = min(bound, max(lower, relaxed + fee * len(regions)))
            terms.append((max(floor, relaxed + fee * len(regions)), fee * len(regions)))
            continue
        try:
            other = optimise(restricted, None)
        except UnsatisfiableError:
            continue  # no plan uses only these regions
        except PlanError:
            bound = min(bound, lower)
            terms.append((floor, fee * len(regions)))
            continue
        bound = min(bound, max(lower, _lower(restricted, other) + fee * len(regions)))
        terms.append(
            (max(floor, _lower(restricted, other) + fee * len(regions)), fee * len(regions))
        )
        total = total_cost(problem, other)
        if total < best_total - _EPSILON:
            best, best_total = other, total
    best = replace(best, within_quotas=None if held is None else _Within(held, everywhere, terms))
    if best.proven:
        return best
    return replace(best, lower_bound=min(bound, best_total))


class _Within:
    """:attr:`.optimise.Assignment.within_quotas` of a plan that pays the network: the
    least, over the sets of regions, of ``max(a, within + b)``, ``within`` the optimiser's
    own bound within the quotas (at least its bound ``everywhere`` without them)."""

    def __init__(
        self,
        held: Callable[[], float | None],
        everywhere: float,
        terms: Sequence[tuple[float, float]],
    ) -> None:
        self.held, self.everywhere, self.terms = held, everywhere, terms

    def __call__(self) -> float | None:
        found = self.held()
        if found is None:
            return None
        within = max(found, self.everywhere)
        return min(max(a, within + b) for a, b in self.terms)


def _relaxed(
    problem: Problem, restricted: Problem, regions: frozenset[str], rebounds: Rebounds
) -> float:
    """:func:`.optimise.floor` of ``restricted`` (``problem`` with VPC backends only in
    ``regions``): from the relaxations the optimiser kept (:mod:`.rebound`) where it
    can: when every VPC backend is a server, each of whose pools lies in one region
    (a dedicated one left open would only loosen the bound)."""
    dropped = _dropping(problem, regions)
    if dropped is not None:
        found = rebounds.floor(dropped)
        if found is not None:
            return found
    return relaxed_floor(restricted)


def _dropping(problem: Problem, regions: frozenset[str]) -> Callable[[str], bool] | None:
    """Which server pools a plan with VPC backends only in ``regions`` leaves empty;
    ``None`` when there are no VPC backends (nothing to ask), or unless every one is a
    server (see :func:`_relaxed`)."""
    vpc = vpc_backends(problem)
    if not vpc or not all(b.server is not None for b in problem.catalog.backends if b.name in vpc):
        return None
    default = problem.catalog.region

    def dropped(pool: str) -> bool:
        backend, _, region = pool.partition(POOL)
        return backend in vpc and (region or default) not in regions

    return dropped


def _lower(
    problem: Problem, assignment: Assignment, chosen: Sequence[Option] | None = None
) -> float:
    """A proven lower bound on the optimiser's objective (own costs and instance fees) of
    every assignment of ``problem``: the assignment's own when it is proven optimal.
    ``chosen``: each resource's option under ``assignment``, when the caller has them."""
    if not assignment.proven:
        assert assignment.lower_bound is not None
        return assignment.lower_bound
    if chosen is None:
        chosen = chosen_options(problem, assignment.backends)
    own = 0.0
    for option in chosen:
        own += option.cost
    return own + sum(shape.fee for shape in assignment.shapes.values())


def _subsets(problem: Problem) -> tuple[list[tuple[float, frozenset[str]]], int]:
    """Every proper subset of the VPC regions that leaves each resource an option, with
    its floor, cheapest first (ties: fewer regions, then region names); and how many VPC
    regions there are (some resource could reach a VPC backend in each)."""
    vpc = vpc_backends(problem)
    fee = vpc_fee(problem.catalog.provider)
    # Per distinct options tuple (alike resources share one): its cheapest option outside
    # any VPC, and its cheapest per VPC region; per resource, the index of its tuple.
    outside: list[float] = []
    inside: list[dict[str, float]] = []
    seen: dict[int, int] = {}
    of: list[int] = []
    for res in problem.resources:
        index = seen.get(id(res.options))
        if index is None:
            index = seen[id(res.options)] = len(outside)
            free = float("inf")
            regional: dict[str, float] = {}
            for option in res.options:
                if option.backend in vpc:
                    region = option_region(problem, option)
                    regional[region] = min(regional.get(region, float("inf")), option.cost)
                else:
                    free = min(free, option.cost)
            outside.append(free)
            inside.append(regional)
        of.append(index)
    every = sorted({region for regional in inside for region in regional})
    found = []
    for size in range(len(every)):  # the full set is the unrestricted optimum, solved first
        for chosen in combinations(every, size):
            least = [
                min([free, *(regional[r] for r in chosen if r in regional)])
                for free, regional in zip(outside, inside, strict=True)
            ]
            floor = fee * size
            for index in of:  # resource by resource, in order: the same float sum as ever
                floor += least[index]
            if floor != float("inf"):
                found.append((floor, size, chosen))
    found.sort()
    return [(floor, frozenset(chosen)) for floor, _, chosen in found], len(every)
