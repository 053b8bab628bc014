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

**The fee bound first.**  Before that model, the bound on what any packing
of the units pays in fees (:func:`.cover.fee_floor`: one column per shape, a
few milliseconds) often settles a repack: instances that already pay it stay,
and the bound's own instances, when first fit or dot-product fit packs the
units into them (:func:`.cover.at_floor`), are the cheapest there are.  On
aws ``users`` 1,000 ElastiCache's 52 units go to the bound's four nodes
($1,468.76) in 5 ms, where HiGHS's model of the units on every shape took 84
ms to the same fees.  For the 53 units of the relaxation's other rounding the
greedy fits do not reach the bound ($1,492.85); the bound of the packings
paying more than it (``fee_floor(..., above=...)``), the next fee level, is
$1,504.53, and its instances hold the units: HiGHS's model is then asked
only for instances cheaper than those, and proves at its root that there
are none (20 ms in all, where finding $1,504.53 from the $2,548.43 the units
had took it 40).  The repack of large servers on the plan kept takes the
bound and the next level first too, so it reaches the cheapest instances
where HiGHS's first cheaper counts stopped short or the gate below left a
server as it was: aws ``users`` 1,500 seed 10's ElastiCache $10,944.89 →
$10,828.82, gcp 2,000 seed 5's Memorystore $2,774.00 → $2,277.60 (the
bound), aws 700 seed 9's RDS $3,870.66 → $3,766.48 (the next level).

Only servers of at most :data:`MAX_UNITS` units are repacked as they are
packed, and HiGHS stops after :data:`MAX_NODES` branch-and-bound nodes
(deterministic work, never seconds).  It is asked only for instances cheaper
than those the units have (a cutoff), which it usually proves there are none
of at its root; a repack that finds nothing cheaper keeps the instances as
they were.

Servers of up to :data:`MAX_LARGE_UNITS` units are repacked once, on the
plan a component keeps (:func:`repacked_large`), within the quota the other
servers leave them, taking the first cheaper instances HiGHS finds.  Their
packing comes from instance counts rounded up shape by shape, and tightening
merges only pairs: on aws ``users`` 1,500 (seed 1) ElastiCache held 110
units on five nodes, $14,970.11 a month.  HiGHS's first cheaper counts
($13,572.16, 0.03 s), placed and tightened, run eight nodes for $13,324.69;
its cheapest ($13,134.89) takes it 0.4 s, at its root (cuts and heuristics),
and 0.2 to 0.6 s on the other draws of 1,500 tried.  Even the first can take
HiGHS's root 0.15 s on 200 units, so a server is repacked only when the
linear relaxation of its units alone (milliseconds) lies :data:`MIN_GAIN`
of its fees or more below them: of 16 repacks probed, the ElastiCache and
Memorystore ones that gained lay 14 to 25 % below, RDS ones that gained $30
and $36 3.7 and 5.2 %; under 3 %, two gained $28.36 and $18.36 and the
others (Cloud SQL HA on gcp ``users`` 1,000, RDS Multi-AZ) nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from msgspec.structs import replace

from skaal.solver.cover import at_floor, fee_floor
from skaal.solver.decompose import SCALE, Unit, UnitOption, groups
from skaal.solver.exact import Z3_RLIMIT
from skaal.solver.place import fees, place, tightened
from skaal.solver.servers import Bins, Server, quota_used, trimmed_for

__all__ = [
    "LARGE_RLIMIT",
    "MAX_LARGE_UNITS",
    "MAX_NODES",
    "MAX_UNITS",
    "MIN_GAIN",
    "repacked",
    "repacked_large",
]

#: Servers holding more units than this keep the instances placement gave them.
MAX_UNITS = 60
#: HiGHS's node limit for one repack.
MAX_NODES = 2_000
#: Servers holding more units than this keep their instances on the plan kept too.
MAX_LARGE_UNITS = 500
#: A server of more than :data:`MAX_UNITS` units is repacked only when the linear
#: relaxation of its units alone lies at least this share of its fees below them.
MIN_GAIN = 0.03
#: z3's work budget for packing those units, past the greedy fits: ElastiCache's
#: 104 units on aws ``users`` 1,500 (seed 10) pack within 250,000 (0.03 s), where
#: RDS Multi-AZ's 115 on the draw of 400 (seed 2) needed 5 million (0.3 s).
LARGE_RLIMIT = 500_000
_TENTH_OF_A_CENT = SCALE // 1000


def repacked(
    name: str, server: Server, bins: Bins, *, most: int = MAX_UNITS, first: bool = False
) -> Bins:
    """``bins`` (the instances of server ``name``), or cheaper instances holding the same
    units; ``bins`` when they are more than ``most``.  The bound on every packing's
    fees is asked first (module docstring).  ``first``: past that bound, the first
    cheaper instances HiGHS finds, not the cheapest, packed within :data:`LARGE_RLIMIT`
    of z3's work (a packing of a few hundred units can take it 0.4 s), and only when
    the linear relaxation leaves :data:`MIN_GAIN` of the fees to gain."""
    from skaal.solver.pooled import solve_pooled  # noqa: PLC0415 - HiGHS loads only for pooled servers

    units = [unit for _, members in bins for unit in members]
    if not units or len(units) > most:
        return bins
    paid = fees(bins)
    # The least any packing of them pays in fees (:mod:`.cover`, one column per shape:
    # milliseconds): the instances they have when those pay it, else the bound's own
    # instances when the units fit them.  HiGHS's model of the units on every shape
    # (aws users 1,000: ElastiCache's 52 units, 84 ms) only when neither settles it.
    cover = fee_floor(units, server.shapes, server.quota)
    best = bins
    if cover is not None:
        if paid <= cover.floor:
            return bins
        found = at_floor(units, cover, server)
        if found is not None:
            return found
        # The next fee level's instances, when the units fit them, are the instances to
        # beat: HiGHS's model then proves at its root that nothing is cheaper, instead
        # of searching from the dearer instances the units have (aws users 1,000:
        # ElastiCache's 53 units, $1,504.53, in 20 ms instead of 40).
        level = fee_floor(units, server.shapes, server.quota, above=cover.floor)
        found = None if level is None or level.floor >= paid else at_floor(units, level, server)
        if found is not None:
            best, paid = found, fees(found)
    # The units with this server as their only option, for the relaxation alone
    # (placement reads their usages, not their options).
    only = (UnitOption(name, 0, 0),)
    alone = [Unit(unit.members, only, unit.usage) for unit in units]
    # Only instances cheaper by a tenth of a cent or more are looked for: HiGHS
    # then proves at its root that there are none, where proving the present
    # instances optimal took it up to MAX_NODES nodes.
    cutoff = (paid - _TENTH_OF_A_CENT) / SCALE
    trimmed = trimmed_for(alone, {name: server})
    grouped = groups(alone)
    if first and paid - solve_pooled(grouped, trimmed, linear=True, branch=False).bound * SCALE < (
        MIN_GAIN * paid
    ):
        return best  # the linear relaxation leaves too little to gain for HiGHS's root
    relaxed = solve_pooled(grouped, trimmed, max_nodes=MAX_NODES, cutoff=cutoff, first=first)
    if relaxed.counts is None or math.floor(relaxed.bound * SCALE + 1e-3) >= paid:
        return best
    shapes = [shape for shape, count in relaxed.instances.get(name, ()) for _ in range(count)]
    if sum(shape.fee_micro for shape in shapes) >= paid:
        return best
    packed = place(units, shapes, rlimit=LARGE_RLIMIT if first else Z3_RLIMIT)
    if packed is None:
        return best
    found = tightened([(shape, members) for shape, members in packed if members], server.shapes)
    if server.used_by(found) > server.quota:
        return best  # tightened onto shapes using more of the quota (see placement._pack)
    return found if fees(found) < paid else best


def repacked_large(bins: dict[str, Bins], servers: Mapping[str, Server]) -> int:
    """The servers of ``bins`` holding more than :data:`MAX_UNITS` units and at most
    :data:`MAX_LARGE_UNITS` given the first cheaper instances found for their units,
    within the quota the other servers leave them, in place; how many were."""
    used = quota_used(bins, servers)
    done = 0
    for name in sorted(bins):
        packed = bins[name]
        if not MAX_UNITS < sum(len(members) for _, members in packed) <= MAX_LARGE_UNITS:
            continue
        server = servers[name]
        own = server.used_by(packed)
        share = replace(server, quota=server.quota - used[server.quota_key] + own)
        found = repacked(name, share, packed, most=MAX_LARGE_UNITS, first=True)
        if found is not packed:
            bins[name] = found
            used[server.quota_key] += server.used_by(found)
            used[server.quota_key] -= own
            done += 1
    return done
