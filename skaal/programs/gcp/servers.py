"""VPC connectors, Cloud SQL and Memorystore instances of the gcp program.

Each Cloud SQL instance's URL (password from the secret stack config
``skaal:databasePassword``, host the instance's Cloud SQL socket) is stored in
a secret of its own; each Memorystore instance is on the network
``skaal:network``, reached through its region's connector.

An adopted Cloud SQL instance (``existing=``) is read
(``gcp.sql.DatabaseInstance.get``) in the deploying project only, never
created, changed or deleted; its URL is the one the named secret holds, and
that secret is granted to its users, not created.

A Cloud SQL instance's disk is created at the plan's size and grows with
Cloud SQL's automatic storage increase when the data outgrows it (billed per
GB as it grows, never a full disk).  The disk then belongs to Cloud SQL: a
later deploy leaves its size as it is (the engine keeps the stack's recorded
size), since a disk cannot shrink and a deploy lowering it would fail; a
later plan's larger size is reached the same way, the increase adding room
within a minute of the free space running low.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from skaal.builder.stacks.gcp import AdoptedCloudSql, CloudSql, Connector, Memorystore
from skaal.errors import DeployError
from skaal.programs.gcp.context import Deploy

__all__ = ["DATABASE_PASSWORD", "create"]

DATABASE_PASSWORD = "databasePassword"
"""The secret stack config of the Cloud SQL user's password."""
_SSL = gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
    ipv4_enabled=True, ssl_mode="ENCRYPTED_ONLY"
)


def create(deploy: Deploy) -> None:
    for connector in deploy.stack.connectors:
        _connector(deploy, connector)
    for sql in deploy.stack.cloud_sql:
        _cloud_sql(deploy, sql)
    for adopted in deploy.stack.adopted_cloud_sql:
        _adopted_cloud_sql(deploy, adopted)
    for redis in deploy.stack.memorystore:
        _memorystore(deploy, redis)


def _connector(deploy: Deploy, spec: Connector) -> None:
    deploy.connectors[spec.key] = gcp.vpcaccess.Connector(
        spec.key,
        name=spec.name,
        region=spec.region,
        network=deploy.network,
        ip_cidr_range=spec.ip_cidr_range,
        min_instances=spec.min_instances,
        max_instances=spec.max_instances,
    )


def _backups(spec: CloudSql) -> gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs:
    """Automated backups with point-in-time recovery, kept as many days as the plan says."""
    if spec.backups is None:
        return gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(enabled=False)
    days = spec.backups.days
    return gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
        enabled=True,
        point_in_time_recovery_enabled=True,
        transaction_log_retention_days=days,
        backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
            retained_backups=days, retention_unit="COUNT"
        ),
    )


def _cloud_sql(deploy: Deploy, spec: CloudSql) -> None:
    instance = gcp.sql.DatabaseInstance(
        spec.key,
        name=spec.name,
        region=spec.region,
        database_version="POSTGRES_16",
        deletion_protection=not deploy.delete_data,
        settings=gcp.sql.DatabaseInstanceSettingsArgs(
            tier=spec.tier,
            edition="ENTERPRISE",
            availability_type=spec.availability_type,
            disk_type="PD_SSD",
            disk_size=spec.disk_size,
            disk_autoresize=True,
            disk_autoresize_limit=0,  # up to Cloud SQL's own maximum
            deletion_protection_enabled=not deploy.delete_data,
            backup_configuration=_backups(spec),
            ip_configuration=_SSL,
        ),
        opts=pulumi.ResourceOptions.merge(
            deploy.stateful, pulumi.ResourceOptions(ignore_changes=["settings.diskSize"])
        ),
    )
    deploy.sql[spec.key] = instance
    gcp.sql.Database(
        f"{spec.key}-database", name=spec.database, instance=instance.name, opts=deploy.stateful
    )
    password = deploy.config.require_secret(DATABASE_PASSWORD)
    gcp.sql.User(f"{spec.key}-user", name="skaal", instance=instance.name, password=password)
    secret = gcp.secretmanager.Secret(
        f"{spec.key}-url",
        secret_id=spec.url_secret_id,
        replication=gcp.secretmanager.SecretReplicationArgs(
            auto=gcp.secretmanager.SecretReplicationAutoArgs()
        ),
    )
    database = spec.database
    url = pulumi.Output.all(password, instance.connection_name).apply(
        lambda a: f"postgresql://skaal:{a[0]}@/{database}?host=/cloudsql/{a[1]}"
    )
    gcp.secretmanager.SecretVersion(f"{spec.key}-url-value", secret=secret.id, secret_data=url)
    deploy.secret_ids[spec.key] = secret.secret_id
    deploy.secret_grants(secret.secret_id, spec.url_grants)
    deploy.project_grants(spec.client_grants)


def _adopted_cloud_sql(deploy: Deploy, spec: AdoptedCloudSql) -> None:
    """An existing instance, read; its users granted its secret and a client role on it only."""
    secret_project = spec.url_secret.split("/")[1]
    for what, project in (("Cloud SQL instance", spec.project), ("secret", secret_project)):
        if project != deploy.project:
            raise DeployError(
                f"{spec.key} adopts a {what} of project {project}, not the deploying project "
                f"{deploy.project}",
                where=f"existing= of {spec.key}",
                fix="deploy there, or name an instance and a secret of this project in existing=",
            )
    deploy.sql[spec.key] = gcp.sql.DatabaseInstance.get(
        spec.key, f"projects/{spec.project}/instances/{spec.instance}"
    )
    secret_id = spec.url_secret.rsplit("/", 1)[1]
    deploy.secret_ids[spec.key] = pulumi.Output.from_input(secret_id)
    deploy.secret_grants(deploy.secret_ids[spec.key], spec.url_grants)
    deploy.project_grants(spec.client_grants)


def _memorystore(deploy: Deploy, spec: Memorystore) -> None:
    replicas = spec.replica_count
    deploy.redis[spec.key] = gcp.redis.Instance(
        spec.key,
        name=spec.name,
        region=spec.region,
        tier=spec.tier,
        memory_size_gb=spec.memory_size_gb,
        replica_count=replicas,
        read_replicas_mode=None if replicas is None else "READ_REPLICAS_ENABLED",
        redis_version="REDIS_7_0",
        authorized_network=f"projects/{deploy.project}/global/networks/{deploy.network}",
        connect_mode="DIRECT_PEERING",
    )
