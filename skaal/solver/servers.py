"""Server backends as the optimiser sees them: the instance shapes each one can run.

A server backend (``Backend.server``) offers instance classes; a class with
``max_replicas = r`` can also run with 1 … r read replicas (``min_replicas`` …
``r`` where the class sets a floor).  Each (class,
replicas) pair is a :class:`Shape`: what ONE instance of that shape holds and
what it costs per month::

    fee       = class price × (1 + replicas) + per_instance_month + min_disk_gb × per_gb_month
    capacity  = size_gb, reads_per_s × (1 + replicas), writes_per_s, resources

(``None`` in a dimension: the class does not limit it.)  ``per_instance_month``
is what every instance pays besides its nodes (the secret holding its
credentials).  The volume floor ``min_disk_gb`` is paid per instance at the
backend's ``per_gb_month``; the data on the volume is each resource's own
``per_gb_month`` line, so nothing is charged twice.  Capacities are scaled to
integers like the units' usage (:mod:`.decompose`), rounded down so rounding
never overfills an instance.

:func:`largest` is the per-dimension maximum over the shapes, which the
feasibility filter uses to reject a resource no instance can hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sized
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from skaal.catalog.model import Backend, Capacity, InstanceClass
from skaal.solver.cost import money
from skaal.solver.decompose import Unit, UnitOption, cost_micro, scaled_capacity

if TYPE_CHECKING:
    from skaal.solver.problem import Problem

__all__ = [
    "POOL",
    "Bins",
    "Server",
    "Shape",
    "backend_of",
    "largest",
    "over_quota",
    "quota_groups",
    "quota_used",
    "regional_pools",
    "server_of",
]

#: Joins a server backend and a region into the name of a regional pool
#: (``rds-postgres@eu-west-1``): the optimiser keys servers by (backend, region)
#: so that an instance never holds resources of two regions.
POOL = "@"


def backend_of(pool: str) -> str:
    """The backend a pool (or a plain backend name) belongs to."""
    return pool.partition(POOL)[0]


class Shape(Struct, frozen=True, eq=False):
    """One way to run an instance of a server backend (compared and hashed by identity:
    each server's shapes are built once per solve)."""

    backend: str
    instance_class: InstanceClass
    replicas: int
    fee: float
    """Dollars per month for the instance itself (class × nodes, its secret, the volume floor)."""
    capacity: tuple[int | None, ...]
    """Scaled size, reads/s, writes/s and resource count (``DIMENSIONS`` order)."""
    units: int = 1
    """What one instance uses of its server's quota: its class's ``quota_units`` per node."""

    @property
    def fee_micro(self) -> int:
        return cost_micro(self.fee)

    @property
    def label(self) -> str:
        """``db.r7g.large`` or ``cache.r7g.large + 1 replica``."""
        name = self.instance_class.name
        if not self.replicas:
            return name
        return f"{name} + {self.replicas} replica{'s' if self.replicas > 1 else ''}"

    def holds(self, usage: tuple[int, ...]) -> bool:
        """Whether one empty instance of this shape holds ``usage``."""
        return all(c is None or u <= c for u, c in zip(usage, self.capacity, strict=True))


#: Instances (one shape each) and the units each holds: a server's packing.
Bins = list[tuple[Shape, list[Unit]]]


class Server(Struct, frozen=True):
    """A server backend's shapes (cheapest first) and its instance quota."""

    name: str
    shapes: tuple[Shape, ...]
    quota: int
    """Quota units (:attr:`Shape.units`) its instances may use together."""
    quota_adjustable: bool
    disk_floor_gb: float
    """The volume floor per instance; 0 for a memory store (no volume)."""
    group: str = ""
    """The key of the quota it shares with the other servers of the same key (a
    regional pool's carries its region, unless ``per_region`` is false); empty: its own."""
    per_region: bool = True
    """Whether the quota counts in each region (else once over every region of the
    account: a regional pool then shares its backend's quota)."""

    @property
    def quota_key(self) -> str:
        """What its quota is counted under: its group, else its own name."""
        return self.group or self.name

    @property
    def units_vary(self) -> bool:
        """Whether its shapes use different amounts of the quota (classes counted in GB,
        replicas counted as nodes)."""
        return len({shape.units for shape in self.shapes}) > 1

    def used(self, shapes: Iterable[Shape]) -> int:
        """The quota units ``shapes`` (one instance each) use together."""
        return sum(shape.units for shape in shapes)

    def used_by(self, bins: Iterable[tuple[Shape, Sized]]) -> int:
        """The quota units the instances of ``bins`` holding something use together."""
        return self.used(shape for shape, members in bins if members)

    @property
    def min_fee_micro(self) -> int:
        return min(s.fee_micro for s in self.shapes)

    def fee_to_hold(self, usage: tuple[int, ...]) -> float:
        """The fee of the cheapest shape holding ``usage`` alone (the largest's if none does):
        what placing it on this server would really add."""
        return next((s.fee for s in self.shapes if s.holds(usage)), self.shapes[-1].fee)

    def largest(self) -> tuple[int | None, ...]:
        """Per dimension, the most any one instance holds (``None``: unlimited)."""
        out: list[int | None] = []
        for values in zip(*(s.capacity for s in self.shapes), strict=True):
            out.append(None if any(v is None for v in values) else max(v for v in values if v))
        return tuple(out)


def quota_groups(servers: Mapping[str, Server]) -> dict[str, tuple[str, ...]]:
    """Per quota key (:attr:`Server.quota_key`), the servers counted under it, sorted."""
    out: dict[str, list[str]] = {}
    for name in sorted(servers):
        out.setdefault(servers[name].quota_key, []).append(name)
    return {key: tuple(names) for key, names in out.items()}


def quota_used(
    bins: Mapping[str, Iterable[tuple[Shape, Sized]]], servers: Mapping[str, Server]
) -> dict[str, int]:
    """Per quota key (:attr:`Server.quota_key`), the units the instances of ``bins``
    holding something use, counting every server sharing it."""
    used: dict[str, int] = {}
    for name in sorted(bins):
        key = servers[name].quota_key
        used[key] = used.get(key, 0) + servers[name].used_by(bins[name])
    return used


def over_quota(
    bins: Mapping[str, Iterable[tuple[Shape, Sized]]], servers: Mapping[str, Server]
) -> tuple[tuple[str, ...], int, int] | None:
    """The first quota that the instances of ``bins`` holding something pass, per server,
    counting every server sharing it: (those servers, units used, quota); ``None`` when
    all hold."""
    used = quota_used(bins, servers)
    sharing: dict[str, list[str]] = {}
    for name in sorted(bins):
        sharing.setdefault(servers[name].quota_key, []).append(name)
    for key, names in sharing.items():
        quota = servers[names[0]].quota
        if used[key] > quota:
            return tuple(names), used[key], quota
    return None


def server_of(backend: Backend) -> Server:
    """The shapes of a server backend, cheapest first (ties: catalog order of the classes)."""
    server = backend.server
    assert server is not None, f"{backend.name} is not a server backend"
    per_gb = backend.price.per_gb_month
    secret = backend.price.per_instance_month
    extra = server.min_disk_gb * (per_gb.amount if per_gb is not None else 0.0) + (
        secret.amount if secret is not None else 0.0
    )
    shapes: list[tuple[float, int, Shape]] = []
    for order, item in enumerate(server.classes):
        for replicas in range(item.min_replicas, item.max_replicas + 1):
            nodes = 1 + replicas
            reads = None if item.reads_per_s is None else item.reads_per_s * nodes
            shape = Shape(
                backend=backend.name,
                instance_class=item,
                replicas=replicas,
                fee=money(item.price.amount * nodes + extra),
                capacity=(
                    scaled_capacity(item.size_gb),
                    scaled_capacity(reads),
                    scaled_capacity(item.writes_per_s),
                    scaled_capacity(item.resources),
                ),
                units=item.quota_units * nodes,
            )
            shapes.append((shape.fee, order * 1000 + replicas, shape))
    shapes.sort(key=lambda row: (row[0], row[1]))
    return Server(
        name=backend.name,
        shapes=tuple(_undominated(s for _, _, s in shapes)),
        quota=server.quota,
        quota_adjustable=server.quota_adjustable,
        disk_floor_gb=server.min_disk_gb,
        group=server.quota_group,
        per_region=server.quota_scope == "region",
    )


def trimmed(server: Server, totals: tuple[int, ...]) -> Server:
    """``server`` without the shapes another, no dearer, beats for units needing ``totals``.

    An instance never holds more than all its units together, so room past
    ``totals`` (per dimension) is worth nothing to them: a shape is dropped
    when a cheaper one (or an equal one before it) holds as much of every
    dimension, each counted up to its total.  Every plan on the dropped
    shape has one no dearer on the other, so optima are unchanged; a cache's
    replicas, which add reads the units may never use, mostly go (the
    ``users`` draws' Redis on aws: 47 shapes).
    """
    kept = _undominated(server.shapes, totals)
    if len(kept) == len(server.shapes):
        return server
    return replace(server, shapes=tuple(kept))


def trimmed_for(units: Iterable[Unit], servers: Mapping[str, Server]) -> dict[str, Server]:
    """``servers``, each :func:`trimmed` for all that ``units`` could put on it (the sum
    of the usages of the units with an option there): fewer columns, the same optima."""
    totals: dict[str, list[int]] = {}
    for unit in units:
        for option in unit.options:
            if option.backend in servers:
                row = totals.setdefault(option.backend, [0] * len(unit.usage))
                for d, use in enumerate(unit.usage):
                    row[d] += use
    return {
        name: trimmed(server, tuple(totals[name])) if name in totals else server
        for name, server in servers.items()
    }


def _undominated(ordered: Iterable[Shape], totals: tuple[int, ...] | None = None) -> list[Shape]:
    """Drop a shape that costs at least as much as another holding at least as much
    (each dimension counted up to ``totals``, when given).

    ``ordered`` is cheapest first, so a shape is dominated by an earlier one
    whose capacity is at least its own in every dimension and which uses no
    more of the quota (:attr:`Shape.units`).  An unlimited
    dimension (``None``) is compared as infinite: it covers any other and only
    another unlimited one covers it.  A catalog's classes and replicas make
    dozens of shapes per server, compared pairwise: the four dimensions are
    compared in one expression, not one generator per pair.
    """
    kept: list[Shape] = []
    rooms: list[tuple[float, ...]] = []
    tops: tuple[float, ...] = (math.inf,) * 4 if totals is None else tuple(map(float, totals))
    for shape in ordered:
        room = tuple(
            top if c is None else min(c, top) for c, top in zip(shape.capacity, tops, strict=True)
        )
        size, reads, writes, count = room
        units = shape.units
        if not any(
            size <= k[0] and reads <= k[1] and writes <= k[2] and count <= k[3] and k[4] <= units
            for k in rooms
        ):
            kept.append(shape)
            rooms.append((*room, units))
    return kept


def largest(backend: Backend) -> Capacity:
    """Per dimension, the most one instance of ``backend`` can hold (for the filter)."""
    server = backend.server
    if server is None:
        return Capacity()

    def most(values: list[float | None]) -> float | None:
        return None if any(v is None for v in values) else max(v for v in values if v is not None)

    classes = server.classes
    return Capacity(
        size_gb=most([c.size_gb for c in classes]),
        reads_per_s=most(
            [
                None if c.reads_per_s is None else c.reads_per_s * (1 + c.max_replicas)
                for c in classes
            ]
        ),
        writes_per_s=most([c.writes_per_s for c in classes]),
        resources=None
        if any(c.resources is None for c in classes)
        else max(c.resources or 0 for c in classes),
    )


def regional_pools(
    problem: Problem, all_units: tuple[Unit, ...], servers: Mapping[str, Server]
) -> tuple[tuple[Unit, ...], Mapping[str, Server]]:
    """Key the server pools by (backend, region): an instance never holds two regions.

    A server option in the catalog's default region keeps the backend's name;
    one in another region is renamed ``backend@region``, a pool with its own
    instances, fees and quota (the providers' quotas are regional; a pool of a
    quota group shares the group's quota in its region), or sharing the
    backend's quota when that counts over every region of the account
    (``quota_scope = "account"``).  A
    co-located unit whose members would sit in different regions of a server
    loses that option: they must share an instance.  Without any server option
    away from the default region nothing changes.
    """
    default = problem.catalog.region
    away: dict[tuple[str, str], str] = {}
    for res in problem.resources:
        for option in res.options:
            region = option.region
            if option.backend in servers and region is not None and region != default:
                away[res.spec.name, option.backend] = region
    if not away:
        return all_units, servers
    pools = dict(servers)
    out: list[Unit] = []
    for unit in all_units:
        options: list[UnitOption] = []
        for choice in unit.options:
            if choice.backend not in servers:
                options.append(choice)
                continue
            regions = {away.get((m, choice.backend), default) for m in unit.members}
            if len(regions) > 1:
                continue  # co-located members in two regions cannot share an instance
            (home,) = regions
            if home == default:
                options.append(choice)
                continue
            pool = f"{choice.backend}{POOL}{home}"
            if pool not in pools:  # its quota is the region's (a group's too), or the account's
                server = servers[choice.backend]
                key = f"{server.quota_key}{POOL}{home}" if server.per_region else server.quota_key
                pools[pool] = replace(server, group=key)
            options.append(replace(choice, backend=pool))
        out.append(Unit(unit.members, tuple(options), unit.usage))
    return tuple(out), pools
