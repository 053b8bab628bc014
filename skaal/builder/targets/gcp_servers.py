"""Server sections of the gcp program: Cloud SQL and Memorystore, with their connectors.

One server per server of the plan (:func:`skaal.plan.wiring.servers`: a
shared instance, or a dedicated backend's resource), each wired into its own
connection variable, so a resource planned on instance B reaches B.

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
``availability_type`` (``ZONAL`` unless it says ``REGIONAL``), one read
replica per plan replica and the plan's days of backups (one a day, and
the transaction logs for point-in-time recovery);
Memorystore gets the class's ``memory_size_gb`` and tier -- the class's
``tier`` parameter, else ``STANDARD_HA`` with the plan's replicas as read
replicas, or ``BASIC`` without replicas.
"""

from __future__ import annotations

from skaal.builder.sizing import ServerSize, server_size
from skaal.builder.targets.gcp_code import Code, call
from skaal.builder.targets.gcp_writer import ProgramWriter, physical_name, secret_env
from skaal.plan.model import Binding
from skaal.plan.network import VPC_CONNECTOR_INSTANCES
from skaal.plan.wiring import ServerWiring
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["Servers", "cloud_sql_settings", "memorystore_settings"]


def cloud_sql_settings(size: ServerSize) -> dict[str, object]:
    """The size-dependent settings of a Cloud SQL instance: tier, disk, availability."""
    availability = size.parameters.get("availability_type", "ZONAL")
    return {
        "tier": str(size.parameter("tier")),
        "disk_size": size.disk_gb,
        "availability_type": str(availability),
    }


def memorystore_settings(size: ServerSize) -> dict[str, object]:
    """The size-dependent settings of a Memorystore instance: tier, memory, replicas."""
    tier = str(size.parameters.get("tier", "STANDARD_HA" if size.replicas > 0 else "BASIC"))
    settings: dict[str, object] = {
        "tier": tier,
        "memory_size_gb": int(size.parameter("memory_size_gb")),
    }
    if tier == "STANDARD_HA" and size.replicas > 0:
        settings.update(replica_count=size.replicas, read_replicas_mode="READ_REPLICAS_ENABLED")
    return settings


class Servers(ProgramWriter):
    """Writes the Cloud SQL and Memorystore resources."""

    def servers(self, bindings: list[Binding]) -> None:
        """The servers hosting ``bindings``' resources, one Cloud SQL or Memorystore each."""
        names = {b.resource for b in bindings}
        built = [s for s in self.wiring.servers if names.intersection(s.resources)]
        reached = {
            self.regions.servers[s.id]
            for s in built
            if DEFAULT_REGISTRY.network(s.implementation, "gcp").vpc
        }
        for region in sorted(reached, key=lambda r: (r != self.regions.stack, r)):
            self.connector(region)
        for server in built:
            if server.implementation == "postgres":
                self.cloud_sql(server)
                self.sockets.append(
                    (
                        frozenset(server.resources),
                        Code(f"{self.var(server.id)}.connection_name"),
                    )
                )
            else:
                self.memorystore(server)

    def cloud_sql(self, server: ServerWiring) -> None:
        owner = server.id
        self.section(f"Cloud SQL {owner}")
        var = self.var(owner)
        name = physical_name(self.name_base, owner, max_length=80)
        sized = cloud_sql_settings(size := server_size(self.plan, server))
        self.add(
            call(
                var,
                "gcp.sql.DatabaseInstance",
                owner,
                {
                    "name": name,
                    "region": Code(self.at(self.regions.servers[owner])),
                    "database_version": "POSTGRES_16",
                    "deletion_protection": Code("not DELETE_DATA"),
                    "settings": {
                        "tier": sized["tier"],
                        "edition": "ENTERPRISE",
                        "availability_type": sized["availability_type"],
                        "disk_type": "PD_SSD",
                        "disk_size": sized["disk_size"],
                        "deletion_protection_enabled": Code("not DELETE_DATA"),
                        "backup_configuration": _backups(size),
                        "ip_configuration": {"ipv4_enabled": True, "ssl_mode": "ENCRYPTED_ONLY"},
                    },
                },
                opts="STATEFUL",
            )
        )
        for i in range(size.replicas):  # read replicas, as the plan counts them
            self.add(
                call(
                    None,
                    "gcp.sql.DatabaseInstance",
                    f"{owner}-replica-{i + 1}",
                    {
                        "name": physical_name(
                            self.name_base, f"{owner}-replica-{i + 1}", max_length=80
                        ),
                        "region": Code(self.at(self.regions.servers[owner])),
                        "database_version": "POSTGRES_16",
                        "master_instance_name": Code(f"{var}.name"),
                        "deletion_protection": False,
                        "settings": {
                            "tier": sized["tier"],
                            "edition": "ENTERPRISE",
                            "disk_type": "PD_SSD",
                            "disk_size": sized["disk_size"],
                            "ip_configuration": {
                                "ipv4_enabled": True,
                                "ssl_mode": "ENCRYPTED_ONLY",
                            },
                        },
                    },
                )
            )
        db = physical_name(self.name_base, "data", max_length=63, separator="_")
        self.add(
            call(
                f"{var}_db",
                "gcp.sql.Database",
                f"{owner}-database",
                {"name": db, "instance": Code(f"{var}.name")},
                opts="STATEFUL",
            )
        )
        self.add(
            call(
                f"{var}_user",
                "gcp.sql.User",
                f"{owner}-user",
                {
                    "name": "skaal",
                    "instance": Code(f"{var}.name"),
                    "password": Code('config.require_secret("databasePassword")'),
                },
            )
        )
        self.add(
            call(
                f"{var}_url",
                "gcp.secretmanager.Secret",
                f"{owner}-url",
                {
                    "secret_id": physical_name(self.name_base, f"{owner}-url"),
                    "replication": {"auto": {}},
                },
            )
        )
        url = Code(
            'pulumi.Output.all(config.require_secret("databasePassword"), '
            f"{var}.connection_name).apply(\n"
            f'        lambda a: f"postgresql://skaal:{{a[0]}}@/{db}?host=/cloudsql/{{a[1]}}"\n    )'
        )
        self.add(
            call(
                None,
                "gcp.secretmanager.SecretVersion",
                f"{owner}-url-value",
                {"secret": Code(f"{var}_url.id"), "secret_data": url},
            )
        )
        users = self.users(*server.resources)
        self.grant(
            f"{owner}-url-access",
            "gcp.secretmanager.SecretIamMember",
            {"secret_id": Code(f"{var}_url.secret_id")},
            "roles/secretmanager.secretAccessor",
            to=users,
        )
        self.conditional_grant(
            f"{owner}-client",
            "roles/cloudsql.client",
            f"only the {name} instance",
            Code(f"f\"resource.name == 'projects/{{PROJECT}}/instances/{name}'\""),
            to=users,
        )
        self.share(secret_env(server.env, f"{var}_url.secret_id"), *server.resources)

    def memorystore(self, server: ServerWiring) -> None:
        owner = server.id
        self.section(f"Memorystore {owner}")
        var = self.var(owner)
        region = self.regions.servers[owner]
        if region in self.vpc:
            reached = self.vpc_resources.get(region, frozenset())
            self.vpc_resources[region] = reached | frozenset(server.resources)
        self.add(
            call(
                var,
                "gcp.redis.Instance",
                owner,
                {
                    "name": physical_name(self.name_base, owner, max_length=40),
                    "region": Code(self.at(self.regions.servers[owner])),
                    **memorystore_settings(server_size(self.plan, server)),
                    "redis_version": "REDIS_7_0",
                    "authorized_network": Code('f"projects/{PROJECT}/global/networks/{NETWORK}"'),
                    "connect_mode": "DIRECT_PEERING",
                },
            )
        )
        self.share(
            {
                "name": server.env,
                "value": Code(
                    f'pulumi.Output.concat("redis://", {var}.host, ":", {var}.port.apply(str))'
                ),
            },
            *server.resources,
        )

    def connector(self, region: str) -> None:
        """The Serverless VPC Access connector of ``region``, once (priced in the plan's
        network lines, :func:`skaal.plan.network.network_lines`, one per region).

        The first region (the stack's, else in name order) keeps the names of a
        one-region stack; each connector takes its own /28 of the network.
        """
        if not self.vpc:
            self.add('NETWORK = config.get("network") or "default"\n')
        first = not self.vpc
        var = "connector" if first else f"connector_{region.replace('-', '_')}"
        self.add(
            call(
                var,
                "gcp.vpcaccess.Connector",
                "vpc-connector" if first else f"vpc-connector-{region}",
                {
                    "name": _connector_name(
                        self.name_base if first else f"{self.name_base}-{region}"
                    ),
                    "region": Code(self.at(region)),
                    "network": Code("NETWORK"),
                    "ip_cidr_range": f"10.8.{len(self.vpc)}.0/28",
                    "min_instances": VPC_CONNECTOR_INSTANCES,
                    "max_instances": 3,
                },
            )
        )
        self.vpc[region] = Code(f"{var}.id")


def _backups(size: ServerSize) -> dict[str, object]:
    """Automated backups with point-in-time recovery, kept as many days as the plan says."""
    if size.backup_days is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "point_in_time_recovery_enabled": True,
        "transaction_log_retention_days": size.backup_days,
        "backup_retention_settings": {
            "retained_backups": size.backup_days,
            "retention_unit": "COUNT",
        },
    }


def _connector_name(app: str) -> str:
    name = physical_name(app, "vpc", max_length=25)
    return name if name[:1].isalpha() else physical_name("c", name, max_length=25)
