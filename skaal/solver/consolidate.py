"""Instances closed when room elsewhere and dedicated options hold their units for less.

Tightening (:func:`.place.tightened`) merges two instances of one server into
one shape that holds them both; nothing spreads an instance's units over the
room several others have left, and each server is packed on its own, so the
room of another server's instances is never looked at.  On gcp ``users`` 200
(seed 2) a 2-vCPU Cloud SQL instance ($100.38 a month) held 17 resources that
fit the room of another 2-vCPU instance and of a Cloud SQL HA 16-vCPU one,
where they cost $2.78 a month more in all.

So, once the plan is packed, each instance of a server running at least two,
most expensive first, is tried: each of its units, the largest first, goes
to its cheapest option that can take it, an instance of a running server with
room for it in every dimension (the first such) or a dedicated option; when
every unit has such a place and what they cost more there is less than the
instance's fee, the instance closes and its units move.  Passes repeat while
one closes an instance, at most :data:`MAX_PASSES`.  No server starts or
stops, so no network fee changes, and each close lowers the plan's cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from skaal.solver.decompose import Unit
from skaal.solver.place import Bins, rooms
from skaal.solver.servers import Server

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MAX_PASSES", "consolidate"]

#: Passes over every instance at most: each closes at least one, so a bound on work.
MAX_PASSES = 8

#: Where one unit goes: what it costs more there (micro-dollars), the unit, the
#: backend, and the instance of it (``None``: a dedicated option).
_Move = tuple[int, Unit, str, int | None]


def consolidate(
    placement: dict[str, list[Unit]], bins: dict[str, Bins], servers: Mapping[str, Server]
) -> int:
    """Close instances whose units other places take for less than the fee (module
    docstring), in place; how many closed."""
    if all(len(packed) < 2 for packed in bins.values()):
        return 0  # none may close (a plan of alike maps then loads no numpy)
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

    free = {
        name: np.array(rooms(packed), dtype=np.int64) for name, packed in bins.items() if packed
    }
    closed = 0
    for _ in range(MAX_PASSES):
        alive = {name: len(packed) for name, packed in bins.items()}
        gone: list[tuple[str, int]] = []
        order = sorted(
            (-shape.fee_micro, name, index)
            for name, packed in bins.items()
            if len(packed) > 1
            for index, (shape, _) in enumerate(packed)
        )
        for negative, name, index in order:
            if alive[name] < 2:
                continue
            moves = _places(name, index, -negative, bins=bins, free=free, servers=servers)
            if moves is None:
                continue
            _move(name, index, moves, placement, bins)
            free[name][index] = -1  # closing: nothing moves in
            alive[name] -= 1
            gone.append((name, index))
        if not gone:
            break
        closed += len(gone)
        for name in sorted({n for n, _ in gone}):
            keep = [i for i in range(len(bins[name])) if (name, i) not in gone]
            bins[name] = [bins[name][i] for i in keep]
            free[name] = free[name][keep]
    return closed


def _places(
    name: str,
    index: int,
    fee: int,
    *,
    bins: Mapping[str, Bins],
    free: Mapping[str, npt.NDArray[np.int64]],
    servers: Mapping[str, Server],
) -> list[_Move] | None:
    """Where each unit of instance ``index`` of ``name`` goes, its room taken from
    ``free``, when they cost less more there than ``fee``; else ``None`` (and ``free``
    as it was), as soon as one has nowhere to go or they cost ``fee`` more."""
    import numpy as np  # noqa: PLC0415

    members = bins[name][index][1]
    moves: list[_Move] = []
    more = 0
    for unit in sorted(members, key=lambda u: (-max(u.usage), u.name)):
        here = unit.cost_on(name)
        need = np.array(unit.usage, dtype=np.int64)
        found: _Move | None = None
        for option in unit.options:  # cheapest first: the first place found is it
            room = free.get(option.backend)
            if option.backend not in servers:
                found = (option.cost - here, unit, option.backend, None)
            elif room is not None:
                fits = np.flatnonzero((room >= need).all(axis=1))
                fits = fits[(fits != index) | (option.backend != name)]
                if len(fits):
                    at = int(fits[0])
                    room[at] -= need
                    found = (option.cost - here, unit, option.backend, at)
            if found is not None:
                break
        if found is not None:
            moves.append(found)
            more += found[0]
        if found is None or more >= fee:
            _release(moves, free)
            return None
    return moves


def _release(moves: list[_Move], free: Mapping[str, npt.NDArray[np.int64]]) -> None:
    """Give back the room ``moves`` took."""
    for _, unit, target, at in moves:
        if at is not None:
            free[target][at] += unit.usage


def _move(
    name: str,
    index: int,
    moves: list[_Move],
    placement: dict[str, list[Unit]],
    bins: dict[str, Bins],
) -> None:
    """Move the units of instance ``index`` of ``name`` to their places; the instance
    is left empty (removed at the end of the pass)."""
    leaving = {id(unit) for _, unit, _, _ in moves}
    placement[name] = [u for u in placement[name] if id(u) not in leaving]
    for _, unit, target, at in moves:
        placement.setdefault(target, []).append(unit)
        if at is not None:
            bins[target][at][1].append(unit)
    bins[name][index][1].clear()
