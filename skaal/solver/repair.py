"""Packing what the relaxation's instances could not hold: shedding, repair, spilling.

Placement (:mod:`.optimise`, step 5) packs each server's units into the
instances the pooled relaxation counted.  When they do not fit:

- a server already at its quota sheds units first (:func:`shed`): no
  instance can be opened for them, so the units that free the overflow
  for least move to their dedicated options before packing;
- :func:`repair` opens instances until first fit places every unit,
  within the quota, and hands back what still fits nowhere;
- :func:`spill` moves such a unit to its cheapest dedicated option.

Every function here is deterministic and pure but for the lists it is
given to fill; none imports a solver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skaal.solver.decompose import Unit, UnitOption
from skaal.solver.place import balanced_fit_partial, fees, first_fit_grown, first_fit_partial
from skaal.solver.servers import Bins, Server, Shape

__all__ = ["dedicated", "on_dedicated", "repair", "saving", "shed", "spill", "spillable"]


def shed(
    backend: str, units: Sequence[Unit], shapes: Sequence[Shape], servers: Mapping[str, Server]
) -> tuple[list[Unit], list[Unit]]:
    """Server ``backend`` at its quota, its ``units`` overflowing its instances pooled: the
    units kept, and those moved to their dedicated options to make room, least regret first.

    Rounding a relaxation that filled the quota's instances to the brim can
    hand the server more than they hold.  No instance can be opened, so some
    units must leave; packing first and moving what it leaves over moves
    the smallest units, hundreds of them (``users`` 10,000 on aws: 1,650
    units, $91,331 a month, for 1,554 writes/s too many).  Instead, each unit
    with a dedicated option is ranked by what moving it adds per share of
    the overflow it relieves, and the cheapest go until the rest fit pooled.
    """
    width = len(units[0].usage) if units else 0
    room: list[float | None] = []
    for d in range(width):
        caps = [s.capacity[d] for s in shapes]
        room.append(None if any(c is None for c in caps) else sum(c or 0 for c in caps))
    used = [sum(column) for column in zip(*(u.usage for u in units), strict=True)]
    over = [0.0 if cap is None else used[d] - cap for d, cap in enumerate(room)]
    if all(x <= 0 for x in over):
        return list(units), []
    regret: dict[int, int] = {}
    for index, unit in enumerate(units):
        option = dedicated(unit, servers)
        if option is not None:
            here = unit.cost_on(backend)
            regret[index] = option.cost - here
    gone: set[int] = set()
    # The dimensions most overflowed (as shares of their room) first; each is
    # relieved by the units that add least per unit of it they free.
    order = sorted(
        (d for d, x in enumerate(over) if x > 0), key=lambda d: -over[d] / (room[d] or 1)
    )
    for d in order:
        if over[d] <= 0:
            continue
        ranked = sorted(
            (regret[i] / min(units[i].usage[d], over[d]), units[i].name, i)
            for i in regret
            if i not in gone and units[i].usage[d] > 0
        )
        for _, _, index in ranked:
            if over[d] <= 0:
                break
            gone.add(index)
            for e, use in enumerate(units[index].usage):
                over[e] -= use
    return (
        [u for i, u in enumerate(units) if i not in gone],
        [u for i, u in enumerate(units) if i in gone],
    )


def repair(
    units: Sequence[Unit], shapes: list[Shape], server: Server, servers: Mapping[str, Server]
) -> tuple[Bins, list[Unit]]:
    """Add instances until first fit places every unit, within the quota.

    Each round adds, for the largest unit left over, the cheapest shape that
    holds it.  When the quota runs out first, the units are also packed
    afresh into instances of the server's largest shape (most per unit of
    the quota, where classes use different amounts of it), and, when units
    with no dedicated option were left over, into the relaxation's instances
    with those first; the packing with the fewest of those left, then the
    least fees and moves, is returned with what still fits nowhere (the
    caller moves it to its dedicated option).
    """
    packed, left = _grow([], units, list(shapes), server, servers, cheapest=True)
    if not left:
        return packed, left
    must = [u for u in units if dedicated(u, servers) is None]
    may = [u for u in units if dedicated(u, servers) is not None]
    tries = [(packed, left)]
    if must and _regret(left, servers)[0]:
        tries.append(_grow(must, may, list(shapes), server, servers, cheapest=True))
    if not server.units_vary or all(_regret(over, servers)[0] for _, over in tries):
        # (a fresh packing of thousands of units into shapes of one or a few GB each
        # takes seconds: only when nothing else places every unit that must stay)
        tries.insert(0, _grow(must, may, [], server, servers, cheapest=False))
    # The cheapest of them (the fresh packing on a tie).  The relaxation's instances
    # grown can hold more than a fresh packing into the largest (gcp ``users``
    # 100,000: Memorystore's quota counts GB, and the relaxation's small instances
    # serve far more operations per GB), once the units with nowhere else to go
    # are packed first.
    return min(tries, key=lambda found: _weighed(found[0], found[1], servers))


def _weighed(bins: Bins, left: Sequence[Unit], servers: Mapping[str, Server]) -> tuple[int, int]:
    """What a packing leaving ``left`` over costs: the units with nowhere else to go,
    then its instances' fees and the moves to dedicated options (micro-dollars)."""
    stuck, moved = _regret(left, servers)
    return stuck, fees(bins) + moved


def _grow(
    must: Sequence[Unit],
    units: Sequence[Unit],
    extra: list[Shape],
    server: Server,
    servers: Mapping[str, Server],
    *,
    cheapest: bool,
) -> tuple[Bins, list[Unit]]:
    """Pack into ``extra`` and open instances for what is left, within the quota.

    Each round opens, for the largest unit left over, the cheapest shape
    that holds it (``cheapest``) or the largest.  With few units left over,
    the instances they alone need by first fit are opened at once and all
    units packed again; when that leaves none over (on every ``users`` draw
    of 500 to 10,000 resources tried, with the same totals to the cent once
    tightened), one packing does the work of one per instance (gcp
    ``users`` 10,000: twenty packings of 3,850 units into 262 instances).
    Otherwise every round packs all units again by first fit, which uses
    the new room best.  With many (a relaxation that filled its instances to the brim in
    two dimensions), the units go in by dot-product fit when that strands
    less money, and the rounds pack only what is left over into the
    instances they open: packing thousands of units again per round would
    take minutes.
    """
    biggest = _largest(server)
    weighted = server.units_vary

    def pick(left: Sequence[Unit]) -> Shape | None:
        holding = [s for s in server.shapes if s.holds(left[0].usage)]
        if not holding:
            return None
        if cheapest:
            return holding[0]
        if weighted:
            return max(holding, key=lambda s: (_per_unit(server, s), -s.fee_micro))
        return biggest if biggest in holding else holding[-1]

    packed, left = first_fit_partial(units, extra, before=must)
    if len(left) <= _FEW_LEFT:
        batch: list[Shape] = []
        rest = left
        while rest:
            shape = pick(rest)
            if shape is None or not _room(server, extra, batch, shape):
                break
            batch.append(shape)
            _, rest = first_fit_partial(left, batch)
        if left and not rest:
            tried, over = first_fit_partial(units, [*extra, *batch], before=must)
            if not over:
                extra.extend(batch)
                return tried, over
        streams: dict[tuple[int, ...], list[Unit]] = {}  # the units' order per largest shape
        while left:
            shape = pick(left)
            if shape is None or not _room(server, extra, (), shape):
                break
            packed, left = first_fit_grown(
                units, extra, shape, packed, before=must, streams=streams
            )
            extra.append(shape)
        return packed, left
    spread, over = balanced_fit_partial(units, extra, before=must)
    if _regret(over, servers) < _regret(left, servers):
        packed, left = spread, over
    firsts = {id(u) for u in must}
    pending_must = [u for u in left if id(u) in firsts]
    pending = [u for u in left if id(u) not in firsts]
    opened: list[Shape] = []
    if not cheapest and all(biggest.holds(u.usage) for u in left):
        # Every round would open ``biggest``, and fewer than ``fewest`` of them cannot
        # hold what is left: those rounds are skipped, the packing is the same (gcp
        # ``users`` 20,000: 310 rounds of first fit over 10,047 units, 28 s).
        room = (server.quota - server.used(extra)) // biggest.units
        opened = [biggest] * max(0, min(_fewest(left, biggest), room) - 1)
    added: Bins = []
    while left:
        shape = pick(left)
        if shape is None or not _room(server, extra, opened, shape):
            break
        opened.append(shape)
        added, left = first_fit_partial(pending, opened, before=pending_must)
    return packed + added, left


def _fewest(units: Sequence[Unit], shape: Shape) -> int:
    """How many instances of ``shape`` ``units`` need at least: their sum in the dimension
    it holds least of (pooled, so first fit needs at least as many)."""
    fewest = 0
    for d, cap in enumerate(shape.capacity):
        if cap:
            fewest = max(fewest, -(-sum(u.usage[d] for u in units) // cap))
    return fewest


def _largest(server: Server) -> Shape:
    """The shape a server at its quota opens for what is left: the dearest, where every
    instance uses one unit of the quota; else the one holding most per unit of the quota
    (:func:`_per_unit`)."""
    if not server.units_vary:
        return max(server.shapes, key=lambda s: (s.fee_micro, s.instance_class.name, s.replicas))
    return max(server.shapes, key=lambda s: (_per_unit(server, s), -s.fee_micro))


def _per_unit(server: Server, shape: Shape) -> float:
    """What one unit of the quota holds on ``shape``: its capacity in each limited
    dimension as a share of the server's largest there, summed, per quota unit.

    Memorystore's quota counts GB: a 1 GB instance serves 50,000 reads/s and a 100 GB
    one 120,000, so at the quota the small ones serve forty times more per GB.
    """
    total = 0.0
    for d, cap in enumerate(shape.capacity):
        top = max((s.capacity[d] or 0 for s in server.shapes), default=0)
        if cap and top:
            total += cap / top
    return total / shape.units


def _room(server: Server, extra: Sequence[Shape], more: Sequence[Shape], shape: Shape) -> bool:
    """Whether the quota leaves room for one more instance of ``shape`` beside those."""
    return server.used(extra) + server.used(more) + shape.units <= server.quota


#: Units left over by the first packing up to which :func:`_grow` packs all units
#: again each time it opens an instance.
_FEW_LEFT = 32


def _regret(left: Sequence[Unit], servers: Mapping[str, Server]) -> tuple[int, int]:
    """How bad leaving ``left`` over is: the units among them with no dedicated option
    (each needs an instance, or the plan fails), then what moving the others to their
    cheapest dedicated options adds at least (micro-dollars)."""
    stuck = 0
    total = 0
    for unit in left:
        option = dedicated(unit, servers)
        if option is None:
            stuck += 1
        else:
            total += option.cost - unit.options[0].cost
    return stuck, total


def spillable(unit: Unit, servers: Mapping[str, Server]) -> bool:
    """Whether ``unit`` has a dedicated option to spill to (:func:`spill`)."""
    return dedicated(unit, servers) is not None


def spill(unit: Unit, placement: dict[str, list[Unit]], servers: Mapping[str, Server]) -> bool:
    """Move a unit no server instance can take to its cheapest dedicated option, if any."""
    option = dedicated(unit, servers)
    if option is None:
        return False
    placement.setdefault(option.backend, []).append(unit)
    return True


def dedicated(unit: Unit, servers: Mapping[str, Server]) -> UnitOption | None:
    """``unit``'s cheapest option that is not a server (its options are cheapest first)."""
    return next((o for o in unit.options if o.backend not in servers), None)


def saving(unit: Unit, name: str, servers: Mapping[str, Server]) -> float:
    """What ``unit`` saves on server ``name`` against its cheapest dedicated option
    (infinite without one: it never leaves)."""
    option = dedicated(unit, servers)
    if option is None:
        return float("inf")
    return float(option.cost - unit.cost_on(name))


def on_dedicated(
    placement: Mapping[str, Sequence[Unit]], servers: Mapping[str, Server]
) -> dict[int, str]:
    """The dedicated option each unit of ``placement`` not on a server is on, by its ``id``."""
    return {
        id(unit): backend
        for backend, units in placement.items()
        if backend not in servers
        for unit in units
    }
