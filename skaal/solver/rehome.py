"""Units a server at its quota spilled, given new instances of another server.

A server at its quota cannot open an instance for the units its packing
could not hold, so :func:`.repair.spill` moves them to their cheapest
dedicated option.  For a unit of a thousand writes a second that option is
Firestore or Pub/Sub at thousands of dollars a month, while another server
of the same component with quota to spare holds it for a share of an
instance: on gcp ``users`` 10,000 (seed 3) Memorystore, at its 1,000 GB,
spilled 134 such units, and Cloud SQL runs hundreds of instances.

Once every server is packed (and :mod:`.backfill` has filled the room left),
each spilled unit still on a dedicated option is offered, in rounds, to its
options on servers already running instances that cost less than where it
went: the cheapest first, the next in the following round if that one kept
it out.  Each server packs the units offered to it into new instances within
what its quota has left (:func:`.repair.repair`), which are tightened
(:func:`.place.tightened`); an instance is kept only when what its units save
pays its fee, and its units move onto it.  No server is started, so no
network fee changes, and the plan only gets cheaper: the gcp draw above by
$36,974.80 a month (127 units onto Cloud SQL; $6,111 above its bound, was
$43,086), aws ``users`` 1,500 seed 3 by $533.49, the other 40 ``users``
draws of 1,000 to 10,000 resources and the 70 of 100 to 400 unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from msgspec.structs import replace

from skaal.solver.decompose import Unit, UnitOption
from skaal.solver.place import tightened
from skaal.solver.repair import on_dedicated, repair
from skaal.solver.servers import Bins, Server

__all__ = ["Quotas", "rehome"]


class Quotas(Protocol):
    """What each server may still use of its quota (shared quotas counted once)."""

    def left(self, name: str) -> int:
        """The quota units server ``name`` may still use."""
        ...

    def spend(self, name: str, used: int) -> None:
        """Server ``name`` opened instances using ``used`` quota units."""
        ...


def rehome(
    spilled: Sequence[Unit],
    placement: dict[str, list[Unit]],
    bins: dict[str, Bins],
    servers: Mapping[str, Server],
    quotas: Quotas,
) -> int:
    """Move ``spilled`` units onto new instances of running servers where that saves
    (module docstring), in place; how many units moved."""
    wanted = {id(u) for u in spilled}
    where = {i: b for i, b in on_dedicated(placement, servers).items() if i in wanted}
    # Each unit's options on running servers cheaper than where it is, cheapest first;
    # round k offers every unit still dedicated its k-th.
    choices: dict[int, list[UnitOption]] = {}
    for unit in spilled:
        if id(unit) in where:
            cost = unit.cost_on(where[id(unit)])
            choices[id(unit)] = [o for o in unit.options if o.cost < cost and bins.get(o.backend)]
    moved = 0
    for round_ in range(max(map(len, choices.values()), default=0)):
        offered: dict[str, list[tuple[int, Unit]]] = {}
        for unit in spilled:
            options = choices.get(id(unit), [])
            if round_ < len(options) and id(unit) in where:
                option = options[round_]
                offered.setdefault(option.backend, []).append(
                    (unit.cost_on(where[id(unit)]) - option.cost, unit)
                )
        for name in sorted(offered):
            moved += _open(
                name,
                offered[name],
                placement=placement,
                bins=bins,
                servers=servers,
                quotas=quotas,
                where=where,
            )
    return moved


def _open(
    name: str,
    offered: Sequence[tuple[int, Unit]],
    *,
    placement: dict[str, list[Unit]],
    bins: dict[str, Bins],
    servers: Mapping[str, Server],
    quotas: Quotas,
    where: dict[int, str],
) -> int:
    """New instances of server ``name`` for the ``(saving, unit)`` offered to it, those
    paying their fee kept and their units moved onto them; how many moved."""
    server = servers[name]
    left = quotas.left(name)
    if left <= 0:
        return 0
    saving = {id(unit): gain for gain, unit in offered}
    # the largest savings first, in a fixed order
    units = [u for _, u in sorted(offered, key=lambda item: (-item[0], item[1].name))]
    limited = server if left == server.quota else replace(server, quota=left)
    packed, _ = repair(units, [], limited, servers)
    found = tightened([(shape, members) for shape, members in packed if members], server.shapes)
    if server.used(shape for shape, _ in found) > left:
        found = [(shape, members) for shape, members in packed if members]
    kept = [
        (shape, members)
        for shape, members in found
        if sum(saving[id(u)] for u in members) > shape.fee_micro
    ]
    if not kept:
        return 0
    moving = {id(u) for _, members in kept for u in members}
    for backend in {where[i] for i in moving}:
        placement[backend] = [u for u in placement[backend] if id(u) not in moving]
    for i in moving:
        del where[i]
    placement.setdefault(name, []).extend(u for _, members in kept for u in members)
    bins[name] = [*bins[name], *kept]
    quotas.spend(name, server.used(shape for shape, _ in kept))
    return len(moving)
