"""The VPC of a region with servers: private subnets, a NAT gateway, gateway endpoints.

The functions of that region run in its two private subnets; RDS and
ElastiCache sit in them too, behind the ``data`` security group, which opens
the servers' ports to the functions' group only.  The functions also call
AWS APIs and outside services, so the private subnets route to the internet
through one NAT gateway in a public subnet; DynamoDB and S3 go through their
free gateway endpoints instead.  The stack region's network keeps the plain
Pulumi names (``vpc``, ``private-0``...); another region's add the region.
"""

from __future__ import annotations

import pulumi_aws as aws

from skaal.builder.stacks.aws import Network
from skaal.programs.aws.context import Deploy, NetworkOutputs

__all__ = ["network"]


def network(deploy: Deploy, n: Network) -> None:
    """The VPC ``n`` describes, recorded under its ``ref`` for the servers and functions."""

    def here(name: str) -> str:
        return name if n.region == deploy.stack.region else f"{name}-{n.region}"

    opts = deploy.opts(n.region)
    zones = aws.get_availability_zones(state="available", opts=deploy.invoke_opts(n.region))
    account = deploy.account_id(n.region)
    vpc = aws.ec2.Vpc(
        here("vpc"),
        cidr_block=n.cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        opts=opts,
    )
    routes = aws.ec2.RouteTable(here("private"), vpc_id=vpc.id, opts=opts)
    subnets: list[aws.ec2.Subnet] = []
    for i, cidr in enumerate(n.subnets):
        subnet = aws.ec2.Subnet(
            here(f"private-{i}"),
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zones.names[i],
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(
            here(f"private-{i}"), subnet_id=subnet.id, route_table_id=routes.id, opts=opts
        )
        subnets.append(subnet)
    functions = aws.ec2.SecurityGroup(
        here("functions"),
        vpc_id=vpc.id,
        description="Lambda functions of the app",
        egress=[
            {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [n.cidr]},
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
        ],
        opts=opts,
    )
    data = aws.ec2.SecurityGroup(
        here("data"),
        vpc_id=vpc.id,
        description="databases and caches, reachable from the functions only",
        ingress=[
            {"protocol": "tcp", "from_port": p, "to_port": p, "security_groups": [functions.id]}
            for p in n.ports
        ],
        opts=opts,
    )
    # the way out: a NAT gateway in a public subnet, the default route of the private ones
    gateway = aws.ec2.InternetGateway(here("internet"), vpc_id=vpc.id, opts=opts)
    public_routes = aws.ec2.RouteTable(
        here("public"),
        vpc_id=vpc.id,
        routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
        opts=opts,
    )
    public = aws.ec2.Subnet(
        here("public"),
        vpc_id=vpc.id,
        cidr_block=n.public_subnet,
        availability_zone=zones.names[0],
        opts=opts,
    )
    aws.ec2.RouteTableAssociation(
        here("public"), subnet_id=public.id, route_table_id=public_routes.id, opts=opts
    )
    after_gateway = deploy.opts(n.region, depends_on=[gateway])
    address = aws.ec2.Eip(here("nat"), domain="vpc", opts=after_gateway)
    nat = aws.ec2.NatGateway(
        here("nat"), allocation_id=address.id, subnet_id=public.id, opts=after_gateway
    )
    aws.ec2.Route(
        here("private-egress"),
        route_table_id=routes.id,
        destination_cidr_block="0.0.0.0/0",
        nat_gateway_id=nat.id,
        opts=opts,
    )
    for service in n.gateway_endpoints:
        aws.ec2.VpcEndpoint(
            here(f"endpoint-{service}"),
            vpc_id=vpc.id,
            vpc_endpoint_type="Gateway",
            service_name=f"com.amazonaws.{n.region}.{service}",
            route_table_ids=[routes.id],
            opts=opts,
        )
    deploy.put(n.ref, "eni_arn", f"arn:aws:ec2:{n.region}:{account}:network-interface/*")
    deploy.put(n.ref, "subnet_arns", tuple(s.arn for s in subnets))
    deploy.put(n.ref, "lambda_sg_arn", functions.arn)
    deploy.networks[n.ref] = NetworkOutputs(
        subnet_ids=tuple(s.id for s in subnets), lambda_sg=functions.id, data_sg=data.id
    )
