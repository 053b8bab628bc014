"""The server part of the gcp stack model: Cloud SQL and Memorystore, with their connectors.

One server per server of the plan (:func:`skaal.plan.wiring.servers`: a
shared instance, or a dedicated backend's resource), each wired into its own
connection variable, so a resource planned on instance B reaches B.  Each is
created in its planned region.

Cloud SQL (PostgreSQL) is reached through Cloud Run's Cloud SQL connection:
one volume under ``/cloudsql`` mounting the unix socket of every instance.
Each identity whose functions use a resource of an instance gets
``roles/cloudsql.client`` with a condition naming that instance, and only
those services mount its socket; each connection URL (with the password
from the secret stack config ``skaal:databasePassword``) is stored in its
own Secret Manager secret, readable by those identities and injected into
their services' variable for that server.

Memorystore (Redis) has only a private IP: the services whose functions
use a Memorystore resource reach it through the Serverless VPC Access
connector of its region (one per region with Memorystore instances) on the
network ``skaal:network`` (default ``default``), egress limited to private
ranges; only they get the instance's address.

Every server is the size the plan records (:func:`skaal.builder.sizing.server_size`):
Cloud SQL gets the class's ``tier``, ``disk_gb`` of SSD, the class's
``availability_type`` (``ZONAL`` unless it says ``REGIONAL``) and the plan's
days of backups (one a day, and the transaction logs for point-in-time
recovery); a plan giving it read replicas is refused, as the runtime reads
only its primary;
Memorystore gets the class's ``memory_size_gb`` and tier -- the class's
``tier`` parameter, else ``STANDARD_HA`` with the plan's replicas as read
replicas, or ``BASIC`` without replicas.

A Cloud SQL instance the plan adopts (``existing=`` with its secret) is not
created: :class:`~skaal.builder.stacks.gcp.AdoptedCloudSql` names it and the
secret holding its connection URL; its users get that secret only,
``roles/cloudsql.client`` conditioned on that instance, and its socket.
"""

from __future__ import annotations

from typing import Literal

from skaal.blueprint.model import ResourceSpec
from skaal.builder.sizing import ServerSize, server_size
from skaal.builder.stacks.gcp import (
    AdoptedCloudSql,
    Backups,
    CloudSql,
    Condition,
    Connector,
    EnvMemorystore,
    EnvSecret,
    Memorystore,
)
from skaal.builder.targets.gcp_basis import Basis, physical_name
from skaal.declare.existing import parse_existing
from skaal.errors import BuildError
from skaal.plan.model import Binding
from skaal.plan.network import VPC_CONNECTOR_INSTANCES
from skaal.plan.wiring import ServerWiring
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["Servers", "cloud_sql_settings", "memorystore_settings", "servers"]

Servers = tuple[
    tuple[Connector, ...],
    tuple[CloudSql, ...],
    tuple[Memorystore, ...],
    tuple[AdoptedCloudSql, ...],
]
"""The connectors, Cloud SQL and Memorystore instances of a stack, and the adopted
Cloud SQL instances it reads."""


def cloud_sql_settings(size: ServerSize) -> dict[str, object]:
    """The size-dependent settings of a Cloud SQL instance: tier, disk, availability."""
    availability = size.parameters.get("availability_type", "ZONAL")
    return {
        "tier": str(size.parameter("tier")),
        "disk_size": size.disk_gb,
        "availability_type": str(availability),
    }


def memorystore_settings(size: ServerSize) -> dict[str, object]:
    """The size-dependent settings of a Memorystore instance: tier, memory, replicas.

    Read replicas exist only on the Standard Tier: a plan giving replicas to a
    class whose ``tier`` parameter says ``BASIC`` counted reads and node fees
    the build cannot make, so it is refused rather than built without them.
    """
    tier = str(size.parameters.get("tier", "STANDARD_HA" if size.replicas > 0 else "BASIC"))
    if size.replicas > 0 and tier != "STANDARD_HA":
        raise BuildError(
            f"the plan gives Memorystore server {size.id} ({size.instance_class}) "
            f"{size.replicas} read replica(s), but its class's tier is {tier}, which has none",
            where=f"server {size.id}",
            fix=f'set tier = "STANDARD_HA" in the parameters of class {size.instance_class}, '
            "or delete its max_replicas, in your catalog; then plan again",
            command="skaal plan --target gcp",
        )
    settings: dict[str, object] = {
        "tier": tier,
        "memory_size_gb": int(size.parameter("memory_size_gb")),
    }
    if tier == "STANDARD_HA" and size.replicas > 0:
        settings.update(replica_count=size.replicas, read_replicas_mode="READ_REPLICAS_ENABLED")
    return settings


def servers(basis: Basis, bindings: list[Binding], specs: dict[str, ResourceSpec]) -> Servers:
    """The servers hosting ``bindings``' resources, and a connector per region reaching them.

    ``specs``: the resources as the plan adopts them (the configuration's
    adoptions applied), for the adopted servers' names and secrets.
    """
    names = {b.resource for b in bindings}
    built = [s for s in basis.wiring.servers if names.intersection(s.holds)]
    reached = {
        basis.regions.servers[s.id]
        for s in built
        if DEFAULT_REGISTRY.network(s.implementation, "gcp").vpc
    }
    connectors = tuple(
        _connector(basis, region, index)
        for index, region in enumerate(sorted(reached, key=lambda r: (r != basis.regions.stack, r)))
    )
    sql: list[CloudSql] = []
    redis: list[Memorystore] = []
    adopted: list[AdoptedCloudSql] = []
    for server in built:
        spec = _adopted(basis, server, specs)
        if spec is not None:
            adopted.append(_adopted_cloud_sql(basis, server, spec))
            basis.sockets.append((frozenset(server.holds), server.id))
        elif server.implementation == "postgres":
            sql.append(_cloud_sql(basis, server))
            basis.sockets.append((frozenset(server.holds), server.id))
        else:
            redis.append(_memorystore(basis, server))
    return connectors, tuple(sql), tuple(redis), tuple(adopted)


def _adopted(
    basis: Basis, server: ServerWiring, specs: dict[str, ResourceSpec]
) -> ResourceSpec | None:
    """The resource adopting ``server`` (a dedicated server holding only it); ``None`` if
    the build creates the server."""
    if server.implementation != "postgres" or len(server.resources) != 1:
        return None
    binding = basis.plan.binding(server.resources[0])
    if binding.adopted is None or binding.instance is not None:
        return None
    return specs[binding.resource]


def _adopted_cloud_sql(basis: Basis, server: ServerWiring, spec: ResourceSpec) -> AdoptedCloudSql:
    owner = server.id
    found = None if spec.existing is None else parse_existing(spec.existing, spec.kind)
    if found is None or found.server is None or found.secret is None or found.provider != "gcp":
        raise BuildError(
            f"{spec.name} adopts a server that is not a Cloud SQL instance",
            where=str(spec.location),
            fix="name a Cloud SQL connection name and its secret in existing=, then re-plan",
            command="skaal plan --target gcp",
        )
    project, region, instance = found.server.split(":")
    users = basis.users(*server.holds)
    basis.share(EnvSecret(name=server.env, secret=owner), *server.holds)
    return AdoptedCloudSql(
        key=owner,
        instance=instance,
        project=project,
        region=region,
        url_secret=found.secret,
        url_grants=basis.grants(f"{owner}-url-access", "roles/secretmanager.secretAccessor", users),
        client_grants=basis.project_grants(
            f"{owner}-client",
            "roles/cloudsql.client",
            Condition(title=f"only the {instance} instance", resource=f"instances/{instance}"),
            users,
        ),
    )


def _cloud_sql(basis: Basis, server: ServerWiring) -> CloudSql:
    owner = server.id
    name = physical_name(basis.name_base, owner, max_length=80)
    size = server_size(basis.plan, server)
    availability = str(size.parameters.get("availability_type", "ZONAL"))
    if availability not in ("ZONAL", "REGIONAL"):
        raise BuildError(
            f"Cloud SQL availability_type {availability!r} is neither ZONAL nor REGIONAL",
            where=f"server {owner} (class parameters in the gcp catalog)",
            fix="set availability_type to ZONAL or REGIONAL in the catalog's class",
        )
    users = basis.users(*server.holds)
    basis.share(EnvSecret(name=server.env, secret=owner), *server.holds)
    return CloudSql(
        key=owner,
        name=name,
        region=basis.regions.servers[owner],
        tier=str(size.parameter("tier")),
        availability_type="REGIONAL" if availability == "REGIONAL" else "ZONAL",
        disk_size=size.disk_gb,
        backups=None if size.backup_days is None else Backups(days=size.backup_days),
        database=physical_name(basis.name_base, "data", max_length=63, separator="_"),
        url_secret_id=physical_name(basis.name_base, f"{owner}-url"),
        url_grants=basis.grants(f"{owner}-url-access", "roles/secretmanager.secretAccessor", users),
        client_grants=basis.project_grants(
            f"{owner}-client",
            "roles/cloudsql.client",
            Condition(title=f"only the {name} instance", resource=f"instances/{name}"),
            users,
        ),
    )


def _memorystore(basis: Basis, server: ServerWiring) -> Memorystore:
    owner = server.id
    region = basis.regions.servers[owner]
    if region in basis.vpc:
        reached = basis.vpc_resources.get(region, frozenset())
        basis.vpc_resources[region] = reached | frozenset(server.holds)
    settings = memorystore_settings(server_size(basis.plan, server))
    tier: Literal["BASIC", "STANDARD_HA"]
    match settings["tier"]:
        case "BASIC" | "STANDARD_HA" as named:
            tier = named
        case other:
            raise BuildError(
                f"Memorystore tier {other!r} is neither BASIC nor STANDARD_HA",
                where=f"server {owner} (class parameters in the gcp catalog)",
                fix="set tier to BASIC or STANDARD_HA in the catalog's class",
            )
    replicas = settings.get("replica_count")
    basis.share(EnvMemorystore(name=server.env, instance=owner), *server.holds)
    if server.read_env:  # the runtime spreads reads over the primary and the read replicas
        basis.share(EnvMemorystore(name=server.read_env, instance=owner, read=True), *server.holds)
    return Memorystore(
        key=owner,
        name=physical_name(basis.name_base, owner, max_length=40),
        region=region,
        tier=tier,
        memory_size_gb=int(str(settings["memory_size_gb"])),
        replica_count=int(str(replicas)) if replicas is not None else None,
    )


def _connector(basis: Basis, region: str, index: int) -> Connector:
    """The Serverless VPC Access connector of ``region`` (priced in the plan's network
    lines, :func:`skaal.plan.network.network_lines`).

    The first region (the stack's, else in name order) keeps the names of a
    one-region stack; each connector takes its own /28 of the network.
    """
    first = index == 0
    key = "vpc-connector" if first else f"vpc-connector-{region}"
    basis.vpc[region] = key
    return Connector(
        key=key,
        name=_connector_name(basis.name_base if first else f"{basis.name_base}-{region}"),
        region=region,
        ip_cidr_range=f"10.8.{index}.0/28",
        min_instances=VPC_CONNECTOR_INSTANCES,
        max_instances=3,
    )


def _connector_name(app: str) -> str:
    name = physical_name(app, "vpc", max_length=25)
    return name if name[:1].isalpha() else physical_name("c", name, max_length=25)
