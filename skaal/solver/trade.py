"""New or larger instances for units on dedicated options, paid for by what they save.

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
dedicated options.

An instance may also run a larger shape of its server, where the quota
allows it (on RDS every class counts as one instance, so even at a full
quota), its new room filled the same way: what the units save less the
shape's extra fee is what growing gains.  On aws ``users`` 1,500 (seed 7)
the 40 RDS instances were all in use, each holding units that cannot leave,
and a Multi-AZ db.t4g.micro grown to a db.m7g.xlarge took two maps off
DynamoDB for $1,112.69 a month less ($1,427.27 with the steps after).

The move gaining most is made, and the offers are made again, at most
:data:`MAX_TRADES` times.  No server starts or stops, so no
network fee changes; each move lowers the plan's cost by its gain.  The
units a closed instance sends away may come back through :mod:`.backfill`,
which runs after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct

from skaal.solver.decompose import Unit
from skaal.solver.exchange import candidates
from skaal.solver.place import limits, load
from skaal.solver.repair import dedicated
from skaal.solver.servers import Bins, Server, Shape, quota_used

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["MAX_TRADES", "trade"]

#: Moves made at most per component: each is a new instance, so a bound on work.
MAX_TRADES = 64


class _Move(Struct, frozen=True):
    gain: int
    """Micro-dollars a month the plan saves by the move."""
    server: str
    shape: Shape
    units: tuple[Unit, ...]
    """The units on dedicated options the new (or grown) instance takes."""
    closed: tuple[str, int] | None
    """The instance closed for it (server, index in its bins), if the quota is full."""
    grown: int | None = None
    """The instance of ``server`` (index in its bins) that runs ``shape`` instead of its
    own and takes ``units`` beside its own; ``None``: ``units`` open a new instance."""


def trade(
    placement: dict[str, list[Unit]], bins: dict[str, Bins], servers: Mapping[str, Server]
) -> int:
    """Open or grow instances for units on dedicated options where they pay for
    themselves, closing one saving less where the quota is full (module docstring), in
    place; how many instances were opened or grown."""
    done = 0
    loads: dict[str, list[tuple[int, ...]]] = {}  # per server, what each instance holds
    while done < MAX_TRADES:
        move = _best(placement, bins, servers, loads)
        if move is None:
            break
        _make(move, placement, bins, servers)
        loads.pop(move.server, None)
        if move.closed is not None:
            loads.pop(move.closed[0], None)
        done += 1
    return done


def _best(
    placement: Mapping[str, Sequence[Unit]],
    bins: Mapping[str, Bins],
    servers: Mapping[str, Server],
    loads: dict[str, list[tuple[int, ...]]],
) -> _Move | None:
    """The move gaining most (the first found among equal gains), or ``None``.
    ``loads`` keeps, per server, what each of its instances holds in each dimension
    (filled here; the caller drops a server's when its instances change)."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

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
        usage = np.array([unit.usage for _, unit in offered], dtype=np.int64)
        for shape in server.shapes:
            taken = _fill(shape.capacity, offered, usage)
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
        if name not in loads:
            loads[name] = [load(members, len(shape.capacity)) for shape, members in bins[name]]
        grown = _grown(
            name, bins[name], server, loads[name], offered=offered, usage=usage, left=left
        )
        if grown is not None and (best is None or grown.gain > best.gain):
            best = grown
    return best


def _grown(
    name: str,
    packed: Bins,
    server: Server,
    loads: Sequence[tuple[int, ...]],
    *,
    offered: Sequence[tuple[int, Unit]],
    usage: NDArray[np.int64],
    left: int,
) -> _Move | None:
    """The instance of server ``name`` gaining most by running a dearer shape that the
    quota's room allows, its new room filled with the units ``offered``; ``None`` when
    none gains.  ``loads``: what each instance holds, in each dimension; ``usage``: what
    each unit offered needs."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

    shapes = server.shapes
    # Which (instance, shape) pairs leave room for the smallest unit offered, at a
    # higher fee and within the quota: numpy weighs them all at once (gcp ``users``
    # 100,000 runs 8,000 instances through here).
    capacity = np.array([limits(shape.capacity) for shape in shapes], dtype=np.int64)
    fees = np.array([shape.fee_micro for shape in shapes], dtype=np.int64)
    units = np.array([shape.units for shape in shapes], dtype=np.int64)
    own = [shape for shape, _ in packed]
    room = capacity[None, :, :] - np.array(loads, dtype=np.int64)[:, None, :]
    worth = (room >= usage.min(axis=0)).all(axis=2)
    worth &= fees[None, :] > np.array([s.fee_micro for s in own], dtype=np.int64)[:, None]
    worth &= units[None, :] - np.array([s.units for s in own], dtype=np.int64)[:, None] <= left
    best: _Move | None = None
    for index, k in zip(*np.nonzero(worth), strict=True):
        shape = shapes[k]
        free = tuple(
            None if cap is None else int(r)
            for cap, r in zip(shape.capacity, room[index, k], strict=True)
        )
        taken = _fill(free, offered, usage)
        gain = sum(saving for saving, _ in taken) - (shape.fee_micro - own[index].fee_micro)
        if gain > 0 and (best is None or gain > best.gain):
            best = _Move(gain, name, shape, tuple(u for _, u in taken), None, int(index))
    return best


def _fill(
    capacity: Sequence[int | None], offered: Sequence[tuple[int, Unit]], usage: NDArray[np.int64]
) -> list[tuple[int, Unit]]:
    """The ``(saving, unit)`` offered that room ``capacity`` (``None``: unlimited) takes,
    in order, each while it still holds it; ``usage``: what each unit offered needs.
    Each step finds the next unit that fits with numpy (thousands are offered at
    100,000 resources, and only a few fit)."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

    room = np.array(limits(capacity), dtype=np.int64)
    taken: list[tuple[int, Unit]] = []
    at = 0
    while at < len(offered):
        fits = np.flatnonzero((usage[at:] <= room).all(axis=1))
        if not fits.size:
            break
        step = int(fits[0])
        at += step
        taken.append(offered[at])
        room -= usage[at]
        at += 1
    return taken


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
    if move.grown is None:
        bins[move.server] = [*bins[move.server], (move.shape, list(move.units))]
    else:
        packed = list(bins[move.server])
        _, members = packed[move.grown]
        packed[move.grown] = (move.shape, [*members, *move.units])
        bins[move.server] = packed
