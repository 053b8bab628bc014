"""Instances closed, or made smaller, when room elsewhere takes their units for less.

Tightening (:func:`.place.tightened`) gives each instance the cheapest shape
holding all its units and merges two instances of one server into one shape;
nothing moves some of an instance's units out so that it can close or run a
cheaper shape, and each server is packed on its own, so the room another
server's instances have left is never looked at.  On gcp ``users`` 200
(seed 2) a 2-vCPU Cloud SQL instance ($100.38 a month) held 17 resources that
fit the room of another 2-vCPU instance and of a Cloud SQL HA 16-vCPU one,
where they cost $2.78 a month more in all.

So, once the plan is packed, each instance, the most expensive first, is
weighed closed (when its server runs another) and on each cheaper shape of
its server using no more quota: the shape keeps what it holds of the units
costing most to move (those without a dedicated option first, then the
largest saving there), and each unit leaving, the largest first, goes to its
cheapest option that can take it: the first instance of a running server
with room for it in every dimension, or a dedicated option.  The change
saving most (the fee saved less what the leaving units cost more) is made,
if it saves; passes repeat while one changes an instance, at most
:data:`MAX_PASSES`, closing only, then closing and shrinking (a shrink may
take room that a close needed: closing first, the plan is never dearer than
closing alone made it).  No server starts or stops, so no network fee changes,
and each change lowers the plan's cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from msgspec import Struct, field

from skaal.solver.decompose import Unit
from skaal.solver.place import rooms
from skaal.solver.repair import saving
from skaal.solver.servers import Bins, Server, Shape

__all__ = ["MAX_PASSES", "consolidate"]

#: Passes over every instance at most, closing and then shrinking: each changes at
#: least one, so a bound on work.
MAX_PASSES = 8

#: Where one unit goes: what it costs more there (micro-dollars), the unit, the
#: backend, and the instance of it (``None``: a dedicated option).
_Move = tuple[int, Unit, str, int | None]


class _Best(Struct):
    """The best change found for one instance: its new shape (``None``: closed), the
    units it keeps, and what the plan saves (micro-dollars a month)."""

    gain: int = 0
    shape: Shape | None = None
    kept: list[Unit] = field(default_factory=list)
    found: bool = False


class _Rooms:
    """Each running server's instances' room per dimension, and per server at least
    the most room any instance has (turning most units away without numpy)."""

    def __init__(self, bins: Mapping[str, Bins]) -> None:
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

        self._np = np
        self.free = {
            name: np.array(rooms(packed), dtype=np.int64) for name, packed in bins.items() if packed
        }
        self._most = {name: room.max(axis=0).tolist() for name, room in self.free.items()}

    def take(self, backend: str, usage: tuple[int, ...], skip: int) -> int | None:
        """The first instance of ``backend`` (other than ``skip``) with room for
        ``usage``, its room taken; ``None`` if none has it."""
        most = self._most.get(backend)
        if most is None or any(u > m for u, m in zip(usage, most, strict=True)):
            return None
        room = self.free[backend]
        need = self._np.array(usage, dtype=self._np.int64)
        fits = self._np.flatnonzero((room >= need).all(axis=1))
        fits = fits[fits != skip]
        if not len(fits):
            return None
        at = int(fits[0])
        room[at] -= need
        return at

    def give(self, backend: str, at: int, usage: tuple[int, ...]) -> None:
        """Give ``usage`` back to instance ``at`` of ``backend``."""
        self.set(backend, at, (self.free[backend][at] + usage).tolist())

    def set(self, backend: str, at: int, row: Sequence[int]) -> None:
        """Instance ``at`` of ``backend`` has ``row`` of room now."""
        self.free[backend][at] = row
        self._most[backend] = [max(m, r) for m, r in zip(self._most[backend], row, strict=True)]

    def close(self, backend: str, at: int) -> None:
        """Instance ``at`` of ``backend`` closes: nothing moves in."""
        self.free[backend][at] = -1

    def keep(self, backend: str, kept: Sequence[int]) -> None:
        """Only the instances ``kept`` of ``backend`` remain, in that order."""
        self.free[backend] = self.free[backend][list(kept)]


def consolidate(
    placement: dict[str, list[Unit]], bins: dict[str, Bins], servers: Mapping[str, Server]
) -> int:
    """Close or shrink instances whose leaving units other places take for less than
    the fee saved (module docstring), in place; how many instances changed."""
    if not any(_smaller(servers[name], shape) for name in bins for shape, _ in bins[name]) and all(
        len(packed) < 2 for packed in bins.values()
    ):
        return 0  # nothing may change
    free = _Rooms(bins)
    # Closing first, to the end: shrinking an instance may take room a close needed.
    return sum(_passes(placement, bins, servers, free, shrink=shrink) for shrink in (False, True))


def _passes(
    placement: dict[str, list[Unit]],
    bins: dict[str, Bins],
    servers: Mapping[str, Server],
    free: _Rooms,
    *,
    shrink: bool,
) -> int:
    """Passes over the instances, most expensive first, each closed (and, with
    ``shrink``, made smaller) where that saves, until one changes none or
    :data:`MAX_PASSES`; how many instances changed."""
    changed = 0
    for _ in range(MAX_PASSES):
        alive = {name: len(packed) for name, packed in bins.items()}
        gone: list[tuple[str, int]] = []
        order = sorted(
            (-shape.fee_micro, name, index)
            for name, packed in bins.items()
            for index, (shape, _) in enumerate(packed)
        )
        done = 0
        for _, name, index in order:
            best = _best(
                name, index, alive[name] > 1, shrink, bins=bins, free=free, servers=servers
            )
            if not best.found:
                continue
            shape, members = bins[name][index]
            stays = {id(u) for u in best.kept}
            leaving = [u for u in members if id(u) not in stays]
            saved = shape.fee_micro - (0 if best.shape is None else best.shape.fee_micro)
            moves = _places(leaving, name, index, saved, bins=bins, free=free, servers=servers)
            assert moves is not None  # the same places as when it was weighed
            _move(name, moves, placement, bins)
            done += 1
            if best.shape is None:
                members.clear()
                free.close(name, index)
                alive[name] -= 1
                gone.append((name, index))
            else:
                bins[name][index] = (best.shape, best.kept)
                free.set(name, index, rooms([(best.shape, best.kept)])[0])
        if not done:
            break
        changed += done
        for name in sorted({n for n, _ in gone}):
            keep = [i for i in range(len(bins[name])) if (name, i) not in gone]
            bins[name] = [bins[name][i] for i in keep]
            free.keep(name, keep)
    return changed


def _smaller(server: Server, shape: Shape) -> list[Shape]:
    """The shapes of ``server`` cheaper than ``shape`` using no more of its quota."""
    return [s for s in server.shapes if s.fee_micro < shape.fee_micro and s.units <= shape.units]


def _best(
    name: str,
    index: int,
    may_close: bool,
    shrink: bool,
    *,
    bins: Mapping[str, Bins],
    free: _Rooms,
    servers: Mapping[str, Server],
) -> _Best:
    """The change of instance ``index`` of ``name`` saving most: closed (when
    ``may_close``), or (with ``shrink``) a cheaper shape keeping what it holds of the
    units costing most to move (no dedicated option first, then the largest saving on
    ``name``)."""
    shape, members = bins[name][index]
    best = _Best()
    targets: list[Shape | None] = [None] if may_close else []
    if shrink:
        targets += _smaller(servers[name], shape)
    if not targets:
        return best
    # what a smaller shape keeps is ranked; closed, it keeps nothing, and the units
    # leaving go in the order _places takes them in (its own)
    ranked = (
        list(members)
        if targets == [None]
        else sorted(members, key=lambda u: (-saving(u, name, servers), u.name))
    )
    for target in targets:
        kept = _held(target, ranked)
        saved = shape.fee_micro - (0 if target is None else target.fee_micro)
        stays = {id(u) for u in kept}
        leaving = [u for u in ranked if id(u) not in stays]
        moves = _places(leaving, name, index, saved, bins=bins, free=free, servers=servers)
        if moves is None:
            continue
        _release(moves, free)
        gain = saved - sum(extra for extra, _, _, _ in moves)
        if gain > best.gain:
            best.gain, best.shape, best.kept, best.found = gain, target, kept, True
    return best


def _held(target: Shape | None, ranked: Sequence[Unit]) -> list[Unit]:
    """The units of ``ranked`` one ``target`` instance keeps, in order, each while it
    fits (a closed instance, ``None``, keeps none)."""
    if target is None:
        return []
    room = list(target.capacity)
    kept: list[Unit] = []
    for unit in ranked:
        if all(r is None or u <= r for u, r in zip(unit.usage, room, strict=True)):
            room = [None if r is None else r - u for u, r in zip(unit.usage, room, strict=True)]
            kept.append(unit)
    return kept


def _places(
    units: Sequence[Unit],
    name: str,
    index: int,
    fee: int,
    *,
    bins: Mapping[str, Bins],
    free: _Rooms,
    servers: Mapping[str, Server],
) -> list[_Move] | None:
    """Where each of ``units`` leaving instance ``index`` of ``name`` goes, its room
    taken from ``free``, when they cost less more there than ``fee``; else ``None``
    (and ``free`` as it was), as soon as one has nowhere to go or they cost ``fee``
    more."""
    moves: list[_Move] = []
    more = 0
    for unit in sorted(units, key=lambda u: (-max(u.usage), u.name)):
        here = unit.cost_on(name)
        found: _Move | None = None
        for option in unit.options:  # cheapest first: the first place found is it
            if option.backend not in servers:
                found = (option.cost - here, unit, option.backend, None)
                break
            at = free.take(option.backend, unit.usage, index if option.backend == name else -1)
            if at is not None:
                found = (option.cost - here, unit, option.backend, at)
                break
        if found is not None:
            moves.append(found)
            more += found[0]
        if found is None or more >= fee:
            _release(moves, free)
            return None
    return moves


def _release(moves: list[_Move], free: _Rooms) -> None:
    """Give back the room ``moves`` took."""
    for _, unit, target, at in moves:
        if at is not None:
            free.give(target, at, unit.usage)


def _move(
    name: str, moves: list[_Move], placement: dict[str, list[Unit]], bins: dict[str, Bins]
) -> None:
    """Move the units of ``moves`` from server ``name`` to their places (the instance
    they leave is changed by the caller)."""
    leaving = {id(unit) for _, unit, _, _ in moves}
    placement[name] = [u for u in placement[name] if id(u) not in leaving]
    for _, unit, target, at in moves:
        placement.setdefault(target, []).append(unit)
        if at is not None:
            bins[target][at][1].append(unit)
