"""The gcp stack model of a plan: what :mod:`skaal.programs.gcp` creates.

:func:`gcp_stack` computes the :class:`~skaal.builder.stacks.gcp.GcpStack`
the build writes as ``infra/stack.json``.  Every regional resource is
created in its planned region (:mod:`skaal.builder.regions` says which and
refuses what one stack cannot wire across regions).  What the stack holds,
resource by resource (names from :mod:`skaal.plan.wiring`, so the app reads
exactly what is created):

* **Service accounts**: one per declared function (its Cloud Run
  service's identity), ``runtime`` (the ``web`` service's), ``invoker``
  (what Cloud Scheduler and Pub/Sub push call with, when a function is
  scheduled or consumes) and ``gateway`` (what the API Gateway calls with).
  Each function's identity gets the data roles of the resources that
  function uses (:func:`skaal.plan.wiring.reached`: ``ResourceSpec.uses``
  and its trigger) and no other, named in its service's
  ``SKAAL_USED_RESOURCES`` so its runtime opens only those: buckets and
  Pub/Sub topics and subscriptions per resource, Firestore per database
  (Google grants no role per collection, so an identity using any
  Firestore resource may reach them all), a Cloud SQL instance (client
  role, socket and URL secret) or a Memorystore instance (its address and
  the VPC connector) only when it hosts a resource the function uses.
  ``web`` serves the docs and the mounted apps: it reaches nothing, or
  every resource when the app mounts other ASGI apps, whose use cannot be
  read.  A declared secret is granted to -- and injected into -- only the
  services whose functions may read it
  (:class:`skaal.plan.wiring.SecretScope`: the functions declaring it in
  ``secrets=[...]``, or every service for an app-wide secret), and each
  service's ``SKAAL_READABLE_SECRETS`` names them for the runtime.  Every
  role is granted on one resource (bucket, secret, topic, subscription,
  service) or, where Google only offers project-level bindings (Firestore,
  Cloud SQL), with an IAM condition naming that one database or instance.
  No basic role (owner/editor/viewer) is ever granted.
* **Cloud Run**: one private service per declared function
  (``SKAAL_CLOUD_RUN_ROLE=function``, ``SKAAL_CLOUD_RUN_FUNCTION`` naming
  it), sized by that function's memory and timeout, and ``web`` for the
  docs and mounted apps.  Only ``gateway`` may invoke ``web`` and the HTTP
  functions' services; only ``invoker`` the scheduled functions',
  consumers' and subscribers'.  All run the same image (stack config
  ``skaal:image``).
* **API Gateway** (:mod:`~skaal.builder.targets.gcp_gateway`): the app's
  public address (stack output ``url``), routing ``/fn/<name>`` to each
  function's service and the rest to ``web``.
* **Cloud Scheduler** jobs POST to ``/_skaal/schedule/<function>`` on the
  function's service with an OIDC token, with the declared cron and time zone.
* **Pub/Sub**: per queue a topic, a delayed-messages topic and a
  dead-letter topic, each with one subscription of its name (see
  :mod:`~skaal.builder.targets.gcp_messaging`); the first two push to the
  consumer (``/_skaal/push/<function>``, ``/_skaal/promote/<function>``) or
  are pulled by the runtime when nothing consumes the queue; a topic per
  ``topic`` resource with one push subscription per subscriber.
* **Firestore**, **Cloud Storage** and **Secret Manager**: see
  :mod:`~skaal.builder.targets.gcp_state`.
* **Cloud SQL** (PostgreSQL, per shared instance): reached through the Cloud
  Run Cloud SQL connection (a unix socket); its URL is stored in a secret.
* **Memorystore** (Redis, per shared instance): reached through the
  Serverless VPC Access connector of its region on the network
  ``skaal:network`` (default ``default``); see
  :mod:`~skaal.builder.targets.gcp_servers`.
* **Pending moves** (:mod:`~skaal.builder.targets.gcp_moves`): both ends,
  and the migration runner (account and service ``migrate``), whose URL is
  the stack output ``migrationUrl``.

The program protects and retains the stateful resources unless the stack
config ``skaal:deleteData`` is ``true`` (see :mod:`skaal.deploy.destroy`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from skaal.blueprint.model import Blueprint, ResourceSpec, ScheduleSpec
from skaal.builder.regions import check_gcp
from skaal.builder.stacks.gcp import (
    Account,
    AdoptedQueue,
    Bucket,
    DeclaredSecret,
    Env,
    EnvProject,
    EnvValue,
    FirestoreDatabase,
    GcpStack,
    ProjectGrant,
    SchedulerJob,
    Service,
    Subscription,
    Topic,
)
from skaal.builder.targets.gcp_basis import (
    CLOUD_RUN_FUNCTION_ENV,
    CLOUD_RUN_ROLE_ENV,
    GATEWAY_ACCOUNT,
    GCP_PROJECT_ENV,
    INVOKER_ACCOUNT,
    MIGRATION_ACCOUNT,
    RUNTIME_ACCOUNT,
    SCHEDULE_PATH,
    Basis,
    Identity,
    physical_name,
    seconds,
)
from skaal.builder.targets.gcp_gateway import gateway
from skaal.builder.targets.gcp_messaging import adopted_queue, queue, topic
from skaal.builder.targets.gcp_moves import runner_account, runner_service
from skaal.builder.targets.gcp_servers import servers
from skaal.builder.targets.gcp_state import bucket, firestore, secret
from skaal.builder.traces import GCP_TRACE_ROLE, gcp_trace_env
from skaal.errors import BuildError
from skaal.plan.model import Plan
from skaal.plan.wiring import PROCESSES_ENV, READABLE_SECRETS_ENV, USED_RESOURCES_ENV
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["MAX_INSTANCES", "gcp_stack", "scheduler_cron"]

MAX_INSTANCES = 100
"""Instances each Cloud Run service may scale to (Cloud Run's default, set explicitly):
the processes among which each server's connections are divided."""


def scheduler_cron(schedule: ScheduleSpec, *, where: str) -> str:
    """A Cloud Scheduler (unix cron) expression for ``schedule``; ``BuildError`` if none fits."""
    if schedule.cron is not None:
        return schedule.cron
    every = schedule.every_s or 0.0
    minutes, rest_s = divmod(every, 60)
    if rest_s == 0 and 1 <= minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{int(minutes)} * * * *"
    hours, rest = divmod(every, 3600)
    if rest == 0 and 1 <= hours < 24 and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else f"0 */{int(hours)} * * *"
    if every == 86400:
        return "0 0 * * *"
    raise BuildError(
        f"Cloud Scheduler cannot run a job every {every:g} s (cron has minute resolution "
        "and fixed steps)",
        where=where,
        fix="use Every('5m'), Every('2h'), Every('1d') (a divisor of the hour or day) "
        "or a Cron(...) expression",
    )


def gcp_stack(
    blueprint: Blueprint,
    plan: Plan,
    *,
    env: str = "",
    config: tuple[tuple[str, str], ...] = (),
    overrides: bool = False,
    traces: bool = False,
    existing: Mapping[str, str] = MappingProxyType({}),
) -> GcpStack:
    """The stack model of ``plan`` on Google Cloud (in environment ``env``, with its
    ``config`` variables).

    ``overrides``: the program installs the hooks of ``skaal_overrides.py``
    beside it (:mod:`skaal.overrides`) before creating anything; ``traces``:
    every service exports its spans to Cloud Trace, its account holding
    ``roles/cloudtrace.agent`` (:mod:`skaal.builder.traces`); ``existing``: the
    configuration's adoptions (:attr:`~skaal.builder.model.BuildContext.existing`).
    """
    basis = Basis(blueprint, plan, env, config)
    _check(basis)
    # a pending move's origin is provisioned as before the move until the switch
    bindings = sorted((*plan.bindings, *basis.kept), key=lambda b: (b.resource, b.implementation))
    databases: tuple[FirestoreDatabase, ...] = ()
    firestore_bindings = [b for b in bindings if b.implementation == "firestore"]
    if firestore_bindings:
        databases = firestore(basis, firestore_bindings)
    buckets: list[Bucket] = []
    secrets: list[DeclaredSecret] = []
    topics: list[Topic] = []
    subscriptions: list[Subscription] = []
    adopted_queues: list[AdoptedQueue] = []
    for b in bindings:
        match b.implementation:
            case "gcs":
                buckets.append(bucket(basis, b))
            case "pubsub" if b.kind == "queue" and b.adopted is not None:
                (made, subs), adopted = adopted_queue(basis, b)
                topics += made
                subscriptions += subs
                adopted_queues.append(adopted)
            case "pubsub":
                made, subs = queue(basis, b) if b.kind == "queue" else topic(basis, b)
                topics += made
                subscriptions += subs
            case "secret-manager":
                secrets.append(secret(basis, b))
            case _:
                pass
    specs = {
        s.name: s.model_copy(update={"existing": existing[s.name]}) if s.name in existing else s
        for s in blueprint.resources
    }
    connectors, sql, redis, adopted_sql = servers(basis, bindings, specs)
    return GcpStack(
        app=plan.app,
        plan_hash=plan.content_hash(),
        region=basis.regions.stack,
        overrides=tuple(sorted(s.name for s in blueprint.resources)) if overrides else None,
        accounts=_accounts(basis),
        firestore=databases,
        buckets=tuple(buckets),
        secrets=tuple(secrets),
        topics=tuple(topics),
        subscriptions=tuple(subscriptions),
        adopted_queues=tuple(adopted_queues),
        connectors=connectors,
        cloud_sql=sql,
        adopted_cloud_sql=adopted_sql,
        memorystore=redis,
        services=_services(basis, traces=traces),
        gateway=gateway(basis),
        schedules=_schedules(basis),
        migration_runner=MIGRATION_ACCOUNT if basis.moving else None,
    )


def _check(basis: Basis) -> None:
    """Refuse a binding the gcp target cannot build, and what cannot cross regions."""
    for b in sorted(basis.plan.bindings, key=lambda b: b.resource):
        reason = DEFAULT_REGISTRY.check(b.implementation, b.kind, "gcp")
        if reason is None:
            continue
        raise BuildError(
            f"the gcp target cannot build {b.resource}: {reason}",
            where=f"resource {b.resource} (backend {b.backend})",
            fix="re-plan against the gcp catalog",
            command="skaal plan --target gcp",
        )
    check_gcp(
        basis.regions,
        basis.fns.all,
        tuple(
            s for s in basis.wiring.servers if DEFAULT_REGISTRY.network(s.implementation, "gcp").vpc
        ),
        mounted=bool(basis.fns.mounts),
    )


def _account_id(app: str, role: str) -> str:
    name = physical_name(app, role, max_length=30)
    if not name[:1].isalpha():
        name = physical_name("s", name, max_length=30)
    return name if len(name) >= 6 else f"{name}-skaal"


def _accounts(basis: Basis) -> tuple[Account, ...]:
    app = basis.name_base
    accounts = [
        Account(
            key=RUNTIME_ACCOUNT,
            account_id=_account_id(app, "run"),
            display_name=f"{app}: Cloud Run runtime (skaal)",
        )
    ]
    for identity in basis.identities()[1:]:
        if identity.runner:
            accounts.append(runner_account(basis, _account_id(app, "migrate")))
            continue
        accounts.append(
            Account(
                key=identity.account,
                account_id=_account_id(app, f"fn-{identity.function}"),
                display_name=f"{app}: function {identity.function} (skaal)",
            )
        )
    if basis.has_triggered:
        accounts.append(
            Account(
                key=INVOKER_ACCOUNT,
                account_id=_account_id(app, "invoke"),
                display_name=f"{app}: scheduler and push invoker (skaal)",
            )
        )
    if basis.has_gateway:
        accounts.append(
            Account(
                key=GATEWAY_ACCOUNT,
                account_id=_account_id(app, "gateway"),
                display_name=f"{app}: API Gateway to its services (skaal)",
            )
        )
    return tuple(accounts)


def _services(basis: Basis, *, traces: bool) -> tuple[Service, ...]:
    serving = basis.serving()
    processes = len(serving) * MAX_INSTANCES
    by_name = {f.name: f for f in basis.fns.all}
    made = []
    for identity in serving:
        if identity.runner:
            made.append(runner_service(basis, identity, processes=processes))
            continue
        readable = basis.readable(identity)
        env: list[Env] = [
            *(EnvValue(name=k, value=v) for k, v in basis.wiring.env().items()),
            EnvProject(name=GCP_PROJECT_ENV),
            EnvValue(name=PROCESSES_ENV, value=str(processes)),
            EnvValue(name=READABLE_SECRETS_ENV, value=",".join(readable)),
            *(
                ()
                if identity.reaches is None
                else (EnvValue(name=USED_RESOURCES_ENV, value=",".join(sorted(identity.reaches))),)
            ),
            *(entry for resources, entry in basis.env if basis.reaches(identity, resources)),
            *(basis.secret_env[name] for name in readable if name in basis.secret_env),
            EnvValue(name=CLOUD_RUN_ROLE_ENV, value=identity.role),
        ]
        fn = by_name[identity.function] if identity.function is not None else None
        trace = None
        if traces:
            name = _service_name(basis, identity)
            env += [EnvValue(name=k, value=v) for k, v in gcp_trace_env(name).items()]
            trace = ProjectGrant(
                name="trace-agent" + identity.suffix, role=GCP_TRACE_ROLE, member=identity.account
            )
        if fn is not None:
            env.append(EnvValue(name=CLOUD_RUN_FUNCTION_ENV, value=fn.name))
        invoker = GATEWAY_ACCOUNT if fn is None or fn.name in basis.http else INVOKER_ACCOUNT
        made.append(_service(basis, identity, fn, tuple(env), invoker=invoker, trace=trace))
    return tuple(made)


def _service_name(basis: Basis, identity: Identity) -> str:
    """The name of ``identity``'s Cloud Run service."""
    name = "web" if identity.function is None else f"fn-{identity.function}"
    return physical_name(basis.name_base, name, max_length=49)


def _service(
    basis: Basis,
    identity: Identity,
    fn: ResourceSpec | None,
    env: tuple[Env, ...],
    *,
    invoker: str,
    trace: ProjectGrant | None,
) -> Service:
    """``identity``'s private Cloud Run service, sized by ``fn`` (``None``: ``web``'s
    defaults); only ``invoker`` may call it."""
    timeout = (fn and fn.requirements.timeout_s) or 60.0
    memory = (fn and fn.requirements.memory_gb) or 0.5
    mebibytes = max(512, math.ceil(memory * 1000**3 / 1024**2))
    cpu = next(
        c for limit, c in ((4, 1), (8, 2), (16, 4), (32, 8), (math.inf, 8)) if memory <= limit
    )
    # a function's service runs in its planned region; web in the stack's
    region = basis.regions.region(fn.name) if fn else basis.regions.stack
    connector = basis.vpc.get(region)
    if connector is not None and not basis.reaches(identity, basis.vpc_resources[region]):
        connector = None  # check_gcp: what it reaches is in its own region
    return Service(
        key=identity.service,
        name=_service_name(basis, identity),
        location=region,
        account=identity.account,
        invoker=invoker,
        env=env,
        cpu=str(cpu),
        memory=f"{mebibytes}Mi",
        timeout=seconds(min(timeout, 3600)),
        max_instances=MAX_INSTANCES,
        sql_instances=tuple(
            key for resources, key in basis.sockets if basis.reaches(identity, resources)
        ),
        connector=connector,
        trace_grant=trace,
    )


def _schedules(basis: Basis) -> tuple[SchedulerJob, ...]:
    jobs = []
    for fn in basis.fns.schedules:
        assert fn.schedule is not None
        timeout = fn.requirements.timeout_s or 180.0
        jobs.append(
            SchedulerJob(
                name=f"{fn.name}-schedule",
                job=physical_name(basis.name_base, fn.name, max_length=100),
                region=basis.regions.stack,
                schedule=scheduler_cron(fn.schedule, where=str(fn.location)),
                time_zone=fn.schedule.timezone,
                attempt_deadline=seconds(min(1800, max(15, timeout))),
                service=basis.service_vars[fn.name],
                path=SCHEDULE_PATH + fn.name,
                invoker=INVOKER_ACCOUNT,
            )
        )
    return tuple(jobs)
