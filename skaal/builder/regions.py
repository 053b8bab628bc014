"""Where a multi-region plan builds each thing: the stack's region and every resource's.

A plan places each resource in a region (:attr:`skaal.plan.model.Binding.region`:
its residency, its backend's regions, and for a function the data it uses,
:mod:`skaal.solver.regions`).  A cloud build creates every resource in its
planned region, through one provider per region the plan uses; this module
says which regions those are and refuses what one stack cannot wire across
regions, naming the resources and the declaration that fixes it.

The **stack's region** (the ``aws:region`` of the stack configuration, the
region of the provider without a suffix, of the HTTP API and of the HTTP
default route): the region of the most HTTP functions, else of the most
functions, else of the most resources; ties go to the catalog's default
region, then to name order.  A plan in one region is built there, as before.

What does not cross regions (:func:`check_aws`):

* a function routed by the HTTP API runs in the stack's region (the API
  calls its functions in its own region);
* a queue consumer runs in its queue's region (an SQS event source mapping
  reads a queue of its own region);
* a server (RDS, ElastiCache) is reached through the VPC of its region, so
  the functions reaching it run there; the HTTP default route runs in the
  stack's region and opens only what it can reach (:func:`beyond`), so a
  mounted app (which may reach anything) needs every server there;
* one shared instance holds resources of one region (the planner keeps a
  pool of instances per server and region, so this is a guard against a
  plan written by hand).

Servers in several regions are built: each region holding one gets its own
VPC and NAT gateway, which the plan prices once per region
(:mod:`skaal.plan.network`).

A gcp stack (:func:`check_gcp`) builds the same way, every resource in its
planned region (Cloud Run services, Cloud SQL and Memorystore instances,
buckets' locations); the API Gateway, Cloud Scheduler and Pub/Sub push reach
services of any region, and Cloud SQL is reached through its connection from
any region.  A Firestore database has one location: the stack's region
(else the location of the most Firestore resources) keeps the project's
``(default)`` database, and each other location gets a database of its own,
which the runtime finds by the location of the resource
(:func:`skaal.plan.wiring.firestore_database`).  What does not cross regions
there:

* a Memorystore instance is reached through the Serverless VPC Access
  connector of its region, so the functions reaching it run there, and the
  mounted apps (the ``web`` service, in the stack's region) need every
  Memorystore instance there (each region with Memorystore instances has a
  connector of its own).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from msgspec import Struct

from skaal.blueprint.model import ResourceSpec
from skaal.errors import BuildError
from skaal.plan.model import Plan
from skaal.plan.wiring import ServerWiring, reached

__all__ = ["Regions", "beyond", "check_aws", "check_gcp", "regions"]


class Regions(Struct, frozen=True):
    """The stack's region, every region the build creates something in, and where each is."""

    stack: str
    all: tuple[str, ...]
    """Sorted; the stack's region is among them."""
    of: Mapping[str, str]
    """Resource -> its planned region."""
    servers: Mapping[str, str]
    """Server id -> the region of the resources it holds."""

    def region(self, resource: str) -> str:
        """Where ``resource`` is built: its planned region (the stack's if it has no binding)."""
        return self.of.get(resource, self.stack)


def _most(regions: list[str], default: str) -> str:
    counts = Counter(regions)
    return min(counts, key=lambda r: (-counts[r], r != default, r))


def regions(
    plan: Plan, servers: tuple[ServerWiring, ...], *, routed: frozenset[str] = frozenset()
) -> Regions:
    """The regions of ``plan``; a shared instance with resources of two regions is refused.

    ``routed``: the functions the stack's HTTP API routes to.
    """
    of = {b.resource: b.region for b in plan.bindings}
    http = [b.region for b in plan.bindings if b.resource in routed]
    functions = [b.region for b in plan.bindings if b.kind == "function"]
    pool = http or functions or list(of.values())
    stack = _most(pool, plan.region) if pool else plan.region
    placed: dict[str, str] = {}
    kept = {b.resource: b.moving_from.region for b in plan.bindings if b.moving_from}
    for server in servers:
        held = sorted({of[r] for r in server.resources if r in of})
        if not held:  # a retiring server: where the origins it keeps are
            held = sorted({kept[r] for r in server.origins if r in kept})
        if len(held) > 1:
            raise BuildError(
                f"server {server.id} holds resources of {len(held)} regions "
                f"({', '.join(f'{r}: {_names(server.resources, of, r)}' for r in held)})",
                where="skaal.lock",
                fix="declare the same residency on the resources sharing it, or pin one of "
                "them to another backend, then re-plan",
                command="skaal plan --explain RESOURCE",
            )
        placed[server.id] = held[0] if held else stack
    every = tuple(sorted({stack, *of.values()}))
    return Regions(stack=stack, all=every, of=of, servers=placed)


def _names(resources: tuple[str, ...], of: Mapping[str, str], region: str) -> str:
    return ", ".join(r for r in resources if of.get(r) == region)


def check_aws(
    regions: Regions,
    functions: tuple[ResourceSpec, ...],
    servers: tuple[ServerWiring, ...],
    *,
    routed: frozenset[str],
    mounted: bool,
) -> None:
    """Refuse what an aws stack cannot wire across regions (the module docstring's list)."""
    server_of = {r: s for s in servers for r in s.resources}
    for function in functions:
        here = regions.region(function.name)
        where = f"{function.name} ({function.location})"
        if function.name in routed and here != regions.stack:
            _refuse(
                f"HTTP function {function.name} is planned in {here}, and the HTTP API of "
                f"the stack is in {regions.stack}",
                where,
                regions.stack,
            )
        if function.consumes is not None and regions.region(function.consumes) != here:
            _refuse(
                f"{function.name} consumes queue {function.consumes} of "
                f"{regions.region(function.consumes)} but is planned in {here}: an event "
                "source mapping reads a queue of its own region",
                where,
                regions.region(function.consumes),
            )
        for used in reached(function):
            server = server_of.get(used)
            if server is not None and regions.servers[server.id] != here:
                _refuse(
                    f"{function.name} (in {here}) reaches {used} on server {server.id} of "
                    f"{regions.servers[server.id]}, which only its region's VPC reaches",
                    where,
                    regions.servers[server.id],
                )
    for server in servers if mounted else ():
        if regions.servers[server.id] != regions.stack:
            _refuse(
                f"server {server.id} is planned in {regions.servers[server.id]}, and the "
                f"HTTP default route (the mounted apps, which may reach it) runs in "
                f"{regions.stack}, the stack's region",
                f"{', '.join(server.resources)} in skaal.lock",
                regions.stack,
            )


def check_gcp(
    regions: Regions,
    functions: tuple[ResourceSpec, ...],
    servers: tuple[ServerWiring, ...],
    *,
    mounted: bool,
) -> None:
    """Refuse what a gcp stack cannot wire across regions (the module docstring's list).

    ``servers``: the servers reached through a VPC connector (Memorystore's).
    """
    server_of = {r: s for s in servers for r in s.resources}
    for function in functions:
        here = regions.region(function.name)
        for used in reached(function):
            server = server_of.get(used)
            if server is not None and regions.servers[server.id] != here:
                _refuse(
                    f"{function.name} (in {here}) reaches {used} on Memorystore {server.id} "
                    f"of {regions.servers[server.id]}, which only its region's VPC "
                    "connector reaches",
                    f"{function.name} ({function.location})",
                    regions.servers[server.id],
                )
    for server in servers if mounted else ():
        if regions.servers[server.id] != regions.stack:
            _refuse(
                f"Memorystore {server.id} is planned in {regions.servers[server.id]}, and "
                f"the web service (the mounted apps, which may reach it) runs in "
                f"{regions.stack}, the stack's region",
                f"{', '.join(server.resources)} in skaal.lock",
                regions.stack,
            )


def beyond(regions: Regions, servers: tuple[ServerWiring, ...], region: str) -> frozenset[str]:
    """The resources a process in ``region`` cannot reach: those on servers of other regions."""
    return frozenset(r for s in servers if regions.servers[s.id] != region for r in s.resources)


def _refuse(what: str, where: str, region: str) -> None:
    raise BuildError(
        what,
        where=where,
        fix=f"declare a residency that puts them in one region (e.g. residency={region!r}), "
        "then re-plan",
        command="skaal plan --explain RESOURCE",
    )
