"""The servers and networks of an aws stack model: RDS, ElastiCache and a VPC per region.

One RDS instance or ElastiCache replication group per server of the plan
(:func:`skaal.plan.wiring.servers`), of the size the plan records
(:mod:`skaal.builder.sizing`), in the VPC of its planned region; one VPC
per region holding a server (:func:`vpcs`).  A server is durable when any
resource it holds is (:func:`durable`).  A PostgreSQL server the plan adopts
(``existing=``) is not created: :func:`adopted_databases` names it for the
program to read.
"""

from __future__ import annotations

from skaal.blueprint.model import ResourceSpec
from skaal.builder.regions import Regions
from skaal.builder.sizing import server_size
from skaal.builder.stacks.aws import AdoptedDatabase, Cache, Database, Network, ServerFields
from skaal.declare.existing import parse_existing
from skaal.errors import BuildError
from skaal.plan.model import Binding, Plan
from skaal.plan.wiring import ServerWiring, Wiring, physical_name
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["adopted_databases", "caches", "databases", "durable", "server_ref", "vpcs"]


def durable(spec: ResourceSpec) -> bool:
    """Whether ``spec`` is kept (protected, retained): unless declared ephemeral."""
    return spec.requirements.durability != "ephemeral"


def server_ref(ident: str) -> str:
    """The program's key (and Pulumi resource name) of server ``ident``."""
    return ident.replace("#", "-").replace(".", "-").lower()


def databases(
    plan: Plan, wiring: Wiring, specs: dict[str, ResourceSpec], placed: Regions
) -> tuple[Database, ...]:
    """One RDS instance per planned PostgreSQL server, sized as the plan says.

    The class's ``instance_class`` and ``disk_gb`` of storage
    (:func:`skaal.builder.sizing.server_size`, which refuses read replicas on a
    server whose runtime reads only the primary);
    ``multi_az`` from the class parameter of that name, else from the
    backend (``rds-postgres-multi-az``).
    """
    out: list[Database] = []
    for server in wiring.servers:
        if server.implementation != "postgres" or _adopted(plan, server) is not None:
            continue
        size = server_size(plan, server)
        multi_az = size.parameters.get("multi_az", "multi-az" in server.backend)
        out.append(
            Database(
                **_server_fields(server, wiring, specs, placed, size.replicas).model_dump(),
                instance_class=str(size.parameter("instance_class")),
                storage_gb=size.disk_gb,
                multi_az=bool(multi_az),
                backup_days=size.backup_days,
            )
        )
    return tuple(sorted(out, key=lambda d: d.id))


def adopted_databases(
    plan: Plan, wiring: Wiring, specs: dict[str, ResourceSpec], placed: Regions
) -> tuple[AdoptedDatabase, ...]:
    """The existing RDS instances and Aurora clusters the plan adopts, read by the program."""
    out: list[AdoptedDatabase] = []
    for server in wiring.servers:
        binding = _adopted(plan, server)
        if binding is None or server.implementation != "postgres":
            continue
        spec = specs[binding.resource]
        assert spec.existing is not None  # the plan adopts it: existing= was declared
        found = parse_existing(spec.existing, spec.kind)
        if found.server is None or found.secret is None or found.provider != "aws":
            raise BuildError(
                f"{binding.resource} adopts {found.name!r}, which is not an RDS server",
                where=str(spec.location),
                fix="name an RDS instance or Aurora cluster ARN and its secret in existing=, "
                "then re-plan",
                command="skaal plan --target aws",
            )
        region = placed.servers[server.id]
        out.append(
            AdoptedDatabase(
                id=server_ref(server.id),
                identifier=found.name,
                cluster=":cluster:" in found.server,
                secret_arn=found.secret,
                env=server.env,
                region=region,
                network=_network_ref(region),
            )
        )
    return tuple(sorted(out, key=lambda d: d.id))


def _adopted(plan: Plan, server: ServerWiring) -> Binding | None:
    """The binding of an adopted server (a dedicated one, holding only it); ``None`` otherwise."""
    if len(server.resources) != 1:
        return None
    binding = plan.binding(server.resources[0])
    return binding if binding.adopted is not None and binding.instance is None else None


def caches(
    plan: Plan, wiring: Wiring, specs: dict[str, ResourceSpec], placed: Regions
) -> tuple[Cache, ...]:
    """One ElastiCache group per planned Redis server, sized as the plan says.

    The class's ``node_type`` and ``1 + replicas`` nodes, failing over
    automatically when it has replicas.
    """
    out: list[Cache] = []
    for server in wiring.servers:
        if server.implementation != "redis":
            continue
        size = server_size(plan, server)
        out.append(
            Cache(
                **_server_fields(server, wiring, specs, placed, size.replicas).model_dump(),
                node_type=str(size.parameter("node_type")),
            )
        )
    return tuple(sorted(out, key=lambda c: c.id))


def _server_fields(
    server: ServerWiring,
    wiring: Wiring,
    specs: dict[str, ResourceSpec],
    placed: Regions,
    replicas: int,
) -> ServerFields:
    """What a database and a cache record alike."""
    ident = server_ref(server.id)
    region = placed.servers[server.id]
    return ServerFields(
        id=ident,
        name=physical_name(wiring.name_base, ident, max_length=40),
        backend=server.backend,
        env=server.env,
        durable=any(durable(specs[r]) for r in server.holds if r in specs),
        replicas=replicas,
        port=_port(server.implementation),
        region=region,
        network=_network_ref(region),
    )


def _port(implementation: str) -> int:
    port = DEFAULT_REGISTRY.network(implementation, "aws").port
    if port is None:
        raise BuildError(
            f"the {implementation} implementation records no network port on aws",
            where="skaal.registry",
            fix="give its record a network port",
        )
    return port


def _network_ref(region: str) -> str:
    """The program's key of the VPC of ``region``."""
    return f"network-{region}"


def vpcs(bindings: list[Binding], placed: Regions) -> tuple[Network, ...]:
    """One VPC per region holding a server (a VPC is regional), each for its region's servers.

    See :func:`_network` for what each holds; the regions' address ranges
    may overlap, since the VPCs are never peered.
    """
    regions = sorted(set(placed.servers.values()))
    return tuple(
        _network([b for b in bindings if b.region == region], region) for region in regions
    )


def _network(bindings: list[Binding], region: str) -> Network:
    """The VPC of the functions that reach RDS or ElastiCache, and its way out.

    The functions also call AWS APIs (SQS, SNS, Secrets Manager -- the
    database credentials are read from it at start) and whatever outside
    service the app's code calls, which the declarations do not say; so the
    private subnets route to the internet through one NAT gateway in a public
    subnet (priced in the plan's network lines,
    :func:`skaal.plan.network.network_lines`), and DynamoDB and S3 go through
    their free gateway endpoints instead of the NAT.  The ports and the
    endpoints are those of the plan's implementations' records
    (:attr:`skaal.registry.Implementation.network`).
    """
    needs = [DEFAULT_REGISTRY.network(i, "aws") for i in {b.implementation for b in bindings}]
    return Network(
        ref=_network_ref(region),
        region=region,
        cidr="10.60.0.0/16",
        subnets=("10.60.1.0/24", "10.60.2.0/24"),
        public_subnet="10.60.0.0/24",
        ports=tuple(sorted({need.port for need in needs if need.port is not None})),
        gateway_endpoints=tuple(sorted({n for need in needs for n in need.gateway_endpoints})),
    )
