"""What the builders provision for each server and table: read from the plan, never guessed.

The solver records the size of everything it prices; the builders create
exactly that, so the bill matches the plan:

* a **server** (a Redis or PostgreSQL instance of :func:`skaal.plan.wiring.servers`)
  is the plan's :class:`~skaal.plan.model.SharedInstance` of the same id:
  its ``instance_class``, ``replicas`` (nodes besides the primary),
  ``disk_gb`` (the volume; ``None`` for a memory store), ``backup`` (days of
  automated backups), ``connections`` and
  the catalog class's ``parameters`` -- the provider's own names for the
  size, handed to the program unchanged.  The implementation's record says
  which parameters each provider's target needs and whether it needs a disk
  (:attr:`skaal.registry.Implementation.provisioning`): ``instance_class``
  for RDS, ``node_type`` for ElastiCache, ``tier`` for Cloud SQL,
  ``memory_size_gb`` for Memorystore;
* a **table** in a provisioned capacity mode (``Binding.mode ==
  "provisioned"``) gets the plan's :class:`~skaal.plan.model.Provisioned`
  reads and writes per second and its target utilisation; any other
  binding is on-demand.

A server the plan gives no instance, a disk server without ``disk_gb``, read
replicas on a server whose runtime reads only the primary (PostgreSQL: they
would be billed and never read) or a
class without the parameter its target needs is a :class:`BuildError`
naming the server, the class and the catalog key to add: the plan came from
a catalog that does not say what to create, and no builder invents a size.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from msgspec import Struct

from skaal.errors import BuildError
from skaal.plan.model import Binding, Plan
from skaal.plan.wiring import ServerWiring
from skaal.registry import DEFAULT_REGISTRY

__all__ = [
    "PROVISIONED_MODE",
    "Capacity",
    "ServerSize",
    "server_size",
    "table_capacity",
]

PROVISIONED_MODE = "provisioned"
"""The capacity mode whose binding carries the capacity to provision."""


class ServerSize(Struct, frozen=True):
    """One server as the plan sized it."""

    id: str
    instance_class: str
    replicas: int
    disk_gb: int | None
    connections: int | None
    parameters: Mapping[str, str | int | float]
    backup_days: int | None = None
    """Days of automated backups (point-in-time recovery) the plan records; ``None``: none."""

    def parameter(self, key: str) -> str | int | float:
        return self.parameters[key]


class Capacity(Struct, frozen=True):
    """Provisioned table capacity: the plan's figures and the autoscaling target (percent)."""

    reads_per_s: int
    writes_per_s: int
    target_percent: float


def server_size(plan: Plan, server: ServerWiring) -> ServerSize:
    """The size of ``server`` recorded in ``plan``; ``BuildError`` if the plan does not say."""
    where = f"server {server.id} ({server.backend}) of {plan.app}'s plan"
    # a retiring server (it keeps origins of pending moves only) as the previous plan sized it
    instance = next((i for i in (*plan.instances, *plan.retiring) if i.id == server.id), None)
    if instance is None:
        raise BuildError(
            f"the plan records no size for server {server.id}: it has no instance of that id",
            where=where,
            fix="re-plan with this version of Skaal, which sizes every server",
            command=f"skaal plan --target {plan.provider}",
        )
    provisioning = DEFAULT_REGISTRY.provisioning(server.implementation, plan.provider)
    if provisioning.disk and instance.disk_gb is None:
        raise BuildError(
            f"the plan gives server {server.id} no disk size (disk_gb)",
            where=where,
            fix="re-plan with this version of Skaal, which sizes every disk server",
            command=f"skaal plan --target {plan.provider}",
        )
    connection = DEFAULT_REGISTRY.connection(server.implementation)
    if instance.replicas and (connection is None or not connection.read_url):
        raise BuildError(
            f"the plan gives server {server.id} {instance.replicas} read replica(s), but the "
            f"{server.implementation} runtime reads only the primary: they would be billed "
            "and never read",
            where=where,
            fix=f"re-plan from a catalog in which {instance.backend}'s classes offer no "
            "replicas (the catalog check allows them only on memory stores)",
            command=f"skaal plan --target {plan.provider}",
        )
    missing = [key for key in provisioning.parameters if key not in instance.parameters]
    if missing:
        keys = ", ".join(missing)
        raise BuildError(
            f"class {instance.instance_class!r} of backend {instance.backend} has no "
            f"parameter {keys}: the {plan.provider} target cannot tell what to create",
            where=where,
            fix=f"add {keys} to [backends.{instance.backend}.server.classes] "
            f"'{instance.instance_class}' parameters in the catalog, then re-plan",
            command=f"skaal plan --target {plan.provider}",
        )
    return ServerSize(
        id=instance.id,
        instance_class=instance.instance_class,
        replicas=instance.replicas,
        disk_gb=instance.disk_gb,
        connections=instance.connections,
        parameters=MappingProxyType(dict(instance.parameters)),
        backup_days=instance.backup.retention_days if instance.backup else None,
    )


def table_capacity(binding: Binding) -> Capacity | None:
    """The capacity to provision for ``binding``; ``None`` when it is on-demand."""
    if binding.mode != PROVISIONED_MODE:
        return None
    if binding.provisioned is None:
        raise BuildError(
            f"{binding.resource} is planned in {PROVISIONED_MODE} mode without its capacity",
            where=f"resource {binding.resource} ({binding.backend})",
            fix="re-plan with this version of Skaal, which records the capacity to provision",
            command=f"skaal plan --explain {binding.resource}",
        )
    provisioned = binding.provisioned
    return Capacity(
        reads_per_s=provisioned.reads_per_s,
        writes_per_s=provisioned.writes_per_s,
        target_percent=round(provisioned.target_utilisation * 100, 2),
    )
