"""What every cloud build of a lock with pending moves shares: the rules, the origins.

A pending move (:mod:`skaal.plan.moves`) keeps a resource's data on its
origin until ``skaal migrate`` has copied it, so a cloud build provisions
both ends and a migration runner reaching both (the aws build a Lambda,
:mod:`skaal.builder.targets.aws_moves`; the gcp build a Cloud Run service,
:mod:`skaal.builder.targets.gcp_moves`).  The same moves cannot be built
on either:

* an origin on a server (its instance's size is no longer in the lock);
* an origin of the same service as its destination (the two would share
  the resource's logical name in the stack);
* moves whose copies would run in several regions: one runner copies them
  all, beside the end that is a server (:func:`skaal.plan.wiring.migration_region`).

:func:`check_moves` refuses them with a :class:`BuildError` naming the
target; :func:`origins` lists what stays provisioned until the switch.
"""

from __future__ import annotations

from skaal.errors import BuildError
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import pending_moves
from skaal.plan.wiring import migration_region, server_id

__all__ = ["check_moves", "origins"]


def check_moves(plan: Plan, *, target: str) -> str | None:
    """The region the pending moves of ``plan`` are copied in (``None``: no move), or a
    :class:`BuildError` for a move the ``target`` build cannot provision."""
    regions: dict[str, str] = {}
    for binding in pending_moves(plan):
        origin = binding.moving_from
        assert origin is not None  # a pending move
        what = f"{binding.resource} ({origin.backend} → {binding.backend})"
        problem = None
        if server_id(origin) is not None:
            problem = (
                f"its origin is on a {origin.implementation} server, whose size the lock no "
                "longer records"
            )
        elif origin.implementation == binding.implementation:
            problem = (
                f"both ends are {binding.implementation}: the stack cannot hold two of them "
                "for one resource"
            )
        region = migration_region(binding)
        if region is None:
            problem = "its ends are servers of two regions: no migration runner reaches both"
        if problem is not None:
            raise BuildError(
                f"the lock has a pending move the {target} build cannot provision: {what}: "
                f"{problem}",
                where="skaal.lock",
                fix=f"place it back on its origin (skaal plan --pin {binding.resource}="
                f"{origin.backend}), or copy the data yourself (see docs/migrate.md)",
                command=f"skaal plan --target {target} --pin {binding.resource}={origin.backend}",
            )
        assert region is not None
        regions[binding.resource] = region
    if len(set(regions.values())) > 1:
        listed = ", ".join(f"{name} in {region}" for name, region in sorted(regions.items()))
        raise BuildError(
            f"the lock's pending moves would be copied in several regions ({listed})",
            where="skaal.lock",
            fix="migrate the moves of one region first (re-plan the others back onto their "
            "origins, migrate, then plan them again)",
            command=f"skaal plan --target {target}",
        )
    return next(iter(regions.values()), None)


def origins(plan: Plan) -> list[Binding]:
    """The origin binding of every pending move: provisioned until the switch."""
    return [b.moving_from for b in pending_moves(plan) if b.moving_from is not None]
