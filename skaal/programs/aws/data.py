"""The state resources: DynamoDB tables, S3 buckets, SQS queues, SNS topics, secrets.

Each is created through the provider of its planned region.  A durable one
(not declared ephemeral) is protected and retained, with deletion
protection where the service has it, unless ``skaal:deleteData`` is set
(:meth:`skaal.programs.aws.context.Deploy.opts`).  One that adopts an
existing resource (``existing=``, :mod:`skaal.declare.existing`) is *read*
into the stack with the resource's ``get``: referenced (its ARN scopes the
functions' policies, its name is in their environment), never created,
changed or deleted, so ``skaal destroy`` leaves it in place.
"""

from __future__ import annotations

import json
from typing import Literal

import pulumi
import pulumi_aws as aws

from skaal.builder.stacks.aws import Bucket, Capacity, Queue, Secret, Table, Topic
from skaal.errors import DeployError
from skaal.programs.aws.context import Deploy

__all__ = ["bucket", "dead_letters_of", "queue", "secret", "table", "topic"]

_SCALED = [
    "readCapacity",
    "writeCapacity",
    "globalSecondaryIndexes[*].readCapacity",
    "globalSecondaryIndexes[*].writeCapacity",
]
"""A provisioned table's capacities, which autoscaling owns once the table exists: the
plan's units create the table and are autoscaling's floor, and a later deploy (after a
re-plan, or after ``pulumi refresh``) leaves the capacity autoscaling reached in place
instead of lowering it to the floor."""


def table(deploy: Deploy, t: Table) -> None:
    """A table with the key schema, indexes and TTL attribute the ``dynamodb`` backend uses."""
    if t.existing is not None:
        found = aws.dynamodb.Table.get(t.resource, t.existing, opts=deploy.read_opts(t.region))
        deploy.put(t.resource, "arn", found.arn)
        return
    attributes: list[aws.dynamodb.TableAttributeArgsDict] = [{"name": "pk", "type": "S"}]
    if t.range_key is not None:
        attributes.append({"name": t.range_key, "type": "N"})
    attributes += [{"name": i.hash_key, "type": "S"} for i in t.indexes]
    capacity = t.capacity
    indexes: list[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = []
    for i in t.indexes:
        index: aws.dynamodb.TableGlobalSecondaryIndexArgsDict = {
            "name": i.name,
            "hash_key": i.hash_key,
            "range_key": "pk",
            "projection_type": "ALL",
        }
        if capacity is not None:
            index["read_capacity"] = capacity.reads
            index["write_capacity"] = capacity.writes
        indexes.append(index)
    created = aws.dynamodb.Table(
        t.resource,
        name=t.name,
        billing_mode="PROVISIONED" if capacity is not None else "PAY_PER_REQUEST",
        hash_key="pk",
        range_key=t.range_key,
        attributes=attributes,
        global_secondary_indexes=indexes,
        ttl=(
            {"attribute_name": t.ttl_attribute, "enabled": True}
            if t.ttl_attribute is not None
            else None
        ),
        point_in_time_recovery=(
            {"enabled": True, "recovery_period_in_days": t.pitr_days}
            if t.pitr_days
            else {"enabled": False}
        ),
        deletion_protection_enabled=t.durable and not deploy.delete_data,
        server_side_encryption={"enabled": True},
        read_capacity=capacity.reads if capacity is not None else None,
        write_capacity=capacity.writes if capacity is not None else None,
        opts=deploy.opts(
            t.region,
            durable=t.durable,
            retiring=t.retiring,
            ignore_changes=_SCALED if capacity is not None else None,
        ),
    )
    if capacity is not None:
        # the table and each index alike: an index left at its floor throttles the
        # table's writes once a burst passes it
        for scaled in (None, *(i.name for i in t.indexes)):
            _autoscale(deploy, t, created.name, "Read", capacity, index=scaled)
            _autoscale(deploy, t, created.name, "Write", capacity, index=scaled)
    deploy.put(t.resource, "arn", created.arn)


def _autoscale(
    deploy: Deploy,
    t: Table,
    table_name: pulumi.Output[str],
    dimension: Literal["Read", "Write"],
    capacity: Capacity,
    *,
    index: str | None = None,
) -> None:
    """Target tracking on one capacity dimension (``Read`` or ``Write``) of a table, or
    of its global secondary index ``index`` (given the table's capacity)."""
    floor, ceiling = (
        (capacity.reads, capacity.max_reads)
        if dimension == "Read"
        else (capacity.writes, capacity.max_writes)
    )
    scope, name = ("table", t.resource) if index is None else ("index", f"{t.resource}-{index}")
    resource_id = pulumi.Output.concat("table/", table_name)
    if index is not None:
        resource_id = pulumi.Output.concat("table/", table_name, "/index/", index)
    target = aws.appautoscaling.Target(
        f"{name}-{dimension.lower()}-scaling",
        service_namespace="dynamodb",
        resource_id=resource_id,
        scalable_dimension=f"dynamodb:{scope}:{dimension}CapacityUnits",
        min_capacity=floor,
        max_capacity=ceiling,
        opts=deploy.opts(t.region),
    )
    aws.appautoscaling.Policy(
        f"{name}-{dimension.lower()}-target",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension,
        target_tracking_scaling_policy_configuration={
            "target_value": capacity.target_percent,
            "predefined_metric_specification": {
                "predefined_metric_type": f"DynamoDB{dimension}CapacityUtilization"
            },
        },
        opts=deploy.opts(t.region),
    )


def bucket(deploy: Deploy, b: Bucket) -> None:
    """An encrypted, private bucket named by the provider from its prefix."""
    if b.existing is not None:
        found = aws.s3.Bucket.get(b.resource, b.existing, opts=deploy.read_opts(b.region))
        deploy.put(b.resource, "arn", found.arn)
        deploy.put(b.resource, "bucket", found.bucket)
        return
    created = aws.s3.Bucket(
        b.resource,
        bucket_prefix=b.prefix,
        force_destroy=deploy.delete_data or not b.durable,
        opts=deploy.opts(b.region, durable=b.durable),
    )
    if b.versioned:
        aws.s3.BucketVersioning(
            f"{b.resource}-versioning",
            bucket=created.id,
            versioning_configuration={"status": "Enabled"},
            opts=deploy.opts(b.region),
        )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{b.resource}-sse",
        bucket=created.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=deploy.opts(b.region),
    )
    aws.s3.BucketPublicAccessBlock(
        f"{b.resource}-private",
        bucket=created.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=deploy.opts(b.region),
    )
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = []
    if b.expire_days:
        rules.append(
            {"id": "ttl", "status": "Enabled", "filter": {}, "expiration": {"days": b.expire_days}}
        )
    if b.versioned and b.keep_versions_days is not None:
        # overwritten and deleted objects stay recoverable for this long
        rules.append(
            {
                "id": "previous-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": b.keep_versions_days},
            }
        )
    if rules:
        aws.s3.BucketLifecycleConfiguration(
            f"{b.resource}-expiry", bucket=created.id, rules=rules, opts=deploy.opts(b.region)
        )
    deploy.put(b.resource, "arn", created.arn)
    deploy.put(b.resource, "bucket", created.bucket)


def dead_letters_of(resource: str, policy: str | None) -> str:
    """The dead-letter queue an adopted queue's own redrive policy names."""
    target = json.loads(policy).get("deadLetterTargetArn") if policy else None
    if not isinstance(target, str) or not target:
        raise DeployError(
            f"queue {resource} adopts an SQS queue without a redrive policy",
            where=f"{resource} (existing=)",
            fix="give that queue a dead-letter queue (Skaal moves failed messages there), "
            "or remove existing=",
        )
    return target


def queue(deploy: Deploy, q: Queue) -> None:
    """A queue and its dead-letter queue (``maxReceiveCount``: the declared attempts)."""
    if q.existing is not None:  # an SQS queue is read by its URL; a plain name is in this account
        url = q.existing_url or pulumi.Output.concat(
            "https://sqs.",
            q.region,
            ".amazonaws.com/",
            deploy.account_id(q.region),
            "/",
            q.existing,
        )
        found = aws.sqs.Queue.get(q.resource, url, opts=deploy.read_opts(q.region))
        deploy.put(q.resource, "arn", found.arn)
        deploy.put(
            q.resource,
            "dlq_arn",
            found.redrive_policy.apply(lambda p: dead_letters_of(q.resource, p)),
        )
        return
    dlq = aws.sqs.Queue(
        f"{q.resource}-dlq",
        name=q.dlq_name,
        fifo_queue=q.fifo,
        message_retention_seconds=q.dlq_retention_s,
        sqs_managed_sse_enabled=True,
        opts=deploy.opts(q.region, durable=q.durable),
    )
    created = aws.sqs.Queue(
        q.resource,
        name=q.name,
        fifo_queue=q.fifo,
        visibility_timeout_seconds=q.visibility_timeout_s,
        message_retention_seconds=q.retention_s,
        sqs_managed_sse_enabled=True,
        redrive_policy=dlq.arn.apply(
            lambda arn: json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": q.max_receive_count}
            )
        ),
        opts=deploy.opts(q.region, durable=q.durable),
    )
    deploy.put(q.resource, "arn", created.arn)
    deploy.put(q.resource, "dlq_arn", dlq.arn)


def topic(deploy: Deploy, t: Topic) -> None:
    """A topic; its region is where its subscriptions are created."""
    deploy.topic_regions[t.resource] = t.region
    if t.existing is not None:  # an SNS topic is read by its ARN; a plain name is in this account
        arn = t.existing_arn or pulumi.Output.concat(
            "arn:aws:sns:", t.region, ":", deploy.account_id(t.region), ":", t.existing
        )
        found = aws.sns.Topic.get(t.resource, arn, opts=deploy.read_opts(t.region))
        deploy.put(t.resource, "arn", found.arn)
        return
    created = aws.sns.Topic(t.resource, name=t.name, opts=deploy.opts(t.region, durable=t.durable))
    deploy.put(t.resource, "arn", created.arn)


def secret(deploy: Deploy, s: Secret) -> None:
    """A secret without a value (the operator puts it); always kept, unless deleting data."""
    created = aws.secretsmanager.Secret(
        s.resource,
        name=s.name,
        description=s.description,
        recovery_window_in_days=0 if deploy.delete_data else 30,
        opts=deploy.opts(s.region, durable=True),
    )
    deploy.put(s.resource, "arn", created.arn)
