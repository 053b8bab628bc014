"""The pooled relaxation's model: its columns and rows, written for HiGHS.

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
:data:`.pooled.MAX_SHAPE_COLUMNS` unit columns the units are pooled per server
instead (a column per group and server, instances still per shape, with the
family rows of :meth:`PooledModel._family_rows`): a weaker bound, still met by
every plan, on a model HiGHS branches on in a fraction of the time; past
:data:`.pooled.MAX_EXACT_COLUMNS` only its linear relaxation is solved, and rounded.

The model is written column by column in plain Python (:class:`PooledModel`);
:mod:`.pooled` solves it and reads its solution back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from skaal.solver import fitarrays
from skaal.solver.count_pools import Pool
from skaal.solver.count_rows import CountRows
from skaal.solver.decompose import SCALE, Group
from skaal.solver.mode_rows import ModeRows
from skaal.solver.opening import Opening
from skaal.solver.quota_tables import ModePool
from skaal.solver.servers import Server, Shape, backend_of, quota_groups
from skaal.solver.sparse import Columns

__all__ = ["PooledModel", "holding", "largest_per_family", "weight"]


def _bigs(
    grouped: Sequence[Group],
    servers: Mapping[str, Server],
    family_of: Mapping[tuple[str, tuple[int, ...]], frozenset[int]],
) -> dict[tuple[str, int, int], list[int]]:
    """Per (server, shape, dimension), the distinct usages over half an instance (at most
    :data:`_BIG_ROWS` of them, :func:`_spread`): each gives a row of :func:`weight`."""
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


#: The most rows of :func:`weight` per (server, shape, dimension).
_BIG_ROWS = 8


def _spread(bigs: set[int]) -> list[int]:
    """At most :data:`_BIG_ROWS` of ``bigs``, evenly spread, the smallest always kept (its
    row counts every unit over half an instance)."""
    ordered = sorted(bigs)
    if len(ordered) <= _BIG_ROWS:
        return ordered
    step = (len(ordered) - 1) / (_BIG_ROWS - 1)
    return sorted({ordered[round(i * step)] for i in range(_BIG_ROWS)})


def weight(use: int, big: int, cap: int) -> float:
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


_PooledRows = tuple[list[tuple[int, int]], list[tuple[int, int, int]], tuple[int, ...]]


class PooledModel:
    """The columns and rows of the relaxation, built in plain Python (column-wise)."""

    def __init__(
        self,
        grouped: Sequence[Group],
        servers: Mapping[str, Server],
        max_backends: int | None,
        *,
        per_shape: bool = True,
        counting: CountRows | None = None,
        provisioned: ModeRows | None = None,
    ) -> None:
        self.per_shape = per_shape
        self.provisioned: dict[ModePool, list[tuple[int, float, float]]] = {}
        """Per quoted pool of ``provisioned`` (:mod:`.mode_rows`): (column, read units, write
        units) of the unit columns provisioned there."""
        self.switches: list[tuple[int, float, float, ModePool, float, float]] = []
        """Per table of such a column with another mode: (the column, what the table costs
        more in that mode in dollars, the group's size, its pool, its read and write
        units): the columns :mod:`.quota_bound` adds."""
        self.counted: dict[Pool, list[tuple[int, float]]] = {}
        """Per count pool (:mod:`.count_rows`): (column, how many its each unit creates)
        for the dedicated columns counted there: a row over them is added when the
        relaxation passes the pool."""
        self.constant = 0.0
        """Dollars every plan pays (each group's cheapest option), left out of the costs."""
        self.used_col: dict[str, int] = {}
        """Backend (all its regional pools) → its "used" column, with max_backends."""
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.columns = Columns()
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
            for usage, family in holding(server.shapes, sorted(usages)).items():
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
                self.columns.add(self.used_col[real], quota, -float(server.quota))
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
        # resources): its lists are appended to directly, not through _column.
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
                    columns.add(self.used_col[backend_of(backend)], link, -size)
                targets: Sequence[tuple[Shape | None, list[int], list[float]]]
                opening: tuple[int, ...] = ()
                if backend in servers and not per_shape:
                    family = self.family_of[backend, usage]
                    pooled_rows = by_family.get((backend, family))
                    if pooled_rows is None:
                        pooled_rows = by_family[backend, family] = self._pooled_rows(
                            backend, family, capacity[backend, 0]
                        )
                    shares, halves, opening = pooled_rows
                    col_rows = [row for d, row in shares if usage[d]]
                    col_values = [scaled[d] for d, _ in shares if usage[d]]
                    if halves:
                        over = [row for d, row, top in halves if 2 * usage[d] > top]
                        col_rows += over
                        col_values += [1.0] * len(over)
                    targets = ((None, col_rows, col_values),)
                elif backend in servers:
                    targets = self._shape_columns(
                        backend, usage, size, capacity=capacity, bigs=bigs, large=large
                    )
                else:
                    targets = ((None, [], []),)
                counts = (
                    counting.of(backend, group.units[0].members)
                    if counting is not None and backend in counting.backends
                    else {}
                )
                tables = (
                    provisioned.of(backend, group.units[0].members)
                    if provisioned is not None and backend not in servers
                    else ()
                )
                for target, col_rows, col_values in targets:
                    col_rows.append(g_index)
                    col_values.append(1.0)
                    if link >= 0:
                        col_rows.append(link)
                        col_values.append(1.0)
                    costs.append((option.cost - base) / SCALE)
                    uppers.append(size)
                    col = columns.new(col_rows, col_values)
                    row_cols.append((backend, target, col))
                    for pool, n in counts.items():  # a dedicated option counted in a pool
                        self.counted.setdefault(pool, []).append((col, float(n)))
                    if opening:
                        self.opening.append(col, size, opening)
                for table in tables:  # provisioned: its units, and its other mode
                    self.provisioned.setdefault(table.pool, []).append(
                        (col, float(table.reads), float(table.writes))
                    )
                    if table.extra is not None:
                        self.switches.append(
                            (col, table.extra / SCALE, size, table.pool, table.reads, table.writes)
                        )
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
    ) -> list[tuple[Shape | None, list[int], list[float]]]:
        """Per shape of server ``backend`` holding a unit of ``usage`` (of a group of
        ``size`` units), its column's entries (rows, values): the per-shape model."""
        targets: list[tuple[Shape | None, list[int], list[float]]] = []
        holding = self.family_of[backend, usage]
        for k, (shape, instances) in enumerate(self.shapes[backend]):
            if k not in holding:
                continue
            rows = [row for d, row in capacity[backend, k] if usage[d]]
            values = [usage[d] / SCALE for d, _ in capacity[backend, k] if usage[d]]
            if not rows:  # nothing limits it: an instance must still exist
                opened = self._row(-math.inf, 0.0)
                rows.append(opened)
                values.append(1.0)
                self.columns.add(instances, opened, -size)
            for d, cap in enumerate(shape.capacity):
                use = usage[d]
                if cap is None or not use:
                    continue
                for big in bigs.get((backend, k, d), ()):
                    share = weight(use, big, cap)
                    if not share:
                        continue
                    row = large.get((backend, k, d, big), -1)
                    if row < 0:
                        row = self._row(-math.inf, 0.0)
                        large[backend, k, d, big] = row
                        self.columns.add(instances, row, -1.0)
                    rows.append(row)
                    values.append(share)
            targets.append((shape, rows, values))
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
        largest = largest_per_family(ordered, [self.family_of[name, u] for u in ordered])
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
                        self.columns.add(self.shapes[name][k][1], row, -cap / SCALE)
                top = max(c for c in caps if c is not None)
                if any(2 * u[d] > top for u in inside):
                    row = self._row(-math.inf, 0.0)
                    halves.setdefault(family, []).append((d, row, top))
                    for k in sorted(family):
                        self.columns.add(self.shapes[name][k][1], row, -1.0)
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

    def _column(self, cost: float, upper: float, entries: Sequence[tuple[int, float]]) -> int:
        self.cost.append(cost)
        self.upper.append(upper)
        return self.columns.new([row for row, _ in entries], [value for _, value in entries])


def largest_per_family(
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


def holding(
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
