"""Firestore databases, Cloud Storage buckets and declared secrets of the gcp program."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from skaal.builder.stacks.gcp import Bucket, DeclaredSecret, FirestoreDatabase
from skaal.programs.gcp.context import Deploy, suffixed

__all__ = ["create"]


def create(deploy: Deploy) -> None:
    """The databases, buckets and secrets of ``deploy``'s stack."""
    for database in deploy.stack.firestore:
        _firestore(deploy, database)
    for bucket in deploy.stack.buckets:
        _bucket(deploy, bucket)
    for secret in deploy.stack.secrets:
        _secret(deploy, secret)


def _firestore(deploy: Deploy, spec: FirestoreDatabase) -> None:
    database = gcp.firestore.Database(
        spec.key,
        name=spec.database,
        location_id=spec.location,
        type="FIRESTORE_NATIVE",
        point_in_time_recovery_enablement=(
            "POINT_IN_TIME_RECOVERY_ENABLED"
            if spec.point_in_time_recovery
            else "POINT_IN_TIME_RECOVERY_DISABLED"
        ),
        delete_protection_state=(
            "DELETE_PROTECTION_DISABLED" if deploy.delete_data else "DELETE_PROTECTION_ENABLED"
        ),
        deletion_policy="DELETE" if deploy.delete_data else "ABANDON",
        opts=deploy.holding(retiring=spec.retiring),
    )
    deploy.project_grants(spec.grants)
    for index in spec.indexes:
        # the runtime's find(): equality on x.<field>, range and order on k
        gcp.firestore.Index(
            index.name,
            database=database.name,
            collection=index.collection,
            query_scope="COLLECTION",
            fields=[
                gcp.firestore.IndexFieldArgs(field_path=f"x.{index.field}", order="ASCENDING"),
                gcp.firestore.IndexFieldArgs(field_path="k", order="ASCENDING"),
            ],
        )
    for name, collection in spec.ttl_collections:
        # entries written with a TTL carry their expiry in the TTL field; the policy deletes them
        gcp.firestore.Field(
            name,
            database=database.name,
            collection=collection,
            field=spec.ttl_field,
            ttl_config=gcp.firestore.FieldTtlConfigArgs(),
            index_config=gcp.firestore.FieldIndexConfigArgs(),
        )


def _bucket(deploy: Deploy, spec: Bucket) -> None:
    if spec.adopted is not None:
        # existing=: read into the stack, never created, changed or deleted
        bucket = gcp.storage.Bucket.get(spec.resource, spec.adopted)
    else:
        rules = []
        if spec.ttl_days is not None:
            rules.append(
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=spec.ttl_days),
                )
            )
        if spec.noncurrent_days is not None:
            rules.append(
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=spec.noncurrent_days
                    ),
                )
            )
        base = spec.base
        # a unique suffix, so the name cannot be guessed and taken before the deploy
        name = deploy.runtime_unique_id.apply(lambda unique: suffixed(base, unique))
        bucket = gcp.storage.Bucket(
            spec.resource,
            name=name,
            location=spec.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=deploy.delete_data,
            versioning=gcp.storage.BucketVersioningArgs(enabled=spec.versioned),
            lifecycle_rules=rules or None,
            opts=deploy.stateful,
        )
    deploy.buckets[spec.resource] = bucket
    for grant in spec.grants:
        gcp.storage.BucketIAMMember(
            grant.name, bucket=bucket.name, role=grant.role, member=deploy.member(grant.member)
        )


def _secret(deploy: Deploy, spec: DeclaredSecret) -> None:
    secret = gcp.secretmanager.Secret(
        spec.resource,
        secret_id=spec.secret_id,
        replication=gcp.secretmanager.SecretReplicationArgs(
            auto=gcp.secretmanager.SecretReplicationAutoArgs()
        ),
        opts=deploy.stateful,
    )
    value: pulumi.Output[str] = deploy.config.require_secret(spec.resource)
    gcp.secretmanager.SecretVersion(f"{spec.resource}-value", secret=secret.id, secret_data=value)
    deploy.secret_ids[spec.resource] = secret.secret_id
    # only the services whose functions may read it
    deploy.secret_grants(secret.secret_id, spec.grants)
