"""What a resource costs on a backend: workload defaults and the catalog pricing model.

A resource's monthly cost depends on its workload (how much it stores, how
often it is read and written, how much compute it uses).  Users declare what
they know; :func:`workload` fills in the rest from this table and records
which quantities were assumed, so the plan can say "size not declared,
assumed 1 GB".

=========================  ============  ===========================================
quantity                   default       notes
=========================  ============  ===========================================
map / collection size      1 GB          ``size=``
blob size                  10 GB         ``size=``
queue / topic storage      0 GB          messages are short-lived
reads, writes (data)       1/s each      ``reads=``, ``writes=``
queue messages             1/s           ``messages=``; each costs send + receive +
                                         delete: 1 write and 2 reads
topic messages             1/s           ``messages=``; a publish and one delivery:
                                         1 write and 1 read
function invocations       1/s           ``invocations=``; counted as reads; a
                                         scheduled function without it fires as
                                         often as its schedule (not a default:
                                         :func:`skaal.blueprint.cron.mean_rate`)
function memory            0.5 GB        ``memory=``
function mean duration     0.1 s         capped by ``timeout=`` when shorter
function logs              1,000 bytes   per invocation: the platform's start, end
                                         and report lines and a few of the app's
                                         (:data:`LOG_BYTES_PER_INVOCATION`; not
                                         declarable)
secret                     nothing       a secret costs its backend's fixed fee
=========================  ============  ===========================================

What a build creates around a resource is priced with it: a function's
logs (written, and kept the days of its implementation's record, 30),
the HTTP API in front of an HTTP function (each invocation is a request),
the scheduler starting a scheduled function (as often as its schedule fires;
one job), and the point-in-time recovery of the data a backend backs up
(:func:`skaal.plan.retention.backed_up`: every resource on it, or every one
not declared ``ephemeral``).

Pricing (the model documented in :mod:`skaal.catalog.model`), with a month of
730 hours = 2,628,000 seconds.  Every :class:`~skaal.plan.model.CostLine` has
``monthly = amount * quantity`` with ``quantity`` in the component's unit:

=====================  ==========================================================
component              quantity
=====================  ==========================================================
fixed_monthly          1 (dedicated backends only; a server's instances are paid
                       per instance by the optimiser: :mod:`.servers`)
per_gb_month           size_gb
per_million_reads      reads_per_s * 2,628,000 / 1e6
per_million_writes     writes_per_s * 2,628,000 / 1e6
per_million_requests   (reads_per_s + writes_per_s) * 2,628,000 / 1e6
per_gb_second          memory_gb * reads_per_s * duration_s * 2,628,000
per_read_per_s_month   ceil(reads_per_s / target_utilisation), at least 1
per_write_per_s_month  ceil(writes_per_s / target_utilisation), at least 1
backup_per_gb_month    size_gb, when the backend backs the resource up
log_ingestion_per_gb   reads_per_s * 2,628,000 * 1,000 bytes / 1e9 (a function)
log_storage_per_gb_month  that * 30 days / 30.4167 days (the logs kept at any time)
per_million_http_requests  reads_per_s * 2,628,000 / 1e6 (an HTTP function)
per_million_scheduled_runs  schedule fires per second * 2,628,000 / 1e6
per_scheduled_job_month  1 per scheduled function (its one job)
message_storage_per_gb_month  messages/s * declared retention s * 1,000 bytes / 1e9
per_million_deliveries  messages/s * 2,628,000 / 1e6 (a queue or topic: one delivery
                       a message, where a queue's reads count its delete too)
per_instance_month     not a resource's line: paid per server instance (:mod:`.servers`)
per_million_traces     a function's invocations / 1e6, traces on (:mod:`.traces`)
per_million_spans      that x spans per invocation, traces on (:mod:`.traces`)
=====================  ==========================================================

A backend with capacity modes (DynamoDB on-demand and provisioned) is priced
in each mode, and a resource takes its cheapest (:func:`mode_prices`);
provisioned capacity is the declared rate divided by the mode's
``target_utilisation`` (the headroom auto scaling keeps), rounded up to
whole units.  A backend's per-resource throughput quotas
(``limits.max_reads_per_s`` and ``max_writes_per_s``) count the units a
mode uses (:meth:`Pricing.units`): a mode whose units pass them is not
offered, so a 35,000 reads/s DynamoDB table is on-demand (35,000 read units
of the 40,000 a table has by default), never provisioned at 50,000.

Consistency.  A map's or collection's reads are served at the level
:func:`served_consistency` picks: ``eventual`` when it declares
``consistency="eventual"`` and the backend lists that level (or lists no
other), else ``strong`` -- so an undeclared consistency is served strong
wherever the backend offers it, as before consistency was priced.  When the
resource is served eventual and the price has ``eventual_reads`` (factor
``f``, DynamoDB: 0.5), the two read components count read *units*::

    eventual per_million_reads      reads_per_s * 2,628,000 / 1e6 * f
    eventual per_read_per_s_month   ceil(reads_per_s * f / target_utilisation), at least 1

(the line's component is prefixed ``eventual``, its amount is the catalog's
unchanged, so ``monthly = amount * quantity`` still holds).  Other kinds, and
prices without ``eventual_reads``, are priced as above whatever was declared.

Secondary indexes.  A collection declaring ``n`` indexes on a backend whose
price has ``index_copies`` (factor ``c``, DynamoDB: 1.0, a global secondary
index holding every item) pays each index as ``c`` of another copy of the
table: every line of ``per_gb_month``, ``per_million_writes``,
``per_read_per_s_month`` and ``per_write_per_s_month`` is followed by one named
``indexes <component>`` (:data:`~skaal.plan.model.INDEXES_PREFIX`; before the
``eventual`` prefix of a read line: ``indexes eventual per_read_per_s_month``)::

    indexes <component>    n * c * (the quantity of the table's line just above)

at the catalog's amount, so ``monthly = amount * quantity`` holds and the figure
is checked by hand: two indexes at factor 1 are two more GB-months per GB
stored, two more million writes per million written, twice the table's
provisioned units (the build gives each index the table's capacity).  Backups
(billed on the table's size) and on-demand reads (a get reads the table, a query
one index) have no index line.  Writes are counted once per index per write: an
upper bound for documents lacking an indexed field (in no index), though a
write changing an indexed value writes that index twice.  Maps have no indexes;
a price without ``index_copies`` prices a collection as if it had none.

Components with a zero quantity produce no line.  Every figure is rounded to
:data:`PRECISION` (a millionth of a dollar) so plans are bit-for-bit
deterministic, and the option cost is the rounded sum of its rounded lines.

The filter prices every feasible backend of every resource but the plan
itemises only the chosen one, so :meth:`Pricing.total` computes the figure
without building lines and :func:`cost_lines` builds them for one binding;
both do the same arithmetic in the same order, so they agree to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from skaal.blueprint.model import Kind, ResourceSpec
from skaal.catalog.model import Backend, Price
from skaal.model.grammar import Consistency
from skaal.plan.model import EVENTUAL_PREFIX, INDEXES_PREFIX, CostLine, Provisioned
from skaal.plan.retention import logs_days
from skaal.registry import DEFAULT_REGISTRY
from skaal.solver.problem import Workload

__all__ = [
    "DEFAULT_MEAN_DURATION_S",
    "DEFAULT_MEMORY_GB",
    "DEFAULT_RATE_PER_S",
    "DEFAULT_SIZE_GB",
    "LOG_BYTES_PER_INVOCATION",
    "MESSAGE_BYTES",
    "PRECISION",
    "SECONDS_PER_MONTH",
    "Pricing",
    "Quantities",
    "assumed_cost",
    "assumed_costs",
    "cost_lines",
    "fitting_modes",
    "mode_prices",
    "money",
    "monthly_quantities",
    "option_cost",
    "provisioned",
    "rate_ceilings",
    "served_consistency",
    "workload",
]

#: 730 hours, the month every cloud bills by.
SECONDS_PER_MONTH: Final = 730 * 3600.0
#: Costs are rounded to this many decimal places of a dollar.
PRECISION: Final = 6

#: Stored size assumed when ``size=`` is not declared, per kind.
DEFAULT_SIZE_GB: Final[dict[Kind, float]] = {
    "map": 1.0,
    "collection": 1.0,
    "blob": 10.0,
    "queue": 0.0,
    "topic": 0.0,
    "function": 0.0,
    "secret": 0.0,
}
#: Reads, writes, messages and invocations per second when not declared.
DEFAULT_RATE_PER_S: Final = 1.0
DEFAULT_MEMORY_GB: Final = 0.5
DEFAULT_MEAN_DURATION_S: Final = 0.1
#: Bytes of logs each function invocation writes (Lambda's START, END and REPORT
#: lines are about 300 bytes; Cloud Run's request log entry about as much).
LOG_BYTES_PER_INVOCATION: Final = 1000.0
#: Bytes a message is priced at: Pub/Sub bills at least 1,000 a request, and the catalog's
#: per-message prices assume it; a topic retaining messages stores as many.
MESSAGE_BYTES: Final = 1000.0
#: Days in a month of 730 hours: logs kept N days hold N / this of a month's logs.
_DAYS_PER_MONTH: Final = 730 / 24

#: Reads each message causes: a queue receives then deletes, a topic delivers once.
_READS_PER_MESSAGE: Final[dict[Kind, float]] = {"queue": 2.0, "topic": 1.0}


#: The declarable quantities each price component's quantity is computed from
#: (the names :func:`workload` lists in ``Workload.defaulted``).  The mean
#: duration of a function cannot be declared, so it is never counted here.
_DRIVERS: Final[dict[str, frozenset[str]]] = {
    "per_gb_month": frozenset({"size"}),
    "per_million_reads": frozenset({"reads", "messages", "invocations"}),
    "per_million_writes": frozenset({"writes", "messages"}),
    "per_million_requests": frozenset({"reads", "writes", "messages", "invocations"}),
    "per_gb_second": frozenset({"memory", "invocations"}),
    "per_read_per_s_month": frozenset({"reads", "messages"}),
    "per_write_per_s_month": frozenset({"writes", "messages"}),
    "backup_per_gb_month": frozenset({"size"}),
    "log_ingestion_per_gb": frozenset({"invocations"}),
    "log_storage_per_gb_month": frozenset({"invocations"}),
    "per_million_http_requests": frozenset({"invocations"}),
    "message_storage_per_gb_month": frozenset({"messages"}),
    # the item sizes of skaal.solver.regions cannot be declared: always a default
    "inter_region_per_gb": frozenset({"item size"}),
    "per_million_traces": frozenset({"invocations"}),
    "per_million_spans": frozenset({"invocations"}),
}


def assumed_cost(load: Workload, lines: Iterable[CostLine]) -> tuple[float, tuple[str, ...]]:
    """The part of ``lines``' monthly cost that rests on defaults, and those defaults.

    A line rests on a default when its quantity is computed from a quantity
    the declaration left out (1 GB per store, 1 request/s...): declaring it
    makes the line true.  ``lines`` are the binding's own (a shared
    instance's fee is the instance's).
    """
    return _resting_on(_defaults(load), lines)


def _defaults(load: Workload) -> frozenset[str]:
    """What ``load`` rests on that was not declared (an item's size never can be)."""
    return frozenset((*load.defaulted, "item size"))


def _resting_on(
    defaulted: frozenset[str], lines: Iterable[CostLine]
) -> tuple[float, tuple[str, ...]]:
    total = 0.0
    used: set[str] = set()
    for line in lines:
        hit = _DRIVERS.get(line.component.rsplit(" ", 1)[-1], frozenset()) & defaulted
        if hit:
            total += line.monthly
            used |= hit
    return money(total), tuple(sorted(used))


def assumed_costs() -> Callable[[ResourceSpec, Sequence[CostLine]], tuple[float, tuple[str, ...]]]:
    """:func:`assumed_cost` of a resource's workload and cost lines, worked out once per
    resources declared alike.

    It depends only on the resource's kind, requirements, schedule and ``http``
    and on its cost lines, records that alike resources share: the answer is
    kept by those records' identities, so the blueprint and plan they come from
    must outlive the returned function (hashing the records instead costs more
    than it saves when few resources are alike).  Of the workload it needs only
    which quantities :func:`workload` defaults, and that depends only on the
    kind and on which of them were declared (:func:`_declared`): the workload is
    worked out once per such pattern, not once per resource (100,000 resources
    declared with distinct sizes and rates, ``skaal plan`` asks for every one).
    """
    known: dict[tuple[object, ...], tuple[float, tuple[str, ...]]] = {}
    defaults: dict[tuple[object, ...], frozenset[str]] = {}

    def assumed(spec: ResourceSpec, lines: Sequence[CostLine]) -> tuple[float, tuple[str, ...]]:
        key = (spec.kind, id(spec.requirements), id(spec.schedule), spec.http, *map(id, lines))
        found = known.get(key)
        if found is None:
            pattern = _declared(spec)
            defaulted = defaults.get(pattern)
            if defaulted is None:
                defaulted = defaults[pattern] = _defaults(workload(spec))
            found = known[key] = _resting_on(defaulted, lines)
        return found

    return assumed


def _declared(spec: ResourceSpec) -> tuple[object, ...]:
    """What :func:`workload`'s defaults depend on: the kind, which of the quantities it
    may default were declared, and whether a function has a schedule."""
    req = spec.requirements
    return (
        spec.kind,
        req.size_gb is None,
        req.reads_per_s is None,
        req.writes_per_s is None,
        req.memory_gb is None,
        spec.schedule is None,
    )


def money(amount: float) -> float:
    """Round a dollar figure to the plan's fixed precision."""
    return round(amount, PRECISION) + 0.0  # + 0.0 turns -0.0 into 0.0


def workload(spec: ResourceSpec) -> Workload:
    """The resource's workload, with the documented defaults for what was not declared."""
    req = spec.requirements
    kind = spec.kind
    defaulted: list[str] = []

    def declared_or(value: float | None, default: float, name: str) -> float:
        if value is None:
            defaulted.append(name)
            return default
        return value

    size = 0.0
    reads = writes = memory = duration = scheduled = retention = deliveries = 0.0
    if kind in ("map", "collection", "blob"):
        size = declared_or(req.size_gb, DEFAULT_SIZE_GB[kind], "size")
        reads = declared_or(req.reads_per_s, DEFAULT_RATE_PER_S, "reads")
        writes = declared_or(req.writes_per_s, DEFAULT_RATE_PER_S, "writes")
    elif kind in ("queue", "topic"):
        writes = declared_or(req.writes_per_s, DEFAULT_RATE_PER_S, "messages")
        reads = writes * _READS_PER_MESSAGE[kind]
        deliveries = writes  # one delivery a message; a queue's delete is no delivery
        retention = req.retention_s or 0.0
    elif kind == "function":
        if spec.schedule is not None:
            # only a scheduled function needs the cron parser (and its classes): not at start-up
            from skaal.blueprint.cron import mean_rate  # noqa: PLC0415

            scheduled = mean_rate(spec.schedule)
        if req.reads_per_s is None and spec.schedule is not None:
            reads = scheduled  # as often as its schedule fires
        else:
            reads = declared_or(req.reads_per_s, DEFAULT_RATE_PER_S, "invocations")
        memory = declared_or(req.memory_gb, DEFAULT_MEMORY_GB, "memory")
        duration = DEFAULT_MEAN_DURATION_S
        if req.timeout_s is not None:
            duration = min(duration, req.timeout_s)
        defaulted.append("duration")
    return Workload(
        size_gb=size,
        reads_per_s=reads,
        writes_per_s=writes,
        memory_gb=memory,
        duration_s=duration,
        defaulted=tuple(defaulted),
        ephemeral=req.durability == "ephemeral",
        http=kind == "function" and spec.http,
        logs=kind == "function",
        scheduled_per_s=scheduled,
        jobs=1 if spec.schedule is not None else 0,
        retention_s=retention,
        deliveries_per_s=deliveries,
        indexes=len(spec.indexes) if kind == "collection" else 0,
    )


#: The kinds whose reads have a consistency (the ones ``consistency=`` applies to).
_CONSISTENT_KINDS: Final = frozenset({"map", "collection"})


def served_consistency(
    kind: Kind, declared: Consistency | None, offered: tuple[Consistency, ...]
) -> Consistency | None:
    """The consistency a resource's reads are served with on a backend offering ``offered``.

    ``None`` for kinds without consistent reads (everything but maps and
    collections).  Declared ``eventual`` is served eventual where the backend
    lists it; anything else is served strong where the backend lists strong
    (an undeclared consistency keeps the strong reads it always had), and
    eventual on a backend that offers nothing stronger.
    """
    if kind not in _CONSISTENT_KINDS:
        return None
    if declared == "eventual" and "eventual" in offered:
        return "eventual"
    return "strong" if "strong" in offered else "eventual"


def option_cost(
    backend: Backend, load: Workload, kind: Kind, consistency: Consistency | None = None
) -> tuple[float, tuple[CostLine, ...]]:
    """Monthly cost of ``load`` on ``backend`` and its itemised lines, cheapest mode.

    ``consistency`` is the declared one; the reads are priced at the level
    the backend serves it (:func:`served_consistency`).  The modes are those
    within the backend's throughput quotas (:func:`fitting_modes`), or every
    mode when none is (a declaration the filter refuses, priced for its fix).
    """
    served = served_consistency(kind, consistency, backend.performance.consistency)
    quantities = monthly_quantities(load)
    eventual = served == "eventual"
    modes = fitting_modes(backend, load, eventual=eventual) or mode_prices(backend)
    return min(
        (pricing.cost_of(quantities, eventual=eventual) for _, pricing in modes),
        key=lambda priced: priced[0],
    )


def cost_lines(
    backend: Backend,
    load: Workload,
    mode: str | None = None,
    *,
    consistency: Consistency | None = None,
) -> tuple[CostLine, ...]:
    """The itemised monthly cost of ``load`` on ``backend`` in ``mode`` (what a binding records).

    ``consistency`` is the served one (the binding's): eventual reads are
    counted in read units where the price says what they cost.
    """
    quantities = monthly_quantities(load)
    return Pricing.of(backend, mode).cost_of(quantities, eventual=consistency == "eventual")[1]


def mode_prices(backend: Backend) -> tuple[tuple[str | None, Pricing], ...]:
    """``backend``'s pricing per capacity mode (one ``None`` mode when it declares none)."""
    if not backend.modes:
        return ((None, Pricing.of(backend)),)
    return tuple((m.name, Pricing.of(backend, m.name)) for m in backend.modes)


def rate_ceilings(
    backend: Backend, *, eventual: bool = False, loosest: bool = True
) -> tuple[float, float]:
    """The most reads and writes per second ``backend``'s per-resource throughput quotas
    allow one resource (:meth:`Pricing.ceilings`; infinite without quotas), in the
    capacity mode allowing the most reads, then writes: a load it refuses, every mode
    refuses.  ``eventual``: the reads are served eventually consistent.  Not
    ``loosest``: the least any mode allows, reads and writes apart (a load within
    both fits every mode)."""
    limits = backend.limits
    each = [
        pricing.ceilings(limits.max_reads_per_s, limits.max_writes_per_s, eventual=eventual)
        for _, pricing in mode_prices(backend)
    ]
    if loosest:
        return max(each)
    return min(r for r, _ in each), min(w for _, w in each)


def fitting_modes(
    backend: Backend,
    load: Workload,
    *,
    eventual: bool = False,
    modes: Sequence[tuple[str | None, Pricing]] | None = None,
) -> tuple[tuple[str | None, Pricing], ...]:
    """The capacity modes of ``backend`` (``modes``: its :func:`mode_prices`, when the
    caller holds them) whose units for ``load`` stay within the backend's
    per-resource throughput quotas (:meth:`Pricing.units`); ``eventual``: its reads
    are served eventually consistent."""
    limits = backend.limits
    most_reads = math.inf if limits.max_reads_per_s is None else limits.max_reads_per_s
    most_writes = math.inf if limits.max_writes_per_s is None else limits.max_writes_per_s
    return tuple(
        (mode, pricing)
        for mode, pricing in (mode_prices(backend) if modes is None else modes)
        for reads, writes in (
            pricing.units(load.reads_per_s, load.writes_per_s, eventual=eventual),
        )
        if reads <= most_reads and writes <= most_writes
    )


def provisioned(
    backend: Backend,
    mode: str | None,
    load: Workload,
    *,
    consistency: Consistency | None = None,
) -> Provisioned | None:
    """The capacity to provision for ``load`` in ``mode`` (``None`` unless provisioned).

    Read capacity is in units: served ``eventual`` where the mode's price has
    ``eventual_reads``, a read takes that share of a unit (what it is priced at).
    """
    if mode is None:
        return None
    chosen = next(m for m in backend.modes if m.name == mode)
    target = chosen.target_utilisation
    if target is None:
        return None
    factor = chosen.price.eventual_reads
    reads = load.reads_per_s
    if consistency == "eventual" and factor is not None:
        reads *= factor.factor
    return Provisioned(
        reads_per_s=_units(reads, target),
        writes_per_s=_units(load.writes_per_s, target),
        target_utilisation=target,
    )


def _units(rate: float, target: float) -> int:
    """Whole capacity units for ``rate`` at ``target`` utilisation (at least 1)."""
    return max(1, math.ceil(rate / target - 1e-9))


#: The metered components, in the order of :func:`monthly_quantities`.  A function's
#: ``inter_region_per_gb`` is not among them: its quantity depends on where the
#: function and its data are placed, not on its workload (:mod:`skaal.solver.regions`).
_METERED: Final = (
    "per_gb_month",
    "per_million_reads",
    "per_million_writes",
    "per_million_requests",
    "per_gb_second",
    "per_read_per_s_month",
    "per_write_per_s_month",
    "backup_per_gb_month",
    "log_ingestion_per_gb",
    "log_storage_per_gb_month",
    "per_million_http_requests",
    "per_million_scheduled_runs",
    "per_scheduled_job_month",
    "message_storage_per_gb_month",
    "per_million_deliveries",
)
#: Positions of the provisioned components in ``_METERED`` / :data:`Quantities`.
_PROVISIONED: Final = frozenset({5, 6})
#: Positions of the read components an ``eventual_reads`` factor scales.
_READS: Final = frozenset({1, 5})
#: Positions of the components each secondary index copies (``index_copies``): storage,
#: writes and provisioned capacity, not backups, on-demand reads or the rest.
_COPIED: Final = frozenset({0, 2, 5, 6})
#: Position of the backup component, and of the size of a resource not declared ephemeral.
_BACKUP: Final = 7
_DURABLE_SIZE: Final = len(_METERED)
#: Position of the number of secondary indexes (after the durable size).
_INDEXES: Final = _DURABLE_SIZE + 1
#: Position of the logs kept: a day's logs, priced times the days they are kept.
_LOGS_KEPT: Final = 9


#: size, million reads, million writes, million requests, GB-seconds, reads/s, writes/s,
#: backed-up GB, log GB written, a day's log GB (x the days kept: the logs held), million
#: HTTP requests, million scheduled runs, schedule jobs, GB of messages retained, million
#: messages delivered; then the size of a resource not declared ephemeral (0 if it is)
#: and the number of secondary indexes.
Quantities = tuple[float, ...]


def monthly_quantities(load: Workload) -> Quantities:
    """Quantities of the metered components for ``load`` (see the module docstring).

    Positions 5 and 6 are the rates themselves: a provisioned mode turns them
    into capacity units with its own target utilisation.  Position 7 (backup)
    holds the size; a backend backing up only what is not ephemeral reads the
    size of what is not ephemeral instead (:meth:`Pricing.of`).  The last
    position counts the secondary indexes (priced by ``index_copies``).
    """
    reads = load.reads_per_s * SECONDS_PER_MONTH / 1e6
    writes = load.writes_per_s * SECONDS_PER_MONTH / 1e6
    compute = load.memory_gb * load.reads_per_s * load.duration_s * SECONDS_PER_MONTH
    logged = reads * 1e6 * LOG_BYTES_PER_INVOCATION / 1e9 if load.logs else 0.0
    return (
        load.size_gb,
        reads,
        writes,
        reads + writes,
        compute,
        load.reads_per_s,
        load.writes_per_s,
        load.size_gb,
        logged,
        logged / _DAYS_PER_MONTH,  # a day's logs; x the days kept (Pricing): the logs held
        reads if load.http else 0.0,
        load.scheduled_per_s * SECONDS_PER_MONTH / 1e6,
        float(load.jobs),
        load.writes_per_s * load.retention_s * MESSAGE_BYTES / 1e9,
        load.deliveries_per_s * SECONDS_PER_MONTH / 1e6,
        0.0 if load.ephemeral else load.size_gb,
        float(load.indexes),
    )


class Pricing:
    """A backend's price components, read once, applied to many workloads."""

    __slots__ = ("_copies", "_eventual", "_fixed", "_log_days", "_target", "_terms")

    def __init__(
        self,
        *,
        fixed: CostLine | None,
        terms: tuple[tuple[int, str, float], ...],
        target: float | None = None,
        eventual: float | None = None,
        log_days: float = 0.0,
        copies: float | None = None,
    ) -> None:
        self._fixed = fixed
        self._terms = terms
        self._target = target
        self._eventual = eventual
        """The price's ``eventual_reads`` factor, ``None`` when reads cost the same."""
        self._log_days = log_days
        """Days a function's logs are kept: the logs held at any time are this many days'."""
        self._copies = copies
        """The price's ``index_copies`` factor, ``None`` when indexes cost nothing more."""

    @classmethod
    def of(cls, backend: Backend, mode: str | None = None) -> Pricing:
        """The pricing of ``backend`` in ``mode`` (``None``: its ``price``).

        A server backend's instances are priced by :mod:`.servers`; its own
        ``fixed_monthly`` (schema 1) and ``per_instance_month`` are never a
        per-resource line.  ``backup_per_gb_month`` applies to the resources
        the backend backs up (its record's ``keeping``, :mod:`skaal.registry`):
        every one, or every one not declared ephemeral; none if it backs up
        nothing.  ``log_storage_per_gb_month`` applies to the logs held at any
        time: a day's logs times the days the implementation keeps them.
        """
        price: Price = backend.price
        target = None
        if mode is not None:
            chosen = next(m for m in backend.modes if m.name == mode)
            price, target = chosen.price, chosen.target_utilisation
        fixed_item = price.fixed_monthly
        fixed = (
            CostLine(component="fixed_monthly", quantity=1.0, monthly=money(fixed_item.amount))
            if fixed_item is not None and backend.server is None
            else None
        )
        rule = DEFAULT_REGISTRY.backup_rule(backend.implementation)
        skips_ephemeral = rule is not None and not rule.backup_ephemeral
        terms = tuple(
            (_DURABLE_SIZE if index == _BACKUP and skips_ephemeral else index, component, amount)
            for index, component in enumerate(_METERED)
            if (item := getattr(price, component)) is not None
            and (index != _BACKUP or rule is not None)  # no backup, no line
            for amount in (float(item.amount),)
        )
        factor = price.eventual_reads
        copies = price.index_copies
        return cls(
            fixed=fixed,
            terms=terms,
            target=target,
            eventual=None if factor is None else factor.factor,
            log_days=float(logs_days(backend.implementation)),
            copies=None if copies is None else copies.factor,
        )

    def units(
        self, reads_per_s: float, writes_per_s: float, *, eventual: bool = False
    ) -> tuple[float, float]:
        """The read and write units per second these rates take in this mode, as a
        per-resource throughput quota counts them (DynamoDB's table quotas: read
        and write units).

        An eventual read takes the price's ``eventual_reads`` share of a read
        unit; a provisioned mode provisions ``rate / target_utilisation`` units,
        rounded up (what it is billed for, and what auto scaling may reach).
        """
        reads = reads_per_s
        if eventual and self._eventual is not None:
            reads *= self._eventual
        if self._target is None:
            return reads, writes_per_s
        return float(_units(reads, self._target)), float(_units(writes_per_s, self._target))

    def ceilings(
        self, max_reads: float | None, max_writes: float | None, *, eventual: bool = False
    ) -> tuple[float, float]:
        """The most reads and writes per second one resource may ask in this mode under
        per-resource quotas of ``max_reads`` read and ``max_writes`` write units
        (:meth:`units`; infinite where there is none): DynamoDB's 40,000 read units
        hold 80,000 eventual reads/s on demand, 28,000 strong reads/s provisioned at 70 %.
        """
        share = 1.0 if self._target is None else self._target
        factor = self._eventual if eventual and self._eventual is not None else 1.0
        return (
            math.inf if max_reads is None else max_reads * share / factor,
            math.inf if max_writes is None else max_writes * share,
        )

    def _quantity(self, index: int, quantities: Quantities, factor: float | None) -> float:
        quantity = quantities[index]
        if factor is not None and index in _READS:
            quantity *= factor  # read units: an eventual read is a share of one
        if index == _LOGS_KEPT:
            quantity *= self._log_days
        if index in _PROVISIONED:
            return float(_units(quantity, self._target or 1.0))
        return quantity

    def total(self, quantities: Quantities, *, eventual: bool = False) -> float:
        """Monthly cost for the quantities of :func:`monthly_quantities`, without lines.

        ``eventual``: the resource is served eventually consistent (its reads
        then count at the price's ``eventual_reads`` factor, if it has one).
        """
        fixed = self._fixed
        factor = self._eventual if eventual else None
        copies = self._index_copies(quantities)
        total = 0.0 if fixed is None else fixed.monthly
        for index, _, amount in self._terms:
            quantity = self._quantity(index, quantities, factor)
            if quantity > 0:
                total += round(amount * quantity, PRECISION)
                if copies and index in _COPIED:
                    total += round(amount * (quantity * copies), PRECISION)
        return round(total, PRECISION) + 0.0

    def cost_of(
        self, quantities: Quantities, *, eventual: bool = False
    ) -> tuple[float, tuple[CostLine, ...]]:
        """Monthly cost and lines for the quantities of :func:`monthly_quantities`.

        The read lines of an eventual resource priced by ``eventual_reads``
        are named ``eventual <component>`` and count read units; the lines a
        collection's indexes add are named ``indexes <component>`` and follow
        the table's line they copy.
        """
        fixed = self._fixed
        factor = self._eventual if eventual else None
        copies = self._index_copies(quantities)
        lines: list[CostLine] = [] if fixed is None else [fixed]
        total = 0.0 if fixed is None else fixed.monthly
        for index, component, amount in self._terms:
            quantity = self._quantity(index, quantities, factor)
            if quantity <= 0:
                continue
            monthly = round(amount * quantity, PRECISION)
            named = f"{EVENTUAL_PREFIX}{component}" if factor and index in _READS else component
            lines.append(
                CostLine(component=named, quantity=round(quantity, PRECISION), monthly=monthly)
            )
            total += monthly
            if copies and index in _COPIED:
                copied = quantity * copies
                monthly = round(amount * copied, PRECISION)
                lines.append(
                    CostLine(
                        component=f"{INDEXES_PREFIX}{named}",
                        quantity=round(copied, PRECISION),
                        monthly=monthly,
                    )
                )
                total += monthly
        return round(total, PRECISION) + 0.0, tuple(lines)

    def _index_copies(self, quantities: Quantities) -> float:
        """The copies of the table its indexes are billed: the indexes times the price's
        ``index_copies`` factor (0 without indexes, or without the factor)."""
        if self._copies is None:
            return 0.0
        return quantities[_INDEXES] * self._copies
