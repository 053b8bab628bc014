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
   coupled through a server backend.
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
   which only servers can hold exceed what the servers' quotas of their
   largest instances can hold, and reports the numbers.
4. **Pooled relaxation** (:mod:`.pooled`, HiGHS): the exact optimum with
   capacity pooled per server, instance counts per shape, quotas and
   ``max_backends``.  It is a lower bound on every plan.
5. **Placement** (:mod:`.place`): the units of each server are packed into
   the instances step 4 chose, by first fit, then (after a counting check)
   by dot-product fit, then by z3 exactly.  Placed:
   the plan costs the bound, so it is optimal.  Not placed (adversarial bin
   packing): instances are added until first fit places everything
   (:mod:`.repair`, which also sheds units from a server at its quota), and
   the plan is ``best_found`` with step 4's bound.  Either way each server's
   instances are then tightened (:func:`.place.tightened`: cheapest shape
   holding each instance's units, pairs merged where one shape is cheaper),
   and a server of a few units gets the cheapest instances holding exactly
   those units when they cost less (:mod:`.repack`).
6. The budget never changes the argmin: the optimum either fits it or no
   plan does (:mod:`.conflicts` then reports the most expensive items).

Ties between equal totals are broken deterministically (sorted inputs, a
single-threaded solver with a fixed seed), so the same inputs give the same
plan.

The modules of steps 2 (:mod:`.small`, :mod:`.uniform`) to 4 and the error
reports (:mod:`.conflicts`) are imported where they are needed, not here:
most small apps stop at the one-instance bound, and a plan's start-up is
nearly all imports.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from skaal.errors import PlanError, UnsatisfiableError
from skaal.solver.decompose import SCALE, Group, Unit, UnitOption, components, groups, prune, units
from skaal.solver.place import Bins, cheapest_packing, first_fit, place, tightened
from skaal.solver.problem import Problem
from skaal.solver.repack import repacked
from skaal.solver.repair import repair, shed, spill, spillable
from skaal.solver.servers import (
    POOL,
    Server,
    Shape,
    backend_of,
    over_quota,
    quota_groups,
    trimmed_for,
)

if TYPE_CHECKING:
    from skaal.solver.pooled import Pooled

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


class _Outcome(Struct):
    placement: dict[str, list[Unit]]
    bins: dict[str, Bins]
    cost: int
    lower: int

    def add(self, other: _Outcome) -> None:
        for backend, placed in other.placement.items():
            self.placement.setdefault(backend, []).extend(placed)
        for backend, bins in other.bins.items():
            self.bins.setdefault(backend, []).extend(bins)
        self.cost += other.cost
        self.lower += other.lower


def optimise(problem: Problem) -> Assignment:
    """The cheapest assignment of ``problem``; raises ``UnsatisfiableError`` on global conflicts.

    Every resource must have at least one option (the caller diagnoses those
    that do not first).
    """
    all_units, servers = _prepared(problem)
    limit = problem.max_backends
    if limit is not None:
        found = _pooled_part(all_units, servers, problem, max_backends=limit)
        return _assignment(found)
    total = _Outcome({}, {}, 0, 0)
    coupled = _split(all_units, servers, total)
    for part in components(coupled, frozenset(servers), _sharing(servers)):
        total.add(_solve_part(part, servers, problem))
    return _assignment(total)


def floor(problem: Problem) -> float:
    """A lower bound (dollars) on what :func:`optimise` minimises, from linear relaxations
    only: no search, milliseconds where the optimum may take seconds.

    ``inf`` when ``problem`` surely has no plan.  The network fees of
    :mod:`.vpc` read it to skip a restricted problem that cannot beat the
    plan they hold.
    """
    from skaal.solver.pooled import solve_pooled  # noqa: PLC0415 - see the module docstring

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
        relaxed = solve_pooled(
            groups(part), trimmed_for(part, servers), max_backends=problem.max_backends, linear=True
        )
        if relaxed.infeasible:
            return math.inf
        bound += relaxed.bound
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
    all_units, servers = _regional_pools(problem, all_units, servers)
    held: dict[tuple[str, tuple[int, ...]], bool] = {}
    kept: dict[tuple[int, tuple[int, ...]], tuple[UnitOption, ...]] = {}
    all_units = tuple(_drop_oversized(u, servers, held, kept) for u in all_units)
    impossible = tuple(u.members for u in all_units if not u.options)
    if impossible:
        raise _collocation(problem, impossible)
    return all_units, servers


def _split(all_units: Sequence[Unit], servers: Mapping[str, Server], total: _Outcome) -> list[Unit]:
    """The units whose cheapest option is a server's (pruned), the others placed in ``total``."""
    names = frozenset(servers)
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


def _regional_pools(
    problem: Problem, all_units: tuple[Unit, ...], servers: Mapping[str, Server]
) -> tuple[tuple[Unit, ...], Mapping[str, Server]]:
    """Key the server pools by (backend, region): an instance never holds two regions.

    A server option in the catalog's default region keeps the backend's name;
    one in another region is renamed ``backend@region``, a pool with its own
    instances, fees and quota (the providers' quotas are regional; a pool of a
    quota group shares the group's quota in its region).  A
    co-located unit whose members would sit in different regions of a server
    loses that option: they must share an instance.  Without any server option
    away from the default region nothing changes.
    """
    default = problem.catalog.region
    away: dict[tuple[str, str], str] = {}
    for res in problem.resources:
        for option in res.options:
            region = option.region
            if option.backend in servers and region is not None and region != default:
                away[res.spec.name, option.backend] = region
    if not away:
        return all_units, servers
    pools = dict(servers)
    out: list[Unit] = []
    for unit in all_units:
        options: list[UnitOption] = []
        for choice in unit.options:
            if choice.backend not in servers:
                options.append(choice)
                continue
            regions = {away.get((m, choice.backend), default) for m in unit.members}
            if len(regions) > 1:
                continue  # co-located members in two regions cannot share an instance
            (home,) = regions
            if home == default:
                options.append(choice)
                continue
            pool = f"{choice.backend}{POOL}{home}"
            if pool not in pools:  # its quota is the region's (a group's too)
                server = servers[choice.backend]
                pools[pool] = replace(server, group=f"{server.quota_key}{POOL}{home}")
            options.append(replace(choice, backend=pool))
        out.append(Unit(unit.members, tuple(options), unit.usage))
    return tuple(out), pools


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


def _solve_part(part: Sequence[Unit], servers: Mapping[str, Server], problem: Problem) -> _Outcome:
    """Steps 2 to 5 of the module docstring for one component."""
    quick = _one_instance_each(part, servers)
    if quick is not None:
        return quick
    from skaal.solver.small import solve_small  # noqa: PLC0415 - see the module docstring

    small = solve_small(part, servers)
    if small is not None:
        placement, bins, cost = small
        return _Outcome(placement, bins, cost, cost)
    return _pooled_part(part, servers, problem, max_backends=None)


def _one_instance_each(part: Sequence[Unit], servers: Mapping[str, Server]) -> _Outcome | None:
    """Step 2: the one-instance lower bound, and its plan when that plan fits.

    Units with the same options make the same choice, so each set of opened
    servers is priced once per distinct option list, not once per unit.
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
    best: tuple[int, dict[str, list[Unit]], int] | None = None
    for size in range(len(names) + 1):
        for opened in itertools.combinations(names, size):
            allowed = frozenset(opened)
            placement: dict[str, list[Unit]] = {}
            cost = sum(servers[s].min_fee_micro for s in opened)
            own = 0
            for options, members in alike.items():
                choice = _cheapest(options, allowed, servers)
                if choice is None:
                    break
                placement.setdefault(choice.backend, []).extend(members)
                own += choice.cost * len(members)
            else:
                if any(s not in placement for s in opened):
                    continue  # an opened server nobody uses: a smaller set is cheaper
                if best is None or cost + own < best[0]:
                    best = (cost + own, placement, own)
    if best is None:
        return None
    total, placement, own = best
    bins: dict[str, Bins] = {}
    for backend, placed in placement.items():
        if backend not in servers:
            continue
        least = servers[backend].min_fee_micro  # once, not once per shape
        cheapest = [s for s in servers[backend].shapes if s.fee_micro == least]
        packed = next(
            (b for shape in cheapest if (b := first_fit(placed, [shape])) is not None), None
        )
        if packed is None:
            return None
        bins[backend] = packed
    if over_quota(_shapes_of(bins), servers) is not None:
        return None  # one instance each passes a quota shared by the servers opened
    return _Outcome(placement, bins, total, total)


def _cheapest(
    options: Sequence[UnitOption], opened: frozenset[str], servers: Mapping[str, Server]
) -> UnitOption | None:
    for option in options:  # sorted by (cost, rank, backend)
        if option.backend not in servers or option.backend in opened:
            return option
    return None


def _pooled_part(
    part: Sequence[Unit],
    servers: Mapping[str, Server],
    problem: Problem,
    *,
    max_backends: int | None,
) -> _Outcome:
    """Steps 3 to 5: counting, the pooled relaxation, then placement."""
    # see the module docstring; HiGHS loads only for a plan with pooled servers,
    # the failure reports (conflicts) only for a part that has no plan
    from skaal.solver.capacity import overflow  # noqa: PLC0415
    from skaal.solver.pooled import MAX_EXACT_COLUMNS, branched, solve_pooled  # noqa: PLC0415
    from skaal.solver.uniform import solve_uniform  # noqa: PLC0415

    servers = trimmed_for(part, servers)
    short = overflow(part, servers)
    if short is not None:
        from skaal.solver import conflicts  # noqa: PLC0415

        raise conflicts.capacity(problem, short)
    grouped = groups(part)
    searched = solve_uniform(grouped, servers) if max_backends is None else None
    relaxed = searched or solve_pooled(grouped, servers, max_backends=max_backends)
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
    placed = _placed(problem, grouped, relaxed, servers)
    bound = math.floor(relaxed.bound * SCALE + 1e-3)
    if not placed.failed or len(part) > _DERATE_MAX_UNITS:
        lower = placed.cost if relaxed.proven and not placed.failed else min(placed.cost, bound)
        return _Outcome(placed.placement, placed.bins, placed.cost, lower)
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
        again = solve_pooled(grouped, pools, max_backends=max_backends, max_exact_columns=columns)
        if again.counts is None:
            continue
        try:
            candidate = _placed(problem, grouped, again, pools)
        except UnsatisfiableError:
            continue
        if candidate.cost < best.cost:
            best = candidate
    return _Outcome(best.placement, best.bins, best.cost, min(best.cost, bound))


#: Capacity factors tried on servers whose units first fit could not pack, in
#: components of at most ``_DERATE_MAX_UNITS`` units (each try solves the
#: relaxation again).
_DERATINGS = (0.9, 0.75)
_DERATE_MAX_UNITS = 500
_DERATE_EXACT_MAX_UNITS = 100


class _Placed(Struct):
    placement: dict[str, list[Unit]]
    bins: dict[str, Bins]
    cost: int
    failed: frozenset[str]
    """Servers that needed repair."""


def _placed(
    problem: Problem, grouped: Sequence[Group], relaxed: Pooled, servers: Mapping[str, Server]
) -> _Placed:
    """Step 5: the relaxation's units packed into its instances, repaired where needed.

    A server whose units with nowhere else to go do not fit what it may use of a
    quota it shares is packed again keeping its rounded-up instances, the
    others sharing the quota giving back instead (:func:`_protecting`): their
    units may have dedicated options to go to (aws ``users`` 15,000, seed 10:
    rounding gave back a Multi-AZ instance, and 607 resources that only
    Multi-AZ serves had no room).
    """
    tried: set[str] = set()
    while True:
        try:
            return _placed_once(problem, grouped, relaxed, servers)
        except _StuckError as stuck:
            again = None if stuck.backend in tried else _protecting(relaxed, servers, stuck.backend)
            if again is None:
                raise stuck.error from None
            tried.add(stuck.backend)
            relaxed = again


class _StuckError(Exception):
    """Units that must stay on ``backend`` did not fit its share of a shared quota."""

    def __init__(self, backend: str, error: UnsatisfiableError) -> None:
        super().__init__(backend)
        self.backend = backend
        self.error = error


def _protecting(relaxed: Pooled, servers: Mapping[str, Server], backend: str) -> Pooled | None:
    """``relaxed`` with ``backend`` keeping its rounded-up instances and the other servers
    sharing its quota giving back as many quota units, their cheapest instances first;
    ``None`` when its quota is its own, nothing was given back from it, or they cannot."""
    key = servers[backend].quota_key
    members = sorted(n for n in relaxed.instances if n != backend and servers[n].quota_key == key)
    if not members or backend not in relaxed.capped:
        return None
    kept = {n: dict(relaxed.capped.get(n, relaxed.instances[n])) for n in members}
    mine = relaxed.instances[backend]
    over = sum(s.units * c for s, c in mine) - servers[backend].quota
    over += sum(s.units * c for counts in kept.values() for s, c in counts.items())
    while over > 0:
        candidates = [(s.fee_micro, n, s) for n in members for s, c in kept[n].items() if c > 0]
        if not candidates:
            return None
        _, name, shape = min(candidates, key=lambda row: (row[0], row[1], row[2].units))
        kept[name][shape] -= 1
        over -= shape.units
    capped = dict(relaxed.capped)
    capped[backend] = mine
    for name, counts in kept.items():
        capped[name] = tuple((s, c) for s, c in counts.items() if c > 0)
    return replace(relaxed, capped=capped)


def _placed_once(
    problem: Problem, grouped: Sequence[Group], relaxed: Pooled, servers: Mapping[str, Server]
) -> _Placed:
    assert relaxed.counts is not None
    placement, pools = _expand(grouped, relaxed.counts)
    bins: dict[str, Bins] = {}
    failed: set[str] = set()
    spilled: list[Unit] = []
    order = sorted(b for b in placement if b in servers)
    budget = _Budget(servers, relaxed, order)
    for backend in order:
        placed = placement[backend]
        counts = relaxed.instances.get(backend, ())
        pooled = sum(len(pools.get((backend, shape), ())) for shape, _ in counts)
        first = _per_shape(pools, backend, counts) if pooled == len(placed) else None
        mine = budget.server(backend)
        try:
            packing = _pack(problem, backend, mine, placed, counts, first=first, servers=servers)
            capped = relaxed.capped.get(backend)
            if capped is not None and _used(mine, packing.bins) > mine.quota:
                # Rounded up, the relaxation's instances passed the quota, and packing
                # them did not merge them back under it: the instances within it instead.
                packing = _pack(problem, backend, mine, placed, capped, first=None, servers=servers)
        except UnsatisfiableError as error:
            raise _StuckError(backend, error) from None
        budget.spend(backend, _used(mine, packing.bins))
        if packing.failed:
            failed.add(backend)
        for unit in packing.moved:
            spill(unit, placement, servers)
        spilled.extend(packing.moved)
        bins[backend] = packing.bins
    if spilled:
        moved = {id(u) for u in spilled}
        for backend in servers:
            if backend in placement:
                placement[backend] = [u for u in placement[backend] if id(u) not in moved]
    _check_held(problem, placement, bins, servers)
    return _Placed(placement, bins, _cost(placement, bins), frozenset(failed))


class _Packing(Struct):
    bins: Bins
    moved: list[Unit]
    """Units leaving the server for their dedicated options."""
    failed: bool
    """Whether the instances had to be chosen again (the server needed repair)."""


class _Budget:
    """What each server may use of its quota while placement packs the servers in
    turn: a quota shared by several (:attr:`.Server.group`) holds back what the
    relaxation gave those still to pack, and each packed one's instances.

    The relaxation keeps each group within its quota (rounded up, within it
    again: :attr:`.Pooled.capped`), so every server gets at least what the
    relaxation gave it; what repair may open beyond that comes from the
    quota's slack, first come.
    """

    def __init__(
        self, servers: Mapping[str, Server], relaxed: Pooled, order: Sequence[str]
    ) -> None:
        self._servers = servers
        self._left: dict[str, int] = {}
        """Per quota key: the quota minus what the servers packed so far use."""
        self._held: dict[str, int] = {}
        """Per server still to pack: the quota units its relaxation's instances use."""
        for name in order:
            server = servers[name]
            self._left.setdefault(server.quota_key, server.quota)
            counts = relaxed.capped.get(name, relaxed.instances.get(name, ()))
            self._held[name] = sum(shape.units * n for shape, n in counts)
        self._waiting: dict[str, int] = {}
        for name in order:
            key = servers[name].quota_key
            self._waiting[key] = self._waiting.get(key, 0) + self._held[name]

    def server(self, name: str) -> Server:
        """``name``'s server with the quota it may use now."""
        server = self._servers[name]
        key = server.quota_key
        self._waiting[key] -= self._held.pop(name)
        allowed = self._left[key] - self._waiting[key]
        return server if allowed == server.quota else replace(server, quota=max(allowed, 0))

    def spend(self, name: str, used: int) -> None:
        self._left[self._servers[name].quota_key] -= used


def _pack(
    problem: Problem,
    backend: str,
    server: Server,
    placed: Sequence[Unit],
    counts: Sequence[tuple[Shape, int]],
    *,
    first: Bins | None,
    servers: Mapping[str, Server],
) -> _Packing:
    """A server's units packed into the instances ``counts`` (``first`` if already
    packed), else into instances chosen again within ``server``'s quota (its share of
    a shared one); changes nothing it is given."""
    shapes = [shape for shape, count in counts for _ in range(count)]
    packed = first
    moved: list[Unit] = []
    if packed is None and server.used(shapes) >= server.quota:
        placed, moved = shed(backend, placed, shapes, servers)
    if packed is None:
        packed = place(placed, shapes)
    failed = packed is None
    if packed is None:
        packed = cheapest_packing(placed, server.shapes, server.quota)
    if packed is None:
        packed, left = repair(placed, shapes, server, servers)
        stuck = [u for u in left if not spillable(u, servers)]
        if stuck:
            from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it

            raise conflicts.packing(problem, backend, sorted(m for u in stuck for m in u.members))
        moved = [*moved, *left]
    tight = tightened(packed, server.shapes)
    if _used(server, tight) > server.quota:
        # A cheaper shape can use more of the quota (a small cache with a replica
        # is two nodes): at the quota, the instances as packed.
        tight = [(shape, members) for shape, members in packed if members]
    return _Packing(repacked(backend, server, tight), moved, failed)


def _shapes_of(bins: Mapping[str, Bins]) -> dict[str, list[Shape]]:
    """Per server, the shapes of its instances that hold units."""
    return {name: [shape for shape, members in packed if members] for name, packed in bins.items()}


def _used(server: Server, bins: Bins) -> int:
    """The quota units the instances of ``bins`` that hold units use."""
    return server.used(shape for shape, members in bins if members)


def _check_held(
    problem: Problem,
    placement: Mapping[str, Sequence[Unit]],
    bins: Mapping[str, Bins],
    servers: Mapping[str, Server],
) -> None:
    """Every unit on a server sits on exactly one of its instances, within the server's
    quota, or the planner stops.

    A unit on a server but on no instance would be priced without its
    instance's fee and deployed nowhere: a plan cheaper than possible,
    even one called optimal.  Packing bugs have done this at scale (the
    ``users`` draw of 5,000 resources on aws), and rounding once opened more
    instances than the quota (aws ``users`` 1,500, seed 10: 41 of 40, see
    :func:`.pooled.solve_pooled`); this check, linear in the units, turns
    such a bug into an error instead of a wrong plan.
    """
    over = over_quota(_shapes_of(bins), servers)
    if over is not None:
        names, used, quota = over
        whose = "its" if len(names) == 1 else "their shared"
        raise PlanError(
            f"the planner opened instances of {' and '.join(names)} using {used} units of"
            f" {whose} quota of {quota}",
            where=problem.blueprint.app,
            fix="report this app to Skaal; planning with --debug shows where it happened",
        )
    for backend, packed in bins.items():
        held = [id(u) for _, members in packed for u in members]
        if sorted(held) != sorted(id(u) for u in placement.get(backend, ())):
            raise PlanError(
                f"the planner lost track of resources on {backend} while packing its instances",
                where=problem.blueprint.app,
                fix="report this app to Skaal; planning with --debug shows where it happened",
            )


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


def _expand(
    grouped: Sequence[Group], counts: Sequence[Sequence[tuple[str, Shape | None, int]]]
) -> tuple[dict[str, list[Unit]], dict[tuple[str, Shape], list[Unit]]]:
    """The pooled counts as units per backend and per (server, shape), a group's units in order."""
    placement: dict[str, list[Unit]] = {}
    pools: dict[tuple[str, Shape], list[Unit]] = {}
    for group, row in zip(grouped, counts, strict=True):
        members = iter(group.units)
        for backend, shape, count in row:
            taken = list(itertools.islice(members, count))
            placement.setdefault(backend, []).extend(taken)
            if shape is not None:
                pools.setdefault((backend, shape), []).extend(taken)
    return placement, pools


def _per_shape(
    pools: Mapping[tuple[str, Shape], list[Unit]],
    backend: str,
    counts: Sequence[tuple[Shape, int]],
) -> Bins | None:
    """First fit of each shape's units into that shape's instances (``None`` if one fails)."""
    out: Bins = []
    for shape, count in counts:
        packed = first_fit(pools.get((backend, shape), []), [shape] * count)
        if packed is None:
            return None
        out.extend(packed)
    return out


def _cost(placement: Mapping[str, Sequence[Unit]], bins: Mapping[str, Bins]) -> int:
    own = 0
    for backend, placed in placement.items():
        # units alike share their options tuple: each is searched once per backend
        costs: dict[int, int] = {}
        for unit in placed:
            cost = costs.get(id(unit.options))
            if cost is None:
                cost = costs[id(unit.options)] = next(
                    o.cost for o in unit.options if o.backend == backend
                )
            own += cost
    fees = sum(shape.fee_micro for packed in bins.values() for shape, _ in packed)
    return own + fees


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
    )
