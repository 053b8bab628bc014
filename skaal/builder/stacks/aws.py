"""The aws stack model: everything app-specific the aws program creates.

:func:`skaal.builder.targets.aws.build_aws` computes one :class:`AwsStack`
from the Blueprint and the Plan and writes it as ``stack.json``;
:func:`skaal.programs.aws.run` reads it back (:func:`read_stack`) and
creates exactly what it lists.  Pure data: nothing here imports Pulumi.

References.  A policy statement or a function's environment names what
the program creates by its *logical* key and one of its outputs
(:class:`ArnRef`, :class:`OutputRef`): the state resource's name
(``Results``), a server's key (``db-1``), a network's (``network-eu-west-1``)
or a function's (``run_job``: its log group and subscription queue).  The
program resolves each to the value it created, so no statement is written
with an ARN the stack does not own and none with ``*`` but the one
``VpcDescribe`` statement AWS authorises only so (:data:`ANY_RESOURCE`).

Regions.  Every item names the region of the provider the program creates
it with; ``region`` is the stack's (the HTTP API's), ``regions`` every
region the plan uses (one ``aws.Provider`` each), and ``networks`` holds one
VPC per region with a server.
"""

from __future__ import annotations

from typing import Literal

from skaal.builder.stacks.base import StackModel

__all__ = [
    "ANY_RESOURCE",
    "LAMBDA_RUNTIME",
    "LAYER_COMMAND",
    "AdoptedDatabase",
    "ArnAttr",
    "ArnRef",
    "AwsStack",
    "Bucket",
    "Cache",
    "Capacity",
    "Database",
    "Function",
    "Index",
    "Network",
    "OutputAttr",
    "OutputRef",
    "Overrides",
    "Queue",
    "Schedule",
    "ScheduleEntry",
    "Secret",
    "ServerFields",
    "Statement",
    "Subscription",
    "Table",
    "Topic",
    "Traces",
]

LAMBDA_RUNTIME = "python3.11"
"""The runtime of every Lambda and of the dependencies layer."""

LAYER_COMMAND = (
    "python -m pip install -r app/requirements.txt --find-links wheels -t layer/python "
    "--platform manylinux2014_x86_64 --python-version 3.11 --only-binary=:all:"
)
"""How the layer (``layer/python``, beside ``stack.json``) is built by hand from the artifact
folder; ``skaal deploy`` builds it (:mod:`skaal.deploy.layer`)."""

ArnAttr = Literal[
    "arn", "dlq_arn", "sub_arn", "log_arn", "secret_arn", "eni_arn", "subnet_arns", "lambda_sg_arn"
]
"""The outputs a policy statement may name: ARNs (``subnet_arns``: one per private subnet)."""

OutputAttr = Literal["arn", "bucket", "url", "read_url", "secret_arn"]
"""The outputs a function's environment may hold: an ARN, a bucket's real name, a server's URL
(and its read replicas' URL)."""

ANY_RESOURCE: Literal["*"] = "*"
"""The resource of a statement whose actions AWS authorises on ``*`` only."""


class ArnRef(StackModel):
    """The ARN(s) of something the program creates, plus ``suffix`` (``/index/*``, ``/*``)."""

    ref: str
    attr: ArnAttr = "arn"
    suffix: str = ""


class OutputRef(StackModel):
    """An output of something the program creates, put in a function's environment."""

    ref: str
    attr: OutputAttr


class Statement(StackModel):
    """One ``Allow`` statement of a function's role policy."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[ArnRef | Literal["*"], ...]


class Index(StackModel):
    """A global secondary index: ``by_<field>`` on the attribute ``x_<field>``."""

    name: str
    hash_key: str


class Capacity(StackModel):
    """A provisioned table's capacity (the plan's floor) and its autoscaling range."""

    reads: int
    writes: int
    max_reads: int
    max_writes: int
    target_percent: float


class Table(StackModel):
    """A DynamoDB table (``existing``: the name of the table it adopts instead)."""

    resource: str
    name: str
    region: str
    range_key: Literal["sk"] | None
    ttl_attribute: str | None
    indexes: tuple[Index, ...]
    durable: bool
    capacity: Capacity | None
    """``None``: on demand."""
    pitr_days: int | None
    existing: str | None
    retiring: bool = False
    """The origin of a pending move: retained but not protected, so the deploy after the
    switch drops it from the stack and leaves it, with its data, in the account."""


class Bucket(StackModel):
    """An S3 bucket named by the provider from ``prefix`` plus a unique suffix."""

    resource: str
    prefix: str
    env: str
    """The variable that gives the functions its real name."""
    region: str
    durable: bool
    versioned: bool
    keep_versions_days: int | None
    expire_days: int | None
    existing: str | None


class Queue(StackModel):
    """An SQS queue and its dead-letter queue."""

    resource: str
    name: str
    dlq_name: str
    region: str
    fifo: bool
    max_receive_count: int
    visibility_timeout_s: int
    retention_s: int
    dlq_retention_s: int
    durable: bool
    existing: str | None
    existing_url: str | None
    """The adopted queue's URL, ``None`` for a plain name (the program adds the account)."""


class Topic(StackModel):
    """An SNS topic."""

    resource: str
    name: str
    region: str
    durable: bool
    existing: str | None
    existing_arn: str | None
    """The adopted topic's ARN, ``None`` for a plain name (the program adds the account)."""


class Secret(StackModel):
    """A Secrets Manager secret, created without a value (the operator puts it)."""

    resource: str
    name: str
    description: str
    region: str


class Network(StackModel):
    """The VPC of one region: private subnets, a NAT gateway's way out, gateway endpoints."""

    ref: str
    region: str
    cidr: str
    subnets: tuple[str, ...]
    public_subnet: str
    ports: tuple[int, ...]
    """What the data security group opens to the functions."""
    gateway_endpoints: tuple[str, ...]


class ServerFields(StackModel):
    """What a database and a cache record alike."""

    id: str
    """The program's key and Pulumi name of the server."""
    name: str
    backend: str
    env: str
    durable: bool
    replicas: int
    port: int
    region: str
    network: str
    """The ``ref`` of its region's :class:`Network`."""


class Database(ServerFields):
    """An RDS PostgreSQL instance of the plan's size (``replicas`` is 0: the runtime reads
    a PostgreSQL server's primary only, :func:`skaal.builder.sizing.server_size`)."""

    instance_class: str
    storage_gb: int | None
    multi_az: bool
    backup_days: int | None


class AdoptedDatabase(StackModel):
    """An existing RDS instance or Aurora cluster (``existing=``): read, never created.

    The program reads its endpoint, port, database and master user, opens its
    security groups to the functions' VPC on its port, and gives the
    functions its URL and the named credentials secret.
    """

    id: str
    """The program's key of the server (its outputs ``url`` and ``secret_arn``)."""
    identifier: str
    """The instance or cluster identifier, from its ARN."""
    cluster: bool
    """An Aurora cluster (``...:cluster:NAME``) rather than an instance (``...:db:NAME``)."""
    secret_arn: str
    """The Secrets Manager secret holding its master user's password."""
    env: str
    region: str
    network: str
    """The ``ref`` of its region's :class:`Network` (the functions' VPC)."""


class Cache(ServerFields):
    """An ElastiCache Redis replication group of ``1 + replicas`` nodes."""

    node_type: str


class ScheduleEntry(StackModel):
    """One EventBridge Scheduler schedule."""

    name: str
    expression: str


class Schedule(StackModel):
    """A function's schedules (two when a cron restricts both day fields) and their zone."""

    timezone: str
    entries: tuple[ScheduleEntry, ...]


class Subscription(StackModel):
    """The SQS queue the ``sns`` backend subscribes to ``topic`` for a subscriber."""

    name: str
    topic: str
    visibility_timeout_s: int


class Traces(StackModel):
    """The ADOT layer and X-Ray tracing mode of a traced function."""

    layer: str
    mode: Literal["Active"] = "Active"


class Function(StackModel):
    """One Lambda function, its role, log group and triggers."""

    id: str
    name: str
    """The declared function (``_http``: the HTTP API's default route)."""
    lambda_name: str
    role_name: str
    region: str
    memory_mb: int
    timeout_s: int
    route: str | None
    consumes: str | None
    subscription: Subscription | None
    schedule: Schedule | None
    env: dict[str, str]
    outputs: dict[str, OutputRef]
    """Variables filled with what the program creates."""
    vpc: bool
    network: str | None
    statements: tuple[Statement, ...]
    """Its role's inline policy."""
    managed_statements: tuple[tuple[Statement, ...], ...] = ()
    """The statements past IAM's inline policy quota, a customer managed policy each tuple,
    attached to its role (:mod:`skaal.builder.targets.aws_policies`)."""
    traces: Traces | None = None


class Overrides(StackModel):
    """The project's hooks, copied beside the program, installed before any resource."""

    module: str
    resources: tuple[str, ...]


class AwsStack(StackModel):
    """Everything app-specific the aws program creates, written as ``stack.json`` beside it."""

    app: str
    prefix: str
    region: str
    regions: tuple[str, ...]
    plan_hash: str
    log_retention_days: int
    tables: tuple[Table, ...]
    buckets: tuple[Bucket, ...]
    queues: tuple[Queue, ...]
    topics: tuple[Topic, ...]
    secrets: tuple[Secret, ...]
    networks: tuple[Network, ...]
    databases: tuple[Database, ...]
    caches: tuple[Cache, ...]
    adopted_databases: tuple[AdoptedDatabase, ...] = ()
    functions: tuple[Function, ...]
    overrides: Overrides | None = None
