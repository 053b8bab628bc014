"""What a plan's network costs: the way its functions reach their servers.

Which implementations need the provider's VPC, and the cost-line components
that way in brings, are in each implementation's record
(:attr:`skaal.registry.Implementation.network`); this module prices the
components.

**aws.**  A plan that places any resource on PostgreSQL (RDS) or Redis
(ElastiCache) puts the app's Lambda functions in a VPC to reach them
(:mod:`skaal.builder.targets.aws`).  From there the functions still call AWS
APIs (SQS, SNS, Secrets Manager) and whatever outside service the app's
code calls, which the declarations do not say, so the program gives the
private subnets one NAT gateway (with its public IPv4 address) -- a fixed
monthly fee that no single resource owns.  DynamoDB and S3 are reached
through their free gateway endpoints.

**gcp.**  A plan that places any resource on Memorystore (Redis) gives the
Cloud Run services a Serverless VPC Access connector to reach it
(:mod:`skaal.builder.targets.gcp_servers`): its two minimum instances are
e2-micro virtual machines, billed as such.  Cloud SQL is reached through
Cloud Run's own Cloud SQL connection and needs no connector.

A VPC and a connector are regional: a plan with servers in several regions
builds one per region holding a server (:mod:`skaal.builder.regions`), and
pays the fee once per such region.  :func:`network_lines` prices them as
:attr:`skaal.plan.model.Plan.network` cost lines, part of the plan's total,
each line carrying its region (:attr:`~skaal.plan.model.CostLine.region`),
in region order.  Quantities are hours in a month of
730.  Traffic (``NAT_GATEWAY_PER_GB``, the connector's egress) is not in the
lines: the declarations give no figure for it, so the line would be a guess.

Prices (as published, read 2026-12):

=============================  ========  =============================================
component                      USD       unit and source
=============================  ========  =============================================
nat_gateway_hours              0.045     per NAT gateway hour, us-east-1
                                         (https://aws.amazon.com/vpc/pricing/)
public_ipv4_hours              0.005     per in-use public IPv4 address hour, us-east-1
(not a line) per GB            0.045     per GB processed by the NAT gateway
vpc_connector_instance_hours   0.008376  per e2-micro instance hour, us-central1
                                         (https://cloud.google.com/vpc/pricing and
                                         https://cloud.google.com/compute/vm-instance-pricing)
=============================  ========  =============================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from skaal.catalog.model import Provider
from skaal.errors import PlanError
from skaal.plan.model import Binding, CostLine
from skaal.registry import DEFAULT_REGISTRY, Registry

__all__ = [
    "HOURS_PER_MONTH",
    "NAT_GATEWAY_HOURLY",
    "NAT_GATEWAY_PER_GB",
    "PRICED",
    "PRICE_AS_OF",
    "PRICE_SOURCE",
    "PUBLIC_IPV4_HOURLY",
    "VPC_CONNECTOR_INSTANCES",
    "VPC_CONNECTOR_INSTANCE_HOURLY",
    "VPC_CONNECTOR_SOURCE",
    "needs_vpc",
    "network_lines",
    "vpc_fee",
    "vpc_lines",
    "vpc_regions",
]

HOURS_PER_MONTH = 730
PRICE_SOURCE = "https://aws.amazon.com/vpc/pricing/"
PRICE_AS_OF = "2026-12"
"""When the figures below were read from :data:`PRICE_SOURCE` (``skaal cost`` shows it)."""
NAT_GATEWAY_HOURLY = 0.045
PUBLIC_IPV4_HOURLY = 0.005
NAT_GATEWAY_PER_GB = 0.045

VPC_CONNECTOR_SOURCE = "https://cloud.google.com/vpc/pricing"
VPC_CONNECTOR_INSTANCE_HOURLY = 0.008376
VPC_CONNECTOR_INSTANCES = 2
"""The connector's minimum instances (the gcp program's ``min_instances``, read from here)."""


def _hourly(component: str, price: float, instances: int = 1) -> CostLine:
    hours = instances * HOURS_PER_MONTH
    return CostLine(
        component=component,
        quantity=float(hours),
        monthly=round(price * hours, 6),
    )


PRICED: Mapping[str, CostLine] = MappingProxyType(
    {
        line.component: line
        for line in (
            _hourly("nat_gateway_hours", NAT_GATEWAY_HOURLY),
            _hourly("public_ipv4_hours", PUBLIC_IPV4_HOURLY),
            _hourly(
                "vpc_connector_instance_hours",
                VPC_CONNECTOR_INSTANCE_HOURLY,
                VPC_CONNECTOR_INSTANCES,
            ),
        )
    }
)
"""Every network component a record may name, with its monthly line, in the plan's order."""


def needs_vpc(
    bindings: Iterable[Binding], provider: Provider, *, registry: Registry = DEFAULT_REGISTRY
) -> bool:
    """Whether a build of these bindings reaches a server through a VPC (NAT or connector)."""
    return any(registry.network(b.implementation, provider).vpc for b in bindings)


def vpc_regions(
    bindings: Iterable[Binding], provider: Provider, *, registry: Registry = DEFAULT_REGISTRY
) -> tuple[str, ...]:
    """The regions whose VPC a build of these bindings creates (sorted; empty: none)."""
    return tuple(
        sorted({b.region for b in bindings if registry.network(b.implementation, provider).vpc})
    )


def network_lines(
    bindings: Iterable[Binding], provider: Provider, *, registry: Registry = DEFAULT_REGISTRY
) -> tuple[CostLine, ...]:
    """The network cost lines of a plan with these bindings (empty when it needs none):
    :func:`vpc_lines` of every region holding a server reached through the VPC."""
    return tuple(
        line
        for region in vpc_regions(bindings, provider, registry=registry)
        for line in vpc_lines(provider, region, registry=registry)
    )


def vpc_lines(
    provider: Provider, region: str | None = None, *, registry: Registry = DEFAULT_REGISTRY
) -> tuple[CostLine, ...]:
    """The monthly cost lines of ``provider``'s way into one VPC (empty for other providers).

    The components the records needing the VPC on ``provider`` name, each
    priced once: one VPC serves every server of its region.  ``region``: the
    region the lines are paid in (``None`` for the figures alone).
    """
    components = registry.vpc_priced(provider)
    unpriced = sorted(components - PRICED.keys())
    if unpriced:
        raise PlanError(
            f"the {provider} VPC names network components with no price: {', '.join(unpriced)}",
            where="the implementation records' network priced items",
            fix=f"price them in skaal.plan.network.PRICED (known: {', '.join(PRICED)})",
        )
    return tuple(
        line
        if region is None
        else CostLine(
            component=component, quantity=line.quantity, monthly=line.monthly, region=region
        )
        for component, line in PRICED.items()
        if component in components
    )


def vpc_fee(provider: Provider) -> float:
    """The monthly fee a plan pays once per region whose VPC it needs (0 for the local
    catalogs).  The figures are those of one region (see the table above), so every
    region's fee is the same."""
    return round(sum(line.monthly for line in vpc_lines(provider)), 6)
