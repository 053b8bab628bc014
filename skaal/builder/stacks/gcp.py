"""The gcp stack model: everything the Google Cloud program creates, as data.

:func:`skaal.builder.targets.gcp_stack.gcp_stack` computes one
:class:`GcpStack` from the plan (names, regions, sizes, environment, IAM
bindings, the gateway's OpenAPI document) and the build writes it as
``infra/stack.json``; :mod:`skaal.programs.gcp` reads it back and creates
exactly what it says, at deploy time.  What only Google knows then (an
account's e-mail, a service's URL, a bucket's generated suffix) is named by
reference: ``account`` fields hold the ``key`` of an :class:`Account`,
``service`` fields the ``key`` of a :class:`Service`, ``topic`` fields the
``key`` of a :class:`Topic`, and so on; :class:`GcpStack` refuses a reference
to nothing.  The stack configuration adds the rest (``gcp:project``,
``skaal:image``, the secret values, ``skaal:network``, ``skaal:deleteData``).

Pure data: nothing here imports Pulumi.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from skaal.builder.stacks.base import StackModel

__all__ = [
    "MIGRATION_URL_OUTPUT",
    "PUBSUB_AGENT",
    "RUNTIME_ACCOUNT",
    "Account",
    "AdoptedCloudSql",
    "AdoptedQueue",
    "AdoptedTopic",
    "Backups",
    "Bucket",
    "CloudSql",
    "Condition",
    "Connector",
    "DeadLetter",
    "DeclaredSecret",
    "Env",
    "EnvBucket",
    "EnvMemorystore",
    "EnvProject",
    "EnvSecret",
    "EnvValue",
    "FirestoreDatabase",
    "FirestoreIndex",
    "Gateway",
    "GcpStack",
    "Grant",
    "Memorystore",
    "ProjectGrant",
    "Push",
    "SchedulerJob",
    "Service",
    "Subscription",
    "Topic",
]

RUNTIME_ACCOUNT = "runtime"
"""The key of ``web``'s account, whose unique id seeds the bucket names' suffixes."""
MIGRATION_URL_OUTPUT = "migrationUrl"
"""The stack output holding the migration runner's URL, which ``skaal migrate`` posts to."""
PUBSUB_AGENT = "pubsub-agent"
"""The member of a :class:`Grant` to the project's Pub/Sub service agent (not an account)."""


class Account(StackModel):
    """A service account the stack creates."""

    key: str
    """Its logical name, and how the rest of the model names it."""
    account_id: str
    display_name: str


class Grant(StackModel):
    """``role`` on the resource the grant is part of, to one member."""

    name: str
    """The logical name of the IAM member resource."""
    role: str
    member: str
    """An :attr:`Account.key`, or :data:`PUBSUB_AGENT`."""


class Condition(StackModel):
    """An IAM condition naming one resource of the project."""

    title: str
    resource: str
    """Below ``projects/<project>/``: ``databases/<id>``, ``instances/<name>``."""


class ProjectGrant(StackModel):
    """``role`` on the project, limited by ``condition`` (none: the role's own scope)."""

    name: str
    role: str
    member: str
    """An :attr:`Account.key`."""
    condition: Condition | None = None


class EnvValue(StackModel):
    kind: Literal["value"] = "value"
    name: str
    value: str


class EnvProject(StackModel):
    """The deploying project's id."""

    kind: Literal["project"] = "project"
    name: str


class EnvBucket(StackModel):
    """The real name of a bucket (created with a generated suffix, or adopted)."""

    kind: Literal["bucket"] = "bucket"
    name: str
    bucket: str
    """A :attr:`Bucket.resource`."""


class EnvMemorystore(StackModel):
    """``redis://host:port`` of a Memorystore instance (of its read endpoint, which
    spreads connections over its read replicas, with ``read``)."""

    kind: Literal["memorystore"] = "memorystore"
    name: str
    instance: str
    """A :attr:`Memorystore.key`."""
    read: bool = False


class EnvSecret(StackModel):
    """The latest version of a secret: a declared one, or a Cloud SQL URL."""

    kind: Literal["secret"] = "secret"
    name: str
    secret: str
    """A :attr:`DeclaredSecret.resource` or a :attr:`CloudSql.key`."""


Env = Annotated[
    EnvValue | EnvProject | EnvBucket | EnvMemorystore | EnvSecret, Field(discriminator="kind")
]


class FirestoreIndex(StackModel):
    """A composite index ``(x.<field>, k)``: the runtime's ``find`` on ``field``."""

    name: str
    collection: str
    field: str


class FirestoreDatabase(StackModel):
    """A Native-mode Firestore database of one location, with its indexes and TTL policies."""

    key: str
    database: str
    """Its id: ``(default)``, or one per other location."""
    location: str
    point_in_time_recovery: bool
    grants: tuple[ProjectGrant, ...]
    indexes: tuple[FirestoreIndex, ...]
    ttl_field: str
    ttl_collections: tuple[tuple[str, str], ...]
    """(logical name, collection) whose :attr:`ttl_field` is a TTL policy."""
    retiring: bool = False
    """It holds only the origins of pending moves: retained when a later deploy drops it
    from the stack (after the switch), but not protected in Pulumi's state, which would
    fail that deploy (:mod:`skaal.builder.targets.gcp_moves`)."""


class Bucket(StackModel):
    """A Cloud Storage bucket: created (``base`` plus a suffix), or adopted by name."""

    resource: str
    adopted: str | None = None
    base: str = ""
    location: str = ""
    versioned: bool = False
    ttl_days: int | None = None
    noncurrent_days: int | None = None
    grants: tuple[Grant, ...] = ()

    @model_validator(mode="after")
    def _created_or_adopted(self) -> Bucket:
        if self.adopted is None and not (self.base and self.location):
            raise ValueError(f"bucket {self.resource} needs a base and a location, or adopted")
        return self


class DeclaredSecret(StackModel):
    """A secret whose value is the secret stack config ``skaal:<resource>``."""

    resource: str
    secret_id: str
    grants: tuple[Grant, ...]


class AdoptedTopic(StackModel):
    """An existing topic read into the stack: never created, changed or deleted."""

    topic: str
    project: str | None = None
    """The project ``existing=`` named, which must be the deploying one."""


class Topic(StackModel):
    key: str
    name: str
    adopted: AdoptedTopic | None = None
    retention: str | None = None
    grants: tuple[Grant, ...] = ()


class AdoptedQueue(StackModel):
    """An existing pull subscription adopted as a queue: read, never created, changed
    or deleted.  The program reads its topic and dead-letter topic from it and refuses
    one without a dead-letter policy, or a push subscription."""

    key: str
    subscription: str
    project: str | None = None
    """The project ``existing=`` named, which must be the deploying one."""
    receive_grants: tuple[Grant, ...] = ()
    """On the subscription: the runtime reads it (viewer) and pulls it (subscriber)."""
    publish_grants: tuple[Grant, ...] = ()
    """On the subscription's topic."""
    dead_letter_grants: tuple[Grant, ...] = ()
    """On the dead-letter topic: the runtime's ``dead_letter`` publishes there."""


class Push(StackModel):
    """Deliveries pushed to ``path`` on a service, with the invoker's OIDC token."""

    service: str
    path: str
    invoker: str


class DeadLetter(StackModel):
    topic: str
    max_delivery_attempts: Annotated[int, Field(ge=5, le=100)]


class Subscription(StackModel):
    """A subscription: pushed (retried with Pub/Sub's back-off) or pulled by the runtime."""

    key: str
    name: str
    topic: str
    ack_deadline_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    retention: str | None = None
    dead_letter: DeadLetter | None = None
    push: Push | None = None
    retry: bool = False
    """Refused pushes come back with Pub/Sub's back-off (10 s to 600 s)."""
    stateful: bool = True
    grants: tuple[Grant, ...] = ()


class Backups(StackModel):
    days: Annotated[int, Field(ge=1)]


class CloudSql(StackModel):
    """A Cloud SQL (PostgreSQL) instance, its database, user and URL secret."""

    key: str
    name: str
    region: str
    tier: str
    availability_type: Literal["ZONAL", "REGIONAL"]
    disk_size: Annotated[int, Field(ge=10)]
    backups: Backups | None
    database: str
    url_secret_id: str
    url_grants: tuple[Grant, ...]
    client_grants: tuple[ProjectGrant, ...]


class AdoptedCloudSql(StackModel):
    """An existing Cloud SQL (PostgreSQL) instance (``existing=``): read, never created.

    ``url_secret`` is the user's secret holding the connection URL; the
    services opening its resources read that secret only, and connect to the
    instance only (``client_grants``' condition), through its socket.
    """

    key: str
    instance: str
    project: str
    """The project ``existing=`` names: it must be the deploying one."""
    region: str
    url_secret: str
    """The secret's id in that project (``projects/PROJECT/secrets/ID``)."""
    url_grants: tuple[Grant, ...]
    client_grants: tuple[ProjectGrant, ...]


class Memorystore(StackModel):
    """A Memorystore (Redis) instance on the stack's network."""

    key: str
    name: str
    region: str
    tier: Literal["BASIC", "STANDARD_HA"]
    memory_size_gb: Annotated[int, Field(ge=1)]
    replica_count: int | None = None


class Connector(StackModel):
    """A Serverless VPC Access connector: one per region with Memorystore instances."""

    key: str
    name: str
    region: str
    ip_cidr_range: str
    min_instances: int
    max_instances: int


class Service(StackModel):
    """A private Cloud Run service running the stack's image as ``account``."""

    key: str
    name: str
    location: str
    account: str
    invoker: str | None
    """The account allowed to invoke it (``roles/run.invoker``); ``None`` for the
    migration runner, which only the operator invokes (:attr:`GcpStack.migration_runner`)."""
    env: tuple[Env, ...]
    cpu: str
    memory: str
    timeout: str
    max_instances: int
    sql_instances: tuple[str, ...] = ()
    """:attr:`CloudSql.key` of each instance whose socket it mounts."""
    connector: str | None = None
    """The :attr:`Connector.key` of its region, when it reaches Memorystore."""
    trace_grant: ProjectGrant | None = None


class SchedulerJob(StackModel):
    name: str
    job: str
    region: str
    schedule: str
    time_zone: str
    attempt_deadline: str
    service: str
    path: str
    invoker: str


class Gateway(StackModel):
    """The API Gateway: one public address routing to the services."""

    api_id: str
    display_name: str
    config_prefix: str
    gateway_id: str
    region: str
    account: str
    document: str
    """The OpenAPI 2.0 document (JSON), each service address a ``{key}`` placeholder."""
    backends: tuple[str, ...]
    """The :attr:`Service.key` of every placeholder."""


class GcpStack(StackModel):
    """Everything one gcp stack creates, in the order the program creates it."""

    app: str
    plan_hash: str
    region: str
    """The stack's region (``gcp:region``): the gateway's and ``web``'s."""
    overrides: tuple[str, ...] | None = None
    """The resource names the project's hooks may name (:mod:`skaal.overrides`);
    ``None``: no hooks ship with the stack."""
    accounts: tuple[Account, ...]
    firestore: tuple[FirestoreDatabase, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    secrets: tuple[DeclaredSecret, ...] = ()
    topics: tuple[Topic, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    adopted_queues: tuple[AdoptedQueue, ...] = ()
    connectors: tuple[Connector, ...] = ()
    cloud_sql: tuple[CloudSql, ...] = ()
    adopted_cloud_sql: tuple[AdoptedCloudSql, ...] = ()
    memorystore: tuple[Memorystore, ...] = ()
    services: tuple[Service, ...] = ()
    gateway: Gateway | None = None
    schedules: tuple[SchedulerJob, ...] = ()
    migration_runner: str | None = None
    """The :attr:`Service.key` of the migration runner of the pending moves (none: no
    move); its URL is the stack output :data:`MIGRATION_URL_OUTPUT`."""

    @model_validator(mode="after")
    def _references_resolve(self) -> GcpStack:
        accounts = {a.key for a in self.accounts}
        members = accounts | {PUBSUB_AGENT}
        services = {s.key for s in self.services}
        topics = {t.key for t in self.topics}
        sql = {c.key for c in self.cloud_sql} | {c.key for c in self.adopted_cloud_sql}
        secrets = {s.resource for s in self.secrets} | sql
        checks: list[tuple[str, str, set[str]]] = []
        for grant in self._grants():
            checks.append(("member", grant.member, members))
        for service in self.services:
            checks.append(("account", service.account, accounts))
            if service.invoker is not None:
                checks.append(("invoker", service.invoker, accounts))
            elif service.key != self.migration_runner:
                raise ValueError(f"service {service.key!r} has no invoker")
            checks += [("Cloud SQL", k, sql) for k in service.sql_instances]
            if service.connector is not None:
                checks.append(("connector", service.connector, {c.key for c in self.connectors}))
            for env in service.env:
                match env:
                    case EnvSecret():
                        checks.append(("secret", env.secret, secrets))
                    case EnvBucket():
                        checks.append(("bucket", env.bucket, {b.resource for b in self.buckets}))
                    case EnvMemorystore():
                        checks.append(
                            ("Memorystore", env.instance, {m.key for m in self.memorystore})
                        )
                    case EnvValue() | EnvProject():
                        pass
        for sub in self.subscriptions:
            checks.append(("topic", sub.topic, topics))
            if sub.dead_letter is not None:
                checks.append(("topic", sub.dead_letter.topic, topics))
            if sub.push is not None:
                checks.append(("service", sub.push.service, services))
                checks.append(("invoker", sub.push.invoker, accounts))
        for job in self.schedules:
            checks += [("service", job.service, services), ("invoker", job.invoker, accounts)]
        if self.gateway is not None:
            checks.append(("account", self.gateway.account, accounts))
            checks += [("service", key, services) for key in self.gateway.backends]
        if self.migration_runner is not None:
            checks.append(("service", self.migration_runner, services))
        if any(b.adopted is None for b in self.buckets):  # their names' suffix seed
            checks.append(("account", RUNTIME_ACCOUNT, accounts))
        for what, key, known in checks:
            if key not in known:
                raise ValueError(f"{what} {key!r} names nothing in the stack")
        return self

    def _grants(self) -> list[Grant | ProjectGrant]:
        grants: list[Grant | ProjectGrant] = []
        for db in self.firestore:
            grants += db.grants
        for bucket in self.buckets:
            grants += bucket.grants
        for secret in self.secrets:
            grants += secret.grants
        for topic in self.topics:
            grants += topic.grants
        for sub in self.subscriptions:
            grants += sub.grants
        for queue in self.adopted_queues:
            grants += [*queue.receive_grants, *queue.publish_grants, *queue.dead_letter_grants]
        for sql in self.cloud_sql:
            grants += [*sql.url_grants, *sql.client_grants]
        for adopted in self.adopted_cloud_sql:
            grants += [*adopted.url_grants, *adopted.client_grants]
        grants += [s.trace_grant for s in self.services if s.trace_grant is not None]
        return grants
