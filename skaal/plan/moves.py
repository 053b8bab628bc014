"""Pending moves: a re-plan that places a resource holding data somewhere new.

When a plan (``--reoptimize``, a pin, a catalog change, a changed
declaration) moves a map, collection or blob store to another backend,
region or shared instance, its data is still where the previous lock put it.
Serving the new, empty store would silently lose it, so the new plan records
the move instead: the binding's :attr:`~skaal.plan.model.Binding.moving_from`
holds the previous binding, the lock keeps it, and

* the runtime serves the resource from ``moving_from``
  (:func:`serving_plan`) until ``skaal migrate`` has copied the data,
  verified it and switched the binding (:func:`switched`);
* ``skaal plan`` says so for each pending move, with an estimate of the copy
  (:func:`estimate`);
* a later plan keeps the move's origin while it is pending (the data has not
  left it), and drops the move when the resource is placed back on its origin;
* the cloud builds provision both ends while the move is pending
  (:mod:`skaal.builder.targets.aws_moves`, :mod:`skaal.builder.targets.gcp_moves`),
  so the plan prices the origin too (on a cloud provider): the moving binding
  carries a :data:`ORIGIN_COMPONENT` line of the origin's own monthly cost,
  counted in its cost and the plan's total until the switch (:func:`switched`
  removes it);
* a shared server keeping a pending move's origin keeps at least its
  previous volume (``SharedInstance.disk_gb``): the data is still on it, and
  neither RDS nor Cloud SQL shrinks a volume;
* a shared server the plan no longer places anything on, but which keeps
  origins, is *retiring* (``Plan.retiring``): recorded as the previous plan
  sized it, built as before and billed its fixed fees until its last origin
  is switched.

Adopting an existing resource (``existing=``) is a move too when the
resource held data elsewhere: from the table or server the build created
(or another adopted one) into the adopted one, though the backend stays the
same (``rds-postgres`` created → ``rds-postgres`` adopted).  The two ends
are reached apart: an adopted server has a connection variable of its own
(:func:`skaal.plan.wiring.servers`), an adopted table its own name.

A plan for another provider than the lock's (``local`` to ``aws``) starts
from scratch, as the pipeline does (:mod:`skaal.pipeline`): it records no
moves, so a first cloud plan of an app developed locally builds as before.

Queues and topics are not moved: their messages are transient (drain the
queue before the switch), and functions and secrets hold no data.

Everything here is a pure function of plans; nothing reads files or backends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from skaal.blueprint.model import Kind, ResourceSpec
from skaal.plan.model import Binding, CostLine, Plan, SharedInstance, UsedPrice

__all__ = [
    "COPY_RATE_MB_S",
    "DATA_KINDS",
    "ORIGIN_COMPONENT",
    "estimate",
    "pending_moves",
    "record_moves",
    "serving_plan",
    "switched",
]

DATA_KINDS: Final[frozenset[Kind]] = frozenset({"map", "collection", "blob"})
"""The kinds whose data ``skaal migrate`` copies when their binding moves."""

COPY_RATE_MB_S: Final = 2.0
"""The copy rate an estimate assumes: ``skaal migrate`` as a whole (copy, catch-up,
verification, switch) of entries of about 1 KB, measured by
``tests/benchmarks/migrate_bench.py`` -- 3.6 MB/s SQLite -> PostgreSQL and 2.0 MB/s
Redis -> PostgreSQL on a shared 2-core machine (2026-12); the slower one, rounded
down.  docs/migrate.md records the figures."""


ORIGIN_COMPONENT: Final = "origin kept until the migration switches"
"""The cost line of a pending move's origin: its own monthly cost, billed until the switch."""


def _placement(binding: Binding) -> tuple[str, str, str | None, str | None]:
    """Where the data is: an adopted table or server is another place than the one the
    build creates on the same backend (or than another adopted one)."""
    return binding.implementation, binding.region, binding.instance, binding.adopted


def record_moves(previous: Plan | None, plan: Plan) -> Plan:
    """``plan`` with each data-holding binding that left its previous placement marked as moving.

    The origin is where the data is: the previous binding, or, when the
    previous plan already had a pending move for it, that move's origin.  A
    resource placed back on its origin has no move.  Without a previous plan
    nothing moves.

    A binding equal to its previous one is the previous record itself in the
    returned plan (records are frozen and compare by value), so a re-plan
    that keeps 100,000 placements holds them once, not once per plan; a plan
    equal to ``previous`` is ``previous``.
    """
    if previous is None:
        return plan
    before = {b.resource: b for b in previous.bindings}
    bindings: list[Binding] = []
    change = 0.0
    for binding in plan.bindings:
        old = before.get(binding.resource)
        origin = None
        if old is not None and binding.kind in DATA_KINDS and old.kind == binding.kind:
            origin = old.moving_from or old
            if _placement(origin) == _placement(binding):
                origin = None
        if origin is not None:
            origin = origin.model_copy(update={"moving_from": None})
        priced = _priced(binding, origin, billed=plan.provider != "local")
        change += priced.monthly_cost - binding.monthly_cost
        if priced is binding and old is not None and old == binding:
            priced = old  # the same record: held once by both plans, not twice
        bindings.append(priced)
    retiring = _retiring(previous, plan.instances, bindings)
    change += sum(i.fixed_monthly for i in retiring)
    recorded = plan.model_copy(
        update={
            "bindings": tuple(bindings),
            "instances": _kept_disks(previous, plan.instances, bindings),
            "retiring": retiring,
            "prices": _with_retiring_prices(previous, plan, retiring),
            "total_monthly_cost": _money(plan.total_monthly_cost + change),
        }
    )
    # nothing changed: the previous plan itself, whose hash (made when its lock was read)
    # is then not made again for the lock that is written
    return previous if recorded == previous else recorded


def _with_retiring_prices(
    previous: Plan, plan: Plan, retiring: tuple[SharedInstance, ...]
) -> tuple[UsedPrice, ...]:
    """``plan``'s prices and the previous plan's of each retiring server's backend (its fee
    lines name them), so that ``skaal cost`` explains every line of the total."""
    have = {(p.backend, p.mode) for p in plan.prices}
    wanted = {i.backend for i in retiring}
    carried = [
        p for p in previous.prices if p.backend in wanted and (p.backend, p.mode) not in have
    ]
    if not carried:
        return plan.prices
    return tuple(sorted((*plan.prices, *carried), key=lambda p: (p.backend, p.mode or "")))


def _retiring(
    previous: Plan, instances: tuple[SharedInstance, ...], bindings: Iterable[Binding]
) -> tuple[SharedInstance, ...]:
    """The previous plan's servers keeping origins of pending moves that ``instances`` lacks,
    as the previous plan sized them, each listing the origins it keeps; their fixed fees are
    billed until the switch (the origins' own lines by their :data:`ORIGIN_COMPONENT`)."""
    kept: dict[str, list[str]] = {}
    for binding in bindings:
        origin = binding.moving_from
        if origin is not None and origin.instance is not None:
            kept.setdefault(origin.instance, []).append(binding.resource)
    planned = {i.id for i in instances}
    sized = {i.id: i for i in (*previous.instances, *previous.retiring)}
    return tuple(
        sized[ident].model_copy(update={"resources": tuple(sorted(kept[ident]))})
        for ident in sorted(kept)
        if ident not in planned and ident in sized
    )


def _kept_disks(
    previous: Plan, instances: tuple[SharedInstance, ...], bindings: list[Binding]
) -> tuple[SharedInstance, ...]:
    """``instances``, the volume of each keeping a pending move's origin never smaller than
    the previous plan's: the origin's data stays on it until the switch, and neither RDS nor
    Cloud SQL shrinks a volume (the build would fail, or replace the server).  The origin's
    storage is billed by its :data:`ORIGIN_COMPONENT` line."""
    keeping = {b.moving_from.instance for b in bindings if b.moving_from is not None}
    disks = {i.id: i.disk_gb for i in (*previous.instances, *previous.retiring) if i.id in keeping}
    return tuple(
        i.model_copy(update={"disk_gb": was})
        if (was := disks.get(i.id)) is not None and i.disk_gb is not None and was > i.disk_gb
        else i
        for i in instances
    )


def _money(amount: float) -> float:
    return round(amount, 6) + 0.0


def _priced(binding: Binding, origin: Binding | None, *, billed: bool = True) -> Binding:
    """``binding`` moving from ``origin`` (``None``: not moving), with the origin's cost line
    when ``billed`` (on a cloud; the local targets' origins are the developer's own)."""
    if (
        origin is None
        and binding.moving_from is None
        and all(c.component != ORIGIN_COMPONENT for c in binding.cost)
    ):
        return binding  # not moving and never was: nothing to reprice
    kept = [c for c in binding.cost if c.component != ORIGIN_COMPONENT]
    own = _money(
        binding.monthly_cost - sum(c.monthly for c in binding.cost) + sum(c.monthly for c in kept)
    )
    lines = tuple(kept)
    if origin is not None and billed:
        lines += (CostLine(component=ORIGIN_COMPONENT, quantity=1, monthly=origin.monthly_cost),)
        own = _money(own + origin.monthly_cost)
    if binding.moving_from == origin and lines == binding.cost:
        return binding
    return binding.model_copy(update={"moving_from": origin, "cost": lines, "monthly_cost": own})


def pending_moves(plan: Plan) -> tuple[Binding, ...]:
    """The bindings of ``plan`` whose data has not been migrated yet, by resource name."""
    return tuple(
        sorted((b for b in plan.bindings if b.moving_from is not None), key=lambda b: b.resource)
    )


def serving_plan(plan: Plan) -> Plan:
    """``plan`` as the runtime serves it: each moving resource on the backend holding its data."""
    if not any(b.moving_from is not None for b in plan.bindings):
        return plan
    return plan.model_copy(
        update={"bindings": tuple(b.moving_from or b for b in plan.bindings)},
    )


def switched(plan: Plan, resources: Iterable[str]) -> Plan:
    """``plan`` with the moves of ``resources`` done: they are served where the plan placed them."""
    done = set(resources)
    bindings = tuple(_priced(b, None) if b.resource in done else b for b in plan.bindings)
    change = sum(b.monthly_cost for b in bindings) - sum(b.monthly_cost for b in plan.bindings)
    retiring = []
    for instance in plan.retiring:  # a server is kept until its last origin is switched
        left = tuple(r for r in instance.resources if r not in done)
        if left:
            retiring.append(instance.model_copy(update={"resources": left}))
        else:
            change -= instance.fixed_monthly
    return Plan.model_validate(
        plan.model_copy(
            update={
                "bindings": bindings,
                "retiring": tuple(retiring),
                "total_monthly_cost": _money(plan.total_monthly_cost + change),
            }
        ).model_dump()
    )


def estimate(binding: Binding, spec: ResourceSpec | None) -> str:
    """What copying ``binding``'s data will take, from its declared size (``size_gb``)."""
    size = spec.requirements.size_gb if spec is not None else None
    if size is None:
        return "size not declared (declare size= to get an estimate)"
    seconds = size * 1024 / COPY_RATE_MB_S
    if seconds < 60:
        took = f"{max(seconds, 1):.0f} s"
    elif seconds < 3600:
        took = f"{seconds / 60:.0f} min"
    else:
        took = f"{seconds / 3600:.1f} h"
    return f"{size:g} GB declared: about {took} at {COPY_RATE_MB_S:g} MB/s"
