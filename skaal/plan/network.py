"""What a plan's network costs: the way out of the VPC its aws functions run in.

On aws, a plan that places any resource on PostgreSQL (RDS) or Redis
(ElastiCache) puts the app's Lambda functions in a VPC to reach them
(:mod:`skaal.build.targets.aws`).  From there the functions still call AWS
APIs (SQS, SNS, Secrets Manager) and whatever outside service the app's
code calls, which the declarations do not say, so the program gives the
private subnets one NAT gateway (with its public IPv4 address) -- a fixed
monthly fee that no single resource owns.  :func:`network_lines` prices it
as :attr:`skaal.plan.model.Plan.network` cost lines, part of the plan's
total; DynamoDB and S3 are reached through their free gateway endpoints.

Quantities are hours in a month of 730.  Data the NAT gateway processes
(``NAT_GATEWAY_PER_GB``) is not in the lines: the declarations give no
figure for outbound traffic, so the line would be a guess.

Prices (us-east-1, as published on https://aws.amazon.com/vpc/pricing/ and
read 2026-12):

======================  ===========  ==========================================
component               USD          unit
======================  ===========  ==========================================
nat_gateway_hours       0.045        per NAT gateway hour
public_ipv4_hours       0.005        per in-use public IPv4 address hour
(not a line) per GB     0.045        per GB processed by the NAT gateway
======================  ===========  ==========================================
"""

from __future__ import annotations

from collections.abc import Iterable

from skaal.plan.model import Binding, CostLine

__all__ = [
    "HOURS_PER_MONTH",
    "NAT_GATEWAY_HOURLY",
    "NAT_GATEWAY_PER_GB",
    "PRICE_AS_OF",
    "PRICE_SOURCE",
    "PUBLIC_IPV4_HOURLY",
    "VPC_IMPLEMENTATIONS",
    "nat_lines",
    "needs_vpc",
    "network_lines",
    "vpc_fee",
]

HOURS_PER_MONTH = 730
PRICE_SOURCE = "https://aws.amazon.com/vpc/pricing/"
PRICE_AS_OF = "2026-12"
"""When the figures below were read from :data:`PRICE_SOURCE` (``skaal cost`` shows it)."""
NAT_GATEWAY_HOURLY = 0.045
PUBLIC_IPV4_HOURLY = 0.005
NAT_GATEWAY_PER_GB = 0.045

VPC_IMPLEMENTATIONS = frozenset({"postgres", "redis"})
"""Implementations whose aws servers live in a VPC (RDS, ElastiCache)."""


def needs_vpc(bindings: Iterable[Binding], provider: str) -> bool:
    """Whether an aws build of these bindings puts its functions in a VPC."""
    return provider == "aws" and any(b.implementation in VPC_IMPLEMENTATIONS for b in bindings)


def network_lines(bindings: Iterable[Binding], provider: str) -> tuple[CostLine, ...]:
    """The network cost lines of a plan with these bindings (empty when it needs none)."""
    if not needs_vpc(bindings, provider):
        return ()
    return nat_lines()


def nat_lines() -> tuple[CostLine, ...]:
    """The cost lines of the NAT gateway and its public address, for one month."""
    return (
        CostLine(
            component="nat_gateway_hours",
            quantity=HOURS_PER_MONTH,
            monthly=round(NAT_GATEWAY_HOURLY * HOURS_PER_MONTH, 6),
        ),
        CostLine(
            component="public_ipv4_hours",
            quantity=HOURS_PER_MONTH,
            monthly=round(PUBLIC_IPV4_HOURLY * HOURS_PER_MONTH, 6),
        ),
    )


def vpc_fee(provider: str) -> float:
    """The monthly fee a plan pays once when it needs the VPC (0 off aws)."""
    if provider != "aws":
        return 0.0
    return round((NAT_GATEWAY_HOURLY + PUBLIC_IPV4_HOURLY) * HOURS_PER_MONTH, 6)
