"""An aws build of a lock with pending moves: both ends provisioned, and the migration function.

A pending move (:mod:`skaal.plan.moves`) keeps a resource's data on its
origin until ``skaal migrate`` has copied it.  So the build of such a lock:

* creates the **origin** exactly as the build before the move did -- the
  same logical key (the resource's name) and physical name, from the
  origin binding the lock keeps (its capacity, backups, durability) -- so a
  deploy neither replaces nor deletes it, and the **destination** where the
  plan places the resource;
* points the functions' runtime at the origin: the lock they ship records
  the move and the runtime serves :func:`~skaal.plan.moves.serving_plan`;
  their roles cover both ends of the resources they use;
* adds the **migration function** (:func:`migration_function`): the
  Lambda ``skaal migrate --env NAME`` invokes (:mod:`skaal.migrate.remote`),
  in the VPC when an end is a server, its role allowed on both ends of each
  move and nothing else, with the longest Lambda timeout.

After the switch the next build has no move: the origin is no longer in
the stack.  While the move is pending, a durable origin is *retiring*
(``Table.retiring``): retained (``retain_on_delete``) and still
deletion-protected by the service, but not ``protect``-ed in Pulumi's
state -- a protected resource left out of the program fails the deploy.
So the deploy after the switch drops it from the stack and leaves it, with
its data, in the account: removing it is the operator's decision
(docs/migrate.md).

Moves copied in several regions (:func:`~skaal.plan.wiring.migration_region`:
beside a server end) get one migration function per region, each reaching
the ends of its own moves only.

An origin on an RDS or ElastiCache server the plan still has is built as
that server (:mod:`skaal.builder.moves`); the migration function is then in
that server's VPC, with its credentials.  What cannot be built yet is
refused with a :class:`BuildError` (:func:`check_moves`, the rules every
cloud build shares in :mod:`skaal.builder.moves`): an origin on a server
the plan no longer has (its instance's size is not in the lock), an origin
of the same AWS service as its destination (the two would share the
resource's logical key), and two server ends in two regions (no network
reaches both).
"""

from __future__ import annotations

from skaal.blueprint.model import ResourceSpec, SourceLocation
from skaal.builder.moves import move_regions, origins
from skaal.builder.stacks.aws import Function, OutputRef
from skaal.builder.targets.aws_iam import function_statements
from skaal.plan import naming
from skaal.plan.model import Binding, Plan
from skaal.plan.wiring import (
    PROCESSES_ENV,
    USED_RESOURCES_ENV,
    migration_function_name,
    physical_name,
)

__all__ = [
    "MIGRATION_FUNCTION",
    "MIGRATION_TIMEOUT_S",
    "check_moves",
    "migration_function",
    "origins",
]

MIGRATION_FUNCTION = "_migrate"
"""The migration function's name in the stack model (no declared function starts with ``_``)."""

MIGRATION_TIMEOUT_S = 900
"""Lambda's longest timeout; a copy step returns well before it (:mod:`skaal.migrate.remote`)."""

_MIGRATION_MEMORY_MB = 1024


def check_moves(plan: Plan) -> dict[str, str]:
    """The region each pending move of ``plan`` is copied in (resource -> region), or a
    :class:`BuildError` for a move the aws build cannot provision
    (:func:`skaal.builder.moves.move_regions`)."""
    return move_regions(plan, target="aws")


def migration_function(
    plan: Plan,
    bindings: list[Binding],
    moving: tuple[str, ...],
    *,
    stack_region: str,
    env_name: str,
    wiring_env: dict[str, str],
    outputs: dict[str, OutputRef],
    region: str,
    network: str | None,
    indexed: frozenset[str],
    credentials: tuple[str, ...],
    location: SourceLocation,
) -> Function:
    """The Lambda of ``region`` copying the pending moves ``moving`` (those copied there): its
    role reaches both ends of each and no more.

    ``bindings`` holds the plan's bindings and the origins of its moves.
    Lambda names are regional, so it has the same name in every region
    (:func:`~skaal.plan.wiring.migration_function_name`, which ``skaal
    migrate`` invokes in each move's region); its role, global, and its key
    in the stack are suffixed with the region but in the stack's own region.
    """
    suffix = "" if region == stack_region else f"-{region}"
    key = MIGRATION_FUNCTION + suffix
    spec = ResourceSpec(name=key, kind="function", location=location, uses=moving)
    ends = [b for b in bindings if b.resource in moving]
    name = migration_function_name(plan.app, env_name)
    env = dict(wiring_env)
    env["SKAAL_FUNCTION"] = MIGRATION_FUNCTION
    env[PROCESSES_ENV] = "1"
    env[USED_RESOURCES_ENV] = ",".join(moving)
    return Function(
        id=name + suffix,
        name=key,
        lambda_name=name,
        role_name=physical_name(
            naming.name_base(plan.app, env_name), f"skaal-migrate{suffix}-role", max_length=64
        ),
        region=region,
        memory_mb=_MIGRATION_MEMORY_MB,
        timeout_s=MIGRATION_TIMEOUT_S,
        route=None,
        consumes=None,
        subscription=None,
        schedule=None,
        env=dict(sorted(env.items())),
        outputs=outputs,
        vpc=network is not None,
        network=network,
        statements=function_statements(
            spec,
            ends,
            vpc=network is not None,
            network=network or "network",
            indexed=indexed,
            credentials=credentials,
        ),
    )
