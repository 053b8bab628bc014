"""The servers: RDS PostgreSQL instances and ElastiCache Redis groups, in their region's VPC.

Each is the class, size and (Redis) replica count the plan records.  The RDS master
password is managed by RDS (``manage_master_user_password``): generated,
rotated and kept in a Secrets Manager secret.  A function's environment
holds the connection URL without a password and the secret's ARN
(:func:`skaal.plan.wiring.credentials_env`); the runtime reads the secret
when it opens a connection.  A database is always deletion-protected, kept
and snapshotted at deletion unless ``skaal:deleteData`` is set.

An adopted server (``existing=``, :class:`~skaal.builder.stacks.aws.AdoptedDatabase`)
is only read (``aws.rds.get_instance`` / ``get_cluster``): its URL carries
its master user, database and endpoint, its secret is the one named in
``existing=``, and one ingress rule per security group of the server lets
the functions' VPC in on its port.  Those rules are the stack's own (a
destroy removes them); the server is never changed or deleted.

A database's volume is created at the plan's size (its resources' declared
data and the volume floor) and grows with RDS storage autoscaling, up to
:data:`RDS_MAX_STORAGE_GB`, when the data outgrows it: billed per GB as it
grows, never a full disk.  A later plan's larger size is still applied at the
next deploy (autoscaling waits six hours between increases, too slow for a
resource moved in), while a size below what autoscaling reached is not
(with ``max_allocated_storage`` set, the provider leaves a volume larger than
the program's as it is; RDS cannot shrink one).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from skaal.builder.stacks.aws import AdoptedDatabase, Cache, Database
from skaal.programs.aws.context import Deploy

__all__ = ["RDS_MAX_STORAGE_GB", "adopted_database", "cache", "database"]

RDS_MAX_STORAGE_GB = 65_536
"""The most RDS for PostgreSQL storage autoscaling may grow a gp3 volume to (64 TiB,
the engine's maximum): https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html"""


def _secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    return (secrets[0].secret_arn or "") if secrets else ""


def database(deploy: Deploy, d: Database) -> None:
    """An RDS instance (the runtime reads a PostgreSQL server's primary only)."""
    net = deploy.networks[d.network]
    group = aws.rds.SubnetGroup(
        f"{d.id}-subnets", subnet_ids=list(net.subnet_ids), opts=deploy.opts(d.region)
    )
    created = aws.rds.Instance(
        d.id,
        identifier=d.name,
        engine="postgres",
        engine_version="16",
        instance_class=d.instance_class,
        port=d.port,
        allocated_storage=d.storage_gb,
        max_allocated_storage=RDS_MAX_STORAGE_GB,
        storage_type="gp3",
        db_name="skaal",
        username="skaal",
        manage_master_user_password=True,
        storage_encrypted=True,
        multi_az=d.multi_az,
        db_subnet_group_name=group.name,
        vpc_security_group_ids=[net.data_sg],
        publicly_accessible=False,
        deletion_protection=not deploy.delete_data,
        backup_retention_period=d.backup_days or 0,
        skip_final_snapshot=deploy.delete_data,
        final_snapshot_identifier=None if deploy.delete_data else f"{d.name}-final",
        opts=deploy.opts(d.region, durable=True),
    )
    url = pulumi.Output.concat("postgresql://skaal@", created.address, ":", str(d.port), "/skaal")
    deploy.put(d.id, "url", url)
    deploy.put(d.id, "secret_arn", created.master_user_secrets.apply(_secret_arn))


def adopted_database(deploy: Deploy, d: AdoptedDatabase) -> None:
    """An existing RDS instance or Aurora cluster, read; its security groups opened to the VPC."""
    cidr = next(n.cidr for n in deploy.stack.networks if n.ref == d.network)
    opts = deploy.invoke_opts(d.region)
    if d.cluster:
        cluster = aws.rds.get_cluster(cluster_identifier=d.identifier, opts=opts)
        host, port, database = cluster.endpoint, cluster.port, cluster.database_name
        user, groups = cluster.master_username, cluster.vpc_security_group_ids
    else:
        instance = aws.rds.get_instance(db_instance_identifier=d.identifier, opts=opts)
        host, port, database = instance.address, instance.port, instance.db_name
        user, groups = instance.master_username, instance.vpc_security_groups
    for i, group in enumerate(sorted(groups)):
        aws.vpc.SecurityGroupIngressRule(
            f"{d.id}-from-functions-{i}",
            security_group_id=group,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"Skaal app {deploy.stack.app}: its functions' VPC",
            opts=deploy.opts(d.region),
        )
    url = f"postgresql://{user}@{host}:{port}/{database or 'postgres'}"
    deploy.put(d.id, "url", url)
    deploy.put(d.id, "secret_arn", d.secret_arn)


def cache(deploy: Deploy, c: Cache) -> None:
    """An encrypted Redis replication group, failing over when it has replicas."""
    net = deploy.networks[c.network]
    group = aws.elasticache.SubnetGroup(
        f"{c.id}-subnets", subnet_ids=list(net.subnet_ids), opts=deploy.opts(c.region)
    )
    created = aws.elasticache.ReplicationGroup(
        c.id,
        replication_group_id=c.name,
        description=f"skaal cache {c.id}",
        engine="redis",
        node_type=c.node_type,
        num_cache_clusters=1 + c.replicas,
        automatic_failover_enabled=c.replicas > 0,
        multi_az_enabled=c.replicas > 0,
        port=c.port,
        subnet_group_name=group.name,
        security_group_ids=[net.data_sg],
        at_rest_encryption_enabled=True,
        transit_encryption_enabled=True,
        opts=deploy.opts(c.region, durable=c.durable),
    )
    url = pulumi.Output.concat(
        "rediss://", created.primary_endpoint_address, ":", str(c.port), "/0"
    )
    deploy.put(c.id, "url", url)
    if c.replicas:  # the runtime spreads reads over the primary and these replicas
        reader = pulumi.Output.concat(
            "rediss://", created.reader_endpoint_address, ":", str(c.port), "/0"
        )
        deploy.put(c.id, "read_url", reader)
