"""Sample catalog text shared by the catalog tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: A small valid schema-2 catalog: a Redis server with two classes (one name
#: with dots), a store with two capacity modes and a plain pay-per-use store.
BASE = """\
schema_version = 2
name = "base"
provider = "aws"
region = "us-east-1"
description = "test catalog"

[backends.redis]
description = "Redis node"
kinds = ["map", "queue"]
implementation = "redis"
regions = ["us-east-1", "eu-west-1"]
capabilities = ["ttl", "atomic_ops"]
requires = ["vpc"]

[backends.redis.performance]
read_latency_ms = 1.0
write_latency_ms = 1.0
durability = "persistent"
consistency = ["eventual"]  # its reads spread over read replicas
availability = 99.9

[backends.redis.limits]
max_size_gb = 25.0

[backends.redis.server]
quota = 300
quota_source = "https://example.com/quotas"
min_disk_gb = 0.0

[backends.redis.server.classes."cache.small"]
description = "small node"
price = { amount = 12.41, source = "https://example.com/redis", as_of = "2026-11-22" }
size_gb = 0.5
reads_per_s = 10000.0
connections = 65000
parameters = { node_type = "cache.small" }

[backends.redis.server.classes."cache.large"]
price = { amount = 99.0, source = "https://example.com/redis", as_of = "2026-12-03" }
size_gb = 10.0
max_replicas = 2

[backends.redis.price]
region = "us-east-1"

[backends.tables]
description = "Table store with two capacity modes"
kinds = ["map"]
implementation = "dynamodb"
regions = ["us-east-1"]
performance = { durability = "durable", availability = 99.99, read_latency_ms = 10.0 }

[backends.tables.modes.on-demand]
description = "pay per request"
price.region = "us-east-1"
price.per_million_reads = { amount = 0.125, source = "https://x.example/ddb", as_of = "2026-11" }

[backends.tables.modes.provisioned]
target_utilisation = 0.7
price.region = "us-east-1"
price.per_read_per_s_month = { amount = 0.0949, source = "https://x.example", as_of = "2026-12" }

[backends.dynamodb]
description = "Key-value store"
kinds = ["map", "collection"]
implementation = "dynamodb"
regions = ["us-east-1"]
performance = { durability = "durable", availability = 99.99, read_latency_ms = 10.0 }
price.region = "us-east-1"
price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", as_of = "2026-11-22" }
price.per_million_reads = { amount = 0.125, source = "https://example.com/ddb", as_of = "2026-11" }
"""

#: A schema-1 catalog, as written before instance classes: ``[shared]`` and
#: the instance fee in ``price.fixed_monthly``.
BASE_V1 = """\
schema_version = 1
name = "base"
provider = "aws"
region = "us-east-1"
description = "test catalog"

[backends.redis]
description = "Redis node"
kinds = ["map", "queue"]
implementation = "redis"
regions = ["us-east-1", "eu-west-1"]
capabilities = ["ttl", "atomic_ops"]
requires = ["vpc"]

[backends.redis.performance]
read_latency_ms = 1.0
write_latency_ms = 1.0
durability = "persistent"
consistency = ["strong"]
availability = 99.9

[backends.redis.limits]
max_size_gb = 25.0

[backends.redis.shared]
size_gb = 0.5
max_instances = 4

[backends.redis.price]
region = "us-east-1"
fixed_monthly = { amount = 12.41, source = "https://example.com/redis", as_of = "2026-11-22" }
per_gb_month = { amount = 0.1, source = "https://example.com/redis", as_of = "2026-11-22" }

[backends.dynamodb]
description = "Key-value store"
kinds = ["map", "collection"]
implementation = "dynamodb"
regions = ["us-east-1"]
performance = { durability = "durable", availability = 99.99, read_latency_ms = 10.0 }
price.region = "us-east-1"
price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", as_of = "2026-11-22" }
price.per_million_reads = { amount = 0.125, source = "https://example.com/ddb", as_of = "2026-11" }
"""

#: BASE_V1 written by hand in schema 2: it must load to the very same catalog.
BASE_V1_AS_V2 = (
    BASE_V1.replace("schema_version = 1", "schema_version = 2")
    .replace(
        "[backends.redis.shared]\nsize_gb = 0.5\nmax_instances = 4\n",
        "[backends.redis.server]\nquota = 4\n\n"
        "[backends.redis.server.classes.standard]\n"
        'price = { amount = 12.41, source = "https://example.com/redis", as_of = "2026-11-22" }\n'
        "size_gb = 0.5\n",
    )
    .replace(
        'fixed_monthly = { amount = 12.41, source = "https://example.com/redis", '
        'as_of = "2026-11-22" }\n',
        "",
    )
)

Write = Callable[[str, str], Path]
