"""Who pays for what a built program creates: every resource priced by the plan, or free.

A plan prices what its build will create (:mod:`skaal.plan.bill` lays the
lines out).  This module says, for every type of cloud resource the
generated Pulumi programs create, which plan lines price it or why it
costs nothing, so a test can run every program and check that nothing
billable is left out:

* :data:`PRICED` -- resource type -> the plan items that price it: an item
  is an implementation and a line component (``("dynamodb",
  "backup_per_gb_month")``; an instance's lines are ``instance``,
  ``volume floor`` and ``per_instance_month``; the network's are owned by
  ``network``).  Some types bill only per use (a Lambda, a log group, the
  HTTP API): with no priced use in the plan, their ``idle`` note says why
  they cost nothing;
* :data:`FREE` -- resource type -> why it costs nothing, reviewed entry by
  entry; an entry may hold only for some inputs (a *gateway* VPC endpoint
  is free, an interface endpoint is not).

:func:`unpriced` lists the created resources neither table accounts for;
:func:`unmatched` the plan items no created resource carries;
:func:`storage_mismatches` the volumes provisioned at another size than the
plan prices (an RDS or Cloud SQL instance's disk: the volume floor and its
resources' data, whole GB).  The tests check the backups and the
log retention the same way (``tests/builder/kept.py``).

A new resource type in a builder therefore needs a line here: a price in
the catalog and its item in :data:`PRICED`, or an entry in :data:`FREE`
with the reason it is free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from skaal.plan.model import Plan

__all__ = [
    "FREE",
    "PRICED",
    "Created",
    "Free",
    "Priced",
    "is_primary",
    "plan_items",
    "priced_volumes",
    "storage_mismatches",
    "unmatched",
    "unpriced",
]

Item = tuple[str, str]
"""(implementation, component) of a plan line; ``network`` owns the network's lines."""


@dataclass(frozen=True, slots=True)
class Created:
    """One resource a program registered: its type token, logical name and inputs."""

    type: str
    name: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Priced:
    """The plan items pricing a resource type, and why it may exist without one."""

    items: frozenset[Item]
    idle: str | None = None
    """Billed per use only: why a resource of this type with no priced use costs nothing."""


@dataclass(frozen=True, slots=True)
class Free:
    """Why a resource type costs nothing, and the inputs for which that holds."""

    reason: str
    when: Callable[[Mapping[str, Any]], bool] | None = None
    """``None``: always free; else free only when this holds for the resource's inputs."""


def _items(implementation: str, *components: str) -> frozenset[Item]:
    return frozenset((implementation, c) for c in components)


_STORE = ("per_gb_month", "per_million_reads", "per_million_writes", "per_million_requests")
_SERVER = ("instance", "volume floor", "per_instance_month")
_FUNCTION = ("per_million_requests", "per_gb_second")
_LOGS = ("log_ingestion_per_gb", "log_storage_per_gb_month")
_PER_USE = "billed per use only, and no use of it is declared"

PRICED: Mapping[str, Priced] = MappingProxyType(
    {
        # -- aws ------------------------------------------------------------------------
        # with a collection's global secondary indexes: each a copy of the table's storage,
        # writes and provisioned capacity (the plan's "indexes ..." lines)
        "aws:dynamodb/table:Table": Priced(
            _items(
                "dynamodb",
                *_STORE,
                "per_read_per_s_month",
                "per_write_per_s_month",
                "backup_per_gb_month",
                "indexes per_gb_month",
                "indexes per_million_writes",
                "indexes per_read_per_s_month",
                "indexes eventual per_read_per_s_month",
                "indexes per_write_per_s_month",
            )
        ),
        "aws:s3/bucket:Bucket": Priced(_items("s3", *_STORE)),
        # a queue; also each subscriber's queue of a topic, read as the topic's deliveries
        "aws:sqs/queue:Queue": Priced(_items("sqs", *_STORE) | _items("sns", "per_million_reads")),
        "aws:sns/topic:Topic": Priced(_items("sns", *_STORE)),
        "aws:secretsmanager/secret:Secret": Priced(
            _items("secrets-manager", "fixed_monthly", "per_million_requests")
        ),
        # with traces on, each function's traces (X-Ray bills them; the function sends them)
        "aws:lambda/function:Function": Priced(
            _items("lambda", *_FUNCTION, "per_million_traces"),
            idle="the HTTP default function (docs, OpenAPI, mounted apps) is " + _PER_USE,
        ),
        "aws:cloudwatch/logGroup:LogGroup": Priced(
            _items("lambda", *_LOGS),
            idle="a log group bills the logs written to it and kept; the HTTP default "
            "function's are not declared",
        ),
        "aws:apigatewayv2/api:Api": Priced(
            _items("lambda", "per_million_http_requests"),
            idle="the HTTP API bills its requests only; those to the HTTP default function "
            "are not declared",
        ),
        "aws:scheduler/schedule:Schedule": Priced(_items("lambda", "per_million_scheduled_runs")),
        # the instance, its volume (the floor and its resources' data) and the Secrets
        # Manager secret RDS keeps its password in
        "aws:rds/instance:Instance": Priced(_items("postgres", *_SERVER, "per_gb_month")),
        "aws:elasticache/replicationGroup:ReplicationGroup": Priced(_items("redis", *_SERVER)),
        "aws:ec2/natGateway:NatGateway": Priced(_items("network", "nat_gateway_hours")),
        "aws:ec2/eip:Eip": Priced(_items("network", "public_ipv4_hours")),
        # -- gcp ------------------------------------------------------------------------
        "gcp:firestore/database:Database": Priced(
            _items("firestore", *_STORE, "backup_per_gb_month")
        ),
        "gcp:storage/bucket:Bucket": Priced(_items("gcs", *_STORE)),
        "gcp:pubsub/topic:Topic": Priced(
            _items("pubsub", *_STORE, "message_storage_per_gb_month", "per_million_deliveries")
        ),
        "gcp:pubsub/subscription:Subscription": Priced(
            _items("pubsub", *_STORE, "per_million_deliveries")
        ),
        # a declared secret, or the one holding a Cloud SQL instance's URL
        "gcp:secretmanager/secret:Secret": Priced(
            _items("secret-manager", "fixed_monthly", "per_million_requests")
            | _items("postgres", "per_instance_month")
        ),
        "gcp:secretmanager/secretVersion:SecretVersion": Priced(
            _items("secret-manager", "fixed_monthly") | _items("postgres", "per_instance_month")
        ),
        "gcp:cloudrunv2/service:Service": Priced(
            _items("cloud-run", *_FUNCTION, "log_ingestion_per_gb", "per_million_spans"),
            idle="request-based billing with no minimum instance: a service whose functions "
            "declare no traffic (the docs only) bills nothing",
        ),
        "gcp:apigateway/gateway:Gateway": Priced(
            _items("cloud-run", "per_million_http_requests"),
            idle="the gateway bills its calls only; those to the docs and mounted apps are "
            "not declared",
        ),
        "gcp:cloudscheduler/job:Job": Priced(_items("cloud-run", "per_scheduled_job_month")),
        "gcp:sql/databaseInstance:DatabaseInstance": Priced(
            _items("postgres", *_SERVER, "per_gb_month", "backup_per_gb_month")
        ),
        "gcp:redis/instance:Instance": Priced(_items("redis", *_SERVER)),
        "gcp:vpcaccess/connector:Connector": Priced(
            _items("network", "vpc_connector_instance_hours")
        ),
    }
)


def _gateway(inputs: Mapping[str, Any]) -> bool:
    return inputs.get("vpcEndpointType") == "Gateway"


_IAM = "identity and access configuration is free"
_VPC = "free: what the VPC bills is its NAT gateway and address, priced in the network lines"
_API = "configuration of the HTTP API, which bills per request (priced on the API)"
_BUCKET = (
    "bucket configuration, free; the previous versions it keeps are stored at the bucket's "
    "price, within the blob store's declared size"
)
_SUBNETS = "a list of subnets, free"

FREE: Mapping[str, Free] = MappingProxyType(
    {
        # -- aws ------------------------------------------------------------------------
        "pulumi:providers:aws": Free(
            "the program's AWS provider, pinned to the plan's region: Pulumi configuration"
        ),
        "aws:iam/role:Role": Free(_IAM),
        "aws:iam/rolePolicy:RolePolicy": Free(_IAM),
        "aws:lambda/permission:Permission": Free(_IAM),
        "aws:lambda/layerVersion:LayerVersion": Free(
            "layer storage counts toward Lambda's 75 GB of free code storage"
        ),
        "aws:lambda/eventSourceMapping:EventSourceMapping": Free(
            "polling a queue is billed as the queue's receives, priced on the queue"
        ),
        "aws:apigatewayv2/integration:Integration": Free(_API),
        "aws:apigatewayv2/route:Route": Free(_API),
        "aws:apigatewayv2/stage:Stage": Free(_API),
        "aws:s3/bucketVersioning:BucketVersioning": Free(_BUCKET),
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
            Free("encryption with S3-managed keys (SSE-S3) is free")
        ),
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Free(_BUCKET),
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Free(
            "expiry rules are free (no storage-class transitions are used)"
        ),
        "aws:sqs/queuePolicy:QueuePolicy": Free(_IAM),
        "aws:sns/topicSubscription:TopicSubscription": Free(
            "SNS deliveries to SQS are free; the subscriber queue's reads are priced on the topic"
        ),
        "aws:appautoscaling/target:Target": Free(
            "Application Auto Scaling is free; the capacity it sets is priced on the table"
        ),
        "aws:appautoscaling/policy:Policy": Free(
            "Application Auto Scaling is free; the capacity it sets is priced on the table"
        ),
        "aws:ec2/vpc:Vpc": Free(_VPC),
        "aws:ec2/subnet:Subnet": Free(_VPC),
        "aws:ec2/routeTable:RouteTable": Free(_VPC),
        "aws:ec2/routeTableAssociation:RouteTableAssociation": Free(_VPC),
        "aws:ec2/route:Route": Free(_VPC),
        "aws:ec2/securityGroup:SecurityGroup": Free(_VPC),
        "aws:ec2/internetGateway:InternetGateway": Free(_VPC),
        "aws:ec2/vpcEndpoint:VpcEndpoint": Free(
            "a gateway endpoint (DynamoDB, S3) is free; an interface endpoint is billed hourly",
            when=_gateway,
        ),
        "aws:rds/subnetGroup:SubnetGroup": Free(_SUBNETS),
        "aws:elasticache/subnetGroup:SubnetGroup": Free(_SUBNETS),
        # -- gcp ------------------------------------------------------------------------
        "gcp:serviceaccount/account:Account": Free("service accounts are free"),
        "gcp:projects/iAMMember:IAMMember": Free(_IAM),
        "gcp:storage/bucketIAMMember:BucketIAMMember": Free(_IAM),
        "gcp:secretmanager/secretIamMember:SecretIamMember": Free(_IAM),
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": Free(_IAM),
        "gcp:pubsub/topicIAMMember:TopicIAMMember": Free(_IAM),
        "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": Free(_IAM),
        "gcp:firestore/index:Index": Free(
            "index entries are stored data, priced in the database's per_gb_month"
        ),
        "gcp:firestore/field:Field": Free(
            "a TTL policy; the deletes it makes are billed as writes, priced on the collection"
        ),
        "gcp:apigateway/api:Api": Free(
            "configuration of the API Gateway, which bills per call (priced on the gateway)"
        ),
        "gcp:apigateway/apiConfig:ApiConfig": Free(
            "configuration of the API Gateway, which bills per call (priced on the gateway)"
        ),
        "gcp:sql/database:Database": Free("a database inside the priced Cloud SQL instance"),
        "gcp:sql/user:User": Free("a user of the priced Cloud SQL instance"),
        # -- local ----------------------------------------------------------------------
        "skaal:local:App": Free("the record of a deployment on one machine: nothing is billed"),
    }
)


def plan_items(plan: Plan) -> frozenset[Item]:
    """Every (implementation, component) the plan prices with a line."""
    implementation = {b.resource: b.implementation for b in plan.bindings}
    items: set[Item] = set()
    for binding in plan.bindings:
        items |= {(binding.implementation, line.component) for line in binding.cost}
    for instance in plan.instances:
        owner = implementation[instance.resources[0]]
        items |= {(owner, _component(line.component)) for line in instance.cost}
    items |= {("network", line.component) for line in plan.network}
    return frozenset(items)


def _component(component: str) -> str:
    """An instance line's component: ``instance db.t4g.micro`` is ``instance``."""
    if component.startswith("instance "):
        return "instance"
    if component.startswith("volume floor"):
        return "volume floor"
    return component


def unpriced(created: Iterable[Created], plan: Plan) -> tuple[str, ...]:
    """Why each created resource that no plan line prices and no free entry excuses is wrong."""
    items = plan_items(plan)
    found: list[str] = []
    for resource in created:
        priced = PRICED.get(resource.type)
        if priced is not None:
            if priced.items & items or priced.idle is not None:
                continue
            found.append(
                f"{resource.type} {resource.name!r}: no line of the plan prices it "
                f"(expected one of {sorted(priced.items)})"
            )
            continue
        free = FREE.get(resource.type)
        if free is not None and (free.when is None or free.when(resource.inputs)):
            continue
        found.append(
            f"{resource.type} {resource.name!r} is neither priced by the plan nor on the free "
            "list: price it in the catalog and map it in tests.builder.billable.PRICED, or add it "
            "to FREE with the reason it costs nothing"
            + (" (its free entry does not hold for these inputs)" if free is not None else "")
        )
    return tuple(found)


def unmatched(created: Iterable[Created], plan: Plan) -> tuple[Item, ...]:
    """The plan items that no created resource carries (a price for nothing built)."""
    types = {resource.type for resource in created}
    carried = {item for t in types if (p := PRICED.get(t)) is not None for item in p.items}
    return tuple(sorted(plan_items(plan) - carried))


#: Resource type -> where its provisioned volume is in its inputs, for a primary instance.
_VOLUMES: Mapping[str, Callable[[Mapping[str, Any]], int | None]] = MappingProxyType(
    {
        "aws:rds/instance:Instance": lambda i: (
            None if i.get("replicateSourceDb") else int(i["allocatedStorage"])
        ),
        "gcp:sql/databaseInstance:DatabaseInstance": lambda i: (
            None if i.get("masterInstanceName") else int(i["settings"]["diskSize"])
        ),
    }
)


def priced_volumes(plan: Plan) -> tuple[int, ...]:
    """Each disk server's volume as the plan prices it, whole GB, sorted.

    The GB are the volume floor line's and the ``per_gb_month`` lines of the
    instance's resources; providers allocate whole GB, so the volume is that
    rounded up (the plan's ``disk_gb`` must say the same).
    """
    storage = {
        b.resource: sum(line.quantity for line in b.cost if line.component == "per_gb_month")
        for b in plan.bindings
    }
    volumes = []
    for instance in plan.instances:
        floor = [line.quantity for line in instance.cost if line.component.startswith("volume")]
        if not floor:
            continue
        gb = floor[0] + sum(storage[r] for r in instance.resources)
        volumes.append(max(1, math.ceil(gb - 1e-6)))
    return tuple(sorted(volumes))


def storage_mismatches(created: Iterable[Created], plan: Plan) -> tuple[str, ...]:
    """How the volumes provisioned differ from those the plan prices (empty: they agree)."""
    provisioned = sorted(
        volume
        for resource in created
        if (read := _VOLUMES.get(resource.type)) is not None
        and (volume := read(resource.inputs)) is not None
    )
    priced = list(priced_volumes(plan))
    recorded = sorted(i.disk_gb for i in plan.instances if i.disk_gb is not None)
    found = []
    if provisioned != priced:
        found.append(f"volumes provisioned {provisioned} GB, priced {priced} GB")
    if recorded != priced:
        found.append(f"volumes recorded in the plan {recorded} GB, priced {priced} GB")
    return tuple(found)


def is_primary(resource: Created) -> bool:
    """Whether a database instance is a primary (not a read replica)."""
    inputs = resource.inputs
    return not (inputs.get("replicateSourceDb") or inputs.get("masterInstanceName"))
