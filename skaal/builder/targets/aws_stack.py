"""The aws stack model of an app: :func:`aws_stack` computes it from the Blueprint and the Plan.

The model (:class:`skaal.builder.stacks.aws.AwsStack`, written as the
artifact's ``stack.json``) is everything app-specific the aws program
(:mod:`skaal.programs.aws`) creates:

* physical names come from :func:`skaal.plan.naming.physical_name`, the
  function the runtime's AWS backends use to find their resources, and the
  table key schema, GSIs and TTL attribute are the ones the ``dynamodb``
  backend reads and writes (``pk``/``sk``, ``by_<field>`` on ``x_<field>``,
  ``exp``);
* each function's environment is :func:`skaal.plan.wiring.wire`'s static
  variables plus ``SKAAL_FUNCTION`` (which declared function a Lambda runs),
  ``SKAAL_PROCESSES`` (how many Lambda functions share each server's
  connections), ``SKAAL_READABLE_SECRETS`` (the secrets its role may read,
  :class:`skaal.plan.wiring.SecretScope`) and the variables filled from the
  program's outputs (``outputs``): each bucket's real name, and per planned
  server (:func:`skaal.plan.wiring.servers`) its connection URL -- no
  password in it -- and, for PostgreSQL, the ARN of its RDS-managed
  credentials secret;
* every server is the size the plan records (:mod:`skaal.builder.sizing`):
  one RDS instance or ElastiCache replication group per server of the plan,
  of the class's ``instance_class`` / ``node_type``, the plan's disk and
  (Redis) replicas; a DynamoDB table in the plan's provisioned mode gets its
  capacity and autoscaling target;
* IAM statements come from :mod:`skaal.builder.targets.aws_iam`, schedules
  from :mod:`skaal.builder.targets.aws_schedule`;
* what is kept, and for how long, is the plan's
  (:mod:`skaal.plan.retention`): a table's point-in-time recovery and an
  RDS instance's automated backups (``Binding.backup``,
  ``SharedInstance.backup``), a queue's message and dead-letter retention
  and a bucket's previous versions (``Binding.retention``), the functions'
  log groups (``Plan.log_retention_days``);
* with ``[tool.skaal] traces = true`` (:mod:`skaal.builder.traces`), each
  function's ``traces`` adds the ADOT layer and X-Ray active tracing,
  its environment ``SKAAL_TRACES=otlp`` and the ADOT wrapper, its role the
  X-Ray write statement.

A pending move (:mod:`skaal.builder.targets.aws_moves`) provisions both
its origin, as before the move, and its destination, plus the migration
function ``skaal migrate --env NAME`` invokes (one per region where moves
are copied).

A resource is *durable* (protected, retained, deletion-protected) unless it
was declared ``durability="ephemeral"``.

Regions.  Every item of ``stack.json`` names its planned ``region``, and
the program creates it through the provider of that region (one
``aws.Provider`` per region the plan uses, ``regions``); ``region`` is the
stack's (:mod:`skaal.builder.regions`: where the HTTP API and the HTTP
functions run).  Each region with a server gets its own VPC (``networks``),
and the functions of that region are attached to it; the Lambda layer is
published in each region with functions.  IAM roles are global.  The
runtime reaches each resource in its planned region: the lock it ships
says where (:class:`skaal.runtime.Runtime` opens one provider per region).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from skaal.blueprint.model import Kind, ResourceSpec, SourceLocation
from skaal.builder.model import BuildContext
from skaal.builder.regions import beyond, check_aws, regions
from skaal.builder.sizing import table_capacity
from skaal.builder.stacks.aws import (
    AwsStack,
    Bucket,
    Capacity,
    Function,
    Index,
    OutputRef,
    Overrides,
    Queue,
    Schedule,
    ScheduleEntry,
    Secret,
    Subscription,
    Table,
    Topic,
    Traces,
)
from skaal.builder.targets.aws_iam import function_statements
from skaal.builder.targets.aws_moves import check_moves, migration_function, origins
from skaal.builder.targets.aws_policies import laid_out
from skaal.builder.targets.aws_schedule import aws_schedule
from skaal.builder.targets.aws_servers import (
    adopted_databases,
    caches,
    databases,
    durable,
    server_ref,
    vpcs,
)
from skaal.builder.traces import XRAY_STATEMENT, adot_layer_arn, aws_trace_env
from skaal.errors import BuildError
from skaal.overrides import OVERRIDES_FILE
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import serving_plan
from skaal.plan.naming import physical_name as runtime_name
from skaal.plan.network import needs_vpc
from skaal.plan.wiring import (
    OPENED_KINDS,
    PROCESSES_ENV,
    READABLE_SECRETS_ENV,
    USED_RESOURCES_ENV,
    SecretScope,
    Wiring,
    binding_name,
    credentials_env,
    physical_name,
    reached,
    resource_env,
    used_value,
    wire,
)
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["BUCKET_PREFIX_LENGTH", "HTTP_FUNCTION", "aws_stack"]

HTTP_FUNCTION = "_http"
"""The Lambda behind the HTTP API's default route (docs, OpenAPI, mounted apps)."""

_DEFAULT_MEMORY_MB = 512
_DEFAULT_TIMEOUT_S = 30
_HTTP_TIMEOUT_S = 29  # the HTTP API's integration limit

BUCKET_PREFIX_LENGTH = 37
"""S3's limit on ``bucket_prefix``: the provider appends a unique suffix to reach 63."""


def aws_stack(context: BuildContext) -> AwsStack:
    """Everything app-specific the Pulumi program creates (``stack.json``)."""
    blueprint, plan = context.blueprint, context.plan
    _check_triggers(blueprint.resources, plan)
    move_regions = check_moves(plan)
    specs = context.specs()
    kept = origins(plan)  # provisioned until the switch, as before the move
    bindings = sorted((*plan.bindings, *kept), key=lambda b: (b.resource, b.implementation))
    by_impl: dict[str, list[Binding]] = {}
    for binding in bindings:
        by_impl.setdefault(binding.implementation, []).append(binding)
    consumers = {s.consumes: s for s in blueprint.resources if s.consumes}
    wiring = wire(plan, env_name=context.env, config=context.config)
    before = wire(serving_plan(plan), env_name=context.env, config=context.config)

    def wired(binding: Binding) -> Wiring:  # an origin is named as before its move
        return before if binding in kept else wiring

    wiring_env = wiring.env()
    base = wiring.name_base
    functions = tuple(s for s in blueprint.resources if s.kind == "function")
    routed = frozenset(f.name for f in functions if _route(f, http_default=False) is not None)
    placed = regions(plan, wiring.servers, routed=routed)
    check_aws(placed, functions, wiring.servers, routed=routed, mounted=bool(blueprint.mounts))
    networks = vpcs(bindings, placed) if needs_vpc(bindings, plan.provider) else ()
    tables = tuple(
        _table(b, specs[b.resource], wired(b)).model_copy(update={"retiring": b in kept})
        for b in by_impl.get("dynamodb", [])
    )
    buckets = tuple(_bucket(b, specs[b.resource], wired(b)) for b in by_impl.get("s3", []))
    topics = tuple(
        Topic(
            resource=b.resource,
            name=wiring.resource(b.resource).physical_name,
            region=b.region,
            durable=durable(specs[b.resource]),
            existing=b.adopted,
            existing_arn=_arn_of(specs[b.resource]),
        )
        for b in by_impl.get("sns", [])
    )
    outputs = _outputs(buckets, topics, wiring)
    hosting = {server_ref(s.id): frozenset(s.holds) for s in wiring.servers}
    indexed = frozenset(t.resource for t in tables if t.indexes)
    subscribers = tuple(sorted((s.subscribes, s.name) for s in functions if s.subscribes))
    scope = SecretScope.of(blueprint)
    credentials = tuple(server_ref(s.id) for s in wiring.servers if s.implementation == "postgres")
    http_spec = ResourceSpec(
        name=HTTP_FUNCTION,
        kind="function",
        location=blueprint.location or SourceLocation(file="<app>", line=0),
        http=True,
    )
    connected = {n.region: n.ref for n in networks}
    lambdas: tuple[Function, ...] = tuple(
        _function(
            f,
            bindings,
            base,
            wiring_env,
            outputs,
            hosting=hosting,
            region=placed.region(f.name),
            network=connected.get(placed.region(f.name)),
            http_default=f is http_spec,
            unreachable=beyond(placed, wiring.servers, placed.stack),
            indexed=indexed,
            subscribers=subscribers,
            processes=len(functions) + 1,
            scope=scope,
            credentials=credentials,
        )
        for f in (*functions, http_spec)
    )
    for region in sorted(set(move_regions.values())):
        moving = tuple(sorted(r for r, where in move_regions.items() if where == region))
        lambdas += (
            migration_function(
                plan,
                bindings,
                moving,
                stack_region=placed.stack,
                env_name=context.env,
                wiring_env=wiring_env,
                outputs=outputs,
                region=region,
                network=connected.get(region),
                indexed=indexed,
                credentials=tuple(
                    server_ref(s.id)
                    for s in wiring.servers
                    if s.implementation == "postgres" and set(moving) & set(s.holds)
                ),
                location=http_spec.location,
            ),
        )
    stack = AwsStack(
        app=plan.app,
        prefix=physical_name(base, "", max_length=40) or "skaal",
        region=placed.stack,
        regions=tuple(sorted({*placed.all, *(b.region for b in kept)})),
        plan_hash=plan.content_hash(),
        log_retention_days=_log_retention(plan),
        tables=tables,
        buckets=buckets,
        queues=tuple(
            _queue(b, specs[b.resource], base, wiring, consumers.get(b.resource))
            for b in by_impl.get("sqs", [])
        ),
        topics=topics,
        secrets=tuple(
            Secret(
                resource=b.resource,
                name=wiring.resource(b.resource).physical_name,
                description=f"secret {b.resource} of the Skaal app {plan.app}",
                region=b.region,
            )
            for b in by_impl.get("secrets-manager", [])
        ),
        networks=networks,
        databases=databases(plan, wiring, specs, placed),
        adopted_databases=adopted_databases(plan, wiring, specs, placed),
        caches=caches(plan, wiring, specs, placed),
        functions=tuple(_traced(f) for f in lambdas) if context.traces else lambdas,
        overrides=(
            Overrides(
                module=OVERRIDES_FILE,
                resources=tuple(sorted(s.name for s in blueprint.resources)),
            )
            if context.overrides is not None
            else None
        ),
    )
    return laid_out(stack)  # each role's statements within IAM's policy size quotas


def _traced(function: Function) -> Function:
    """``function`` exporting its traces to X-Ray (:mod:`skaal.builder.traces`)."""
    env = function.env | aws_trace_env(function.lambda_name)
    return function.model_copy(
        update={
            "env": dict(sorted(env.items())),
            "statements": (*function.statements, XRAY_STATEMENT),
            "traces": Traces(layer=adot_layer_arn(function.region)),
        }
    )


def _reached_outputs(
    outputs: Mapping[str, OutputRef],
    opened: frozenset[str],
    hosting: Mapping[str, frozenset[str]],
) -> dict[str, OutputRef]:
    """The variables of ``outputs`` a function opening ``opened`` reads: its buckets' names,
    its topics' ARNs and the connection of each server holding one of them (``hosting``:
    server reference -> the resources it holds).  Lambda holds 4 KB of environment in
    all: an app of 150 buckets gave each of its functions 8 KB of bucket names."""
    return {
        variable: ref
        for variable, ref in outputs.items()
        if ref.ref in opened or not opened.isdisjoint(hosting.get(ref.ref, ()))
    }


def _outputs(
    buckets: tuple[Bucket, ...], topics: tuple[Topic, ...], wiring: Wiring
) -> dict[str, OutputRef]:
    """Variable -> the created resource's output it holds (filled in by the program).

    A bucket's real name (the provider completes its prefix with a unique
    suffix), each server's connection URL (no password in it), the URL of its
    read replicas when the plan gives it some, and, for a PostgreSQL server,
    the ARN of the secret holding its credentials.
    """
    out = {b.env: OutputRef(ref=b.resource, attr="bucket") for b in buckets}
    for topic in topics:
        # the runtime publishes to this ARN (finding a topic by name needs ListTopics)
        out[resource_env(topic.resource, "ARN")] = OutputRef(ref=topic.resource, attr="arn")
    for server in wiring.servers:
        ref = server_ref(server.id)
        out[server.env] = OutputRef(ref=ref, attr="url")
        if server.read_env:
            out[server.read_env] = OutputRef(ref=ref, attr="read_url")
        if server.implementation == "postgres":
            out[credentials_env(server.env)] = OutputRef(ref=ref, attr="secret_arn")
    return dict(sorted(out.items()))


#: Trigger field -> (how to say it, the source's kind).
_TRIGGERS: dict[str, tuple[str, Kind]] = {
    "consumes": ("consumes queue", "queue"),
    "subscribes": ("subscribes to topic", "topic"),
}


def _check_triggers(resources: tuple[ResourceSpec, ...], plan: Plan) -> None:
    """Refuse a consumer or subscriber whose queue or topic no Lambda trigger can read.

    An SQS event source mapping starts a consumer, an SNS subscription (to an
    SQS queue) a subscriber (the ``lambda`` record's ``triggered_by``); a
    queue or topic the plan put on a server (PostgreSQL, Redis) has neither,
    so the function would never run.
    """
    for function in resources:
        for field, (verb, kind) in _TRIGGERS.items():
            source = getattr(function, field)
            if source is None:
                continue
            bound = plan.binding(source)
            allowed = DEFAULT_REGISTRY.triggers("lambda", kind)
            if allowed is None or bound.implementation in allowed:
                continue
            implementation = " or ".join(sorted(allowed))
            raise BuildError(
                f"{function.name} {verb} {source}, which the plan puts on "
                f"{bound.backend} ({bound.implementation}); on aws a function is triggered "
                f"only by an {implementation.upper()} {kind}",
                where=f"{function.name} ({function.location})",
                fix=f"pin {source} to {implementation} (backend=... on its declaration, or "
                f"--pin {source}=<an {implementation} backend>), then run skaal plan again",
                command=f"skaal plan --target aws --explain {source}",
            )


def _arn_of(spec: ResourceSpec) -> str | None:
    """The ARN ``existing=`` gives, ``None`` for a plain name (the program adds the account)."""
    existing = spec.existing
    return existing if existing is not None and existing.startswith("arn:") else None


def _table(binding: Binding, spec: ResourceSpec, wiring: Wiring) -> Table:
    is_map = spec.kind == "map"
    return Table(
        resource=binding.resource,
        name=wiring.resource(binding.resource).physical_name,
        region=binding.region,
        range_key="sk" if is_map else None,
        ttl_attribute="exp",  # the runtime's expiry of map entries and documents
        indexes=tuple(
            Index(name=f"by_{field}", hash_key=f"x_{field}")
            for field in sorted(spec.indexes)
            if not is_map
        ),
        durable=durable(spec),
        capacity=_capacity(binding),
        pitr_days=binding.backup.retention_days if binding.backup else None,
        existing=binding.adopted,
    )


def _capacity(binding: Binding) -> Capacity | None:
    """Provisioned capacity and its autoscaling range, ``None`` for on-demand.

    The plan's figures are the floor (what the price assumes); autoscaling
    tracks the plan's target utilisation and may add up to as much again
    for a burst above the declared rate (so a table costs at most twice its
    planned capacity line).
    """
    capacity = table_capacity(binding)
    if capacity is None:
        return None
    return Capacity(
        reads=capacity.reads_per_s,
        writes=capacity.writes_per_s,
        max_reads=2 * capacity.reads_per_s,
        max_writes=2 * capacity.writes_per_s,
        target_percent=capacity.target_percent,
    )


def _bucket(binding: Binding, spec: ResourceSpec, wiring: Wiring) -> Bucket:
    """A bucket named by the provider from ``prefix`` plus a unique suffix.

    Bucket names are global: a fixed one can be guessed and taken by another
    account first.  The program passes ``prefix`` as S3's ``bucket_prefix``
    and gives the functions the real name in ``env``
    (:func:`skaal.plan.wiring.resource_env`), which the runtime's S3 backend reads.
    ``existing``: the name of the bucket it adopts, which the program reads
    instead of creating one.
    """
    ttl = spec.requirements.ttl_s
    base = wiring.resource(binding.resource).physical_name
    versions = binding.retention.versions_days if binding.retention else None
    return Bucket(
        resource=binding.resource,
        prefix=base[: BUCKET_PREFIX_LENGTH - 1].rstrip("-") + "-",
        env=resource_env(binding.resource),
        region=binding.region,
        durable=durable(spec),
        versioned=versions is not None,
        keep_versions_days=versions,
        expire_days=math.ceil(ttl / 86400) if ttl else None,
        existing=binding.adopted,
    )


def _queue(
    binding: Binding,
    spec: ResourceSpec,
    app: str,
    wiring: Wiring,
    consumer: ResourceSpec | None,
) -> Queue:
    fifo = binding.backend.endswith("fifo")
    suffix = ".fifo" if fifo else ""
    timeout = _timeout(consumer) if consumer is not None else _DEFAULT_TIMEOUT_S
    kept = binding.retention
    if kept is None or kept.messages_s is None or kept.dead_letters_s is None:
        raise BuildError(
            f"the plan gives queue {binding.resource} no message retention",
            where=f"{binding.resource} in {app}'s plan",
            fix="re-plan with this version of Skaal, which records every queue's retention",
            command="skaal plan --target aws",
        )
    return Queue(
        resource=binding.resource,
        name=wiring.resource(binding.resource).physical_name + suffix,
        dlq_name=binding_name(app, binding, suffix="dlq") + suffix,
        region=binding.region,
        fifo=fifo,
        max_receive_count=spec.requirements.max_attempts or 5,
        # AWS wants at least the consumer's timeout; six times leaves room for retries
        visibility_timeout_s=min(43200, max(30, 6 * timeout)),
        retention_s=kept.messages_s,
        dlq_retention_s=kept.dead_letters_s,
        durable=durable(spec),
        existing=binding.adopted,
        existing_url=_queue_url(spec),
    )


def _queue_url(spec: ResourceSpec) -> str | None:
    """The URL of the queue ``existing=`` names by ARN or URL; ``None`` for a plain name."""
    existing = spec.existing
    if existing is None or not existing.startswith(("arn:", "https:")):
        return None
    if existing.startswith("https:"):
        return existing
    _, partition, _, region, account, name = existing.split(":")
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


def _log_retention(plan: Plan) -> int:
    """How long every function's log group keeps its logs: the plan says."""
    if plan.log_retention_days is None:
        raise BuildError(
            "the plan records no log retention for the functions",
            where=f"{plan.app}'s plan",
            fix="re-plan with this version of Skaal, which records it",
            command="skaal plan --target aws",
        )
    return plan.log_retention_days


def _timeout(function: ResourceSpec) -> int:
    declared = function.requirements.timeout_s
    return int(min(900, math.ceil(declared))) if declared else _DEFAULT_TIMEOUT_S


def _route(function: ResourceSpec, *, http_default: bool) -> str | None:
    """The HTTP API route to ``function``, if the API routes to it."""
    if http_default:
        return "$default"
    if function.routed:
        return f"ANY /fn/{function.name}"
    return None


def _function(
    function: ResourceSpec,
    bindings: list[Binding],
    app: str,
    wiring_env: dict[str, str],
    outputs: dict[str, OutputRef],
    *,
    hosting: Mapping[str, frozenset[str]],
    region: str,
    network: str | None,
    http_default: bool,
    unreachable: frozenset[str] = frozenset(),
    indexed: frozenset[str],
    subscribers: tuple[tuple[str, str], ...],
    processes: int,
    scope: SecretScope,
    credentials: tuple[str, ...],
) -> Function:
    lambda_name = physical_name(app, function.name.strip("_"), max_length=64)
    memory = function.requirements.memory_gb
    timeout = _timeout(function)
    route = _route(function, http_default=http_default)
    if route is not None:
        timeout = min(timeout, _HTTP_TIMEOUT_S)
    schedule = None
    if function.schedule is not None:
        converted = aws_schedule(function.schedule, where=f"{function.name} ({function.location})")
        schedule = Schedule(
            timezone=converted.timezone,
            entries=tuple(
                ScheduleEntry(
                    name=physical_name(
                        app, function.name if i == 0 else f"{function.name}-{i + 1}", max_length=64
                    ),
                    expression=expression,
                )
                for i, expression in enumerate(converted.expressions)
            ),
        )
    subscription = None
    if function.subscribes is not None:
        subscription = Subscription(
            # the queue the sns backend subscribes for this subscriber
            name=runtime_name(
                app, function.subscribes, service="sqs", suffix=f"sub-{function.name}"
            ),
            topic=function.subscribes,
            visibility_timeout_s=min(43200, max(30, 6 * timeout)),
        )
    env = dict(wiring_env)
    env["SKAAL_FUNCTION"] = function.name
    env[PROCESSES_ENV] = str(processes)
    env[READABLE_SECRETS_ENV] = ",".join(scope.readable(function.name))
    state = sorted({b.resource for b in bindings if b.kind in OPENED_KINDS})
    if not http_default:
        env[USED_RESOURCES_ENV] = used_value(reached(function), function=function, state=state)
        outputs = _reached_outputs(outputs, frozenset(reached(function)), hosting)
    elif unreachable:  # servers of other regions: open every other resource, not those
        opened = sorted({b.resource for b in bindings if b.resource not in unreachable})
        env[USED_RESOURCES_ENV] = used_value(opened, function=None, state=state)
    return Function(
        id=lambda_name,
        name=function.name,
        lambda_name=lambda_name,
        role_name=physical_name(app, function.name.strip("_") + "-role", max_length=64),
        region=region,
        memory_mb=max(128, min(10240, round(memory * 1024))) if memory else _DEFAULT_MEMORY_MB,
        timeout_s=timeout,
        route=route,
        consumes=function.consumes,
        subscription=subscription,
        schedule=schedule,
        env=dict(sorted(env.items())),
        outputs=outputs,
        vpc=network is not None,
        network=network,
        statements=function_statements(
            function,
            bindings,
            vpc=network is not None,
            network=network or "network",
            indexed=indexed,
            subscribers=subscribers,
            secrets=scope.readable(function.name),
            credentials=credentials,
            app_wide=http_default,
        ),
    )
