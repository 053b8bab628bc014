"""What every cloud build of a lock with pending moves shares: the rules, the origins.

A pending move (:mod:`skaal.plan.moves`) keeps a resource's data on its
origin until ``skaal migrate`` has copied it, so a cloud build provisions
both ends and a migration runner reaching both (the aws build a Lambda,
:mod:`skaal.builder.targets.aws_moves`; the gcp build a Cloud Run service,
:mod:`skaal.builder.targets.gcp_moves`).  The same moves cannot be built
on either:

* an origin on a server the plan neither has nor keeps as retiring
  (``Plan.retiring``: a dedicated server's size is not in the lock), or
  one the plan moves to another region (that would replace it);
* an origin of the same managed service as its destination (the two would
  share the resource's logical name in the stack), or on the same server;
* two server ends in two regions: no network reaches both.

An origin on a server the plan keeps as retiring is built as the previous
plan sized it (:func:`skaal.builder.sizing.server_size` reads it there).
An origin on a server the plan still has (the same
:func:`~skaal.plan.wiring.server_id`, hosting other resources, in the same
region) is built: the server is provisioned anyway, as the plan sizes it
(its class changes in place; its volume is never smaller than before while
it keeps an origin, :func:`skaal.plan.moves.record_moves`), so the origin's
data stays on it until the switch, and the server's wiring lists the origin
(:attr:`~skaal.plan.wiring.ServerWiring.origins`) so the migration runner
gets its network and credentials.  Two servers of one engine each keep their
own variable (:func:`skaal.plan.wiring.servers` names them over the moves'
origins too).

:func:`move_regions` refuses them with a :class:`BuildError` naming the
target, and tells where each move is copied: beside the end that is a
server (:func:`skaal.plan.wiring.migration_region`).  The aws build adds a
migration function in each of those regions; :func:`check_moves` also
refuses moves copied in several regions, for a build with one runner (gcp).
:func:`origins` lists what stays provisioned until the switch.
"""

from __future__ import annotations

from skaal.errors import BuildError
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import pending_moves
from skaal.plan.wiring import migration_region, server_id

__all__ = ["check_moves", "move_regions", "origins"]


def move_regions(plan: Plan, *, target: str) -> dict[str, str]:
    """The region each pending move of ``plan`` is copied in (resource -> region), or a
    :class:`BuildError` for a move the ``target`` build cannot provision."""
    regions: dict[str, str] = {}
    for binding in pending_moves(plan):
        origin = binding.moving_from
        assert origin is not None  # a pending move
        what = f"{binding.resource} ({origin.backend} → {binding.backend})"
        problem = None
        held, ident = server_id(origin), server_id(binding)
        if held is not None:
            problem = _kept_server(plan, origin, held)
        if held is not None and held == ident:
            problem = (
                f"both ends are server {held}: a resource has one store on a server, so it "
                "cannot hold both"
            )
        elif origin.implementation == binding.implementation and (held is None or ident is None):
            problem = (
                f"both ends are {binding.implementation}: the stack names the resource's "
                f"{binding.implementation} store after the resource, so it cannot hold both "
                "without replacing the deployed origin"
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
    return regions


def _kept_server(plan: Plan, origin: Binding, held: str) -> str | None:
    """Why the server ``held`` keeping ``origin`` cannot be provisioned as deployed; ``None``
    when the plan still places resources on it, in the origin's region: the build makes it
    anyway, and the origin's data stays on it until the switch."""
    regions = {
        b.region
        for b in plan.bindings
        if b.implementation == origin.implementation and server_id(b) == held
    }
    if not regions and any(i.id == held for i in plan.retiring):
        return None  # kept as the previous plan sized it (Plan.retiring)
    if not regions:
        return (
            f"its origin is on {origin.implementation} server {held}, which the plan no longer "
            "has and whose size the lock does not record: the build cannot keep that server "
            "as it was deployed"
        )
    if regions != {origin.region}:
        return (
            f"its origin is on {origin.implementation} server {held}, which the plan moves "
            f"from {origin.region} to {', '.join(sorted(regions))}: that replaces the server "
            "and its data"
        )
    return None


def check_moves(plan: Plan, *, target: str) -> str | None:
    """The one region the pending moves of ``plan`` are copied in (``None``: no move), or a
    :class:`BuildError` for a move the ``target`` build cannot provision or for moves
    copied in several regions (a build with one migration runner)."""
    regions = move_regions(plan, target=target)
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
