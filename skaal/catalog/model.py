r"""Catalog records: the backends a provider offers, what each guarantees, what each costs.

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
            + backup_per_gb_month * size_gb      # when the plan backs the resource up
            + log_ingestion_per_gb     * GB of function logs written per month
            + log_storage_per_gb_month * GB of function logs kept (at the plan's retention)
            + per_million_http_requests  * HTTP invocations / 1e6
            + per_million_scheduled_runs * scheduled invocations / 1e6
            + per_scheduled_job_month    * schedule jobs
            + message_storage_per_gb_month * GB of messages a topic retains
            + per_million_traces * traces recorded / 1e6   # traces on: one per invocation
            + per_million_spans  * spans ingested / 1e6    # traces on: spans per invocation

A collection's secondary indexes are priced through the price's ``index_copies``
factor ``f`` (:class:`IndexFactor`; DynamoDB: 1.0, each global secondary index
holding every item again): each of ``n`` indexes adds ``f`` of another copy of the
table's storage, writes and provisioned read and write capacity::

            + n * f * (per_gb_month * size_gb + per_million_writes * writes / 1e6
                       + per_read_per_s_month * read units + per_write_per_s_month * write units)

Backups (point-in-time recovery is billed on the table's size) and reads (a read
is a get on the table or a query on one index) are not copied.

The function components price what a build creates around a function (its
log group, the HTTP API in front of it, the scheduler that starts it), the
backup component the point-in-time recovery the plan switches on, the
message storage the messages a topic keeps for a declared retention
(:mod:`skaal.plan.retention`), the trace components the traces a project
exporting them (``[tool.skaal] traces = true``) sends to the provider's trace
service (:mod:`skaal.solver.traces`).  ``per_instance_month`` is paid per instance
of a server backend besides its class fee (the secret holding the
instance's credentials).

A **server** backend (``Backend.server``: a Redis node, a PostgreSQL server)
runs on instances that many resources share.  It offers instance
:class:`InstanceClass`\ es, each with its capacity and its own sourced price
per instance (per node, times ``1 + replicas`` for read replicas); the
planner picks the class and the number of instances (at most the provider's
default ``quota``) and places each resource on one instance, whose resources
together must fit the class.  A disk-backed server also pays
``per_gb_month`` for ``min_disk_gb`` per instance (the free-space floor of
its volume) on top of the data its resources store.

A dedicated backend may offer several capacity :class:`Mode`\ s (DynamoDB
on-demand or provisioned): each mode is a complete price, and the planner
prices every mode and keeps the cheapest for each resource.  Provisioned
capacity is priced per read or write per second provisioned, with the
rate divided by ``target_utilisation`` (the autoscaling headroom).  A mode
may carry the provider's regional quota on what one account provisions in
it (``quota_read_units``, ``quota_write_units``: DynamoDB's 80,000 of each
per region), which the resources in that mode share.

A dedicated backend may also carry the provider's quotas on how many of
something one account holds (:class:`CountQuota`: DynamoDB's 2,500 tables per
Region, Pub/Sub's 10,000 topics per project), each resource placed on it
creating a stated number per kind; the planner keeps every region (or the
account) within them.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from skaal.blueprint.canonical import canonical_text
from skaal.blueprint.model import Kind
from skaal.blueprint.record import Record
from skaal.model.grammar import Consistency, Durability
from skaal.model.providers import Provider

__all__ = [
    "CAPABILITIES",
    "LATER_PRICE_COMPONENTS",
    "PRICE_COMPONENTS",
    "Backend",
    "Capacity",
    "Catalog",
    "CountQuota",
    "IndexFactor",
    "InstanceClass",
    "Limits",
    "Mode",
    "Performance",
    "Price",
    "PriceItem",
    "Provider",
    "ReadFactor",
    "Server",
]

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
    "per_read_per_s_month": "{currency} per read/s of provisioned capacity per month",
    "per_write_per_s_month": "{currency} per write/s of provisioned capacity per month",
    "backup_per_gb_month": "{currency} per GB-month of data under point-in-time recovery",
    "log_ingestion_per_gb": "{currency} per GB of function logs written",
    "log_storage_per_gb_month": "{currency} per GB-month of function logs kept",
    "per_million_http_requests": "{currency} per million HTTP requests (the API in front)",
    "per_million_scheduled_runs": "{currency} per million scheduled invocations",
    "per_scheduled_job_month": "{currency} per schedule job per month",
    "per_instance_month": "{currency} per server instance per month, besides its class fee",
    "message_storage_per_gb_month": "{currency} per GB-month of messages a topic retains",
    "per_million_deliveries": "{currency} per million messages delivered (a queue's "
    "receive, a topic's delivery)",
    "inter_region_per_gb": "{currency} per GB a function exchanges with data in another region",
    "per_million_traces": "{currency} per million traces recorded (a function's, traces on)",
    "per_million_spans": "{currency} per million trace spans ingested (a function's, traces on)",
}


#: A number above zero (every number in a catalog is also finite: :mod:`skaal.catalog.validate`).
Positive = Annotated[float, Meta(gt=0)]
#: A count above zero.
Count = Annotated[int, Meta(gt=0)]
#: Text that is not empty.
Text = Annotated[str, Meta(min_length=1)]
#: The date a figure was read: ``2026-12-03`` or ``2026-12``.
AsOf = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}(-\d{2})?$")]


class PriceItem(Record, frozen=True, kw_only=True):
    """One published price figure, with where and when it was read."""

    amount: Annotated[float, Meta(ge=0)]
    source: Text
    """The public URL of the pricing page."""
    as_of: AsOf
    """The date the figure was read."""
    note: str = ""


class ReadFactor(Record, frozen=True, kw_only=True):
    """What one eventually consistent read costs, as a share of a strongly consistent one.

    Published as a unit definition rather than a price ("an eventually
    consistent read of up to 4 KB takes one-half read request unit"), so it
    carries its source and date like a :class:`PriceItem`.
    """

    factor: Annotated[float, Meta(gt=0, le=1)]
    source: Text
    """The public URL of the page defining the unit."""
    as_of: AsOf
    """The date the figure was read."""
    note: str = ""


class IndexFactor(Record, frozen=True, kw_only=True):
    """What each secondary index of a collection is billed, as a share of another copy of its table.

    An index projecting every attribute (DynamoDB's global secondary indexes as
    the ``dynamodb`` backend builds them) stores each item again and is written
    on each write to the table, and a provisioned one is given the table's own
    read and write capacity: factor 1.0.  Published as a rule of the service
    rather than a price, so it carries its source and date like a
    :class:`PriceItem`.  It scales ``per_gb_month``, ``per_million_writes``,
    ``per_read_per_s_month`` and ``per_write_per_s_month``; not backups, billed on
    the table's size, nor reads, each served by the table or by one index.
    """

    factor: Annotated[float, Meta(gt=0, le=1)]
    source: Text
    """The public URL of the page saying how indexes are billed."""
    as_of: AsOf
    """The date the figure was read."""
    note: str = ""


class Price(Record, frozen=True, kw_only=True):
    """A backend's workload-aware price in one region."""

    currency: str = "USD"
    region: str
    fixed_monthly: PriceItem | None = None
    per_gb_month: PriceItem | None = None
    per_million_reads: PriceItem | None = None
    per_million_writes: PriceItem | None = None
    per_million_requests: PriceItem | None = None
    per_gb_second: PriceItem | None = None
    per_read_per_s_month: PriceItem | None = None
    per_write_per_s_month: PriceItem | None = None
    backup_per_gb_month: PriceItem | None = None
    log_ingestion_per_gb: PriceItem | None = None
    log_storage_per_gb_month: PriceItem | None = None
    per_million_http_requests: PriceItem | None = None
    per_million_scheduled_runs: PriceItem | None = None
    per_scheduled_job_month: PriceItem | None = None
    per_instance_month: PriceItem | None = None
    message_storage_per_gb_month: PriceItem | None = None
    per_million_deliveries: PriceItem | None = None
    """A queue or topic backend: per million messages delivered, where a delivery is
    billed and an acknowledgement is not (Pub/Sub): a queue's receive, not its delete,
    which ``per_million_reads`` would count too."""
    inter_region_per_gb: PriceItem | None = None
    """A function backend: per GB exchanged with data in another region
    (:mod:`skaal.solver.regions`); not a workload quantity, priced by the planner's
    placement."""
    per_million_traces: PriceItem | None = None
    """A function backend: per million traces its trace service records, one per
    invocation when the project exports traces (:mod:`skaal.solver.traces`)."""
    per_million_spans: PriceItem | None = None
    """A function backend: per million spans its trace service ingests, when the project
    exports traces (:mod:`skaal.solver.traces`)."""
    eventual_reads: ReadFactor | None = None
    """Eventually consistent reads cost this share of the read components; ``None``: reads
    cost the same whatever their consistency."""
    index_copies: IndexFactor | None = None
    """Each secondary index of a collection costs this share of another copy of its
    storage, writes and provisioned capacity; ``None``: indexes cost nothing more."""

    def items(self) -> dict[str, PriceItem]:
        """The components that are set, by name."""
        return {
            name: item for name in PRICE_COMPONENTS if (item := getattr(self, name)) is not None
        }


class Performance(Record, frozen=True, kw_only=True):
    """What a backend guarantees (typical p99 latencies, durability, availability)."""

    read_latency_ms: Positive | None = None
    write_latency_ms: Positive | None = None
    durability: Durability
    consistency: tuple[Consistency, ...] = ("eventual",)
    """The levels its reads can be served at: both when a read chooses (DynamoDB's
    ConsistentRead), only strong when every read sees the last write."""
    availability: Annotated[float, Meta(gt=0, le=100)]


LimitName = Literal[
    "max_size_gb",
    "max_reads_per_s",
    "max_writes_per_s",
    "max_retention_s",
    "max_ttl_s",
    "max_memory_gb",
    "max_timeout_s",
]


class Limits(Record, frozen=True, kw_only=True):
    """Hard limits per resource; ``None`` means unlimited.

    ``max_reads_per_s`` and ``max_writes_per_s`` count the units of each
    capacity mode (an eventual read at its ``eventual_reads`` factor, a
    provisioned mode what it provisions): :meth:`skaal.solver.cost.Pricing.units`.
    """

    max_size_gb: Positive | None = None
    max_reads_per_s: Positive | None = None
    max_writes_per_s: Positive | None = None
    max_retention_s: Positive | None = None
    max_ttl_s: Positive | None = None
    max_memory_gb: Positive | None = None
    max_timeout_s: Positive | None = None
    adjustable: tuple[LimitName, ...] = ()
    """The limits above that are provider quotas, raised on request (e.g. DynamoDB's
    per-table throughput): the planner says so and prices the raise."""


class Capacity(Record, frozen=True, kw_only=True):
    """Schema 1's ``[shared]`` table: one instance size (loaded as a one-class :class:`Server`)."""

    size_gb: Positive | None = None
    reads_per_s: Positive | None = None
    writes_per_s: Positive | None = None
    resources: Count | None = None
    max_instances: Count = 1


class InstanceClass(Record, frozen=True, kw_only=True):
    """One instance size of a server backend: what one instance holds and what it costs.

    Capacities are per instance; ``None`` means the class does not limit that
    dimension.  ``price`` is one node's monthly fee (instance hours only;
    storage is the backend's ``per_gb_month``).  ``parameters`` are handed to
    the builders unchanged (``instance_class``, ``node_type``, ``tier``,
    ``memory_size_gb``...).
    """

    name: Text
    description: str = ""
    price: PriceItem
    size_gb: Positive | None = None
    reads_per_s: Positive | None = None
    writes_per_s: Positive | None = None
    connections: Count | None = None
    resources: Count | None = None
    max_replicas: Annotated[int, Meta(ge=0)] = 0
    """Read replicas offered; each adds ``reads_per_s`` and a node fee.  The runtime
    spreads reads over the primary and the replicas, so they are eventually
    consistent: only a backend whose consistency is ``["eventual"]`` offers them."""
    min_replicas: Annotated[int, Meta(ge=0)] = 0
    """Read replicas every instance of the class runs (at most ``max_replicas``): a
    backend that is a replication group by definition (failover, reads on replicas)."""
    quota_units: Count = 1
    """How much of the server's quota one node of this class uses: 1 where the
    provider counts instances or nodes, the class's GB where it counts
    provisioned capacity (Memorystore).  A replica is a node too."""
    parameters: dict[str, str | int | float] = msgspec.field(default_factory=dict)


class Server(Record, frozen=True, kw_only=True):
    """How a server backend is sized: its instance classes and the provider's instance quota."""

    classes: Annotated[tuple[InstanceClass, ...], Meta(min_length=1)]
    quota: Count
    """Quota units (instances or nodes, unless the classes say otherwise) per region, or
    per account with ``quota_scope = "account"``: the provider's default quota."""
    quota_group: str = ""
    """The quota this server shares with the other servers naming the same group (RDS
    counts Single-AZ and Multi-AZ DB instances together); empty: its own."""
    quota_scope: Literal["region", "account"] = "region"
    """Where the quota counts: in each region (AWS's quotas, Memorystore's capacity), or
    over every region of the account (a Google Cloud project's 1,000 Cloud SQL
    instances)."""
    quota_source: str = ""
    quota_adjustable: bool = True
    min_disk_gb: Annotated[float, Meta(ge=0)] = 0.0
    """The volume floor per instance; 0: the data is held in memory."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _unique("instance class", [c.name for c in self.classes])

    def instance_class(self, name: str) -> InstanceClass:
        """The class called ``name``; ``KeyError`` if absent."""
        for item in self.classes:
            if item.name == name:
                return item
        raise KeyError(name)


class Mode(Record, frozen=True, kw_only=True):
    """One capacity mode of a dedicated backend: a complete price of its own."""

    name: Text
    description: str = ""
    price: Price
    target_utilisation: Annotated[float, Meta(gt=0, le=1)] | None = None
    """Provisioned capacity = rate / target_utilisation."""
    quota_read_units: Annotated[int, Meta(ge=1)] | None = None
    """Read units the provider lets one account provision per region in this mode, every
    resource in it together (DynamoDB's account-level quota); ``None``: no such quota."""
    quota_write_units: Annotated[int, Meta(ge=1)] | None = None
    """The same for write units."""
    quota_source: str = ""
    """Where the provider documents those quotas."""


class CountQuota(Record, frozen=True, kw_only=True):
    """A provider's quota on how many of one thing an account holds, per region or over
    every region, that the resources on a dedicated backend create: a table per map
    on DynamoDB, three topics per queue on Pub/Sub (the queue, its delayed messages,
    its dead letters)."""

    name: Text
    """What is counted, plural (``"tables"``, ``"topics"``): the catalog's key."""
    description: str = ""
    quota: Count
    """How many one account holds, in each region or (``scope = "account"``) in all."""
    per_kind: dict[Kind, Annotated[int, Meta(ge=0)]]
    """How many one resource of each kind creates; a kind the backend serves and this
    omits creates none."""
    per_subscriber: Annotated[int, Meta(ge=0)] = 0
    """How many more a topic creates per function subscribed to it (Pub/Sub: one
    subscription each)."""
    per_schedule: Annotated[int, Meta(ge=0)] = 0
    """How many more a function on a schedule creates (AWS: the IAM role EventBridge
    Scheduler invokes it with)."""
    per_route: Annotated[int, Meta(ge=0)] = 0
    """How many more a function the app's HTTP API routes to creates (AWS: the API's
    integration with its Lambda; :attr:`~skaal.blueprint.model.ResourceSpec.routed`)."""
    reserved: Annotated[int, Meta(ge=0)] = 0
    """How many the build creates for the app itself, whatever it declares, at most (on
    aws, the role of the HTTP default route's function): the resources share the rest."""
    scope: Literal["region", "account", "app"] = "region"
    """Where the quota counts: in each region, once over the account, or once per app
    (a quota on one of what the build creates once for the app: its HTTP API)."""
    source: str = ""
    """The provider's page stating the quota."""
    adjustable: bool = True
    """Whether the provider raises it on request (a Service Quotas request)."""

    @property
    def room(self) -> int:
        """How many the resources may create: the quota less what the build reserves."""
        return self.quota - self.reserved

    def used_by(
        self, kind: Kind, *, subscribers: int = 0, scheduled: bool = False, routed: bool = False
    ) -> int:
        """How many one resource of ``kind`` creates, a topic with ``subscribers``, a
        function on a schedule when ``scheduled``, one the HTTP API routes to when
        ``routed``."""
        more = (self.per_schedule if scheduled else 0) + (self.per_route if routed else 0)
        return self.per_kind.get(kind, 0) + self.per_subscriber * subscribers + more

    @property
    def holder(self) -> str:
        """What holds the quota, in words: ``one account``, ``one app``."""
        return "one app" if self.scope == "app" else "one account"

    def where(self, region: str) -> str:
        """Where a pool of this quota counts, in words: ``in us-east-1``, ``in one account``."""
        return f"in {region}" if self.scope == "region" and region else f"in {self.holder}"

    def per_words(self) -> str:
        """What each resource creates, in words: ``3 per queue, 1 per topic``."""
        words = [f"{n} per {kind}" for kind, n in sorted(self.per_kind.items()) if n]
        if self.per_subscriber:
            words.append(f"{self.per_subscriber} per function subscribed to a topic")
        if self.per_schedule:
            words.append(f"{self.per_schedule} more per function on a schedule")
        if self.per_route:
            words.append(f"{self.per_route} per function the HTTP API routes to")
        return ", ".join(words)


class Backend(Record, frozen=True, kw_only=True):
    """One offering in a catalog, e.g. DynamoDB on-demand or a Redis node."""

    name: str
    description: str
    kinds: tuple[Kind, ...]
    implementation: str
    """The runtime implementation's name in the registry."""
    performance: Performance
    limits: Limits = Limits()
    regions: tuple[str, ...]
    capabilities: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    """Network needs, e.g. ``'vpc'``."""
    server: Server | None = None
    """Instance classes and quota, for a backend whose instances many resources share."""
    modes: tuple[Mode, ...] = ()
    """Capacity modes of a dedicated backend; empty: ``price`` alone."""
    counts: tuple[CountQuota, ...] = ()
    """The provider's quotas on how many of what it creates one account holds."""
    price: Price

    def __post_init__(self) -> None:
        super().__post_init__()
        _unique("capacity mode", [m.name for m in self.modes])
        _unique("count quota", [c.name for c in self.counts])

    def serves(self, kind: Kind) -> bool:
        return kind in self.kinds

    def priced_modes(self) -> tuple[Mode, ...]:
        """The capacity modes to price: the declared ones, else ``price`` as one mode."""
        return self.modes or (Mode(name="standard", price=self.price),)


class Catalog(Record, frozen=True, kw_only=True):
    """A validated, fully resolved catalog (``extends`` already applied)."""

    schema_version: int
    name: str
    provider: Provider
    description: str = ""
    region: str
    backends: tuple[Backend, ...]
    sources: tuple[str, ...] = ()
    """The files this catalog was built from, base first."""

    def backend(self, name: str) -> Backend:
        """The backend called ``name``; ``KeyError`` if absent.

        Looked up in an index made once per catalog (the planner asks once per
        resource or more), holding the first backend of each name.
        """
        by_name = self.memo("backends_by_name", self._backends_by_name)
        try:
            return by_name[name]
        except KeyError:
            raise KeyError(name) from None

    def _backends_by_name(self) -> dict[str, Backend]:
        by_name: dict[str, Backend] = {}
        for backend in self.backends:
            by_name.setdefault(backend.name, backend)
        return by_name

    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.backends)

    def canonical_json(self) -> str:
        data = self.model_dump(mode="json", exclude={"sources"})
        for backend in data["backends"]:  # a price without later components hashes as before
            for price in (backend["price"], *(m["price"] for m in backend["modes"])):
                for name in LATER_PRICE_COMPONENTS:
                    if price.get(name, 0) is None:
                        del price[name]
            if not backend["counts"]:  # so does a backend without count quotas
                del backend["counts"]
            for count in backend.get("counts", ()):  # and a count quota without these terms
                for key in ("per_schedule", "per_route", "reserved"):
                    if not count[key]:
                        del count[key]
            for mode in backend["modes"]:  # so does a mode without a regional quota
                for key in ("quota_read_units", "quota_write_units"):
                    if mode[key] is None:
                        del mode[key]
                if not mode["quota_source"]:
                    del mode["quota_source"]
            server = backend["server"]
            if server is not None:  # so does a server without a shared quota or quota units,
                # its quota counted per region
                if not server["quota_group"]:
                    del server["quota_group"]
                if server["quota_scope"] == "region":
                    del server["quota_scope"]
                for item in server["classes"]:
                    if item["quota_units"] == 1:
                        del item["quota_units"]
        return canonical_text(data)

    def content_hash(self) -> str:
        """Hash of the resolved content (file paths excluded), computed once per Catalog."""
        return self.memo(
            "content_hash", lambda: hashlib.sha256(self.canonical_json().encode()).hexdigest()
        )


#: Price components (and factors) added after catalogs and plans were first hashed: left
#: out of their hashes when unset, so that a catalog or plan without them hashes as before.
LATER_PRICE_COMPONENTS: Final = (
    "per_million_traces",
    "per_million_spans",
    "per_million_deliveries",
    "index_copies",
)


def _unique(what: str, names: list[str]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} names must be unique; repeated: {', '.join(repeated)}")
