"""A server's instances chosen again once its units are known.

Placement fills the instances the pooled relaxation counted for a whole
component, and :func:`.place.tightened` only lowers their fees locally (a
cheaper shape per instance, pairs merged).  Once a server's units are
fixed, the cheapest instances holding them is a small problem of its own:
the pooled relaxation of those units alone, on that server alone, solved
exactly (:func:`.pooled.solve_pooled`), is a lower bound on the fees of any
packing of them; when its instances hold the units one by one
(:func:`.place.place`), that packing is the cheapest there is for them.

On the ``users`` draw of 1,000 resources on ``catalogs/aws.toml`` this
turns the Redis pair that tightening settles on (cache.r7g.2xlarge and
cache.t4g.medium, $684.74 a month) into cache.r7g.large and
cache.r7g.xlarge ($478.88), which hold the same 26 units.

Only servers of at most :data:`MAX_UNITS` units are repacked, and HiGHS
stops after :data:`MAX_NODES` branch-and-bound nodes (deterministic work,
never seconds).  It is asked only for instances cheaper than those the units
have (a cutoff), which it usually proves there are none of at its root; a
repack that finds nothing cheaper keeps the instances as they were.
"""

from __future__ import annotations

import math

from skaal.solver.decompose import SCALE, Unit, UnitOption, groups
from skaal.solver.place import Bins, place, tightened
from skaal.solver.servers import Server, trimmed_for

__all__ = ["MAX_NODES", "MAX_UNITS", "repacked"]

#: Servers holding more units than this keep the instances placement gave them.
MAX_UNITS = 60
#: HiGHS's node limit for one repack.
MAX_NODES = 2_000
_TENTH_OF_A_CENT = SCALE // 1000


def repacked(name: str, server: Server, bins: Bins) -> Bins:
    """``bins`` (the instances of server ``name``), or cheaper instances holding the same units."""
    from skaal.solver.pooled import solve_pooled  # noqa: PLC0415 - HiGHS loads only for pooled servers

    units = [unit for _, members in bins for unit in members]
    if not units or len(units) > MAX_UNITS:
        return bins
    fees = _fees(bins)
    # The units with this server as their only option, for the relaxation alone
    # (placement reads their usages, not their options).
    only = (UnitOption(name, 0, 0),)
    alone = [Unit(unit.members, only, unit.usage) for unit in units]
    # Only instances cheaper by a tenth of a cent or more are looked for: HiGHS
    # then proves at its root that there are none, where proving the present
    # instances optimal took it up to MAX_NODES nodes.
    cutoff = (fees - _TENTH_OF_A_CENT) / SCALE
    trimmed = trimmed_for(alone, {name: server})
    relaxed = solve_pooled(groups(alone), trimmed, max_nodes=MAX_NODES, cutoff=cutoff)
    if relaxed.counts is None or math.floor(relaxed.bound * SCALE + 1e-3) >= fees:
        return bins
    shapes = [shape for shape, count in relaxed.instances.get(name, ()) for _ in range(count)]
    if sum(shape.fee_micro for shape in shapes) >= fees:
        return bins
    packed = place(units, shapes)
    if packed is None:
        return bins
    found = tightened([(shape, members) for shape, members in packed if members], server.shapes)
    if server.used(shape for shape, members in found if members) > server.quota:
        return bins  # tightened onto shapes using more of the quota (see placement._pack)
    return found if _fees(found) < fees else bins


def _fees(bins: Bins) -> int:
    return sum(shape.fee_micro for shape, members in bins if members)
