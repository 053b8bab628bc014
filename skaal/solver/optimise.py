"""Choose one backend per resource, and the instances of every server, at least total cost.

The model (``x[r,b]`` is 1 when resource ``r`` is placed on feasible option ``b``)::

    Σ_b x[r,b] = 1                                  every resource placed once
    server s runs instances, each of one shape k    (class, replicas: :mod:`.servers`)
    at most Q_s instances of s                      the provider's default quota
    Σ_{r on instance i} use[r,d] ≤ cap[k(i),d]      d ∈ size_gb, reads/s, writes/s, resources
    x[r,b] = x[r',b]  for (r, r') co-located        same backend, and same instance
    used_b ≥ x[r,b] ;  Σ_b used_b ≤ K               with max_backends = K
    minimise  Σ cost[r,b] · x[r,b] + Σ_instances fee[k(i)]
    subject to the total ≤ budget

How it is solved, fastest first; every step is exact, and none depends on
the clock:

1. :mod:`.decompose` merges co-located resources into units, drops the
   options dominated by a unit's cheapest dedicated option, and splits what
   is left into independent units (argmin, no solver) and components
   coupled through a server backend, or through a dedicated backend whose
   count quota (tables, topics) the units able to use it could pass
   (:mod:`.count_rows`: the pooled relaxation of such a component keeps
   within it, and step 2 leaves it to that relaxation).
2. **One instance each.**  For every set ``O`` of a component's servers,
   each unit takes its cheapest option among the dedicated ones and ``O``,
   and each server of ``O`` pays its cheapest instance: the least such
   total is a lower bound (every plan opens some ``O`` and pays at least
   that much).  When the units it puts on each server fit one instance of
   that cheapest shape, the bound is met: optimal, with no solver.  Most
   small apps stop here.
   **Exactly, without HiGHS.**  A component of a few units is solved by
   dynamic programming over subsets of its units (:mod:`.small`); one whose
   units all use the same capacities (many alike maps) by counting: each
   server's fee is a step function of how many units it holds, and a
   search over one step per server bounded by min-cost flows finds the
   optimum (:mod:`.uniform`).  Both count their work (never seconds) and
   leave the component to the steps below past their limits.
3. **Counting.**  :mod:`.capacity` proves in milliseconds that the units
   which only servers (and backends whose count quota they could pass) can
   hold exceed what the servers' quotas of their largest instances and the
   count quotas can hold, and reports the numbers.
4. **Pooled relaxation** (:mod:`.pooled`, HiGHS): the exact optimum with
   capacity pooled per server, instance counts per shape, quotas and
   ``max_backends``.  It is a lower bound on every plan.  Solved linear (a
   large component), its counts rounded up may pass a quota: they are
   branched on first (:mod:`.branching`), which raises the bound, and both
   roundings are placed.
5. **Placement** (:mod:`.placement`, :mod:`.place`): the units of each server are packed into
   the instances step 4 chose, by first fit, then (after a counting check)
   by dot-product fit, then by z3 exactly.  Placed:
   the plan costs the bound, so it is optimal.  Not placed, on a relaxation
   solved exactly: the rows the packing proves (:mod:`.cuts`: units the
   instances cannot hold, named by z3) are added and step 4 solved again,
   asked for plans cheaper than the one placed, while those solves spend
   fewer than :data:`CUT_ITERATIONS` simplex iterations (HiGHS's work, not
   seconds; :func:`_cut_rounds`): the bound rises, and the
   plan is proven optimal when the new optimum's units fit or nothing
   cheaper is left.  Still not placed (adversarial bin
   packing): a server of a few dozen units gets a packing whose fees meet a
   bound on every packing's (:mod:`.cover`), or z3's cheapest; otherwise
   instances are added until first fit places everything (:mod:`.repair`,
   which also sheds units from a server at its quota), and the plan is
   ``best_found`` with step 4's bound.  Either way each server's
   instances are then tightened (:func:`.place.tightened`: cheapest shape
   holding each instance's units, pairs merged where one shape is cheaper),
   and a server of a few units gets the cheapest instances holding exactly
   those units when they cost less (:mod:`.repack`).  Last, a unit on a
   dedicated option that an instance with room holds for less moves there
   (:mod:`.backfill`), and the units a server at its quota spilled get new
   instances of another running server where they pay for them
   (:mod:`.rehome`).  On the plan kept, a unit on a dedicated option takes
   the place of a server's unit saving less there (:mod:`.exchange`), and a
   running server opens one more instance for the units on dedicated options
   that save most on it when they pay its fee, at a full quota in place of
   the instance saving least, or moves an instance up to a dearer shape
   whose new room they pay for (:mod:`.trade`); an instance closes, or runs a
   cheaper shape, when the units it lets go cost less more in room elsewhere
   (any running server's) or on dedicated options than the fee it saves
   (:mod:`.consolidate`).  A plan the relaxation proved optimal skips these
   moves: none can make it cheaper.
6. The budget never changes the argmin: the optimum either fits it or no
   plan does (:mod:`.conflicts` then reports the most expensive items).

Ties between equal totals are broken deterministically (sorted inputs, a
single-threaded solver with a fixed seed), so the same inputs give the same
plan.

The modules of steps 2 (:mod:`.small`, :mod:`.uniform`) to 5 and the error
reports (:mod:`.conflicts`) are imported where they are needed, not here:
most small apps stop at the one-instance bound, and a plan's start-up is
nearly all imports.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from skaal.errors import PlanError, UnsatisfiableError
from skaal.solver.count_pools import Pool
from skaal.solver.count_rows import CountRows, count_rows, lost_options
from skaal.solver.decompose import SCALE, Group, Unit, UnitOption, components, groups, prune, units
from skaal.solver.mode_rows import mode_rows
from skaal.solver.place import first_fit
from skaal.solver.problem import Problem
from skaal.solver.rebound import Rebounds, linear_bound
from skaal.solver.servers import (
    Bins,
    Server,
    Shape,
    backend_of,
    over_quota,
    quota_groups,
    regional_pools,
    trimmed_for,
)

if TYPE_CHECKING:
    from skaal.solver.placement import Placed
    from skaal.solver.pooled import Pooled
    from skaal.solver.quota_bound import QuotaBound

__all__ = ["Assignment", "floor", "optimise"]

#: Step 2 enumerates the subsets of at most this many servers of a component.
_MAX_ENUMERATED = 10


class Assignment(Struct, frozen=True):
    """Where each resource goes, and each server instance's shape."""

    backends: Mapping[str, str]
    """Resource name → backend name."""
    instances: Mapping[str, tuple[str, ...]]
    """Instance id (``rds-postgres#1``) → its resources, sorted."""
    shapes: Mapping[str, Shape]
    """Instance id → the shape it runs."""
    proven: bool
    """False when the plan is not proven cheapest (see ``lower_bound``)."""
    lower_bound: float | None = None
    """With ``proven`` False: a proven lower bound on the cheapest plan (dollars)."""
    lost: Mapping[str, str] = MappingProxyType({})
    """Resource name → a backend it could use and may not: the optimisation kept that
    backend's count quota by placing it elsewhere (:mod:`.count_rows`)."""
    within_quotas: Callable[[], float | None] | None = None
    """A proven lower bound on every plan within the quotas on provisioned capacity
    (dollars; ``None``: none known), computed when called: the relaxation could pass
    them (:mod:`.quota_bound`).  The plan itself may pass them (:mod:`.mode_quotas`
    settles that)."""


class _Outcome(Struct):
    placement: dict[str, list[Unit]]
    bins: dict[str, Bins]
    cost: int
    lower: int
    quota: tuple[tuple[QuotaBound, int], ...] = ()
    """Per component whose relaxation could pass a quota on provisioned capacity: its
    bound within them (:attr:`.pooled.Pooled.provisioned`), and its ``lower``."""

    def add(self, other: _Outcome) -> None:
        self.quota += other.quota
        for backend, placed in other.placement.items():
            self.placement.setdefault(backend, []).extend(placed)
        for backend, bins in other.bins.items():
            self.bins.setdefault(backend, []).extend(bins)
        self.cost += other.cost
        self.lower += other.lower


def optimise(problem: Problem, rebounds: Rebounds | None = None) -> Assignment:
    """The cheapest assignment of ``problem``; raises ``UnsatisfiableError`` on global conflicts.

    Every resource must have at least one option (the caller diagnoses those
    that do not first).  ``rebounds`` keeps what was solved, to bound the same
    problem again without some pools (:mod:`.rebound`).
    """
    all_units, servers = _prepared(problem)
    limit = problem.max_backends
    if limit is not None:
        if rebounds is not None:
            rebounds.record(0, servers, limit)
        found = _pooled_part(all_units, servers, problem, max_backends=limit, rebounds=rebounds)
        return _assignment(found)
    total = _Outcome({}, {}, 0, 0)
    # A dedicated backend whose count quota the units able to use it could pass couples
    # them as a server does: they are optimised together, within it (.count_rows).
    rows = count_rows(problem)
    if rows is not None:  # their quotas on provisioned capacity too, as rows (.mode_rows)
        rows = dataclasses.replace(rows, provisioned=mode_rows(problem, rows.backends))
    counted = frozenset() if rows is None else rows.backends
    coupled = _split(all_units, servers, total, counted)
    if rebounds is not None:
        rebounds.record(total.cost, servers, None)
    for part in components(coupled, frozenset(servers) | counted, _sharing(servers)):
        total.add(_solve_part(part, servers, problem, rebounds, rows))
    assignment = _assignment(total)
    lost = lost_options(all_units, total.placement, counted, servers.keys())
    return replace(assignment, lost=MappingProxyType(lost)) if lost else assignment


def floor(problem: Problem) -> float:
    """A lower bound (dollars) on what :func:`optimise` minimises, from linear relaxations
    only: no search, milliseconds where the optimum may take seconds.

    ``inf`` when ``problem`` surely has no plan.  The network fees of
    :mod:`.vpc` read it to skip a restricted problem that cannot beat the
    plan they hold.
    """
    try:
        all_units, servers = _prepared(problem)
    except UnsatisfiableError:
        return math.inf
    parts: Sequence[Sequence[Unit]]
    if problem.max_backends is not None:
        parts = [all_units]
        total = 0
    else:
        fixed = _Outcome({}, {}, 0, 0)
        parts = components(_split(all_units, servers, fixed), frozenset(servers), _sharing(servers))
        total = fixed.cost
    bound = total / SCALE
    for part in parts:
        bound += linear_bound(part, servers, problem.max_backends)
        if bound == math.inf:
            return bound
    return bound


def _sharing(servers: Mapping[str, Server]) -> list[tuple[str, ...]]:
    """The servers sharing a quota, per shared quota: one component holds their units."""
    return [names for names in quota_groups(servers).values() if len(names) > 1]


def _prepared(problem: Problem) -> tuple[tuple[Unit, ...], Mapping[str, Server]]:
    """The units of ``problem`` and its server pools (keyed by region), options that no
    instance could hold dropped; raises ``UnsatisfiableError`` for a unit left with none."""
    servers: Mapping[str, Server] = {s.backend.name: s.server for s in problem.shared}
    all_units, impossible = units(problem)
    if impossible:
        raise _collocation(problem, impossible)
    all_units, servers = regional_pools(problem, all_units, servers)
    held: dict[tuple[str, tuple[int, ...]], bool] = {}
    kept: dict[tuple[int, tuple[int, ...]], tuple[UnitOption, ...]] = {}
    all_units = tuple(_drop_oversized(u, servers, held, kept) for u in all_units)
    impossible = tuple(u.members for u in all_units if not u.options)
    if impossible:
        raise _collocation(problem, impossible)
    return all_units, servers


def _split(
    all_units: Sequence[Unit],
    servers: Mapping[str, Server],
    total: _Outcome,
    counted: frozenset[str] = frozenset(),
) -> list[Unit]:
    """The units whose cheapest option is a server's or a ``counted`` backend's (pruned),
    the others placed in ``total``."""
    names = frozenset(servers) | counted
    coupled: list[Unit] = []
    pruned: dict[int, tuple[UnitOption, ...]] = {}
    for unit in (_pruned(u, names, pruned) for u in all_units):
        best = unit.options[0]
        if best.backend in names:
            coupled.append(unit)
        else:
            total.placement.setdefault(best.backend, []).append(unit)
            total.cost += best.cost
            total.lower += best.cost
    return coupled


def _collocation(problem: Problem, chains: Sequence[tuple[str, ...]]) -> UnsatisfiableError:
    from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it (see the module docstring)

    return conflicts.collocation(problem, chains)


def _pruned(unit: Unit, names: frozenset[str], cache: dict[int, tuple[UnitOption, ...]]) -> Unit:
    """:func:`prune` of ``unit``, once per distinct options tuple (units share them; the
    tuples are alive in the units while their ids key ``cache``)."""
    options = cache.get(id(unit.options))
    if options is None:
        options = cache[id(unit.options)] = prune(unit, names).options
    if options is unit.options:
        return unit
    return Unit(unit.members, options, unit.usage)


def _drop_oversized(
    unit: Unit,
    servers: Mapping[str, Server],
    held: dict[tuple[str, tuple[int, ...]], bool],
    kept: dict[tuple[int, tuple[int, ...]], tuple[UnitOption, ...]],
) -> Unit:
    """Drop a server option when no single instance of that server holds the unit.

    ``held`` caches the verdict per (server, usage): most units repeat a usage;
    ``kept`` the options left per (options tuple, usage): most units share both
    (the tuples are alive in the units while their ids key it).
    """
    key = (id(unit.options), unit.usage)
    options = kept.get(key)
    if options is None:
        options = kept[key] = _fitting(unit, servers, held)
    if options is unit.options:
        return unit
    return Unit(unit.members, options, unit.usage)


def _fitting(
    unit: Unit, servers: Mapping[str, Server], held: dict[tuple[str, tuple[int, ...]], bool]
) -> tuple[UnitOption, ...]:
    """``unit``'s options without the servers none of whose instances holds it alone."""
    keep: list[UnitOption] = []
    for option in unit.options:
        if option.backend in servers:
            key = (option.backend, unit.usage)
            verdict = held.get(key)
            if verdict is None:
                # the dearest shapes, the likeliest to hold it, first (the verdict is the same)
                shapes = reversed(servers[option.backend].shapes)
                verdict = held[key] = any(s.holds(unit.usage) for s in shapes)
            if not verdict:
                continue
        keep.append(option)
    if len(keep) == len(unit.options):
        return unit.options
    return tuple(keep)


def _solve_part(
    part: Sequence[Unit],
    servers: Mapping[str, Server],
    problem: Problem,
    rebounds: Rebounds | None,
    rows: CountRows | None = None,
) -> _Outcome:
    """Steps 2 to 5 of the module docstring for one component (``rows``: the count
    quotas its units could pass, :mod:`.count_rows`, which only the pooled relaxation
    states: an optimum found without it stands when it keeps within them)."""
    found = _one_instance_each(part, servers) or _small(part, servers)
    placed = () if found is None else found.placement.items()
    alone = ((backend, unit, 1) for backend, units in placed for unit in units)
    if found is None or not _within_rows(alone, rows):
        return _pooled_part(part, servers, problem, max_backends=None, rebounds=rebounds, rows=rows)
    if rebounds is not None:
        rebounds.add(part, None)
    return found


def _within_rows(placed: Iterable[tuple[str, Unit, int]], rows: CountRows | None) -> bool:
    """Whether the units ``placed`` (backend, unit, how many alike) keep within the count
    pools of ``rows``."""
    if rows is None:
        return True
    used: dict[Pool, int] = {}
    for backend, unit, count in placed:
        if backend in rows.backends:
            for pool, n in rows.of(backend, unit.members).items():
                used[pool] = used.get(pool, 0) + n * count
    return all(n <= rows.rooms[pool] for pool, n in used.items())


def _small(part: Sequence[Unit], servers: Mapping[str, Server]) -> _Outcome | None:
    from skaal.solver.small import solve_small  # noqa: PLC0415 - see the module docstring

    small = solve_small(part, servers)
    if small is None:
        return None
    placement, bins, cost = small
    return _Outcome(placement, bins, cost, cost)


def _one_instance_each(part: Sequence[Unit], servers: Mapping[str, Server]) -> _Outcome | None:
    """Step 2: the one-instance lower bound, and its plan when that plan fits.

    Units with the same options make the same choice, so each set of opened
    servers is priced once per distinct option list, not once per unit, and
    only the cheapest set's units are gathered per server.
    """
    alike: dict[tuple[UnitOption, ...], list[Unit]] = {}
    seen: dict[int, list[Unit]] = {}  # by the identity of a shared tuple, as in groups()
    for unit in part:
        members = seen.get(id(unit.options))
        if members is None:
            members = seen[id(unit.options)] = alike.setdefault(unit.options, [])
        members.append(unit)
    names = sorted({o.backend for options in alike for o in options if o.backend in servers})
    if len(names) > _MAX_ENUMERATED:
        return None
    # Option lists naming the same backends in the same order choose the same one
    # whatever the set: their costs are summed per backend once (the 41,000 option
    # lists of the users draw of 100,000 resources on gcp follow a few dozen orders).
    sums: dict[tuple[str, ...], list[int]] = {}
    for options, members in alike.items():
        order = tuple(o.backend for o in options)
        column = sums.get(order)
        if column is None:
            column = sums[order] = [0] * len(options)
        for at, option in enumerate(options):
            column[at] += option.cost * len(members)
    best: tuple[int, frozenset[str]] | None = None
    for size in range(len(names) + 1):
        for opened in itertools.combinations(names, size):
            allowed = frozenset(opened)
            total = sum(servers[s].min_fee_micro for s in opened)
            used: set[str] = set()
            for order, column in sums.items():
                at = _first_open(order, allowed, servers)
                if at < 0:
                    break
                used.add(order[at])
                total += column[at]
            else:
                if not allowed <= used:
                    continue  # an opened server nobody uses: a smaller set is cheaper
                if best is None or total < best[0]:
                    best = (total, allowed)
    if best is None:
        return None
    total, allowed = best
    placement: dict[str, list[Unit]] = {}
    for options, members in alike.items():
        at = _first_open([o.backend for o in options], allowed, servers)
        assert at >= 0  # the set was priced with a choice for every list
        placement.setdefault(options[at].backend, []).extend(members)
    bins: dict[str, Bins] = {}
    for backend, placed in placement.items():
        if backend not in servers:
            continue
        least = servers[backend].min_fee_micro  # once, not once per shape
        # One instance holds the units only if it holds their sum (integers, exactly):
        # 78,000 units of the users draw of 100,000 are not sorted for first fit to learn it.
        needs = tuple(sum(column) for column in zip(*(u.usage for u in placed), strict=True))
        shapes = servers[backend].shapes
        cheapest = [s for s in shapes if s.fee_micro == least and s.holds(needs)]
        packed = next(
            (b for shape in cheapest if (b := first_fit(placed, [shape])) is not None), None
        )
        if packed is None:
            return None
        bins[backend] = packed
    if over_quota(bins, servers) is not None:
        return None  # one instance each passes a quota shared by the servers opened
    return _Outcome(placement, bins, total, total)


def _first_open(
    backends: Sequence[str], opened: frozenset[str], servers: Mapping[str, Server]
) -> int:
    """Where in a unit's options (sorted by cost, rank, backend) its cheapest one is when
    only the servers ``opened`` run: the first that is not a server or is opened; -1 if none."""
    for at, backend in enumerate(backends):
        if backend not in servers or backend in opened:
            return at
    return -1


def _pooled_part(
    part: Sequence[Unit],
    servers: Mapping[str, Server],
    problem: Problem,
    *,
    max_backends: int | None,
    rebounds: Rebounds | None = None,
    rows: CountRows | None = None,
) -> _Outcome:
    """Steps 3 to 5: counting, the pooled relaxation, then placement."""
    # see the module docstring; HiGHS loads only for a plan with pooled servers,
    # the failure reports (conflicts) only for a part that has no plan
    from skaal.solver.capacity import overflow  # noqa: PLC0415
    from skaal.solver.placement import exchanged  # noqa: PLC0415
    from skaal.solver.placement import placed as place_part  # noqa: PLC0415
    from skaal.solver.pooled import MAX_EXACT_COLUMNS, branched, solve_pooled  # noqa: PLC0415
    from skaal.solver.uniform import solve_uniform  # noqa: PLC0415

    servers = trimmed_for(part, servers)
    counted = rows is not None and any(o.backend in rows.backends for u in part for o in u.options)
    if not counted:
        rows = None
    short = overflow(part, servers, rows)
    if short is not None:
        from skaal.solver import conflicts  # noqa: PLC0415

        raise conflicts.capacity(problem, short)
    grouped = groups(part, rows.signature if rows is not None else None)
    searched = solve_uniform(grouped, servers) if max_backends is None else None
    if searched is not None and searched.counts is not None and rows is not None:
        # units of a group create alike in every pool (grouped so): each as its first
        taken = (
            (backend, group.units[0], count)
            for group, row in zip(grouped, searched.counts, strict=True)
            for backend, _, count in row
        )
        if not _within_rows(taken, rows):
            searched = None  # its optimum passes a count quota: the relaxation keeps within
    # The blueprint's hash, which the plan records, is taken while HiGHS solves.
    relaxed = searched or solve_pooled(
        grouped,
        servers,
        max_backends=max_backends,
        keep=rebounds is not None,
        beside=problem.blueprint.content_hash,
        branch=len(part) <= _BRANCH_MAX_UNITS,
        rows=rows,
    )
    if rebounds is not None:
        rebounds.add(part, relaxed.kept)
    if relaxed.infeasible:
        from skaal.solver import conflicts  # noqa: PLC0415

        if max_backends is not None:
            raise conflicts.max_backends(problem, _fewest_backends(grouped, servers), part)
        names = sorted({o.backend for u in part for o in u.options if o.backend in servers})
        raise conflicts.packing(
            problem, " or ".join(names), sorted(m for u in part for m in u.members), pooled=True
        )
    if relaxed.counts is None:
        raise PlanError(
            "the planner's work limit ran out before it found any plan",
            where=problem.blueprint.app,
            fix="split the app's shared-capacity constraints, or report this app to Skaal",
        )
    placed = place_part(problem, grouped, relaxed, servers)
    if relaxed.own is not None:
        # A branch fills its instances to the brim; the relaxation's own rounding
        # leaves room that packing may need: each is the cheaper plan on some draws
        # (solver/HISTORY.md, "Instance counts branched on at a quota, and units
        # moved into room left").
        try:
            own = place_part(problem, grouped, relaxed.own, servers)
        except UnsatisfiableError:
            own = None
        if own is not None and own.cost < placed.cost:
            placed = own
    raised = relaxed.bound
    if relaxed.proven and placed.failed:
        placed, raised = _cut_rounds(
            problem, grouped, relaxed, servers, placed, max_backends=max_backends
        )
    bound = math.floor(raised * SCALE + 1e-3)
    if bound >= placed.cost:  # proven by the cuts: the bound met
        return _within(relaxed, _Outcome(placed.placement, placed.bins, placed.cost, placed.cost))
    if not placed.failed or len(part) > _DERATE_MAX_UNITS:
        if relaxed.proven and not placed.failed:  # optimal: no move can make it cheaper
            outcome = _Outcome(placed.placement, placed.bins, placed.cost, placed.cost)
            return _within(relaxed, outcome)
        placed = exchanged(problem, placed, servers)
        lower = min(placed.cost, bound)
        return _within(relaxed, _Outcome(placed.placement, placed.bins, placed.cost, lower))
    # Packing needed more than the relaxation counted: also try the relaxation
    # with the failing servers' instances derated, which leaves the room first
    # fit needs, and keep the cheapest plan.  The bound stays the relaxation's.
    # Past _DERATE_EXACT_MAX_UNITS units the derated relaxations are solved
    # linear and rounded: they only propose plans, and the integer model of a
    # few hundred distinct units can take HiGHS seconds each.
    # A relaxation solved exact also proposes its linear relaxation, rounded as past
    # MAX_EXACT_COLUMNS: on users draws of 200 and 300 resources that plan is
    # sometimes the cheaper (aws 200 seed 5: $12.07 less; gcp 300 seed 1: $170.64).
    exact = MAX_EXACT_COLUMNS if len(part) <= _DERATE_EXACT_MAX_UNITS else 0
    tries: list[tuple[Mapping[str, Server], int]] = []
    if searched is None and branched(grouped, servers):
        tries.append((servers, -1))
    for derate in _DERATINGS:
        derated = {
            name: _derated(server, derate) if name in placed.failed else server
            for name, server in servers.items()
        }
        tries.append((derated, exact))
    best = placed
    for pools, columns in tries:
        again = solve_pooled(
            grouped, pools, max_backends=max_backends, max_exact_columns=columns, rows=rows
        )
        if again.counts is None:
            continue
        try:
            candidate = place_part(problem, grouped, again, pools)
        except UnsatisfiableError:
            continue
        if candidate.cost < best.cost:
            best = candidate
    best = exchanged(problem, best, servers)
    return _within(relaxed, _Outcome(best.placement, best.bins, best.cost, min(best.cost, bound)))


def _within(relaxed: Pooled, outcome: _Outcome) -> _Outcome:
    """``outcome`` with the relaxation's bound within the quotas on provisioned capacity,
    when it has one: a bound on every such plan, whatever ``outcome`` costs (it may pass
    them: :mod:`.mode_quotas` settles that)."""
    if relaxed.provisioned is not None:
        outcome.quota = ((relaxed.provisioned, outcome.lower),)
    return outcome


def _cut_rounds(
    problem: Problem,
    grouped: Sequence[Group],
    relaxed: Pooled,
    servers: Mapping[str, Server],
    best: Placed,
    *,
    max_backends: int | None,
) -> tuple[Placed, float]:
    """Step 5's packing cuts: while a server cannot hold the units the relaxation (solved
    exactly) gives it, the relaxation is solved again with the cuts z3 proves
    (:mod:`.cuts`), asked only for plans cheaper than ``best``, while those solves
    have spent fewer than :data:`CUT_ITERATIONS` simplex iterations (at most
    :data:`CUT_ROUNDS` of them).  The cheaper plan and the bound reached
    (dollars): when the units fit, their plan costs the bound; when nothing
    cheaper than ``best`` is left, ``best`` is proven cheapest (its cost is the
    bound).
    """
    from skaal.solver.cuts import Cut, cuts_for  # noqa: PLC0415 - z3 and HiGHS load with it
    from skaal.solver.placement import placed as place_part  # noqa: PLC0415
    from skaal.solver.pooled import solve_pooled  # noqa: PLC0415

    bound = relaxed.bound
    cuts: list[Cut] = []
    spent = 0
    for solves in range(CUT_ROUNDS + 1):  # the last solve's answer is checked too
        assert relaxed.counts is not None  # a proven relaxation has its counts
        found = cuts_for(grouped, servers, relaxed.counts, relaxed.instances)
        if found is None:
            break  # z3 proved nothing: the bound stays where it is
        if not found:  # every server's units fit its instances: the plan the bound counts
            try:
                packed = place_part(problem, grouped, relaxed, servers)
            except UnsatisfiableError:
                break
            if not packed.failed and packed.cost < best.cost:
                best = packed
            break
        if solves == CUT_ROUNDS or spent >= CUT_ITERATIONS:
            break
        cuts += found
        relaxed = solve_pooled(
            grouped,
            servers,
            max_backends=max_backends,
            max_nodes=CUT_MAX_NODES,
            cuts=cuts,
            cutoff=best.cost / SCALE,
        )
        bound = max(bound, relaxed.bound)
        spent += relaxed.iterations
        if relaxed.counts is None or not relaxed.proven:
            break  # nothing cheaper than best (proven when HiGHS finished), or the node limit
    return best, min(bound, best.cost / SCALE)


#: The packing cuts' rounds (:func:`_cut_rounds`) solve the pooled relaxation again
#: while those solves have spent fewer than this many simplex iterations (HiGHS's
#: work, the same on every machine), at most :data:`CUT_ROUNDS` times.  A round
#: costs what its model does: a few hundred iterations on a small one, several
#: thousand on a hard one.  On the ``users`` draws of 100 to 400 resources (five
#: seeds, both bundled catalogs: 67 plans) every proof came from a solve started
#: before 8,300 iterations were spent (the seventh at most), where the rounds that
#: prove nothing spend up to 64,000 in twelve; four rounds, the rule before, proved
#: 31 of the 34 plans these prove (``solver/HISTORY.md``, "Rounds counted in simplex
#: iterations").
CUT_ITERATIONS = 9_000
#: The most rounds of packing cuts per component, whatever their iterations.
CUT_ROUNDS = 12
#: The branch-and-bound nodes of each round's solve (HiGHS's work, deterministic):
#: on those draws every round that led to a proof took at most 190, and the
#: rounds proving nothing up to 1,014.
CUT_MAX_NODES = 500


#: Up to this many units, instance counts whose rounding passes a quota are branched on
#: (:mod:`.branching`), and both roundings placed.  Past it (gcp ``users`` 100,000:
#: 78,682 units) two more solves took 0.74 s and HiGHS 76 MB more, over the 1 GB
#: the issue allows, and the second placement 2 s, for $4,268 of $221 million.
_BRANCH_MAX_UNITS = 20_000


#: Capacity factors tried on servers whose units first fit could not pack, in
#: components of at most ``_DERATE_MAX_UNITS`` units (each try solves the
#: relaxation again).
_DERATINGS = (0.9, 0.75)
_DERATE_MAX_UNITS = 500
_DERATE_EXACT_MAX_UNITS = 100


def _derated(server: Server, factor: float) -> Server:
    """``server`` with every shape holding ``factor`` of its capacity (resource counts kept)."""
    shapes = tuple(
        replace(
            shape,
            capacity=tuple(
                c if c is None or d == len(shape.capacity) - 1 else math.floor(c * factor)
                for d, c in enumerate(shape.capacity)
            ),
        )
        for shape in server.shapes
    )
    return replace(server, shapes=shapes)


def _fewest_backends(grouped: Sequence[Group], servers: Mapping[str, Server]) -> int | None:
    """The fewest distinct backends any plan needs (for the max_backends report)."""
    from skaal.solver.pooled import solve_pooled  # noqa: PLC0415 - HiGHS loads only for a plan with pooled servers

    total = len({o.backend for g in grouped for o in g.options})
    for limit in range(1, total + 1):
        if not solve_pooled(grouped, servers, max_backends=limit).infeasible:
            return limit
    return None


def _assignment(outcome: _Outcome) -> Assignment:
    backends: dict[str, str] = {}
    instances: dict[str, tuple[str, ...]] = {}
    shapes: dict[str, Shape] = {}
    for pool in sorted(outcome.placement):
        for unit in outcome.placement[pool]:
            for member in unit.members:
                backends[member] = backend_of(pool)
    # The instances of one backend are numbered across its regional pools.
    per_backend: dict[str, list[tuple[list[str], Shape]]] = {}
    for pool, bins in outcome.bins.items():
        per_backend.setdefault(backend_of(pool), []).extend(
            (sorted(m for u in members for m in u.members), shape) for shape, members in bins
        )
    for backend in sorted(per_backend):
        ordered = sorted(per_backend[backend], key=lambda row: row[0])
        for index, (members, shape) in enumerate(ordered, start=1):
            ident = f"{backend}#{index}"
            instances[ident] = tuple(members)
            shapes[ident] = shape
    proven = outcome.lower >= outcome.cost
    return Assignment(
        backends=MappingProxyType(dict(sorted(backends.items()))),
        instances=MappingProxyType(instances),
        shapes=MappingProxyType(shapes),
        proven=proven,
        lower_bound=None if proven else outcome.lower / SCALE,
        within_quotas=_within_quotas(outcome),
    )


def _within_quotas(outcome: _Outcome) -> Callable[[], float | None] | None:
    """:attr:`Assignment.within_quotas` of ``outcome``, when a component has such a bound."""
    if not outcome.quota:
        return None
    from skaal.solver.quota_bound import Summed  # noqa: PLC0415 - only where a quota binds

    return Summed(outcome.lower / SCALE, [(b, lower / SCALE) for b, lower in outcome.quota])
