"""The gcp Pulumi program (``__main__.py``), generated from a plan.

Every regional resource is created in its planned region (``REGION``, the
stack's, or the region's name; :mod:`skaal.builder.regions` says which and
refuses what one stack cannot wire across regions).  What the program
creates, resource by resource (names from
:mod:`skaal.plan.wiring`, so the app reads exactly what is created):

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
* **Firestore**: the project's ``(default)`` Native-mode database, and one
  database per other location the plan puts Firestore resources in (named in
  the services' ``SKAAL_FIRESTORE_DATABASES``, where the runtime's client
  finds the database of each resource's location), point-in-time recovery on when the plan backs
  its collections up (:mod:`skaal.plan.retention`), a composite index
  ``(x.<field>, k)`` for every declared ``Index`` (the runtime's queries
  filter on the first and page on the second) and a TTL policy on ``exp``
  for every Map collection.
* **Cloud Storage**: a bucket per blob store, uniform access, public access
  prevention enforced, versioning with previous versions kept as long as the
  plan's :class:`~skaal.plan.model.Retention` says (none: not versioned); its
  name ends with 8 hex digits of the hash of
  the runtime service account's unique id (assigned by Google when the
  account is created), so it cannot be guessed and claimed before the
  deploy, and the services get the real name in ``SKAAL_<RESOURCE>_NAME``.
  A bucket adopted with ``existing=`` is read with ``Bucket.get`` instead:
  never created, changed or deleted; its services are granted access to it.
* **Secret Manager**: a secret per declared secret, its value from the
  secret stack config ``skaal:<NAME>``; injected as the env var ``NAME``.
* **Cloud SQL** (PostgreSQL, per shared instance): reached through the Cloud
  Run Cloud SQL connection (a unix socket); its URL is stored in a secret.
* **Memorystore** (Redis, per shared instance): reached through a Serverless
  VPC Access connector on the network ``skaal:network`` (default
  ``default``).

Stateful resources take ``STATEFUL`` options (``protect`` and
``retain_on_delete``) unless the stack config ``skaal:deleteData`` is
``true`` (see :mod:`skaal.deploy.destroy`).
"""

from __future__ import annotations

import math

from skaal.blueprint.model import Blueprint, ResourceSpec, ScheduleSpec
from skaal.builder.regions import check_gcp
from skaal.builder.targets.gcp_code import Code, call
from skaal.builder.targets.gcp_gateway import Gateway
from skaal.builder.targets.gcp_messaging import Messaging
from skaal.builder.targets.gcp_servers import Servers
from skaal.builder.targets.gcp_writer import (
    CLOUD_RUN_FUNCTION_ENV,
    CLOUD_RUN_ROLE_ENV,
    FIRESTORE_DATABASE,
    GCP_PROJECT_ENV,
    PROMOTE_PATH,
    PUSH_PATH,
    SCHEDULE_PATH,
    Identity,
    max_delivery_attempts,
    physical_name,
    seconds,
    secret_env,
)
from skaal.builder.traces import GCP_TRACE_ROLE, gcp_trace_env
from skaal.deploy.destroy import DELETE_DATA_CONFIG
from skaal.errors import BuildError
from skaal.overrides import OVERRIDES_FILE
from skaal.plan.model import Binding, Plan
from skaal.plan.wiring import (
    FIRESTORE_DATABASES_ENV,
    PROCESSES_ENV,
    READABLE_SECRETS_ENV,
    USED_RESOURCES_ENV,
    resource_env,
)
from skaal.registry import DEFAULT_REGISTRY

__all__ = [
    "CLOUD_RUN_FUNCTION_ENV",
    "CLOUD_RUN_ROLE_ENV",
    "FIRESTORE_DATABASE",
    "GCP_PROJECT_ENV",
    "PROMOTE_PATH",
    "PUSH_PATH",
    "SCHEDULE_PATH",
    "max_delivery_attempts",
    "render_program",
    "scheduler_cron",
]

FIRESTORE_TTL_FIELD = "exp"
"""The expiry field of a Map entry (:mod:`skaal.runtime.backends.gcp_firestore_values`)."""
_DELETE_DATA_KEY = DELETE_DATA_CONFIG.partition(":")[2]
BUCKET_BASE_LENGTH = 54
"""A bucket name's part before its 9-character unique suffix (63 in all)."""
MAX_INSTANCES = 100
"""Instances each Cloud Run service may scale to (Cloud Run's default, set explicitly):
the processes among which each server's connections are divided."""


def scheduler_cron(schedule: ScheduleSpec, *, where: str) -> str:
    """A Cloud Scheduler (unix cron) expression for ``schedule``; ``BuildError`` if none fits."""
    if schedule.cron is not None:
        return schedule.cron
    every = schedule.every_s or 0.0
    minutes, seconds = divmod(every, 60)
    if seconds == 0 and 1 <= minutes < 60 and 60 % minutes == 0:
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


def _account_id(app: str, role: str) -> str:
    name = physical_name(app, role, max_length=30)
    if not name[:1].isalpha():
        name = physical_name("s", name, max_length=30)
    return name if len(name) >= 6 else f"{name}-skaal"


class _Program(Messaging, Servers, Gateway):
    """The whole program: identities, state, services, schedules."""

    # -- sections ----------------------------------------------------------------
    def header(self) -> None:
        plan = self.plan
        region = self.regions.stack
        self.add(
            f'"""Google Cloud stack of {plan.app!r}, generated by `skaal build --target gcp`.\n\n'
            f"Plan {plan.content_hash()[:12]} (catalog {plan.catalog!r}, region {region}).\n"
            "Do not edit: change the declarations, then run `skaal plan` and `skaal build`.\n\n"
            "Stack config: gcp:project (required), skaal:image (the container image built\n"
            "from the Dockerfile, required), one secret value per declared secret\n"
            "(pulumi config set --secret skaal:NAME ...), skaal:databasePassword (secret,\n"
            "when Cloud SQL is used), skaal:network (VPC for Memorystore, default\n"
            f"'default') and skaal:{_DELETE_DATA_KEY} (true only to destroy stateful data).\n"
            '"""\n\n'
            + (
                "import base64\nimport hashlib\nimport json\n\n"
                if self.has_gateway
                else "import hashlib\n\n"
            )
            + "import pulumi\n"
            "import pulumi_gcp as gcp\n\n"
            + self.overrides_block()
            + 'config = pulumi.Config("skaal")\n'
            'PROJECT = pulumi.Config("gcp").require("project")\n'
            f"REGION = {region!r}\n"
            'IMAGE = config.require("image")\n'
            f'DELETE_DATA = config.get_bool("{_DELETE_DATA_KEY}") or False\n'
            "STATEFUL = pulumi.ResourceOptions(protect=not DELETE_DATA, "
            "retain_on_delete=not DELETE_DATA)\n\n\n"
            "def suffixed(base, seed):\n"
            '    """``base`` and 8 hex digits of ``seed`` (an id Google assigns at creation)."""\n'
            '    return f"{base}-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"\n'
        )

    def overrides_block(self) -> str:
        """Install the project's hooks (:mod:`skaal.overrides`) before any resource."""
        if not self.overrides:
            return ""
        names = sorted(s.name for s in self.blueprint.resources)
        return (
            "from pathlib import Path\n\n"
            "from skaal.overrides import install\n\n"
            f"install(Path(__file__).resolve().parent / {OVERRIDES_FILE!r}, {names!r})\n\n"
        )

    def accounts(self) -> None:
        self.section("identities")
        app = self.name_base
        self.add(
            call(
                "runtime_account",
                "gcp.serviceaccount.Account",
                "runtime",
                {
                    "account_id": _account_id(app, "run"),
                    "display_name": f"{app}: Cloud Run runtime (skaal)",
                },
            )
        )
        self.add('RUNTIME = runtime_account.email.apply(lambda e: f"serviceAccount:{e}")\n')
        for identity in self.identities()[1:]:
            assert identity.function is not None
            self.add(
                call(
                    identity.var,
                    "gcp.serviceaccount.Account",
                    f"{identity.service}-runtime",
                    {
                        "account_id": _account_id(app, f"fn-{identity.function}"),
                        "display_name": f"{app}: function {identity.function} (skaal)",
                    },
                )
            )
            self.add(
                f"{identity.member} = {identity.var}.email.apply("
                'lambda e: f"serviceAccount:{e}")\n'
            )
        if self.has_triggered:
            self.add(
                call(
                    "invoker_account",
                    "gcp.serviceaccount.Account",
                    "invoker",
                    {
                        "account_id": _account_id(app, "invoke"),
                        "display_name": f"{app}: scheduler and push invoker (skaal)",
                    },
                )
            )
        if self.has_gateway:
            self.add(
                call(
                    "gateway_account",
                    "gcp.serviceaccount.Account",
                    "gateway",
                    {
                        "account_id": _account_id(app, "gateway"),
                        "display_name": f"{app}: API Gateway to its services (skaal)",
                    },
                )
            )

    def state(self) -> None:
        bindings = sorted(self.plan.bindings, key=lambda b: b.resource)
        for b in bindings:
            reason = DEFAULT_REGISTRY.check(b.implementation, b.kind, "gcp")
            if reason is None:
                continue
            raise BuildError(
                f"the gcp target cannot build {b.resource}: {reason}",
                where=f"resource {b.resource} (backend {b.backend})",
                fix="re-plan against the gcp catalog",
                command="skaal plan --target gcp",
            )
        firestore = [b for b in bindings if b.implementation == "firestore"]
        check_gcp(
            self.regions,
            self.fns.all,
            tuple(
                s
                for s in self.wiring.servers
                if DEFAULT_REGISTRY.network(s.implementation, "gcp").vpc
            ),
            mounted=bool(self.fns.mounts),
        )
        if firestore:
            self.firestore(firestore)
        for b in bindings:
            match b.implementation:
                case "gcs":
                    self.bucket(b)
                case "pubsub" if b.kind == "queue":
                    self.queue(b)
                case "pubsub":
                    self.topic(b)
                case "secret-manager":
                    self.secret(b)
                case _:
                    pass
        self.servers(bindings)

    def firestore(self, bindings: list[Binding]) -> None:
        """One Firestore database per location the plan puts Firestore resources in."""
        by_location: dict[str, list[Binding]] = {}
        for b in bindings:
            by_location.setdefault(b.region, []).append(b)
        # the stack's region (else the location of the most) keeps the (default) database
        main = min(
            by_location,
            key=lambda r: (r != self.regions.stack, -len(by_location[r]), r),
        )
        others: list[str] = []
        for location in sorted(by_location, key=lambda r: (r != main, r)):
            database = FIRESTORE_DATABASE if location == main else self.database_id(location)
            if location != main:
                others.append(f"{location}={database}")
            self.firestore_database(location, database, by_location[location])
        if others:
            self.share(
                {"name": FIRESTORE_DATABASES_ENV, "value": ",".join(others)},
                *(
                    b.resource
                    for location, bs in by_location.items()
                    if location != main
                    for b in bs
                ),
            )

    def database_id(self, location: str) -> str:
        """The id of the Firestore database of ``location`` beside the ``(default)`` one."""
        name = physical_name(self.name_base, location, max_length=63)
        return name if name[:1].isalpha() else physical_name("db", name, max_length=63)

    def firestore_database(self, location: str, db: str, bindings: list[Binding]) -> None:
        default = db == FIRESTORE_DATABASE
        var = "firestore_db" if default else f"firestore_db_{location.replace('-', '_')}"
        self.section("Firestore" if default else f"Firestore {location}")
        self.add(
            call(
                var,
                "gcp.firestore.Database",
                "firestore" if default else f"firestore-{location}",
                {
                    "name": db,
                    "location_id": Code(self.at(location)),
                    "type": "FIRESTORE_NATIVE",
                    "point_in_time_recovery_enablement": (
                        "POINT_IN_TIME_RECOVERY_ENABLED"
                        if any(b.backup is not None for b in bindings)
                        else "POINT_IN_TIME_RECOVERY_DISABLED"
                    ),
                    "delete_protection_state": Code(
                        '"DELETE_PROTECTION_DISABLED" if DELETE_DATA '
                        'else "DELETE_PROTECTION_ENABLED"'
                    ),
                    "deletion_policy": Code('"DELETE" if DELETE_DATA else "ABANDON"'),
                },
                opts="STATEFUL",
            )
        )
        self.conditional_grant(
            "firestore-user" if default else f"firestore-{location}-user",
            "roles/datastore.user",
            "only the default Firestore database" if default else f"only the {db} database",
            Code(f"f\"resource.name == 'projects/{{PROJECT}}/databases/{db}'\""),
            to=self.users(*(b.resource for b in bindings)),
        )
        for b in bindings:
            spec = self.blueprint.resource(b.resource)
            collection = self.wiring.resource(b.resource).physical_name
            for field in spec.indexes:
                # the runtime's find(): equality on x.<field>, range and order on k
                self.add(
                    call(
                        None,
                        "gcp.firestore.Index",
                        f"{b.resource}-index-{field}",
                        {
                            "database": Code(f"{var}.name"),
                            "collection": collection,
                            "query_scope": "COLLECTION",
                            "fields": [
                                {"field_path": f"x.{field}", "order": "ASCENDING"},
                                {"field_path": "k", "order": "ASCENDING"},
                            ],
                        },
                    )
                )
            # map entries and documents written with a TTL carry their expiry in exp;
            # the policy deletes them
            self.add(
                call(
                    None,
                    "gcp.firestore.Field",
                    f"{b.resource}-ttl",
                    {
                        "database": Code(f"{var}.name"),
                        "collection": collection,
                        "field": FIRESTORE_TTL_FIELD,
                        "ttl_config": {},
                        "index_config": {},
                    },
                )
            )

    def bucket(self, b: Binding) -> None:
        self.section(f"bucket {b.resource}")
        var = self.var(b.resource)
        if b.adopted is not None:
            # existing=: read into the stack, never created, changed or deleted
            self.add(call(var, "gcp.storage.Bucket.get", b.resource, {"id": b.adopted}))
        else:
            self.new_bucket(b, var)
        self.share({"name": resource_env(b.resource), "value": Code(f"{var}.name")}, b.resource)
        self.grant(
            f"{b.resource}-objects",
            "gcp.storage.BucketIAMMember",
            {"bucket": Code(f"{var}.name")},
            "roles/storage.objectAdmin",
            to=self.users(b.resource),
        )

    def new_bucket(self, b: Binding, var: str) -> None:
        spec = self.blueprint.resource(b.resource)
        base = self.wiring.resource(b.resource).physical_name[:BUCKET_BASE_LENGTH].rstrip("-")
        versions = b.retention.versions_days if b.retention else None
        versioned = versions is not None
        kwargs: dict[str, object] = {
            # a unique suffix, so the name cannot be guessed and taken before the deploy
            "name": Code(f"runtime_account.unique_id.apply(lambda u: suffixed({base!r}, u))"),
            "location": Code(
                "REGION.upper()" if b.region == self.regions.stack else repr(b.region.upper())
            ),
            "uniform_bucket_level_access": True,
            "public_access_prevention": "enforced",
            "force_destroy": Code("DELETE_DATA"),
            "versioning": {"enabled": versioned},
        }
        rules: list[object] = []
        if spec.requirements.ttl_s:
            days = max(1, math.ceil(spec.requirements.ttl_s / 86400))
            rules.append({"action": {"type": "Delete"}, "condition": {"age": days}})
        if versions is not None:
            # overwritten and deleted objects stay recoverable for this long
            rules.append(
                {
                    "action": {"type": "Delete"},
                    "condition": {"days_since_noncurrent_time": versions},
                }
            )
        if rules:
            kwargs["lifecycle_rules"] = rules
        self.add(call(var, "gcp.storage.Bucket", b.resource, kwargs, opts="STATEFUL"))

    def secret(self, b: Binding) -> None:
        self.section(f"secret {b.resource}")
        var = self.var(b.resource)
        self.add(
            call(
                var,
                "gcp.secretmanager.Secret",
                b.resource,
                {
                    "secret_id": self.wiring.resource(b.resource).physical_name,
                    "replication": {"auto": {}},
                },
                opts="STATEFUL",
            )
        )
        self.add(
            call(
                None,
                "gcp.secretmanager.SecretVersion",
                f"{b.resource}-value",
                {
                    "secret": Code(f"{var}.id"),
                    "secret_data": Code(f"config.require_secret({b.resource!r})"),
                },
            )
        )
        # only the services whose functions may read it (skaal.plan.wiring.SecretScope)
        self.grant(
            f"{b.resource}-access",
            "gcp.secretmanager.SecretIamMember",
            {"secret_id": Code(f"{var}.secret_id")},
            "roles/secretmanager.secretAccessor",
            to=self.readers(b.resource),
        )
        self.secret_env[b.resource] = secret_env(b.resource, f"{var}.secret_id")

    def services(self) -> None:
        serving = self.serving()
        processes = len(serving) * MAX_INSTANCES
        by_name = {f.name: f for f in self.fns.all}
        for identity in serving:
            readable = self.scope.readable(*identity.functions)
            env = [{"name": k, "value": v} for k, v in self.wiring.env().items()] + [
                {"name": GCP_PROJECT_ENV, "value": Code("PROJECT")},
                {"name": PROCESSES_ENV, "value": str(processes)},
                {"name": READABLE_SECRETS_ENV, "value": ",".join(readable)},
                *(
                    ()
                    if identity.reaches is None
                    else (
                        {"name": USED_RESOURCES_ENV, "value": ",".join(sorted(identity.reaches))},
                    )
                ),
                *(entry for resources, entry in self.env if self.reaches(identity, resources)),
                *(self.secret_env[name] for name in readable if name in self.secret_env),
                {"name": CLOUD_RUN_ROLE_ENV, "value": identity.role},
            ]
            if self.traces:
                self.trace(identity, env)
            if identity.function is None:
                self.service(identity, None, env, invoker="gateway_account")
                continue
            fn = by_name[identity.function]
            env.append({"name": CLOUD_RUN_FUNCTION_ENV, "value": fn.name})
            http = fn.name in self.http
            self.service(
                identity, fn, env, invoker="gateway_account" if http else "invoker_account"
            )

    def service_name(self, identity: Identity) -> str:
        """The name of ``identity``'s Cloud Run service."""
        name = "web" if identity.function is None else f"fn-{identity.function}"
        return physical_name(self.name_base, name, max_length=49)

    def trace(self, identity: Identity, env: list[object]) -> None:
        """``identity``'s service exports its spans to Cloud Trace: its variables and role."""
        env += [
            {"name": k, "value": v} for k, v in gcp_trace_env(self.service_name(identity)).items()
        ]
        self.add(
            call(
                None,
                "gcp.projects.IAMMember",
                "trace-agent" + identity.suffix,
                {
                    "project": Code("PROJECT"),
                    "role": GCP_TRACE_ROLE,
                    "member": Code(identity.member),
                },
            )
        )

    def service(
        self, identity: Identity, fn: ResourceSpec | None, env: list[object], *, invoker: str
    ) -> None:
        """``identity``'s private Cloud Run service, sized by ``fn`` (``None``: ``web``'s
        defaults); only ``invoker`` may call it."""
        var = identity.service
        self.section(f"Cloud Run: {identity.function or 'web'}")
        timeout = (fn and fn.requirements.timeout_s) or 60.0
        memory = (fn and fn.requirements.memory_gb) or 0.5
        mebibytes = max(512, math.ceil(memory * 1000**3 / 1024**2))
        cpu = next(
            c for limit, c in ((4, 1), (8, 2), (16, 4), (32, 8), (math.inf, 8)) if memory <= limit
        )
        container: dict[str, object] = {
            "image": Code("IMAGE"),
            "envs": env,
            "resources": {"limits": {"cpu": str(cpu), "memory": f"{mebibytes}Mi"}},
        }
        sockets = [code for resources, code in self.sockets if self.reaches(identity, resources)]
        if sockets:
            container["volume_mounts"] = [{"name": "cloudsql", "mount_path": "/cloudsql"}]
        template: dict[str, object] = {
            "service_account": Code(f"{identity.var}.email"),
            "scaling": {"max_instance_count": MAX_INSTANCES},
            "timeout": seconds(min(timeout, 3600)),
            "containers": [container],
        }
        if sockets:
            template["volumes"] = [
                {"name": "cloudsql", "cloud_sql_instance": {"instances": sockets}}
            ]
        # a function's service runs in its planned region; web in the stack's
        region = self.regions.region(fn.name) if fn else self.regions.stack
        connector = self.vpc.get(region)
        if connector is not None and self.reaches(identity, self.vpc_resources[region]):
            # the connector of its own region (check_gcp: what it reaches is there)
            template["vpc_access"] = {"connector": connector, "egress": "PRIVATE_RANGES_ONLY"}
        where = Code(self.at(region))
        self.add(
            call(
                var,
                "gcp.cloudrunv2.Service",
                var,
                {
                    "name": self.service_name(identity),
                    "location": where,
                    "ingress": "INGRESS_TRAFFIC_ALL",
                    "deletion_protection": False,
                    "template": template,
                },
            )
        )
        self.add(
            call(
                None,
                "gcp.cloudrunv2.ServiceIamMember",
                f"{var}-invoker",
                {
                    "name": Code(f"{var}.name"),
                    "location": Code(f"{var}.location"),
                    "role": "roles/run.invoker",
                    "member": Code(f'{invoker}.email.apply(lambda e: f"serviceAccount:{{e}}")'),
                },
            )
        )

    def schedules(self) -> None:
        for fn in self.fns.schedules:
            assert fn.schedule is not None
            self.section(f"schedule {fn.name}")
            service = self.service_vars[fn.name]
            timeout = fn.requirements.timeout_s or 180.0
            self.add(
                call(
                    None,
                    "gcp.cloudscheduler.Job",
                    f"{fn.name}-schedule",
                    {
                        "name": physical_name(self.name_base, fn.name, max_length=100),
                        "region": Code("REGION"),
                        "schedule": scheduler_cron(fn.schedule, where=str(fn.location)),
                        "time_zone": fn.schedule.timezone,
                        "attempt_deadline": seconds(min(1800, max(15, timeout))),
                        "retry_config": {"retry_count": 0},
                        "http_target": {
                            "uri": Code(
                                f'pulumi.Output.concat({service}.uri, "{SCHEDULE_PATH}{fn.name}")'
                            ),
                            "http_method": "POST",
                            "oidc_token": {
                                "service_account_email": Code("invoker_account.email"),
                                "audience": Code(f"{service}.uri"),
                            },
                        },
                    },
                )
            )

    def render(self) -> str:
        self.header()
        self.accounts()
        body_start = len(self.parts)
        self.state()
        if self.needs_project_number:
            self.parts.insert(
                body_start,
                "PROJECT_NUMBER = gcp.organizations.get_project(project_id=PROJECT).number\n"
                'PUBSUB_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}'
                '@gcp-sa-pubsub.iam.gserviceaccount.com"\n',
            )
        self.services()
        self.gateway()
        if self.after:
            self.section("push subscriptions")
            self.parts += self.after
        self.schedules()
        self.add('\npulumi.export("region", REGION)\n')
        return "".join(self.parts)


def render_program(
    blueprint: Blueprint,
    plan: Plan,
    *,
    stack: str = "dev",
    env: str = "",
    config: tuple[tuple[str, str], ...] = (),
    overrides: bool = False,
    traces: bool = False,
) -> str:
    """The text of ``__main__.py`` for ``plan`` on Google Cloud (in environment ``env``,
    with its ``config`` variables).

    ``overrides``: the program installs the hooks of ``skaal_overrides.py``
    next to it (:mod:`skaal.overrides`); ``traces``: every service exports its
    spans to Cloud Trace, its account holding ``roles/cloudtrace.agent``
    (:mod:`skaal.builder.traces`).
    """
    program = _Program(blueprint, plan, stack, env, config)
    program.overrides = overrides
    program.traces = traces
    return program.render()
