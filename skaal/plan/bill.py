"""The monthly bill of a plan: every priced line, with the published figure behind it.

``skaal cost`` reads the lock and never re-solves: a :class:`~skaal.plan.Plan`
already itemises what it costs, and :func:`bill_of` only lays it out.  Three
kinds of owner carry cost lines:

* a **resource** (a binding): its own lines -- storage, requests, compute,
  provisioned capacity, a dedicated backend's fixed fee, and what the build
  creates for it (backups, a function's logs, the HTTP API requests and
  scheduled runs that start it);
* a **shared instance** (``rds-postgres#1``): its class fee per node, the
  secret holding its credentials and, on a disk server, the volume floor; no
  single resource owns these;
* the **network** of each region holding a server (aws: the NAT gateway of the
  VPC the functions run in; gcp: the Serverless VPC Access connector to
  Memorystore), owned by ``network REGION``.

A read line of an eventually consistent resource (``eventual per_million_reads``)
counts read *units*: its quantity is the reads times the price's
``eventual_reads`` factor (DynamoDB: half a unit per read), and the line
carries that factor with its own source, so ``quantity x unit price =
monthly`` still holds with the published unit price.  A line a collection's
secondary indexes add (``indexes per_gb_month``) is the table line's item
prefixed ``index`` (``index storage``), at the same published unit price, and
carries the price's ``index_copies`` factor with its source: its quantity is
the table line's times the indexes times that factor.

Each :class:`BillLine` names the catalog figure it was computed from (amount,
source page, date read), looked up in the plan's
:attr:`~skaal.plan.model.Plan.prices`: the price of the binding's backend in
its capacity mode, the instance class's per-node price, or -- for the
network, which no catalog prices -- :mod:`skaal.plan.network`'s own figures.

The bill adds up exactly as the plan does: each owner's lines sum to the
figure the plan records for it (a binding's ``monthly_cost``, an instance's
``fixed_monthly``), and the total is the plan's ``total_monthly_cost`` to the
last digit.  :func:`group_bill` sums the lines by resource, item or backend;
:func:`compare_bills` lines two bills up by the same key, which is how
``skaal cost --reoptimize`` breaks the reoptimise saving down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from msgspec import Struct
from msgspec.structs import replace

from skaal.catalog.model import IndexFactor, PriceItem, ReadFactor
from skaal.errors import PlanError
from skaal.plan import network
from skaal.plan.model import (
    EVENTUAL_PREFIX,
    INDEXES_PREFIX,
    STATED_COMPONENT,
    CostLine,
    Plan,
    UsedPrice,
)
from skaal.plan.moves import ORIGIN_COMPONENT

__all__ = [
    "GROUPINGS",
    "Bill",
    "BillDelta",
    "BillGroup",
    "BillLine",
    "Grouping",
    "OwnerKind",
    "bill_of",
    "compare_bills",
    "group_bill",
]

OwnerKind = Literal["resource", "instance", "network"]
Grouping = Literal["resource", "item", "backend"]
GROUPINGS: tuple[Grouping, ...] = ("resource", "item", "backend")

#: Plan cost component -> (item, unit of its quantity); every catalog price
#: component has one (a test checks it against PRICE_COMPONENTS).
_ITEMS: dict[str, tuple[str, str]] = {
    "fixed_monthly": ("fee", "month"),
    "per_gb_month": ("storage", "GB-month"),
    "per_million_reads": ("reads", "million reads"),
    "per_million_writes": ("writes", "million writes"),
    "per_million_requests": ("requests", "million requests"),
    "per_gb_second": ("compute", "GB-second"),
    "per_read_per_s_month": ("provisioned reads", "read/s-month"),
    "per_write_per_s_month": ("provisioned writes", "write/s-month"),
    "backup_per_gb_month": ("backups", "GB-month"),
    "log_ingestion_per_gb": ("logs written", "GB"),
    "log_storage_per_gb_month": ("logs kept", "GB-month"),
    "per_million_http_requests": ("HTTP API requests", "million requests"),
    "per_million_scheduled_runs": ("scheduled runs", "million runs"),
    "per_scheduled_job_month": ("schedule jobs", "job-month"),
    "per_instance_month": ("instance secret", "instance-month"),
    "message_storage_per_gb_month": ("messages retained", "GB-month"),
    "per_million_deliveries": ("deliveries", "million messages"),
    "inter_region_per_gb": ("inter-region transfer", "GB"),
    "per_million_traces": ("traces recorded", "million traces"),
    "per_million_spans": ("trace spans ingested", "million spans"),
    "nat_gateway_hours": ("NAT gateway", "hour"),
    "public_ipv4_hours": ("public IPv4 address", "hour"),
    "vpc_connector_instance_hours": ("VPC connector instance", "hour"),
}
_INSTANCE = "instance "
_FLOOR = "volume floor per_gb_month"
#: The network's figures, which no catalog holds (see :mod:`skaal.plan.network`).
_NETWORK_PRICES: dict[str, PriceItem] = {
    "nat_gateway_hours": PriceItem(
        amount=network.NAT_GATEWAY_HOURLY,
        source=network.PRICE_SOURCE,
        as_of=network.PRICE_AS_OF,
        note="per NAT gateway hour",
    ),
    "public_ipv4_hours": PriceItem(
        amount=network.PUBLIC_IPV4_HOURLY,
        source=network.PRICE_SOURCE,
        as_of=network.PRICE_AS_OF,
        note="per in-use public IPv4 address hour",
    ),
    "vpc_connector_instance_hours": PriceItem(
        amount=network.VPC_CONNECTOR_INSTANCE_HOURLY,
        source=network.VPC_CONNECTOR_SOURCE,
        as_of=network.PRICE_AS_OF,
        note="per Serverless VPC Access connector instance hour (e2-micro)",
    ),
}


class BillLine(Struct, frozen=True):
    """One priced item of one owner: quantity x unit price = monthly."""

    owner: str
    """Resource name, shared instance id, or ``"network REGION"`` (the network of the VPC
    of one region; ``"network"`` in a lock written before the network had regions)."""
    owner_kind: OwnerKind
    backend: str
    """The backend billing it (``"network"`` for network lines)."""
    item: str
    """What is paid for: ``storage``, ``reads``, ``instance fee``, ``NAT gateway``..."""
    component: str
    """The plan's own name of the line (``per_gb_month``, ``instance db.t4g.micro``...)."""
    quantity: float
    unit: str
    monthly: float
    price: PriceItem
    """The published figure: amount per unit, source page, date read."""
    mode: str | None = None
    factor: ReadFactor | None = None
    """For an eventual read line: the share of a unit one read takes, and where it is said."""
    copies: IndexFactor | None = None
    """For a line of a collection's indexes: the share of another copy of the table each
    index is billed, and where it is said."""

    def to_json(self) -> dict[str, Any]:
        factor = self.factor
        copies = self.copies
        return {
            "owner": self.owner,
            "owner_kind": self.owner_kind,
            "backend": self.backend,
            "mode": self.mode,
            "item": self.item,
            "component": self.component,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price": self.price.amount,
            "monthly": self.monthly,
            "source": self.price.source,
            "as_of": self.price.as_of,
            "note": self.price.note,
            "eventual_read_factor": None if factor is None else factor.model_dump(mode="json"),
            "index_copies": None if copies is None else copies.model_dump(mode="json"),
        }


class Bill(Struct, frozen=True):
    """Every line of a plan's monthly cost, and their total."""

    app: str
    catalog: str
    provider: str
    region: str
    plan_hash: str
    currency: str
    lines: tuple[BillLine, ...]
    total: float
    """Equal to the plan's ``total_monthly_cost``."""
    reoptimize_savings: float

    def as_of(self) -> tuple[str, str] | None:
        """The oldest and newest date a figure on the bill was read, if any."""
        dates = sorted(
            {line.price.as_of for line in self.lines}
            | {line.factor.as_of for line in self.lines if line.factor is not None}
            | {line.copies.as_of for line in self.lines if line.copies is not None}
        )
        return (dates[0], dates[-1]) if dates else None

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "catalog": self.catalog,
            "provider": self.provider,
            "region": self.region,
            "plan_hash": self.plan_hash,
            "currency": self.currency,
            "lines": [line.to_json() for line in self.lines],
            "total_monthly_cost": self.total,
            "reoptimize_savings": self.reoptimize_savings,
        }


class BillGroup(Struct, frozen=True):
    """The lines sharing one key (a resource, an item or a backend) and their sum."""

    key: str
    lines: int
    monthly: float


class BillDelta(Struct, frozen=True):
    """One key's monthly cost on two bills (0 where a bill has no such line)."""

    key: str
    current: float
    other: float

    @property
    def delta(self) -> float:
        return _money(self.other - self.current)


def _money(amount: float) -> float:
    """The plan's rounding (:func:`skaal.solver.cost.money`, not imported: no solver here)."""
    return round(amount, 6) + 0.0


def bill_of(plan: Plan) -> Bill:
    """The itemised bill of ``plan``; a :class:`PlanError` if a line has no recorded price."""
    prices = {(p.backend, p.mode): p for p in plan.prices}
    lines: list[BillLine] = []
    bindings: list[float] = []  # each owner's lines summed, as the plan records its cost
    instances: list[float] = []
    for binding in plan.bindings:
        used = prices.get((binding.backend, binding.mode))
        own = [
            _line(
                binding.resource,
                "resource",
                backend=binding.backend,
                cost=cost,
                used=used,
                mode=binding.mode,
            )
            for cost in binding.cost
        ]
        lines += own
        bindings.append(_money(sum(line.monthly for line in own)))
    for instance, owner in (
        *((i, i.id) for i in plan.instances),
        # a server kept for the origins of pending moves (skaal.plan.moves), until the switch
        *((i, f"{i.id} (retiring)") for i in plan.retiring),
    ):
        used = prices.get((instance.backend, None))
        own = [
            _line(owner, "instance", backend=instance.backend, cost=cost, used=used, mode=None)
            for cost in instance.cost
        ]
        lines += own
        instances.append(_money(sum(line.monthly for line in own)))
    for cost in plan.network:
        lines.append(
            _line(
                "network" if cost.region is None else f"network {cost.region}",
                "network",
                backend="network",
                cost=cost,
                used=None,
                mode=None,
            )
        )
    # The same sums in the same order as the planner's total (skaal.solver.assemble).
    total = _money(sum(bindings) + sum(instances) + sum(c.monthly for c in plan.network))
    currency = plan.prices[0].price.currency if plan.prices else "USD"
    return Bill(
        app=plan.app,
        catalog=plan.catalog,
        provider=plan.provider,
        region=plan.region,
        plan_hash=plan.content_hash(),
        currency=currency,
        lines=tuple(lines),
        total=total,
        reoptimize_savings=plan.reoptimize_savings,
    )


def _line(
    owner: str,
    kind: OwnerKind,
    *,
    backend: str,
    cost: CostLine,
    used: UsedPrice | None,
    mode: str | None,
) -> BillLine:
    component = cost.component
    if component.startswith(INDEXES_PREFIX):  # a collection's indexes: the table line's copy
        return _index_line(owner, kind, backend=backend, cost=cost, used=used, mode=mode)
    factor: ReadFactor | None = None
    if component.startswith(EVENTUAL_PREFIX):
        base = component.removeprefix(EVENTUAL_PREFIX)
        item, unit = _ITEMS.get(base, (base, ""))
        item, unit = item.replace("reads", "eventual reads"), unit.replace("read", "read unit")
        price = used.price.items().get(base) if used is not None else None
        factor = used.price.eventual_reads if used is not None else None
        if factor is None:
            price = None  # read units without the factor that defines them: unexplained
    elif component.startswith(_INSTANCE):
        name = component.removeprefix(_INSTANCE)
        item, unit = "instance fee", "node-month"
        price = used.classes.get(name) if used is not None else None
    elif component == ORIGIN_COMPONENT:  # a pending move's origin, priced by the lock
        item, unit = ORIGIN_COMPONENT, "month"
        price = _monthly(
            cost.monthly,
            used,
            "skaal.lock: the cost lines of the move's origin, its moving_from binding",
        )
    elif component == STATED_COMPONENT:  # an adopted server, priced by its declaration
        item, unit = "adopted server fee (stated by cost=)", "month"
        price = _monthly(
            cost.monthly,
            used,
            "the cost= of the resource's existing= (the adopted server's fee)",
        )
    elif component == _FLOOR:
        item, unit = "storage (volume floor)", "GB-month"
        price = used.price.per_gb_month if used is not None else None
    else:
        item, unit = _ITEMS.get(component, (component, ""))
        if kind == "network":
            price = _NETWORK_PRICES.get(component)
        else:
            price = used.price.items().get(component) if used is not None else None
    if price is None:
        raise PlanError(
            f"the plan records no price for the {component!r} line of {owner} "
            f"(backend {backend}{f', mode {mode}' if mode else ''})",
            where=owner,
            fix="re-plan: a lock written before schema 3 does not record the price of "
            "each capacity mode and instance class, and skaal plan adds them without "
            "moving anything",
            command="skaal plan",
        )
    return BillLine(
        owner=owner,
        owner_kind=kind,
        backend=backend,
        item=item,
        component=component,
        quantity=cost.quantity,
        unit=unit,
        monthly=cost.monthly,
        price=price,
        mode=mode,
        factor=factor,
    )


def _index_line(
    owner: str,
    kind: OwnerKind,
    *,
    backend: str,
    cost: CostLine,
    used: UsedPrice | None,
    mode: str | None,
) -> BillLine:
    """The line of a collection's indexes: the table line it copies, at its published
    unit price, with the price's ``index_copies`` factor (without it: unexplained)."""
    copied = CostLine(
        component=cost.component.removeprefix(INDEXES_PREFIX),
        quantity=cost.quantity,
        monthly=cost.monthly,
    )
    copies = used.price.index_copies if used is not None else None
    line = _line(owner, kind, backend=backend, cost=copied, used=used, mode=mode)
    if copies is None:
        raise PlanError(
            f"the plan records no index_copies factor for the {cost.component!r} line of "
            f"{owner} (backend {backend}{f', mode {mode}' if mode else ''})",
            where=owner,
            fix="re-plan: the lock's price of this backend does not say what its indexes cost",
            command="skaal plan",
        )
    return replace(line, item=f"index {line.item}", component=cost.component, copies=copies)


def _monthly(amount: float, used: UsedPrice | None, source: str) -> PriceItem | None:
    """A monthly amount the plan states itself (not a catalog price): dated as the
    catalog prices of the backend it stands beside, ``None`` without them."""
    published = list(used.price.items().values()) if used is not None else []
    if not published:
        return None
    return PriceItem(amount=amount, source=source, as_of=min(p.as_of for p in published))


_KEYS: dict[Grouping, Callable[[BillLine], str]] = {
    "resource": lambda line: line.owner,
    "item": lambda line: line.item,
    "backend": lambda line: line.backend,
}


def group_bill(lines: Iterable[BillLine], by: Grouping) -> tuple[BillGroup, ...]:
    """The lines summed by ``by``, in the order each key first appears."""
    key = _KEYS[by]
    sums: dict[str, list[float]] = {}
    for line in lines:
        sums.setdefault(key(line), []).append(line.monthly)
    return tuple(
        BillGroup(key=name, lines=len(amounts), monthly=_money(sum(amounts)))
        for name, amounts in sums.items()
    )


def compare_bills(current: Bill, other: Bill, by: Grouping) -> tuple[BillDelta, ...]:
    """Both bills summed by ``by``, key by key: current keys first, then the other's new ones.

    Keys whose cost is the same on both bills are left out.
    """
    before = {g.key: g.monthly for g in group_bill(current.lines, by)}
    after = {g.key: g.monthly for g in group_bill(other.lines, by)}
    keys = list(before) + [k for k in after if k not in before]
    deltas = (BillDelta(key=k, current=before.get(k, 0.0), other=after.get(k, 0.0)) for k in keys)
    return tuple(d for d in deltas if d.delta != 0)
