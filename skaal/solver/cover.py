"""The least any packing of some units can pay in instance fees: a bound that proves a
packing cheapest without searching for one.

When the relaxation's instances cannot hold a server's units, placement
(:mod:`.placement`) used to ask z3 for the cheapest packing of them
(:func:`.exact.cheapest_packing`): loading z3 and searching, a tenth of a
second for two dozen units.  Repair (:mod:`.repair`) grows the instances
greedily in milliseconds, and is often as cheap; this bound tells when.

Every packing of units ``U`` into instances of shapes ``k`` (fee ``f[k]``,
capacity ``cap[k,d]``, quota units ``w[k]``) runs some count ``n[k]`` of each
shape, and for every set ``F`` of shapes, the units only shapes of ``F``
hold (``fam(u) ⊆ F``, ``fam(u)`` the shapes one empty instance of which
holds ``u``) sit on instances of ``F`` (Hall's condition), so::

    minimise  Σ f[k] · n[k]
    Σ_{k ∈ F} cap[k,d] · n[k] ≥ Σ_{u: fam(u) ⊆ F} use[u,d]   every family F, dimension d
    Σ_k w[k] · n[k] ≤ Q                                     the quota
    n[k] ∈ {0, 1, …}

holds for every packing: its optimum is at most the cheapest packing's
fees.  (``F`` runs over the units' own families and all the shapes; a
dimension some shape of ``F`` does not limit gives no row; the sums are
:func:`.place.hall_needs`, which the counting check of placement reads too.)
It is a small integer programme, one column per shape, solved by HiGHS
(:func:`.highs.highs_holding`), single-threaded
with a fixed seed and a node limit (deterministic work); HiGHS's proven
dual bound is used, so a search stopped early still gives a bound.  Fees
are whole micro-dollars: a packing whose fees are at most the bound rounded
up is a cheapest one.  On the gcp ``users`` draw of 1,000 resources,
Memorystore's 24 units fit the bound's own instances, 1 GB + 1 GB + 100 GB,
$1,458.54, the bound (the 68 GB unit needs the 100 GB class, the
other 1.45 GB two more GB, the 24 units two instances of 16).

A repack (:mod:`.repack`) asks the same bound first, of units that are
already packed: instances that pay it stay as they are, and the bound's own
instances, when the greedy fits pack the units into them (:func:`at_floor`),
replace them.  When they do not, it asks the bound of the packings paying
more than the bound (``above``: one more row), the next fee level, whose
instances often hold the units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from msgspec import Struct

from skaal.solver.decompose import SCALE, Unit
from skaal.solver.highs import highs_holding
from skaal.solver.place import balanced_fit_partial, fees, first_fit, hall_needs, tightened
from skaal.solver.servers import Bins, Server, Shape
from skaal.solver.sparse import Columns

__all__ = ["MAX_NODES", "Cover", "at_floor", "fee_floor", "tight", "within_floor"]

#: HiGHS's branch-and-bound node limit for the bound (work, never seconds); the
#: programmes have one column per shape and are proven at the root or in a few nodes.
MAX_NODES = 1_000

#: How far below the bound HiGHS's floating point may leave it before it is rounded up
#: to whole micro-dollars (fees of a few thousand dollars are some 10^9 micro-dollars).
_SLACK = 1e-3


class Cover(Struct, frozen=True):
    """The bound, and the instances of the programme's best solution."""

    floor: int
    """Micro-dollars of fees every packing pays at least."""
    shapes: tuple[Shape, ...]
    """One entry per instance of HiGHS's best solution (empty if it found none): packed
    into them, the units cost exactly ``floor`` when HiGHS proved it optimal."""


def fee_floor(
    units: Sequence[Unit], shapes: Sequence[Shape], quota: int, *, above: int | None = None
) -> Cover | None:
    """What every packing of ``units`` into instances of ``shapes`` within ``quota``
    pays at least in fees; ``None`` when no packing exists (a unit no shape holds, or
    the quota too small by the rows above) or HiGHS proves nothing.

    ``above`` (micro-dollars): the same of the packings paying more than that (one
    more row, fees ≥ ``above`` + 1): with a floor whose instances the units do not
    fit, the next fee level and its instances, which they often do."""
    from highspy import _core  # noqa: PLC0415 - the core, not the wrapper (which prints a banner)

    if not units or not shapes:
        return Cover(0, ()) if not units else None
    needs = hall_needs(units, shapes)
    if needs is None:
        return None
    width = len(shapes[0].capacity)
    needs.setdefault(
        frozenset(range(len(shapes))), [sum(u.usage[d] for u in units) for d in range(width)]
    )
    columns = Columns()
    for _ in shapes:
        columns.new()
    row_lower: list[float] = []
    for family in sorted(needs, key=sorted):
        members = sorted(family)
        for d, total in enumerate(needs[family]):
            caps = [shapes[k].capacity[d] for k in members]
            if not total or any(cap is None for cap in caps):
                continue
            top = float(max(cap or 0 for cap in caps))  # each row scaled to coefficients <= 1
            for k, cap in zip(members, caps, strict=True):
                columns.add(k, len(row_lower), (cap or 0) / top)
            row_lower.append(total / top)
    row_upper = [math.inf] * len(row_lower)
    for k, shape in enumerate(shapes):  # the quota row
        columns.add(k, len(row_lower), float(shape.units))
    row_lower.append(-math.inf)
    row_upper.append(float(quota))
    if above is not None:  # fees past ``above``, in dollars: a micro-dollar more is 1e-6,
        # ten times HiGHS's (absolute) feasibility tolerance
        for k, shape in enumerate(shapes):
            columns.add(k, len(row_lower), shape.fee_micro / SCALE)
        row_lower.append((above + 1) / SCALE)
        row_upper.append(math.inf)
    highs = highs_holding(
        [float(shape.fee_micro) for shape in shapes],
        [float(quota // shape.units) for shape in shapes],
        row_lower,
        row_upper,
        columns,
        integer=True,
        max_nodes=MAX_NODES,
        abs_gap=0.5,
    )
    highs.run()
    status = highs.getModelStatus()
    if status == _core.HighsModelStatus.kInfeasible:
        return None
    info = highs.getInfo()
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        return None
    found: tuple[Shape, ...] = ()
    if info.primal_solution_status == _core.SolutionStatus.kSolutionStatusFeasible:
        counts = [round(v) for v in highs.getSolution().col_value]
        found = tuple(shape for shape, n in zip(shapes, counts, strict=True) for _ in range(n))
    return Cover(max(0, math.ceil(bound - _SLACK)), found)


def at_floor(units: Sequence[Unit], cover: Cover, server: Server) -> Bins | None:
    """``units`` packed into the bound's own instances (first fit, then dot-product fit)
    and tightened, when that packing stays within ``server``'s quota and pays no more
    than the bound: no packing of them pays less.  ``None`` otherwise."""
    fitted = first_fit(units, cover.shapes)
    if fitted is None and cover.shapes:
        bins, over = balanced_fit_partial(units, cover.shapes)
        fitted = None if over else bins
    return None if fitted is None else within_floor(fitted, server, cover.floor)


def within_floor(bins: Bins, server: Server, floor: int) -> Bins | None:
    """``bins`` tightened (:func:`tight`) if within the quota and their fees are at most
    ``floor``."""
    packed = tight(bins, server)
    if server.used_by(packed) > server.quota:
        return None
    return packed if fees(packed) <= floor else None


def tight(bins: Bins, server: Server) -> Bins:
    """``bins`` tightened (:func:`.place.tightened`), or, where the tightened ones pass
    the quota, the instances as packed: a cheaper shape can use more of it (a small
    cache with a replica is two nodes)."""
    packed = tightened(bins, server.shapes)
    if server.used_by(packed) > server.quota:
        packed = [(shape, members) for shape, members in bins if members]
    return packed
