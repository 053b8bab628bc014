"""The implementations Skaal ships: one :class:`~skaal.registry.model.Implementation` each.

A record is all Skaal knows about its implementation outside the
implementation's runtime module and its sections in the builders;
``docs/architecture.md`` ("Where a new backend goes") lists those.
"""

from __future__ import annotations

from types import MappingProxyType

from skaal.registry.model import (
    Connection,
    Implementation,
    Keeping,
    Network,
    Provisioning,
    Registry,
)

__all__ = ["DEFAULT_REGISTRY", "POSTGRES_CONNECTION", "REDIS_CONNECTION"]

# The cost-line components of each provider's VPC (priced in skaal.plan.network).
_AWS_VPC = ("nat_gateway_hours", "public_ipv4_hours")
_GCP_VPC = ("vpc_connector_instance_hours",)

_DAY_S = 86400
# What the cloud builds keep (skaal.plan.retention): 7 days of automated backups of a
# database; 30 days of an object's previous versions; 30 days of function logs.
_DATABASE_BACKUPS = Keeping(backup_days=7)
_VERSIONS = Keeping(versions_days=30)
_LOGS = Keeping(logs_days=30)

REDIS_CONNECTION = Connection(
    url="SKAAL_REDIS_URL",
    pool_size="SKAAL_REDIS_POOL_SIZE",
    read_url="SKAAL_REDIS_READ_URL",
    replicas="SKAAL_REDIS_REPLICAS",
)
"""The variables the redis backend reads (:mod:`skaal.runtime.backends.redis_support`)."""
POSTGRES_CONNECTION = Connection(url="SKAAL_POSTGRES_DSN", pool_size="SKAAL_POSTGRES_POOL_SIZE")
"""The variables the postgres backend reads (:mod:`skaal.runtime.backends.postgres_support`)."""

MEMORY = Implementation(
    name="memory",
    kinds=frozenset({"map", "collection", "queue", "topic"}),
    providers=frozenset({"local"}),
    summary="in-process, ephemeral",
    runtime="skaal.runtime.backends.memory:MemoryProvider",
)

SQLITE = Implementation(
    name="sqlite",
    kinds=frozenset({"map", "collection", "queue", "topic"}),
    providers=frozenset({"local"}),
    summary="embedded SQLite file",
    runtime="skaal.runtime.backends.sqlite:SqliteProvider",
)

FILESYSTEM = Implementation(
    name="filesystem",
    kinds=frozenset({"blob"}),
    providers=frozenset({"local"}),
    summary="files under the data directory",
    runtime="skaal.runtime.backends.filesystem:FilesystemProvider",
)

REDIS = Implementation(
    name="redis",
    kinds=frozenset({"map", "queue", "topic"}),
    providers=frozenset({"local", "aws", "gcp"}),
    summary="Redis (ElastiCache, Memorystore)",
    runtime="skaal.runtime.backends.redis:RedisProvider",
    packages=("redis",),
    connection=REDIS_CONNECTION,
    network=MappingProxyType(
        {
            # ElastiCache: the Lambda functions in the VPC open the nodes' port
            "aws": Network(vpc=True, port=6379, priced=_AWS_VPC),
            # Memorystore: Cloud Run reaches it through a Serverless VPC Access connector
            "gcp": Network(vpc=True, priced=_GCP_VPC),
        }
    ),
    provisioning=MappingProxyType(
        {
            "aws": Provisioning(parameters=("node_type",)),
            "gcp": Provisioning(parameters=("memory_size_gb",)),
        }
    ),
)

POSTGRES = Implementation(
    name="postgres",
    kinds=frozenset({"map", "collection", "queue"}),
    providers=frozenset({"local", "aws", "gcp"}),
    summary="PostgreSQL (RDS, Cloud SQL)",
    runtime="skaal.runtime.backends.postgres:PostgresProvider",
    packages=("asyncpg",),
    connection=POSTGRES_CONNECTION,
    # Cloud Run reaches Cloud SQL through its own Cloud SQL connection: no network on gcp
    network=MappingProxyType({"aws": Network(vpc=True, port=5432, priced=_AWS_VPC)}),
    provisioning=MappingProxyType(
        {
            "aws": Provisioning(parameters=("instance_class",), disk=True),
            "gcp": Provisioning(parameters=("tier",), disk=True),
        }
    ),
    # RDS's backup_retention_period, Cloud SQL's backups with point-in-time recovery:
    # the instance as a whole, every resource on it (a read replica needs them too)
    keeping=MappingProxyType({"aws": _DATABASE_BACKUPS, "gcp": _DATABASE_BACKUPS}),
)

DYNAMODB = Implementation(
    name="dynamodb",
    kinds=frozenset({"map", "collection"}),
    providers=frozenset({"aws"}),
    summary="Amazon DynamoDB",
    runtime="skaal.runtime.backends.dynamodb:DynamoDBProvider",
    packages=("boto3",),
    naming="dynamodb",
    network=MappingProxyType({"aws": Network(gateway_endpoints=("dynamodb",))}),
    # continuous backups of each table not declared ephemeral, DynamoDB's default 35 days
    keeping=MappingProxyType({"aws": Keeping(backup_days=35, backup_ephemeral=False)}),
)

S3 = Implementation(
    name="s3",
    kinds=frozenset({"blob"}),
    providers=frozenset({"aws"}),
    summary="Amazon S3",
    runtime="skaal.runtime.backends.s3:S3Provider",
    packages=("boto3",),
    naming="s3",
    network=MappingProxyType({"aws": Network(gateway_endpoints=("s3",))}),
    keeping=MappingProxyType({"aws": _VERSIONS}),
)

SQS = Implementation(
    name="sqs",
    kinds=frozenset({"queue"}),
    providers=frozenset({"aws"}),
    summary="Amazon SQS",
    runtime="skaal.runtime.backends.sqs:SqsProvider",
    packages=("boto3",),
    naming="sqs",
    # SQS keeps a message 4 days unless told (60 s to 14 days); dead letters the most
    keeping=MappingProxyType(
        {
            "aws": Keeping(
                messages_default_s=4 * _DAY_S,
                messages_min_s=60,
                messages_max_s=14 * _DAY_S,
                dead_letters_s=14 * _DAY_S,
            )
        }
    ),
)

SNS = Implementation(
    name="sns",
    kinds=frozenset({"topic"}),
    providers=frozenset({"aws"}),
    summary="Amazon SNS fanning out to SQS",
    runtime="skaal.runtime.backends.sns:SnsProvider",
    packages=("boto3",),
    naming="sns",
)

FIRESTORE = Implementation(
    name="firestore",
    kinds=frozenset({"map", "collection"}),
    providers=frozenset({"gcp"}),
    summary="Google Cloud Firestore",
    runtime="skaal.runtime.backends.firestore:FirestoreProvider",
    packages=("google-cloud-firestore",),
    # PITR is a setting of the one database every collection shares (Firestore's 7 days)
    keeping=MappingProxyType({"gcp": Keeping(backup_days=7)}),
)

GCS = Implementation(
    name="gcs",
    kinds=frozenset({"blob"}),
    providers=frozenset({"gcp"}),
    summary="Google Cloud Storage",
    runtime="skaal.runtime.backends.gcs:GcsProvider",
    packages=("google-cloud-storage",),
    keeping=MappingProxyType({"gcp": _VERSIONS}),
)

PUBSUB = Implementation(
    name="pubsub",
    kinds=frozenset({"queue", "topic"}),
    providers=frozenset({"gcp"}),
    summary="Google Cloud Pub/Sub",
    runtime="skaal.runtime.backends.pubsub:PubsubProvider",
    packages=("google-cloud-pubsub",),
    # a declared retention on the topic (at most 31 days); a queue's dead letters kept
    # Pub/Sub's default 7 days on their subscription
    keeping=MappingProxyType(
        {"gcp": Keeping(messages_max_s=31 * _DAY_S, dead_letters_s=7 * _DAY_S)}
    ),
)

PROCESS = Implementation(
    name="process",
    kinds=frozenset({"function"}),
    providers=frozenset({"local"}),
    summary="the local server process",
    packages=(
        "starlette",
        "uvicorn",
    ),
)

LAMBDA = Implementation(
    name="lambda",
    kinds=frozenset({"function"}),
    providers=frozenset({"aws"}),
    summary="AWS Lambda behind API Gateway",
    # consumers run on SQS event source mappings; subscribers on an SQS queue
    # subscribed to the SNS topic
    triggered_by=MappingProxyType({"queue": frozenset({"sqs"}), "topic": frozenset({"sns"})}),
    packages=("starlette",),
    keeping=MappingProxyType({"aws": _LOGS}),  # each Lambda's log group
)

CLOUD_RUN = Implementation(
    name="cloud-run",
    kinds=frozenset({"function"}),
    providers=frozenset({"gcp"}),
    summary="Google Cloud Run, one service per function, behind API Gateway",
    packages=(
        "starlette",
        "uvicorn",
    ),
    keeping=MappingProxyType({"gcp": _LOGS}),  # the _Default log bucket's own 30 days
)

ENV = Implementation(
    name="env",
    kinds=frozenset({"secret"}),
    providers=frozenset({"local"}),
    summary="environment variables and .env",
    runtime="skaal.runtime.backends.env:EnvProvider",
)

SECRETS_MANAGER = Implementation(
    name="secrets-manager",
    kinds=frozenset({"secret"}),
    providers=frozenset({"aws"}),
    summary="AWS Secrets Manager",
    runtime="skaal.runtime.backends.secrets_manager:SecretsManagerProvider",
    packages=("boto3",),
)

SECRET_MANAGER = Implementation(
    name="secret-manager",
    kinds=frozenset({"secret"}),
    providers=frozenset({"gcp"}),
    summary="Google Secret Manager",
    # The gcp target mounts each Secret Manager secret into the Cloud Run
    # service as an environment variable of the secret's declared name
    # (skaal.builder.targets.gcp_stack), so the runtime reads the environment.
    runtime="skaal.runtime.backends.env:EnvProvider",
)

DEFAULT_REGISTRY = Registry.of(
    [
        MEMORY,
        SQLITE,
        FILESYSTEM,
        REDIS,
        POSTGRES,
        DYNAMODB,
        S3,
        SQS,
        SNS,
        FIRESTORE,
        GCS,
        PUBSUB,
        PROCESS,
        LAMBDA,
        CLOUD_RUN,
        ENV,
        SECRETS_MANAGER,
        SECRET_MANAGER,
    ]
)
