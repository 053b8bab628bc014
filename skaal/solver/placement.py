"""Step 5 of :mod:`.optimise`: the relaxation's units packed into the instances it counted.

Each server's units go into the instances the pooled relaxation (:mod:`.pooled`)
chose for them, by first fit per shape, then by first fit, dot-product fit and z3
over all of them (:func:`.place.place`).  When those instances cannot hold a
few dozen units, a packing is proven cheapest without a search where one can
be: packed into the instances of the bound on every packing's fees
(:mod:`.cover`), or as repair grows them, at that bound; else z3's cheapest
packing (:func:`.exact.cheapest_packing`).  Otherwise repair opens instances
and spills what still fits nowhere to its dedicated option (:mod:`.repair`).
Each server's instances are then tightened and, for a few units, repacked
(:mod:`.repack`).  Once every server is packed, units on dedicated options
move into room instances have left (:mod:`.backfill`), and units a server at
its quota spilled get new instances of another running server where what
they save pays the fee (:mod:`.rehome`).  On the plan a component keeps, units
on dedicated options take the places of units saving less on a server
(:func:`exchanged`, :mod:`.exchange`), new instances open for those whose
savings pay the fee (at a full quota in place of the instance saving least)
or instances move up to dearer shapes whose new room they pay for
(:mod:`.trade`), instances close or shrink when the units they let go fit
room elsewhere for less than the fee saved (:mod:`.consolidate`), and a
server of a few hundred units gets cheaper instances for them where the fee
bound's own instances hold them or HiGHS finds some
(:func:`.repack.repacked_large`).

A quota several servers share is spent in turn (:class:`_Budget`): each server
may use what the others still to pack do not hold back.  The last guard
(:func:`_check_held`) turns a unit on no instance, or a quota passed, into an
error rather than a plan.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from skaal.errors import PlanError, UnsatisfiableError
from skaal.solver.backfill import backfill
from skaal.solver.consolidate import consolidate
from skaal.solver.cover import at_floor, fee_floor, tight, within_floor
from skaal.solver.decompose import Group, Unit
from skaal.solver.exact import CHEAPEST_MAX_UNITS, cheapest_packing
from skaal.solver.exchange import exchange
from skaal.solver.place import first_fit, place
from skaal.solver.problem import Problem
from skaal.solver.rehome import rehome
from skaal.solver.repack import repacked, repacked_large
from skaal.solver.repair import repair, shed, spill, spillable
from skaal.solver.servers import Bins, Server, Shape, over_quota
from skaal.solver.trade import trade

if TYPE_CHECKING:
    from skaal.solver.pooled import Pooled

__all__ = ["Placed", "exchanged", "placed"]


class Placed(Struct):
    """A component's units per backend and its servers' instances, packed."""

    placement: dict[str, list[Unit]]
    bins: dict[str, Bins]
    cost: int
    failed: frozenset[str]
    """Servers that needed repair."""


def placed(
    problem: Problem, grouped: Sequence[Group], relaxed: Pooled, servers: Mapping[str, Server]
) -> Placed:
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


def exchanged(problem: Problem, placed: Placed, servers: Mapping[str, Server]) -> Placed:
    """``placed`` with units on dedicated options exchanged for units on servers saving
    less there (:mod:`.exchange`), given new or larger instances that pay for
    themselves (:mod:`.trade`), then backfilled again, and with instances closed or shrunk
    where the units they let go fit elsewhere for less than the fee saved
    (:mod:`.consolidate`), the instances of servers of many units chosen again
    (:func:`.repack.repacked_large`) and backfilled: never dearer.

    Run once, on the plan a component keeps, not on every placement it tries:
    it weighs each candidate against a server's units (run on both placements
    of aws ``users`` 10,000, its first version took 0.26 s each), and it only
    lowers a plan's cost.
    """
    placement = {backend: list(units) for backend, units in placed.placement.items()}
    bins = {
        backend: [(shape, list(members)) for shape, members in packed]
        for backend, packed in placed.bins.items()
    }
    swapped = exchange(placement, bins, servers)
    if swapped:
        backfill(placement, bins, servers)
    traded = trade(placement, bins, servers)
    if traded:
        backfill(placement, bins, servers)  # the units closed instances sent away
    merged = consolidate(placement, bins, servers)
    large = repacked_large(bins, servers)
    if large:
        backfill(placement, bins, servers)  # into the room the new instances have
    if not (swapped or traded or merged or large):
        return placed
    if problem.max_backends is not None and _in_use(placement) > problem.max_backends:
        return placed  # a unit went to a dedicated option no other unit used
    _check_held(problem, placement, bins, servers)
    return Placed(placement, bins, _cost(placement, bins), placed.failed)


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
) -> Placed:
    assert relaxed.counts is not None
    placement, pools = _expand(grouped, relaxed.counts, relaxed.restricted)
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
            if capped is not None and mine.used_by(packing.bins) > mine.quota:
                # Rounded up, the relaxation's instances passed the quota, and packing
                # them did not merge them back under it: the instances within it instead.
                packing = _pack(problem, backend, mine, placed, capped, first=None, servers=servers)
        except UnsatisfiableError as error:
            raise _StuckError(backend, error) from None
        budget.spend(backend, mine.used_by(packing.bins))
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
    backfill(placement, bins, servers)
    if spilled and rehome(spilled, placement, bins, servers, budget):
        backfill(placement, bins, servers)  # into the room the new instances left
    _check_held(problem, placement, bins, servers)
    return Placed(placement, bins, _cost(placement, bins), frozenset(failed))


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
        self._waiting: dict[str, int] = {}
        """Per quota key: what the servers still to pack hold."""
        for name in order:
            server = servers[name]
            key = server.quota_key
            self._left.setdefault(key, server.quota)
            counts = relaxed.capped.get(name, relaxed.instances.get(name, ()))
            self._held[name] = sum(shape.units * n for shape, n in counts)
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

    def left(self, name: str) -> int:
        """What server ``name`` may still use of its quota, every server packed."""
        return self._left[self._servers[name].quota_key]


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
    repaired: tuple[Bins, list[Unit]] | None = None
    proven = False  # already tightened: a packing at the bound on every packing's fees
    if packed is None and len(placed) <= CHEAPEST_MAX_UNITS:
        # a packing no other pays less for (:mod:`.cover`), else z3's cheapest
        packed, repaired = _proven_cheapest(placed, shapes, server, servers)
        proven = packed is not None
        if packed is None:
            packed = cheapest_packing(placed, server.shapes, server.quota)
    if packed is None:
        packed, left = repaired or repair(placed, shapes, server, servers)
        stuck = [u for u in left if not spillable(u, servers)]
        if stuck:
            from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it

            raise conflicts.packing(problem, backend, sorted(m for u in stuck for m in u.members))
        moved = [*moved, *left]
    if proven:  # no packing of these units pays less
        return _Packing(packed, moved, failed)
    return _Packing(repacked(backend, server, tight(packed, server)), moved, failed)


def _proven_cheapest(
    placed: Sequence[Unit], shapes: Sequence[Shape], server: Server, servers: Mapping[str, Server]
) -> tuple[Bins | None, tuple[Bins, list[Unit]] | None]:
    """A packing of ``placed`` whose fees are the least any packing within the quota pays
    (:func:`.cover.fee_floor`), tried without z3: first fit, then dot-product fit, into
    the bound's own instances (:func:`.cover.at_floor`), then repair of the relaxation's
    ``shapes``; and repair's answer if it was made (the caller's fallback)."""
    cover = fee_floor(placed, server.shapes, server.quota)
    if cover is None:
        return None, None
    proven = at_floor(placed, cover, server)
    if proven is not None:
        return proven, None
    repaired = repair(placed, list(shapes), server, servers)
    bins, left = repaired
    return (None if left else within_floor(bins, server, cover.floor)), repaired


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
    over = over_quota(bins, servers)
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


def _expand(
    grouped: Sequence[Group],
    counts: Sequence[Sequence[tuple[str, Shape | None, int]]],
    restricted: frozenset[str] = frozenset(),
) -> tuple[dict[str, list[Unit]], dict[tuple[str, Shape], list[Unit]]]:
    """The pooled counts as units per backend and per (server, shape), a group's units in
    order; units placed off a ``restricted`` backend (a count pool the relaxation was kept
    within, :mod:`.count_rows`) lose their option there, so that nothing puts them back."""
    placement: dict[str, list[Unit]] = {}
    pools: dict[tuple[str, Shape], list[Unit]] = {}
    for group, row in zip(grouped, counts, strict=True):
        members = iter(group.units)
        kept = group.options
        if restricted and any(o.backend in restricted for o in kept):
            kept = tuple(o for o in kept if o.backend not in restricted)
        for backend, shape, count in row:
            taken = list(itertools.islice(members, count))
            if kept is not group.options and backend not in restricted:
                taken = [Unit(u.members, kept, u.usage) for u in taken]
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


def _in_use(placement: Mapping[str, Sequence[Unit]]) -> int:
    """How many backends hold units."""
    return sum(1 for units in placement.values() if units)


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
