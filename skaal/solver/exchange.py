"""A unit on a dedicated option taking the place of one on a server that saves less there.

The linear relaxation (:mod:`.pooled`) fills a server's instances to the brim
with the units that save most per unit of capacity there, the last of them
in part.  Packing whole units into whole instances cannot hold that exact
mix: rounding hands a split unit to its dedicated option, packing spills what
its instances could not hold, and :mod:`.backfill` moves back only what fits
the room left.  A unit that saves much by being on the server can then sit on
DynamoDB while one that saves little holds its place: on the aws ``users``
draws of 1,000 to 10,000 resources, most of the gap between plan and bound
left after backfill was units of this kind (aws 5,000 seed 1: $2,584 a month
of its $3,238).

So, once every server is packed, each unit on a dedicated option whose option
on a server running instances costs less than where it is (its *saving*),
largest saving first, is exchanged for the unit on that server saving least
whose place, with its instance's room, holds it: the evicted unit goes to its
cheapest dedicated option.  An exchange is made only when the unit coming in
saves more than the one going out, so each lowers the plan's cost; units with
no dedicated option never leave; no instance is opened or closed, so no fee,
quota or network fee changes.  Then :mod:`.backfill` runs again for the room
the exchanges leave.  It runs once per component, on the plan placement chose
(:func:`.placement.exchanged`).

The server's units are kept sorted by saving: the places a candidate may take
are a prefix, the first holding it saves least, and the most the prefix holds
in each dimension (a running maximum) turns most candidates away without
weighing them against every place: at aws ``users`` 10,000 (seed 1) 8,536
candidates against 5,307 units, 42 exchanges, in 0.04 s.  On the ``users``
draws of 1,000 to 10,000 resources (seeds 1 to 3) it made 16 of the 21 aws
plans cheaper, by $1.77 to $908.39 a month (aws 5,000 seed 1); the gcp plans,
whose gaps are instance fees only, are unchanged.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from skaal.solver.decompose import Unit
from skaal.solver.place import rooms
from skaal.solver.repair import dedicated, on_dedicated, saving
from skaal.solver.servers import Bins, Server

__all__ = ["MAX_UNITS", "candidates", "exchange"]

#: Servers' units and candidates counted together, past which no exchange is looked
#: for: each candidate is weighed against every unit of the server at once.
MAX_UNITS = 20_000


def exchange(
    placement: dict[str, list[Unit]], bins: Mapping[str, Bins], servers: Mapping[str, Server]
) -> int:
    """Exchange units on dedicated options for units on servers that save less there
    (module docstring), in place; how many exchanges were made."""
    on = on_dedicated(placement, servers)
    if not on:
        return 0
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

    done = 0
    for name in sorted(bins):
        packed = bins[name]
        wanted = candidates(name, placement, servers)
        held = sum(len(members) for _, members in packed)
        if not packed or not wanted or held + len(wanted) > MAX_UNITS:
            continue
        # The server's units, the least saving first (then in packing order): the
        # places a candidate may take are a prefix, and the first that holds it
        # saves least.
        slots = [(i, j) for i, (_, members) in enumerate(packed) for j in range(len(members))]
        saves = np.array([saving(packed[i][1][j], name, servers) for i, j in slots])
        order = np.argsort(saves, kind="stable")
        slots = [slots[k] for k in order]
        saves = saves[order]
        at = np.array([i for i, _ in slots], dtype=np.int64)
        use = np.array([packed[i][1][j].usage for i, j in slots], dtype=np.int64)
        free = np.array(rooms(packed), dtype=np.int64)
        # Per candidate, two checks in plain Python turn most away before numpy:
        # the places saving less than it (a prefix), and the most any of them
        # holds in each dimension.
        ranked = saves.tolist()
        reach = np.maximum.accumulate(free[at] + use, axis=0)
        for gain, unit in wanted:
            if id(unit) not in on:
                continue  # already moved onto another server
            n = bisect.bisect_left(ranked, gain)  # saves[:n] < gain
            if not n or any(u > r for u, r in zip(unit.usage, reach[n - 1].tolist(), strict=True)):
                continue
            need = np.array(unit.usage, dtype=np.int64)
            fits = (free[at[:n]] + use[:n] >= need).all(axis=1)
            if not fits.any():
                continue
            k = int(fits.argmax())
            i, j = slots[k]
            out = packed[i][1][j]
            packed[i][1][j] = unit
            free[i] += use[k] - need
            use[k] = need
            saves[k] = saving(unit, name, servers)
            order = np.argsort(saves, kind="stable")
            slots = [slots[m] for m in order]
            saves, at, use = saves[order], at[order], use[order]
            ranked = saves.tolist()
            reach = np.maximum.accumulate(free[at] + use, axis=0)
            source = on.pop(id(unit))
            placement[source] = [u for u in placement[source] if u is not unit]
            placement[name] = [unit if u is out else u for u in placement[name]]
            option = dedicated(out, servers)
            assert option is not None  # a unit without one saves infinitely: never out
            placement.setdefault(option.backend, []).append(out)
            on[id(out)] = option.backend
            done += 1
    return done


def candidates(
    name: str, placement: Mapping[str, Sequence[Unit]], servers: Mapping[str, Server]
) -> list[tuple[int, Unit]]:
    """The units on dedicated options whose option on server ``name`` costs less, with
    what they would save there, the largest saving first (then by name)."""
    found: list[tuple[int, Unit]] = []
    for backend in sorted(placement):
        if backend in servers:
            continue
        for unit in placement[backend]:
            here = there = None
            for option in unit.options:
                if option.backend == backend:
                    here = option.cost
                elif option.backend == name:
                    there = option.cost
            if here is not None and there is not None and there < here:
                found.append((here - there, unit))
    found.sort(key=lambda item: (-item[0], item[1].name))
    return found
