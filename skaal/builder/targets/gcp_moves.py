"""A gcp build of a lock with pending moves: both ends provisioned, and the migration runner.

A pending move (:mod:`skaal.plan.moves`) keeps a resource's data on its
origin until ``skaal migrate`` has copied it.  So the gcp build of such a
lock, as the aws one (:mod:`skaal.builder.targets.aws_moves`):

* creates the **origin** exactly as the build before the move did: the
  origin binding the lock keeps is built beside the plan's (a Firestore
  collection in the same database, named as before:
  :meth:`~skaal.builder.targets.gcp_basis.Basis.physical`), and the
  **destination** where the plan places the resource;
* points the services' runtime at the origin: the lock they ship records
  the move and the runtime serves :func:`~skaal.plan.moves.serving_plan`;
  every identity using the resource is granted both ends (the grants are
  per resource name, and both ends carry it);
* adds the **migration runner** (:func:`runner_service`): a Cloud Run
  service of the same image in the ``migrate`` role (``POST
  /_skaal/migrate``, :mod:`skaal.hosts.cloud_run`), in the region
  :func:`skaal.plan.wiring.migration_region` gives, on the region's VPC
  connector when an end is Memorystore, with the Cloud SQL sockets of the
  servers holding the moving resources.  It runs as an account of its own
  (:data:`~skaal.builder.targets.gcp_basis.MIGRATION_ACCOUNT`) granted both
  ends of each move and nothing else: no declared secret, no other
  resource.  No account of the stack may invoke it: ``roles/run.invoker``
  is granted on it to nobody, so only the operator's own identity calls it
  -- a project Owner, Editor or Cloud Run Admin/Invoker (who deploys the
  stack holds one of those), or the members listed in the stack config
  ``skaal:migrationInvokers`` (comma-separated, e.g.
  ``user:ops@example.com``), granted ``roles/run.invoker`` on this service
  only.  Its URL is the stack output
  :data:`~skaal.builder.stacks.gcp.MIGRATION_URL_OUTPUT`, which ``skaal
  migrate --env NAME`` reads from the deployment record.

After the switch the next build has no move: neither the origin nor the
runner is in the stack.  A Firestore database holding only origins is
*retiring* (:attr:`~skaal.builder.stacks.gcp.FirestoreDatabase.retiring`):
retained (``retain_on_delete``, ``deletion_policy = ABANDON``) but not
``protect``-ed in Pulumi's state -- a protected resource left out of the
program fails the deploy -- so the deploy after the switch drops it from
the stack and leaves it, with its data, in the project: removing it is the
operator's decision (docs/migrate.md).  A collection beside others in a
database the app still uses stays with its database.

An origin on a Cloud SQL or Memorystore server the plan still has is built
as that server; the runner gets its socket or connector and its grants.
What cannot be built is refused (:func:`skaal.builder.moves.check_moves`):
as on aws, an origin on a server the plan no longer has (its size is not in
the lock) and an origin of the same managed service as its destination;
and, with one runner, moves whose copies would run in several regions.
"""

from __future__ import annotations

from skaal.builder.stacks.gcp import Account, Env, EnvProject, EnvValue, Service
from skaal.builder.targets.gcp_basis import (
    CLOUD_RUN_ROLE_ENV,
    GCP_PROJECT_ENV,
    MIGRATION_ACCOUNT,
    Basis,
    Identity,
    physical_name,
    seconds,
)
from skaal.plan.wiring import PROCESSES_ENV, READABLE_SECRETS_ENV, USED_RESOURCES_ENV

__all__ = ["RUNNER_TIMEOUT_S", "runner_account", "runner_service"]

RUNNER_TIMEOUT_S = 3600
"""Cloud Run's longest request timeout; a copy step returns well before it
(:data:`skaal.migrate.remote.DEFAULT_BUDGET_S`)."""

_RUNNER_MEMORY = "1024Mi"


def runner_account(basis: Basis, account_id: str) -> Account:
    """The migration runner's own service account."""
    return Account(
        key=MIGRATION_ACCOUNT,
        account_id=account_id,
        display_name=f"{basis.name_base}: migration runner of the pending moves (skaal)",
    )


def runner_service(basis: Basis, identity: Identity, *, processes: int) -> Service:
    """The Cloud Run service ``skaal migrate --env NAME`` posts each step to.

    One instance (the operator drives one step at a time), the longest
    timeout, the sockets and the connector of the ends it reaches, and no
    invoker account: only the operator's identity may call it.  ``processes``:
    among how many the servers' connections are divided, as for every service.
    """
    region = basis.migration_region
    assert region is not None  # a stack with pending moves
    env: list[Env] = [
        *(EnvValue(name=k, value=v) for k, v in basis.wiring.env().items()),
        EnvProject(name=GCP_PROJECT_ENV),
        EnvValue(name=PROCESSES_ENV, value=str(processes)),
        EnvValue(name=READABLE_SECRETS_ENV, value=""),
        EnvValue(name=USED_RESOURCES_ENV, value=",".join(sorted(basis.moving))),
        *(entry for resources, entry in basis.env if basis.reaches(identity, resources)),
        EnvValue(name=CLOUD_RUN_ROLE_ENV, value=identity.role),
    ]
    connector = basis.vpc.get(region)
    if connector is not None and not basis.reaches(identity, basis.vpc_resources[region]):
        connector = None
    return Service(
        key=identity.service,
        name=physical_name(basis.name_base, "skaal-migrate", max_length=49),
        location=region,
        account=identity.account,
        invoker=None,
        env=tuple(env),
        cpu="1",
        memory=_RUNNER_MEMORY,
        timeout=seconds(RUNNER_TIMEOUT_S),
        max_instances=1,
        sql_instances=tuple(
            key for resources, key in basis.sockets if basis.reaches(identity, resources)
        ),
        connector=connector,
    )
