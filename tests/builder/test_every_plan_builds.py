"""Property: no plan the solver can produce fails to build.

Seeded random apps (:mod:`tests.builder.random_apps`: every kind, every
constraint mix, some resources pinned to server backends) are planned
against each bundled catalog and against its awkward variant
(:mod:`tests.builder.awkward_catalogs`: tiny shared servers and twin backends,
so one implementation spreads over several servers).  Every feasible plan is
built for its target -- pure text generation, so it is cheap -- and for the
cloud targets the programs of the plans with the most servers are executed
under Pulumi's mocks, checking one server per planned server, each wired
into every function's environment under its own variable.

On aws every plan's ``stack.json`` is also checked statically: each
reference the program resolves (IAM statement resources, connection URLs,
the queue of an event source mapping, the topic of a subscription) names
something the program creates.

The seeds are fixed (``"<catalog>:<n>"``), so CI sees the same apps every run.
Unsatisfiable apps are skipped, but each catalog must yield enough feasible
plans, and each awkward catalog at least one plan with two servers of one
implementation, so the property never passes vacuously.

On aws a consumer is started by an SQS event source mapping and a
subscriber through an SNS subscription; the planner knows it (the registry's
``triggered_by``), so a consumed queue or subscribed topic never lands on a
server there, and the aws build's refusal of such a plan is never reached.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skaal.blueprint.model import Blueprint
from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.stacks.aws import ANY_RESOURCE, AwsStack
from skaal.builder.targets import TARGETS
from skaal.errors import SkaalError, UnsatisfiableError
from skaal.plan.model import Plan
from skaal.plan.wiring import (
    FUNCTION_ENV,
    USED_RESOURCES_ENV,
    ServerWiring,
    compact_used,
    is_compact,
    servers,
)
from skaal.solver import solve
from tests.builder.awkward_catalogs import BUNDLED, catalog_named
from tests.builder.aws_support import region_of, write_with_layer
from tests.builder.aws_support import run_program as run_aws
from tests.builder.gcp_mocks import CONFIG, run_artifacts
from tests.builder.random_apps import random_app

CATALOGS = (*BUNDLED, "local-servers-awkward", "aws-awkward", "gcp-awkward")
EXAMPLES = 60
"""Random apps per catalog (a solve and a build take a few milliseconds each)."""
EXECUTED = 3
"""Programs executed under mocks per cloud catalog (a run takes well under a second)."""


@dataclass(frozen=True)
class Built:
    seed: str
    blueprint: Blueprint
    plan: Plan
    artifacts: ArtifactSet

    @property
    def servers(self) -> tuple[ServerWiring, ...]:
        return servers(self.plan)


def _build_all(catalog_name: str) -> list[Built]:
    """Every feasible random plan of ``catalog_name``, built."""
    catalog = catalog_named(catalog_name)
    built: list[Built] = []
    for n in range(EXAMPLES):
        seed = f"{catalog_name}:{n}"
        app = random_app(random.Random(seed), f"prop{n}", catalog)
        blueprint = app.blueprint()
        try:
            plan = solve(blueprint, catalog)
        except UnsatisfiableError:
            continue
        # a shared instance only ever holds resources of one region
        assert not _shared_across_regions(plan), f"seed {seed!r}: {plan.canonical_json()}"
        context = BuildContext(
            blueprint=blueprint,
            plan=plan,
            app_ref=f"prop{n}:app",
            target=plan.provider,
            skaal_version="0.0.0",
            versions=lambda name: "1.0",
        )
        try:
            artifacts = TARGETS[plan.provider](context)
        except SkaalError as error:
            pytest.fail(
                f"seed {seed!r}: the plan does not build for {plan.provider}\n"
                f"{error.render()}\nplan: {plan.canonical_json()}"
            )
        built.append(Built(seed, blueprint, plan, artifacts))
    return built


@pytest.mark.parametrize("catalog_name", CATALOGS)
def test_every_feasible_random_plan_builds(catalog_name: str, tmp_path: Path) -> None:
    built = _build_all(catalog_name)
    assert len(built) >= EXAMPLES // 2, f"only {len(built)} of {EXAMPLES} plans built"
    kinds = Counter(spec.kind for b in built for spec in b.blueprint.resources)
    assert set(kinds) >= {"map", "collection", "blob", "queue", "topic", "secret", "function"}
    if catalog_name.endswith("-awkward"):
        assert any(_spread(b) for b in built), "no plan put one implementation on two servers"
    provider = built[0].plan.provider
    if provider == "local":
        return
    if not catalog_name.endswith("-awkward"):
        assert any(len({x.region for x in b.plan.bindings}) > 1 for b in built), (
            "no plan spans two regions"
        )
    if provider == "aws":
        for item in built:
            assert not _aws_dangling(item), f"seed {item.seed!r}: {_aws_dangling(item)}"
            assert not _untriggered(item), f"seed {item.seed!r}: {_untriggered(item)}"
    # the plans with the most servers, then the most regions and resources, in seed order
    ranked = sorted(
        built,
        key=lambda b: (
            -len(b.servers),
            -len({x.region for x in b.plan.bindings}),
            -len(b.plan.bindings),
        ),
    )
    executed = ranked[:EXECUTED]
    spanning = [b for b in ranked if len({x.region for x in b.plan.bindings}) > 1]
    if spanning and not any(b in spanning for b in executed):
        executed.append(spanning[0])  # and one across regions, its regions checked
    for index, chosen in enumerate(executed):
        if provider == "aws":
            _check_aws(chosen, tmp_path / str(index))
        else:
            _check_gcp(chosen)


def _shared_across_regions(plan: Plan) -> bool:
    region = {b.resource: b.region for b in plan.bindings}
    return any(len({region[r] for r in i.resources}) > 1 for i in plan.instances)


def _spread(built: Built) -> bool:
    per_implementation = Counter(s.implementation for s in built.servers)
    return any(count > 1 for count in per_implementation.values())


def _check_aws(built: Built, folder: Path) -> None:
    root = write_with_layer(built.artifacts, folder)
    run = run_aws(root)
    created = {
        "postgres": run.of_type("aws:rds/instance:Instance"),
        "redis": run.of_type("aws:elasticache/replicationGroup:ReplicationGroup"),
    }
    _check_servers(built, created, "identifier", "replicationGroupId")
    # every state resource is created through the provider of its planned region
    placed = {b.resource: b.region for b in built.plan.bindings}
    for item in run.resources:
        if item.name in placed and not item.type.startswith("pulumi:providers"):
            assert region_of(run, item) == placed[item.name], f"seed {built.seed!r}: {item.name}"
    for function in run.of_type("aws:lambda/function:Function"):
        variables = _aws_env(function.inputs)
        opened = _opened(variables, built.blueprint)
        # the connection of each server holding a resource it opens, and no other
        wanted = {s.env for s in built.servers if opened is None or opened & set(s.holds)}
        given = {s.env for s in built.servers} & set(variables)
        assert given == wanted, f"seed {built.seed!r}: {function.name} has {sorted(given)}"


def _opened(variables: dict[str, Any], blueprint: Blueprint) -> set[str] | None:
    """What a function's runtime opens, as ``SKAAL_USED_RESOURCES`` says; None: all."""
    value = variables.get(USED_RESOURCES_ENV)
    if value is None:
        return None
    if is_compact(value):
        found = compact_used(value, variables[FUNCTION_ENV], blueprint)
        assert found is not None
        return set(found)
    return {part for part in value.split(",") if part}


def _aws_env(inputs: dict[str, Any]) -> dict[str, Any]:
    environment = inputs["environment"]
    if "variables" not in environment:  # a secret output: {sig, value}
        environment = environment["value"]
    variables: dict[str, Any] = environment["variables"]
    return variables


def _check_gcp(built: Built) -> None:
    secrets = {
        f"skaal:{b.resource}": "value"
        for b in built.plan.bindings
        if b.implementation == "secret-manager"
    }
    run = run_artifacts(built.artifacts, {**CONFIG, **secrets})
    created = {
        "postgres": run.of_type("gcp:sql/databaseInstance:DatabaseInstance"),
        "redis": run.of_type("gcp:redis/instance:Instance"),
    }
    _check_servers(built, created, "name", "name")
    # every regional resource is created in its planned region (buckets and servers under
    # their own names, a function's Cloud Run service as fn_<function>)
    placed = {b.resource: b.region for b in built.plan.bindings}
    placed |= {f"fn_{b.resource}": b.region for b in built.plan.bindings if b.kind == "function"}
    placed |= {s.id: placed[s.resources[0]] for s in built.servers}
    for item in run.resources:
        where = item.inputs.get("location") or item.inputs.get("region")
        if item.name in placed and isinstance(where, str):
            assert where.lower() == placed[item.name], f"seed {built.seed!r}: {item.name}"
    for database in run.of_type("gcp:firestore/database:Database"):
        location = database.inputs["locationId"]
        assert database.name in ("firestore", f"firestore-{location}"), built.seed
    for service in run.of_type("gcp:cloudrunv2/service:Service"):
        envs = {e["name"]: e for e in service.inputs["template"]["containers"][0]["envs"]}
        used = envs.get("SKAAL_USED_RESOURCES")
        opens = None if used is None else set(filter(None, used["value"].split(",")))
        # each service gets the servers hosting what it opens, and no other
        wanted = {s.env for s in built.servers if opens is None or opens & set(s.resources)}
        got = {s.env for s in built.servers} & set(envs)
        assert got == wanted, f"seed {built.seed!r}: {service.name} has {got}, not {wanted}"


def _check_servers(built: Built, created: dict[str, list[Any]], *keys: str) -> None:
    """One created server per planned server, each with its own physical name."""
    for implementation, key in zip(("postgres", "redis"), keys, strict=True):
        planned = [s for s in built.servers if s.implementation == implementation]
        made = created[implementation]
        assert len(made) == len(planned), f"seed {built.seed!r}: {implementation} servers"
        assert len({m.inputs[key] for m in made}) == len(made), f"seed {built.seed!r}: names"


def _untriggered(built: Built) -> list[str]:
    """Consumers and subscribers whose queue or topic no Lambda trigger reads (aws)."""
    return [
        spec.name
        for spec in built.blueprint.resources
        for source, service in ((spec.consumes, "sqs"), (spec.subscribes, "sns"))
        if source is not None and built.plan.binding(source).implementation != service
    ]


def _aws_dangling(built: Built) -> set[str]:
    """References of the aws ``stack.json`` that name nothing the program creates."""
    stack = AwsStack.model_validate_json(built.artifacts.file("stack.json").content)
    defined = {
        item.resource
        for item in (*stack.tables, *stack.buckets, *stack.queues, *stack.topics, *stack.secrets)
    }
    defined |= {item.id for item in (*stack.databases, *stack.caches)}
    defined |= {f.name for f in stack.functions}
    defined |= {network.ref for network in stack.networks}
    wanted: set[str] = set()
    for function in stack.functions:
        for statement in function.statements:
            wanted |= {r.ref for r in statement.resources if r != ANY_RESOURCE}
        wanted |= {c.ref for c in function.outputs.values()}
        if function.consumes:
            wanted.add(function.consumes)
        if function.subscription:
            wanted.add(function.subscription.topic)
    return wanted - defined
