"""Sample catalog text shared by the catalog tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: A small valid catalog: a shared Redis node and a pay-per-use store.
BASE = """\
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

Write = Callable[[str, str], Path]
