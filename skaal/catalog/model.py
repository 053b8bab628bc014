"""Catalog records: the backends a provider offers, what each guarantees, what each costs.

A catalog is loaded from TOML (see ``docs/catalogs.md`` for the file format)
into these frozen records.  Every quantity is in a canonical unit:
milliseconds, decimal gigabytes, operations per second, seconds, percent, and
the catalog's currency per month.

Pricing model (all components optional, all summed)::

    monthly = fixed_monthly                      # per instance / node, or per resource
            + per_gb_month        * size_gb
            + per_million_reads   * reads / 1e6  # reads per month
            + per_million_writes  * writes / 1e6
            + per_million_requests* (reads + writes) / 1e6
            + per_gb_second       * memory_gb * seconds of compute per month

A ``shared`` backend is one instance (a Redis node, a Postgres server) that
many resources can live on: its ``fixed_monthly`` is paid once per instance,
and the resources placed on it together must fit its ``capacity``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field

from skaal.blueprint.model import Kind
from skaal.blueprint.record import Record
from skaal.declare.grammar import Consistency, Durability

__all__ = [
    "CAPABILITIES",
    "PRICE_COMPONENTS",
    "Backend",
    "Capacity",
    "Catalog",
    "Limits",
    "Performance",
    "Price",
    "PriceItem",
    "Provider",
]

Provider = Literal["local", "aws", "gcp"]

#: Capabilities a backend may declare; requirements map onto these.
CAPABILITIES: tuple[str, ...] = (
    "atomic_ops",
    "dead_letter",
    "fifo",
    "http",
    "ordered_keys",
    "presigned_urls",
    "pubsub",
    "schedule",
    "secondary_index",
    "streaming",
    "transactions",
    "ttl",
)

#: Price components and their unit (``{currency}`` is the catalog's currency).
PRICE_COMPONENTS: dict[str, str] = {
    "fixed_monthly": "{currency} per month",
    "per_gb_month": "{currency} per GB-month stored",
    "per_million_reads": "{currency} per million reads",
    "per_million_writes": "{currency} per million writes",
    "per_million_requests": "{currency} per million requests",
    "per_gb_second": "{currency} per GB-second of compute",
}


class PriceItem(Record):
    """One published price figure, with where and when it was read."""

    amount: float = Field(ge=0)
    source: str = Field(min_length=1, description="public URL of the pricing page")
    as_of: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$", description="date the figure was read")
    note: str = ""


class Price(Record):
    """A backend's workload-aware price in one region."""

    currency: str = "USD"
    region: str
    fixed_monthly: PriceItem | None = None
    per_gb_month: PriceItem | None = None
    per_million_reads: PriceItem | None = None
    per_million_writes: PriceItem | None = None
    per_million_requests: PriceItem | None = None
    per_gb_second: PriceItem | None = None

    def items(self) -> dict[str, PriceItem]:
        """The components that are set, by name."""
        return {
            name: item for name in PRICE_COMPONENTS if (item := getattr(self, name)) is not None
        }


class Performance(Record):
    """What a backend guarantees (typical p99 latencies, durability, availability)."""

    read_latency_ms: float | None = Field(default=None, gt=0)
    write_latency_ms: float | None = Field(default=None, gt=0)
    durability: Durability
    consistency: tuple[Consistency, ...] = ("eventual",)
    availability: float = Field(gt=0, le=100)


class Limits(Record):
    """Hard limits per resource; ``None`` means unlimited."""

    max_size_gb: float | None = Field(default=None, gt=0)
    max_reads_per_s: float | None = Field(default=None, gt=0)
    max_writes_per_s: float | None = Field(default=None, gt=0)
    max_retention_s: float | None = Field(default=None, gt=0)
    max_ttl_s: float | None = Field(default=None, gt=0)
    max_memory_gb: float | None = Field(default=None, gt=0)
    max_timeout_s: float | None = Field(default=None, gt=0)


class Capacity(Record):
    """What one instance of a shared backend holds, summed over its resources."""

    size_gb: float | None = Field(default=None, gt=0)
    reads_per_s: float | None = Field(default=None, gt=0)
    writes_per_s: float | None = Field(default=None, gt=0)
    resources: int | None = Field(default=None, gt=0)
    max_instances: int = Field(default=1, gt=0)


class Backend(Record):
    """One offering in a catalog, e.g. DynamoDB on-demand or a Redis node."""

    name: str
    description: str
    kinds: tuple[Kind, ...]
    implementation: str = Field(description="runtime implementation name in the registry")
    performance: Performance
    limits: Limits = Limits()
    regions: tuple[str, ...]
    capabilities: tuple[str, ...] = ()
    requires: tuple[str, ...] = Field(default=(), description="network needs, e.g. 'vpc'")
    shared: Capacity | None = None
    price: Price

    def serves(self, kind: Kind) -> bool:
        return kind in self.kinds


class Catalog(Record):
    """A validated, fully resolved catalog (``extends`` already applied)."""

    schema_version: int
    name: str
    provider: Provider
    description: str = ""
    region: str
    backends: tuple[Backend, ...]
    sources: tuple[str, ...] = Field(
        default=(), description="files this catalog was built from, base first"
    )

    def backend(self, name: str) -> Backend:
        """The backend called ``name``; ``KeyError`` if absent."""
        for backend in self.backends:
            if backend.name == name:
                return backend
        raise KeyError(name)

    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.backends)

    def canonical_json(self) -> str:
        data = self.model_dump(mode="json", exclude={"sources"})
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def content_hash(self) -> str:
        """Hash of the resolved content (file paths excluded), computed once per Catalog."""
        return self.memo(
            "content_hash", lambda: hashlib.sha256(self.canonical_json().encode()).hexdigest()
        )
