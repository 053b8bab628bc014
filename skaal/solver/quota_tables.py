"""What a table takes of a Region's quota on provisioned capacity, and what leaving it costs.

DynamoDB lets one account provision at most 80,000 read and 80,000 write
capacity units per Region (``quota_read_units`` and ``quota_write_units`` of
the catalog's mode).  Each resource provisioned in such a mode is a
:class:`Table` of its *pool* (backend, mode, Region): the units it takes
(its indexes each provisioned the table's units again) and its cheapest
other mode of the same backend.  :mod:`.mode_quotas` keeps a plan within
the quotas with them, and :mod:`.mode_rows` writes them into the pooled
relaxation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from skaal.catalog.model import Backend, Mode
from skaal.solver.cost import (
    Pricing,
    fitting_modes,
    mode_prices,
    monthly_quantities,
    provisioned,
    served_consistency,
)
from skaal.solver.problem import Option, Problem, ResourceOptions

__all__ = ["ModePool", "Table", "Tables", "mode_named", "mode_pool", "quoted_modes"]

#: A Region's quota of one mode: (backend, mode, region).
ModePool = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Table:
    """A resource provisioned in a mode with a regional quota, and what leaving it costs."""

    reads: int
    writes: int
    saving: float
    """What it costs more in ``fallback`` (dollars a month)."""
    fallback: tuple[str | None, float] | None
    """The cheapest other mode within the backend's per-resource quotas, and the
    resource's own cost there; ``None``: it has none and stays."""


def quoted_modes(backend: Backend) -> frozenset[str | None]:
    """The names of ``backend``'s modes with a regional quota."""
    return frozenset(
        m.name
        for m in backend.modes
        if m.quota_read_units is not None or m.quota_write_units is not None
    )


def mode_named(backend: Backend, name: str) -> Mode:
    """``backend``'s mode called ``name``."""
    return next(m for m in backend.modes if m.name == name)


def mode_pool(problem: Problem, quoted: Mapping[str, Backend], option: Option) -> ModePool | None:
    """The quota ``option`` counts against, ``None`` for a mode without one (``quoted``:
    the backends with a quoted mode, by name)."""
    backend = quoted.get(option.backend)
    if backend is None or option.mode not in quoted_modes(backend):
        return None
    return (option.backend, option.mode or "", option.region or problem.catalog.region)


class Tables:
    """Each resource's :class:`Table` in a pool, computed once per alike workload."""

    def __init__(self, quoted: Mapping[str, Backend]) -> None:
        self.quoted = quoted
        self.known: dict[tuple[object, ...], Table] = {}
        # each backend's pricing per mode, read once for every table
        self.prices = {name: mode_prices(backend) for name, backend in quoted.items()}

    def of(self, res: ResourceOptions, pool: ModePool) -> Table:
        spec = res.spec
        key = (pool, *res.workload.key(), spec.kind, spec.requirements.consistency)
        table = self.known.get(key)
        if table is None:
            backend = self.quoted[pool[0]]
            table = self.known[key] = _table(
                backend, mode_named(backend, pool[1]), res, self.prices[pool[0]]
            )
        return table


def _table(
    backend: Backend,
    mode: Mode,
    res: ResourceOptions,
    prices: Sequence[tuple[str | None, Pricing]],
) -> Table:
    """``res`` on ``backend`` in ``mode`` (``prices``: the backend's :func:`mode_prices`):
    its units, and its cheapest other mode."""
    spec, load = res.spec, res.workload
    offered = backend.performance.consistency
    served = served_consistency(spec.kind, spec.requirements.consistency, offered)
    units = provisioned(backend, mode.name, load, consistency=served)
    assert units is not None  # a quota needs a provisioned mode (the catalog check)
    copies = mode.price.index_copies
    # each index is provisioned the table's units again (billed as its share of a copy)
    counted = 1 + load.indexes * (0.0 if copies is None else copies.factor)
    reads = math.ceil(units.reads_per_s * counted - 1e-9)
    writes = math.ceil(units.writes_per_s * counted - 1e-9)
    eventual = served == "eventual"
    quantities = monthly_quantities(load)
    here = next(p for name, p in prices if name == mode.name).total(quantities, eventual=eventual)
    quoted = quoted_modes(backend)
    others = [
        (name, pricing.total(quantities, eventual=eventual))
        for name, pricing in fitting_modes(backend, load, eventual=eventual, modes=prices)
        if name not in quoted
    ]
    if not others:
        return Table(reads, writes, 0.0, None)
    name, cost = min(others, key=lambda priced: priced[1])  # first declared wins ties
    return Table(reads, writes, cost - here, (name, cost))
