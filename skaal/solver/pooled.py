"""The pooled relaxation of a coupled component, solved exactly by HiGHS.

For groups ``g`` of interchangeable units (``|g|`` units each, usage
``use[g,d]``), options ``b`` with cost ``c[g,b]`` per unit, and server
backends ``s`` with shapes ``k`` (fee ``f[s,k]``, capacity ``cap[s,k,d]``)
and instance quota ``Q_s``::

    y[g,b] ∈ {0 … |g|}     units of g on dedicated b     n[s,k] ∈ {0 … Q_s}  instances
    y[g,s,k]               units of g on instances of shape k of s (k holds one unit of g)
    Σ_b y[g,b] + Σ_{s,k} y[g,s,k] = |g|                every unit placed once
    Σ_g use[g,d] · y[g,s,k] ≤ cap[s,k,d] · n[s,k]      pooled per shape and dimension d
    Σ_k u[s,k] · n[s,k] ≤ Q_s                          the provider's quota, in its
                                                       units u (nodes, or GB); one row
                                                       more for servers sharing it
    Σ_g w_B(use[g,d]) · y[g,s,k] ≤ n[s,k]              units that cannot share an
                                                       instance (below)
    y[g,b] ≤ |g| · used_b ;  Σ_b used_b ≤ K            only with max_backends = K
    minimise  Σ c[g,b] · y[g,b] + Σ c[g,s] · y[g,s,k] + Σ f[s,k] · n[s,k]

For a usage ``B`` over half of ``cap[s,k,d]`` (a unit's, in the exact
model), ``w_B(u)`` is 1 for ``u ≥ B``, 0 for ``u ≤ cap - B`` and ``u / cap``
between: the weights of the units one instance holds never sum past 1
(beside a unit of ``B`` or more only units of weight 0 fit), so their sum
over a shape's units needs that many instances.  Two units over half an
instance never share one, and units of 0.9, 0.66 and 0.41 of an instance
need three, where pooling would fit them in two.  On the ``users`` draws of
100 and 200 resources (ten seeds each, both bundled catalogs) these rows
turned 14 of 37 plans proven optimal into 28.

Every plan is a solution (the instances of one shape hold their units one by
one, so they hold them pooled), so the optimum ``P*`` is a **lower bound**
on the best plan.  Pooling per shape, not per server, keeps the bound tight
when shapes are limited by different dimensions (a small database limited
by its resource count beside a large one limited by writes).  When the
units given to each shape fit into its instances one by one
(:mod:`.place`), that plan costs ``P*`` and is optimal.  Past
:data:`MAX_SHAPE_COLUMNS` unit columns the units are pooled per server
instead (a column per group and server, instances still per shape, with the
family rows of :meth:`_Model._family_rows`): a weaker bound, still met by
every plan, on a model HiGHS branches on in a fraction of the time; past
:data:`MAX_EXACT_COLUMNS` only its linear relaxation is solved, and rounded.

HiGHS runs single-threaded with a fixed seed and no time limit, so the same
model gives the same answer on any machine load; its only limit is a node
count (:data:`MAX_NODES`), a deterministic unit of work.  Costs are in
dollars, usages in their own units (GB, operations per second).  HiGHS is
loaded (:mod:`.highs`) only when a component needs it: small apps never pay
for its import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from skaal.solver import fitarrays
from skaal.solver.branching import Branched, branch_counts
from skaal.solver.cuts import Cut, add_cuts
from skaal.solver.decompose import SCALE, Group
from skaal.solver.highs import highs_holding, run_beside
from skaal.solver.opening import Opening, solve_again, solve_open
from skaal.solver.servers import Server, Shape, backend_of, quota_groups

if TYPE_CHECKING:
    from highspy._core import _Highs

    from skaal.solver.rebound import Kept

__all__ = [
    "MAX_EXACT_COLUMNS",
    "MAX_NODES",
    "MAX_SHAPE_COLUMNS",
    "Pooled",
    "branched",
    "solve_pooled",
]

#: The branch-and-bound node limit (deterministic work, never seconds).  200,000
#: nodes let one run for 55 s, and 2,000 gave the same plans on every draw of
#: 100 and 200 resources tried.  HiGHS spends 3 to 9 ms a node, and up to 4 s
#: at the root, on the models per shape of 2,000 to 3,000 unit columns (up to
#: 19 s in all): those are pooled per server now (:data:`MAX_SHAPE_COLUMNS`).
MAX_NODES = 2_000
#: Up to this many unit columns the integer model is written per shape, whose
#: bound is the tightest: with it HiGHS proves 11 of the 13 plans of the
#: ``users`` draws of 100 resources, and of 150 on gcp, optimal, each within
#: 1.3 s.  Past it (and up to :data:`MAX_EXACT_COLUMNS`) the integer model is
#: pooled per server, with its family rows.  On the ``users`` draws of 200 to
#: 400 resources (five seeds each, both bundled catalogs: 50 plans) ``solve``
#: took up to 15.8 s with the model per shape (medians 2 to 8 s where it was
#: used) and proved 15 plans optimal; with the model per server, at most 3.0 s
#: and 2 proven, each plan at most 0.11 % ($383 a month) above the one per
#: shape (``solver/HISTORY.md``, "The ``users`` draws between 100 and 400
#: resources").
MAX_SHAPE_COLUMNS = 1_500
#: Models with more columns than this are not branched on: their linear
#: relaxation bounds the plan and its rounding gives it (``best_found``).
#: Many distinct resources on servers with many classes make the exact model
#: a hard fixed-charge problem; HiGHS spends minutes on its root at 14,000
#: columns (a 1,000-resource app of the ``users`` draw), so past this size the
#: planner answers at once with a proven bound and the gap instead.
MAX_EXACT_COLUMNS = 4_000


class Pooled(Struct, frozen=True):
    """The relaxation's answer: counts per (group, option) and instances per shape."""

    counts: tuple[tuple[tuple[str, Shape | None, int], ...], ...] | None
    """Per group (input order): (backend, shape on a server, units) with units > 0;
    ``None`` if no solution is known."""
    instances: Mapping[str, tuple[tuple[Shape, int], ...]]
    """Per server backend: (shape, instances) with instances > 0."""
    bound: float
    """A proven lower bound on every plan of the component (dollars)."""
    proven: bool
    """True when HiGHS proved the counts optimal (then ``bound`` is their cost)."""
    infeasible: bool
    capped: Mapping[str, tuple[tuple[Shape, int], ...]] = {}
    """Per server whose ``instances``, rounded up from the linear relaxation, pass its
    quota: those instances brought within it (:func:`_within_quota`), for a packing
    that cannot merge the rounded-up ones back under the quota."""
    kept: Kept | None = None
    """With ``keep``: the linear relaxation solved, as HiGHS holds it (:mod:`.rebound`)."""
    own: Pooled | None = None
    """When the linear relaxation's instance counts were branched on (:mod:`.branching`):
    its own solution rounded, with the same bound, for placement to try too."""
    iterations: int = 0
    """HiGHS's simplex iterations solving the integer model (every run, cuts and
    heuristics included): its work, counted the same on every machine."""


def solve_pooled(
    grouped: Sequence[Group],
    servers: Mapping[str, Server],
    *,
    max_backends: int | None = None,
    max_nodes: int = MAX_NODES,
    max_exact_columns: int = MAX_EXACT_COLUMNS,
    linear: bool = False,
    cutoff: float | None = None,
    keep: bool = False,
    beside: Callable[[], object] | None = None,
    branch: bool = True,
    first: bool = False,
    cuts: Sequence[Cut] = (),
) -> Pooled:
    """Solve the relaxation of the module docstring (its linear relaxation only
    past ``max_exact_columns`` unit columns, or when ``max_nodes`` branch-and-bound
    nodes end without an integer solution: then rounded, ``proven`` false).  The
    integer model is written per shape up to :data:`MAX_SHAPE_COLUMNS` unit columns,
    pooled per server past them.

    ``linear``: the linear relaxation of the same model (per shape up to
    ``max_exact_columns``), for its bound alone: milliseconds, where the
    integer model can take seconds.

    ``cutoff`` (dollars): only solutions cheaper than this are wanted, so
    HiGHS prunes every node whose bound reaches it; with none cheaper, the
    answer has no counts and ``bound`` is the cutoff.  ``keep``: a linear relaxation
    solved is kept in the answer, to bound the component again without some
    pools (:class:`.rebound.Kept`).  A repack asking
    whether a server's units fit cheaper instances than they have proves "no"
    at the root instead of proving the instances they have optimal (aws
    ``users`` 1,000: 0 nodes and 15 ms instead of 0.1 s).

    ``beside``: work done on a spare CPU while HiGHS solves (:func:`.highs.run_beside`).
    ``branch``: where rounding a linear relaxation's instance counts passes a quota,
    the counts are branched on (:mod:`.branching`).  ``first``: with ``cutoff``, the
    first solution cheaper than it is the answer (HiGHS stops at its first improving
    solution, often at its root, where the cheapest can take its cuts and heuristics
    many times longer); ``proven`` is then false.  ``cuts``: rows of :mod:`.cuts`
    (for the integer model), each met by every plan.
    """
    from highspy import _core  # noqa: PLC0415 - the core, not the wrapper (which prints a banner)

    columns = _columns(grouped, servers)
    exact = columns <= max_exact_columns and not linear
    per_shape = columns <= max_exact_columns and (linear or columns <= MAX_SHAPE_COLUMNS)
    model = _Model(grouped, servers, max_backends, per_shape=per_shape)
    # HiGHS's own integrality tolerance (1e-6): with 1e-9 it proved wrong optima
    # on these models (a users draw of 200 resources: "optimal" at $3,557.92, or
    # $3,534.45 with another seed, where $3,528.98 is feasible; with 1e-6 ten
    # seeds and both restart settings agree on $3,528.98).
    highs = highs_holding(
        model.cost,
        model.upper,
        model.row_lower,
        model.row_upper,
        model.columns,
        integer=exact,
        max_nodes=max_nodes,
        abs_gap=1e-7,
    )
    if cuts:
        add_cuts(highs, model, grouped, cuts)
    if cutoff is not None:
        highs.setOptionValue("objective_bound", cutoff - model.constant)
        if first:
            highs.setOptionValue("mip_max_improving_sols", 1)
    run_beside(highs, beside)
    spent = solve_open(highs, model.opening)
    status = highs.getModelStatus()
    info = highs.getInfo()
    solved = info.primal_solution_status == _core.SolutionStatus.kSolutionStatusFeasible
    if cutoff is not None and (
        not solved or model.constant + float(info.objective_function_value) >= cutoff
    ):
        # Nothing cheaper than the cutoff.  HiGHS may still hold a dearer solution
        # its heuristics found, and call it optimal once every node is pruned.
        # the search ended by its bounds, not by its node limit
        finished = status in (
            _core.HighsModelStatus.kInfeasible,
            _core.HighsModelStatus.kOptimal,
            _core.HighsModelStatus.kObjectiveBound,
        )
        return Pooled(None, {}, cutoff if finished else 0.0, False, False, iterations=spent)
    if status == _core.HighsModelStatus.kInfeasible:
        return Pooled(None, {}, math.inf, True, True)
    if not solved and exact:
        # The node limit ended the search before any integer solution: round
        # the linear relaxation instead (as past ``max_exact_columns``), and
        # keep the better of the two proven bounds.
        dual = model.constant + float(info.mip_dual_bound)
        del highs, model
        rounded = solve_pooled(
            grouped, servers, max_backends=max_backends, max_exact_columns=-1, keep=keep
        )
        if rounded.counts is None or not math.isfinite(dual) or dual <= rounded.bound:
            return rounded
        return replace(rounded, bound=dual)
    if not solved:
        return Pooled(None, {}, 0.0, False, False)
    if not exact:
        kept = _kept(highs, model) if keep else None  # the whole model's, before branching
        if branch:
            dive = branch_counts(
                highs,
                model.shapes,
                model.quotas,
                model.upper,
                lambda: solve_again(highs, model.opening),
            )
        else:
            objective = float(info.objective_function_value)
            dive = Branched(highs.getSolution().col_value, objective)
        bound = model.constant + dive.bound
        answer = _rounded(model, grouped, dive.solution, bound)
        if dive.own is not None:
            answer = replace(answer, own=_rounded(model, grouped, dive.own, bound))
        return replace(answer, kept=kept) if keep else answer
    proven = status == _core.HighsModelStatus.kOptimal
    values = [round(v) for v in highs.getSolution().col_value]
    counts = tuple(
        tuple((backend, shape, values[col]) for backend, shape, col in row if values[col] > 0)
        for row in model.placement
    )
    instances = {
        name: tuple((shape, values[col]) for shape, col in shapes if values[col] > 0)
        for name, shapes in model.shapes.items()
    }
    bound = model.constant + float(info.objective_function_value if proven else info.mip_dual_bound)
    return Pooled(counts, instances, bound, proven, False, iterations=spent)


def _kept(highs: _Highs, model: _Model) -> Kept:
    from skaal.solver.rebound import Kept  # noqa: PLC0415 - only a plan with network fees asks

    columns: dict[str, list[int]] = {}
    for row in model.placement:
        for backend, _, col in row:
            columns.setdefault(backend, []).append(col)
    for name, shapes in model.shapes.items():
        columns.setdefault(name, []).extend(col for _, col in shapes)
    return Kept(highs.getLp(), highs.getBasis(), model.constant, columns, model.upper)


def _rounded(
    model: _Model, grouped: Sequence[Group], solution: Sequence[float], bound: float
) -> Pooled:
    """The linear relaxation's solution rounded to whole units and instances.

    Each group's units go to its options in proportion to the relaxation
    (largest remainders first, ties to the cheaper option), a unit split
    between a server and a dedicated option to the dedicated one: rounding
    it onto the server would overfill a capacity the relaxation has filled
    to the brim, and push many units off the server instead; each shape gets
    the relaxation's instances rounded up, and where that passes a server's
    quota the answer also holds them brought within it (``capped``).  The
    placement step adds instances where first fit needs more.  ``bound`` (dollars) is
    the proven lower bound: the relaxation's optimum, or above it once instance counts
    were branched on (:mod:`.branching`).
    """
    counts: list[tuple[tuple[str, Shape | None, int], ...]] = []
    for group, row in zip(grouped, model.placement, strict=True):
        size = len(group.units)
        shares = [(backend, shape, solution[col]) for backend, shape, col in row]
        whole = [math.floor(v + 1e-9) for _, _, v in shares]
        left = size - sum(whole)
        if left > 0:  # most groups sit whole on one option: nothing to hand out
            order = sorted(
                range(len(shares)),
                key=lambda i: (
                    shares[i][0] in model.shapes or shares[i][2] - whole[i] < 1e-9,
                    -(shares[i][2] - whole[i]),
                    model.cost[row[i][2]],
                ),
            )
            for i in order[:left]:
                whole[i] += 1
        counts.append(
            tuple((b, shape, n) for (b, shape, _), n in zip(shares, whole, strict=True) if n > 0)
        )
    instances: dict[str, tuple[tuple[Shape, int], ...]] = {}
    rounded: dict[str, list[tuple[str, Shape, float, int]]] = {}  # per quota key
    for name, shapes in model.shapes.items():
        values = [(shape, solution[col]) for shape, col in shapes if solution[col] > 1e-9]
        whole = [math.ceil(value - 1e-9) for _, value in values]
        instances[name] = tuple((shape, n) for (shape, _), n in zip(values, whole, strict=True))
        key = model.quotas[name][0]
        rounded.setdefault(key, []).extend(
            (name, shape, value, n) for (shape, value), n in zip(values, whole, strict=True)
        )
    capped: dict[str, tuple[tuple[Shape, int], ...]] = {}
    for name, (key, quota) in model.quotas.items():
        if name not in capped and sum(r[1].units * r[3] for r in rounded.get(key, ())) > quota:
            capped.update(_within_quota(rounded[key], quota))
    return Pooled(tuple(counts), instances, bound, False, False, capped)


def _within_quota(
    rounded: Sequence[tuple[str, Shape, float, int]], quota: int
) -> dict[str, tuple[tuple[Shape, int], ...]]:
    """The instances of the servers sharing a quota, per shape as (server, shape,
    relaxation's value, rounded up), past the ``quota``: brought within it by
    giving some back; per server, what it keeps.

    The relaxation keeps their sum within the quota, but rounding each up
    does not: 0.56 small ($2) and 1.44 large ($50) instances under a quota
    of 2 round up to 1 + 2 (the aws ``users`` draw of 1,500 resources, seed
    10, planned 41 PostgreSQL instances under a quota of 40 this way).  Each
    shape rounded up is over its value by less than one instance, so giving
    back one rounded-up instance of each shape brings them within it; those
    given back are the rounded-up instances the relaxation used least, in
    fees: here the small one (0.56 of $2, against 0.44 of $50).  A shape
    using several units of the quota (:attr:`.Shape.units`) gives back as
    many.  Placement packs into these only when the rounded-up instances,
    packed and merged, still pass the quota (packing usually merges them
    back under it, more cheaply); it sheds or spills what they cannot hold.
    """
    kept = [n for *_, n in rounded]
    share = [value - (n - 1) for _, _, value, n in rounded]
    # (a tolerance can leave too few rounded up to give back: then others)
    order = sorted(
        range(len(rounded)),
        key=lambda i: (kept[i] <= rounded[i][2] + 1e-9, share[i] * rounded[i][1].fee, i),
    )
    over = sum(r[1].units * r[3] for r in rounded) - quota
    for i in order:
        if over <= 0:
            break
        kept[i] -= 1
        over -= rounded[i][1].units
    out: dict[str, list[tuple[Shape, int]]] = {}
    for (name, shape, _, _), n in zip(rounded, kept, strict=True):
        row = out.setdefault(name, [])
        if n > 0:
            row.append((shape, n))
    return {name: tuple(row) for name, row in out.items()}


def _bigs(
    grouped: Sequence[Group],
    servers: Mapping[str, Server],
    family_of: Mapping[tuple[str, tuple[int, ...]], frozenset[int]],
) -> dict[tuple[str, int, int], list[int]]:
    """Per (server, shape, dimension), the distinct usages over half an instance (at most
    :data:`_BIG_ROWS` of them, :func:`_spread`): each gives a row of :func:`_weight`."""
    found: dict[tuple[str, int, int], set[int]] = {}
    for group in grouped:
        for option in group.options:
            server = servers.get(option.backend)
            if server is None:
                continue
            for k in family_of[option.backend, group.usage]:
                for d, cap in enumerate(server.shapes[k].capacity):
                    if cap is not None and 2 * group.usage[d] > cap:
                        found.setdefault((option.backend, k, d), set()).add(group.usage[d])
    return {key: _spread(values) for key, values in found.items()}


#: The most rows of :func:`_weight` per (server, shape, dimension).
_BIG_ROWS = 8


def _spread(bigs: set[int]) -> list[int]:
    """At most :data:`_BIG_ROWS` of ``bigs``, evenly spread, the smallest always kept (its
    row counts every unit over half an instance)."""
    ordered = sorted(bigs)
    if len(ordered) <= _BIG_ROWS:
        return ordered
    step = (len(ordered) - 1) / (_BIG_ROWS - 1)
    return sorted({ordered[round(i * step)] for i in range(_BIG_ROWS)})


def _weight(use: int, big: int, cap: int) -> float:
    """A unit's share in the row of an instance of capacity ``cap`` for ``big`` (> cap / 2).

    Σ weight ≤ 1 on every instance of that shape, so the weights of the units
    on its instances sum to at most their number: a unit using ``big`` or
    more counts 1, and leaves room only for units of at most ``cap - big``,
    which count 0; with no such unit on an instance, the others count their
    share of ``cap`` (at most 1 in all).  Two units over half an instance
    never share one; and, for instance, three units of 0.9, 0.66 and 0.41 of
    an instance need three instances (0.9 alone, then 1.07 in shares).
    """
    if use >= big:
        return 1.0
    if use <= cap - big:
        return 0.0
    return use / cap


def _demand(grouped: Sequence[Group], wanted: set[tuple[str, int]]) -> dict[tuple[str, int], float]:
    """Per (backend, dimension) of ``wanted``, the most a component could put there (the
    room of its unlimited classes)."""
    out = dict.fromkeys(wanted, 0.0)
    if not wanted:
        return out
    for group in grouped:
        for option in group.options:
            for d, use in enumerate(group.usage):
                key = (option.backend, d)
                if key in out:
                    out[key] += use / SCALE * len(group.units)
    return out


def branched(grouped: Sequence[Group], servers: Mapping[str, Server]) -> bool:
    """Whether :func:`solve_pooled` solves this model as an integer programme (per shape
    or per server), as it does up to :data:`MAX_EXACT_COLUMNS` unit columns by default."""
    return _columns(grouped, servers) <= MAX_EXACT_COLUMNS


def _columns(grouped: Sequence[Group], servers: Mapping[str, Server]) -> int:
    """How many unit columns the per-shape model would have."""
    return sum(
        len(servers[o.backend].shapes) if o.backend in servers else 1
        for g in grouped
        for o in g.options
    )


_PooledRows = tuple[list[tuple[int, int]], list[tuple[int, int, int]], tuple[int, ...]]


class _Model:
    """The columns and rows of the relaxation, built in plain Python (column-wise)."""

    def __init__(
        self,
        grouped: Sequence[Group],
        servers: Mapping[str, Server],
        max_backends: int | None,
        *,
        per_shape: bool = True,
    ) -> None:
        self.per_shape = per_shape
        self.constant = 0.0
        """Dollars every plan pays (each group's cheapest option), left out of the costs."""
        self.used_col: dict[str, int] = {}
        """Backend (all its regional pools) → its "used" column, with max_backends."""
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.columns: list[list[tuple[int, float]]] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.placement: list[list[tuple[str, Shape | None, int]]] = []
        self.shapes: dict[str, list[tuple[Shape, int]]] = {}
        self.quotas: dict[str, tuple[str, int]] = {}
        """Per server: its quota key and quota (the bound of its quota rows)."""
        self.families: dict[
            str,
            tuple[
                dict[frozenset[int], list[tuple[int, int]]],
                dict[frozenset[int], list[tuple[int, int, int]]],
            ],
        ] = {}
        """Per server (without per_shape): the family rows of :meth:`_family_rows`."""
        self.family_of: dict[tuple[str, tuple[int, ...]], frozenset[int]] = {}
        self.opening = Opening()
        """Without per_shape, the rows ``y[g,s] ≤ |g| · Σ_{k holds g} n[s,k]`` (an instance
        able to hold a unit exists where it goes) as (unit column, |g|, instance columns):
        added to the model only when the relaxation breaks them (:mod:`.opening`)."""
        used = sorted({o.backend for g in grouped for o in g.options})
        for group in grouped:  # row g: every unit of group g placed once
            size = float(len(group.units))
            self._row(size, size)
        limit_row = -1 if max_backends is None else self._row(-math.inf, float(max_backends))
        # Per server: quota, and per shape the instances column and its capacity rows.
        capacity: dict[tuple[str, int], list[tuple[int, int]]] = {}
        usages_on: dict[str, set[tuple[int, ...]]] = {}
        for group in grouped:
            for option in group.options:
                if option.backend in servers:
                    usages_on.setdefault(option.backend, set()).add(group.usage)
        # Pooled per server, an unlimited class holds all the component could put there.
        mixed = (
            set()
            if per_shape
            else {
                (name, d)
                for name in usages_on
                for d in range(len(servers[name].shapes[0].capacity))
                if len({k.capacity[d] is None for k in servers[name].shapes}) == 2
            }
        )
        demand = _demand(grouped, mixed)
        # A quota shared by several of the servers used is one more row over all of them.
        members = quota_groups({s: servers[s] for s in servers if s in used})
        shared_rows: dict[str, int] = {}
        for name in sorted(s for s in servers if s in used):
            server = servers[name]
            usages = usages_on[name]
            for usage, family in _holding(server.shapes, sorted(usages)).items():
                self.family_of[name, usage] = family
            quota = self._row(-math.inf, 0.0 if max_backends is not None else server.quota)
            self.quotas[name] = (server.quota_key, server.quota)
            shared = shared_rows.get(server.quota_key, -1)
            if shared < 0 and len(members[server.quota_key]) > 1:
                shared = shared_rows[server.quota_key] = self._row(-math.inf, server.quota)
            pooled: dict[int, int] = {}  # per server and dimension, without per_shape
            for k, shape in enumerate(server.shapes):
                entries = [(quota, float(shape.units))]
                if shared >= 0:
                    entries.append((shared, float(shape.units)))
                rows: list[tuple[int, int]] = []
                for d, cap in enumerate(shape.capacity):
                    if per_shape and cap is not None:
                        row = self._row(-math.inf, 0.0)
                        entries.append((row, -cap / SCALE))
                        rows.append((d, row))
                    elif not per_shape and any(x.capacity[d] is not None for x in server.shapes):
                        row = pooled.get(d, -1)
                        if row < 0:
                            row = pooled[d] = self._row(-math.inf, 0.0)
                        held = demand.get((name, d), 0.0) + 1.0 if cap is None else cap / SCALE
                        entries.append((row, -held))
                        rows.append((d, row))
                capacity[name, k] = rows
                col = self._column(shape.fee, float(server.quota // shape.units), entries)
                self.shapes.setdefault(name, []).append((shape, col))
            if not per_shape:
                self._family_rows(name, server, usages)
            if max_backends is not None:  # one "used" column for all pools of a backend
                real = backend_of(name)
                if real not in self.used_col:
                    self.used_col[real] = self._column(0.0, 1.0, [(limit_row, 1.0)])
                self.columns[self.used_col[real]].append((quota, -float(server.quota)))
        if max_backends is not None:
            for backend in used:
                if backend_of(backend) not in self.used_col:
                    self.used_col[backend_of(backend)] = self._column(0.0, 1.0, [(limit_row, 1.0)])
        # Units of each group on each dedicated option, or on each shape of a server.
        large: dict[tuple[str, int, int, int], int] = {}
        bigs = _bigs(grouped, servers, self.family_of) if per_shape else {}
        # Per (server, family of shapes), the rows a unit column of the model pooled
        # per server has entries in (:meth:`_pooled_rows`): looked up once, not per unit.
        by_family: dict[tuple[str, frozenset[int]], _PooledRows] = {}
        # The loop below makes a column per unit and option (169,000 at 100,000
        # resources): the column lists are appended to directly, not through _column.
        costs, uppers, columns = self.cost, self.upper, self.columns
        for g_index, group in enumerate(grouped):
            size = float(len(group.units))
            usage = group.usage
            scaled = [use / SCALE for use in usage]
            row_cols: list[tuple[str, Shape | None, int]] = []
            # Costs above the group's cheapest option: the constant part stays out
            # of the solver, whose tolerances are then cents of the differences,
            # not of the whole bill.
            base = min(o.cost for o in group.options)
            self.constant += base * len(group.units) / SCALE
            for option in group.options:
                backend = option.backend
                link = -1
                if max_backends is not None:
                    link = self._row(-math.inf, 0.0)
                    columns[self.used_col[backend_of(backend)]].append((link, -size))
                targets: Sequence[tuple[Shape | None, list[tuple[int, float]]]]
                opening: tuple[int, ...] = ()
                if backend in servers and not per_shape:
                    family = self.family_of[backend, usage]
                    pooled_rows = by_family.get((backend, family))
                    if pooled_rows is None:
                        pooled_rows = by_family[backend, family] = self._pooled_rows(
                            backend, family, capacity[backend, 0]
                        )
                    shares, halves, opening = pooled_rows
                    entries = [(row, scaled[d]) for d, row in shares if usage[d]]
                    if halves:
                        entries += [(row, 1.0) for d, row, top in halves if 2 * usage[d] > top]
                    targets = ((None, entries),)
                elif backend in servers:
                    targets = self._shape_columns(
                        backend, usage, size, capacity=capacity, bigs=bigs, large=large
                    )
                else:
                    targets = ((None, []),)
                for target, entries in targets:
                    entries.append((g_index, 1.0))
                    if link >= 0:
                        entries.append((link, 1.0))
                    costs.append((option.cost - base) / SCALE)
                    uppers.append(size)
                    columns.append(entries)
                    col = len(costs) - 1
                    row_cols.append((backend, target, col))
                    if opening:
                        self.opening.append(col, size, opening)
            self.placement.append(row_cols)

    def _shape_columns(
        self,
        backend: str,
        usage: tuple[int, ...],
        size: float,
        *,
        capacity: Mapping[tuple[str, int], list[tuple[int, int]]],
        bigs: Mapping[tuple[str, int, int], Sequence[int]],
        large: dict[tuple[str, int, int, int], int],
    ) -> list[tuple[Shape | None, list[tuple[int, float]]]]:
        """Per shape of server ``backend`` holding a unit of ``usage`` (of a group of
        ``size`` units), its column's entries: the per-shape model."""
        targets: list[tuple[Shape | None, list[tuple[int, float]]]] = []
        holding = self.family_of[backend, usage]
        for k, (shape, instances) in enumerate(self.shapes[backend]):
            if k not in holding:
                continue
            entries = [(row, usage[d] / SCALE) for d, row in capacity[backend, k] if usage[d]]
            if not entries:  # nothing limits it: an instance must still exist
                opened = self._row(-math.inf, 0.0)
                entries.append((opened, 1.0))
                self.columns[instances].append((opened, -size))
            for d, cap in enumerate(shape.capacity):
                use = usage[d]
                if cap is None or not use:
                    continue
                for big in bigs.get((backend, k, d), ()):
                    weight = _weight(use, big, cap)
                    if not weight:
                        continue
                    row = large.get((backend, k, d, big), -1)
                    if row < 0:
                        row = self._row(-math.inf, 0.0)
                        large[backend, k, d, big] = row
                        self.columns[instances].append((row, -1.0))
                    entries.append((row, weight))
            targets.append((shape, entries))
        return targets

    def _family_rows(self, name: str, server: Server, usages: set[tuple[int, ...]]) -> None:
        """Rows that keep a unit on the shapes able to hold it, pooled per family of shapes.

        A unit's *family* is the set of ``name``'s shapes that hold it alone.
        For every family ``F`` the units whose family lies inside ``F`` can
        only use the instances of ``F``'s shapes (Hall's condition, valid for
        every plan), per dimension, and units over half of every shape of
        ``F`` in a dimension take one instance each.  Pooling over the whole
        server alone would let a large unit use the room of small instances.
        """
        everything = frozenset(range(len(server.shapes)))
        # Per family, the largest usage of its units in each dimension: all the rows
        # below ask of the units inside a family is whether one is over half an instance.
        ordered = list(usages)
        largest = _largest_per_family(ordered, [self.family_of[name, u] for u in ordered])
        rows: dict[frozenset[int], list[tuple[int, int]]] = {}
        halves: dict[frozenset[int], list[tuple[int, int, int]]] = {}
        for family in sorted(largest, key=sorted):
            shapes = [server.shapes[k] for k in sorted(family)]
            inside = [most for other, most in largest.items() if other <= family]
            for d in range(len(server.shapes[0].capacity)):
                caps = [s.capacity[d] for s in shapes]
                if not family or any(c is None for c in caps):
                    continue
                if family != everything:
                    row = self._row(-math.inf, 0.0)
                    rows.setdefault(family, []).append((d, row))
                    for k in sorted(family):
                        cap = server.shapes[k].capacity[d]
                        assert cap is not None
                        self.columns[self.shapes[name][k][1]].append((row, -cap / SCALE))
                top = max(c for c in caps if c is not None)
                if any(2 * u[d] > top for u in inside):
                    row = self._row(-math.inf, 0.0)
                    halves.setdefault(family, []).append((d, row, top))
                    for k in sorted(family):
                        self.columns[self.shapes[name][k][1]].append((row, -1.0))
        self.families[name] = (rows, halves)

    def _pooled_rows(
        self, name: str, mine: frozenset[int], pooled: Sequence[tuple[int, int]]
    ) -> _PooledRows:
        """The rows of server ``name`` a unit of family ``mine`` has entries in, in order.

        ``(dimension, row)`` where it counts its usage (``pooled``, the server's
        capacity rows, then the rows of every family holding ``mine``),
        ``(dimension, row, top)`` where it counts 1 if over half of ``top``, and
        the instance columns of the shapes holding it (its opening row).
        """
        rows, halves = self.families[name]
        shares = [*pooled]
        for family, per_dimension in rows.items():
            if mine <= family:
                shares += per_dimension
        large = [entry for family, entries in halves.items() if mine <= family for entry in entries]
        opening = tuple(
            instances for k, (_, instances) in enumerate(self.shapes[name]) if k in mine
        )
        return shares, large, opening

    def _row(self, lower: float, upper: float) -> int:
        self.row_lower.append(lower)
        self.row_upper.append(upper)
        return len(self.row_lower) - 1

    def _column(self, cost: float, upper: float, entries: list[tuple[int, float]]) -> int:
        self.cost.append(cost)
        self.upper.append(upper)
        self.columns.append(entries)
        return len(self.cost) - 1


def _largest_per_family(
    usages: Sequence[tuple[int, ...]], families: Sequence[frozenset[int]]
) -> dict[frozenset[int], list[int]]:
    """Per family, the most any of its usages (``families[i]`` the family of the i-th)
    uses in each dimension: one numpy maximum over all of them (the 41,000 usages of a
    Cloud SQL pool of gcp ``users`` 100,000)."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

    index: dict[frozenset[int], int] = {}
    ids = [index.setdefault(family, len(index)) for family in families]
    if not ids:
        return {}
    table = np.array(usages, dtype=np.int64)
    most = np.full((len(index), table.shape[1]), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(most, ids, table)
    rows: list[list[int]] = most.tolist()
    return {family: rows[i] for family, i in index.items()}


def _holding(
    shapes: Sequence[Shape], usages: Sequence[tuple[int, ...]]
) -> dict[tuple[int, ...], frozenset[int]]:
    """For each usage, the indexes of the shapes one empty instance of which holds it.

    :meth:`Shape.holds` for every pair at once, in numpy: an app of 10,000
    resources has thousands of distinct usages and a server some dozens of
    shapes.  Usages and capacities are scaled integers far below 2**62; an
    unlimited dimension (``None``) holds anything.
    """
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS, for a plan with pooled servers

    if not usages or not shapes:
        return {usage: frozenset() for usage in usages}
    needs = np.array(usages, dtype=np.int64)
    capacities = [shape.capacity for shape in shapes]
    # Thousands of usages fall into a few dozen families: one frozenset per family,
    # told apart by the bits of an integer where there are few enough shapes (sorting
    # the rows of a usage x shape table whole: 0.10 s instead of 0.07 s for the 40,659
    # usages of a Cloud SQL pool of gcp users 100,000, 0.11 s instead of 0.05 s for 53,356).
    if len(shapes) <= fitarrays.FAMILY_BITS:
        kinds, which = np.unique(fitarrays.family_codes(needs, capacities), return_inverse=True)
        families = [fitarrays.family_of(bits, len(shapes)) for bits in kinds.tolist()]
    else:
        unlimited = np.iinfo(np.int64).max
        caps = np.array(
            [[unlimited if c is None else c for c in cap] for cap in capacities], dtype=np.int64
        )
        fits = np.asarray((needs[:, None, :] <= caps[None, :, :]).all(axis=2))
        rows, which = np.unique(fits, axis=0, return_inverse=True)
        families = [frozenset(np.flatnonzero(row).tolist()) for row in rows]
    return dict(zip(usages, (families[i] for i in which.ravel().tolist()), strict=True))
