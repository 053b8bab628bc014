"""New instances for units on dedicated options, paid for by closing an instance saving less.

Every step before this one keeps the instances placement opened: backfill
and exchange move units into room those instances have left, and rehome
opens instances only for the units a server at its quota spilled, only
within what the quota has left.  When servers share a quota and it is full,
the split of that quota between them is the relaxation's, rounded: on aws
``users`` 3,000 (seed 9) the 40 RDS instances went 29 to single-AZ and 11
to Multi-AZ, every Multi-AZ instance holding units that cannot leave, while
a queue of 6,400 writes/s sat on SQS paying $32,652 a month more than one
more Multi-AZ db.m7g.2xlarge holding it alone; the single-AZ instance saving
least saved $5,001.

So, once the plan is packed, each running server is offered, per shape, the
units on dedicated options that cost less on it (:func:`.exchange.candidates`),
the largest saving first, each taken while the shape holds it: what they save
less the shape's fee is what opening that instance gains.  Where the quota
has room for it, that is the move; else the instance of the quota's servers
whose units save least over its fee (all of them able to leave, and never a
server's last instance) is closed for it, its units going to their cheapest
dedicated options.  The move gaining most is made, and the offers are made
again, at most :data:`MAX_TRADES` times.  No server starts or stops, so no
network fee changes; each move lowers the plan's cost by its gain.  The
units a closed instance sends away may come back through :mod:`.backfill`,
which runs after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from msgspec import Struct

from skaal.solver.decompose import Unit
from skaal.solver.exchange import candidates
from skaal.solver.place import Bins
from skaal.solver.repair import dedicated
from skaal.solver.servers import Server, Shape, quota_used

__all__ = ["MAX_TRADES", "trade"]

#: Moves made at most per component: each is a new instance, so a bound on work.
MAX_TRADES = 64


class _Move(Struct, frozen=True):
    gain: int
    """Micro-dollars a month the plan saves by the move."""
    server: str
    shape: Shape
    units: tuple[Unit, ...]
    """The units on dedicated options the new instance takes."""
    closed: tuple[str, int] | None
    """The instance closed for it (server, index in its bins), if the quota is full."""


def trade(
    placement: dict[str, list[Unit]], bins: dict[str, Bins], servers: Mapping[str, Server]
) -> int:
    """Open instances for units on dedicated options where they pay for themselves,
    closing one saving less where the quota is full (module docstring), in place; how
    many instances were opened."""
    done = 0
    while done < MAX_TRADES:
        move = _best(placement, bins, servers)
        if move is None:
            break
        _make(move, placement, bins, servers)
        done += 1
    return done


def _best(
    placement: Mapping[str, Sequence[Unit]], bins: Mapping[str, Bins], servers: Mapping[str, Server]
) -> _Move | None:
    """The move gaining most (the first found among equal gains), or ``None``."""
    used = quota_used(bins, servers)
    best: _Move | None = None
    closing: dict[str, list[tuple[int, int, str, int]]] = {}
    for name in sorted(bins):
        if not bins[name]:
            continue
        server = servers[name]
        offered = candidates(name, placement, servers)
        if not offered:
            continue
        left = server.quota - used[server.quota_key]
        least = _least_after(offered)
        for shape in server.shapes:
            taken = _fill(shape, offered, least)
            gain = sum(saving for saving, _ in taken) - shape.fee_micro
            if gain <= 0:
                continue
            closed: tuple[str, int] | None = None
            if shape.units > left:
                key = server.quota_key
                if key not in closing:
                    closing[key] = _closable(bins, servers, key)
                found = next((c for c in closing[key] if c[1] >= shape.units - left), None)
                if found is None:
                    continue
                loss, _, where, index = found
                gain -= loss
                closed = (where, index)
            if gain > 0 and (best is None or gain > best.gain):
                best = _Move(gain, name, shape, tuple(u for _, u in taken), closed)
    return best


def _fill(
    shape: Shape, offered: Sequence[tuple[int, Unit]], least: Sequence[tuple[int, ...]]
) -> list[tuple[int, Unit]]:
    """The ``(saving, unit)`` offered that one instance of ``shape`` takes, in order,
    each while it still holds it; it stops once the room left in some dimension is
    less than every unit still offered needs there (``least``, :func:`_least_after`)."""
    room = list(shape.capacity)
    taken: list[tuple[int, Unit]] = []
    for (saving, unit), floor in zip(offered, least, strict=True):
        if any(r is not None and r < f for r, f in zip(room, floor, strict=True)):
            break
        if all(r is None or u <= r for u, r in zip(unit.usage, room, strict=True)):
            room = [None if r is None else r - u for u, r in zip(unit.usage, room, strict=True)]
            taken.append((saving, unit))
    return taken


def _least_after(offered: Sequence[tuple[int, Unit]]) -> list[tuple[int, ...]]:
    """Per position of ``offered``, the least usage in each dimension from there on."""
    least: list[tuple[int, ...]] = []
    low: tuple[int, ...] | None = None
    for _, unit in reversed(offered):
        low = unit.usage if low is None else tuple(map(min, low, unit.usage))
        least.append(low)
    least.reverse()
    return least


def _closable(
    bins: Mapping[str, Bins], servers: Mapping[str, Server], key: str
) -> list[tuple[int, int, str, int]]:
    """The instances of the servers under quota ``key`` that may close, as ``(loss,
    quota units, server, index)``, the least loss first: what their units save over
    their dedicated options, less the instance's fee.  An instance holding a unit
    without a dedicated option, or a server's only instance, never closes."""
    found: list[tuple[int, int, str, int]] = []
    for name in sorted(bins):
        server = servers[name]
        if server.quota_key != key or len(bins[name]) < 2:
            continue
        for index, (shape, members) in enumerate(bins[name]):
            saved = 0
            for unit in members:
                option = dedicated(unit, servers)
                if option is None:
                    break
                saved += option.cost - unit.cost_on(name)
            else:
                found.append((saved - shape.fee_micro, shape.units, name, index))
    found.sort()
    return found


def _make(
    move: _Move,
    placement: dict[str, list[Unit]],
    bins: dict[str, Bins],
    servers: Mapping[str, Server],
) -> None:
    """Carry out ``move`` on ``placement`` and ``bins``."""
    if move.closed is not None:
        where, index = move.closed
        packed = bins[where]
        _, members = packed[index]
        bins[where] = packed[:index] + packed[index + 1 :]
        leaving = {id(u) for u in members}
        placement[where] = [u for u in placement[where] if id(u) not in leaving]
        for unit in members:
            option = dedicated(unit, servers)
            assert option is not None  # only instances whose units all have one close
            placement.setdefault(option.backend, []).append(unit)
    arriving = {id(u) for u in move.units}
    for backend, units in placement.items():
        if backend not in servers:
            placement[backend] = [u for u in units if id(u) not in arriving]
    placement.setdefault(move.server, []).extend(move.units)
    bins[move.server] = [*bins[move.server], (move.shape, list(move.units))]
