"""``skaal migrate``: copy each pending move's data, verify it, switch the binding.

A re-plan that moves a map, collection or blob store to another backend
records a pending move in the lock (:mod:`skaal.plan.moves`); the runtime
keeps serving the resource where its data is until this command has copied
every item in resumable batches, caught up and verified counts and content
hashes on both sides, and rewritten the lock with the move done
(:mod:`skaal.migrate.engine`).

* ``--resource RES`` migrates only RES (repeatable; default: every pending move).
* ``--batch N`` items per batch, each one saved in the journal beside the lock.
* ``--dry-run`` reads both sides and reports what is left, writing nothing.
* ``--rollback`` abandons the copies: removes what was copied to the targets
  and forgets the journal; the lock still records the moves.

Servers are reached through the same variables as ``skaal run``
(``SKAAL_POSTGRES_DSN``, ``SKAAL_REDIS_URL``...), for both ends.

A lock planned for aws or gcp is a deployed app: its moves are copied by
the stack's migration runner, which reaches both ends from inside the cloud
(:mod:`skaal.migrate.remote`), one step per invocation, with the journal
kept here: on aws the migration Lambda, on gcp the Cloud Run service whose
URL is the stack output ``migrationUrl`` of the deployment record
(``.skaal/deployments/gcp-<stack>.json``), called with an identity token
from the operator's application default credentials.  ``--direct`` copies
from this machine instead (both ends must be reachable from it: DynamoDB,
S3, Firestore and Cloud Storage are, a server in a VPC is not).  Tests
pass a :class:`~skaal.migrate.remote.MigrateServices` as the click root
``obj`` to run the steps in-process.

Exit codes: 0 done (or nothing pending), 1 a copy or verification failed
(:class:`~skaal.errors.MigrationError`; the lock is left as it was), 2 usage
errors.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from skaal.cli.paths import (
    check_path,
    current_env,
    env_option,
    from_project,
    lock_for,
    lock_option,
    writable_dir,
)
from skaal.errors import MigrationError, UsageError

if TYPE_CHECKING:
    from skaal.envs.config import Environment
    from skaal.migrate.engine import MoveResult
    from skaal.migrate.remote import Invoker
    from skaal.plan.model import Plan

__all__ = ["migrate"]


@click.command("migrate")
@click.argument("app_ref", required=False, metavar="[APP_REF]", callback=check_path)
@click.option(
    "--resource",
    "resources",
    multiple=True,
    metavar="RES",
    help="Migrate only RES [default: every pending move].",
)
@click.option(
    "--batch",
    type=int,
    default=500,
    show_default=True,
    metavar="N",
    help="Items copied per batch (one journal entry each).",
)
@click.option("--dry-run", is_flag=True, help="Report what is left to copy; write nothing.")
@click.option("--rollback", is_flag=True, help="Abandon the copies: empty the targets.")
@click.option(
    "--direct",
    is_flag=True,
    help="On a cloud lock, copy from this machine instead of the stack's migration function.",
)
@env_option
@lock_option
@click.option(
    "--data-dir",
    metavar="PATH",
    callback=check_path,
    help="Where local backends keep their files [default: SKAAL_DATA_DIR or .skaal/data].",
)
@click.pass_context
def migrate(
    ctx: click.Context,
    *,
    direct: bool,
    app_ref: str | None,
    resources: tuple[str, ...],
    batch: int,
    dry_run: bool,
    rollback: bool,
    env_name: str | None,
    lock_path: str | None,
    data_dir: str | None,
) -> None:
    """Copy the data of APP_REF's pending moves to their new backends, verify, switch.

    APP_REF is module.path:attr or path/to/file.py:attr (attribute defaults
    to "app"); without it, [tool.skaal] app in pyproject.toml is used.
    """
    if dry_run and rollback:
        raise UsageError("--dry-run and --rollback cannot be used together", where="--rollback")
    if batch < 1:
        raise UsageError(
            f"--batch {batch} is not a positive number of items",
            where="--batch",
            fix="pass --batch 500, or a smaller number for large blobs",
        )
    cwd = Path.cwd()
    env, project = current_env(env_name, cwd=cwd)
    lock = cwd / lock_for(lock_path, env, project, cwd=cwd)
    variables: dict[str, str] | None = None
    if env is not None:  # the environment's names, data and secrets, as `skaal run --env`
        from skaal.cli.run import env_variables

        data_dir = data_dir or from_project(project, env.data_dir, cwd=cwd)
        dotenv = from_project(project, env.secrets_file, cwd=cwd)
        variables = {**os.environ, **env_variables(env, os.environ, dotenv=dotenv)}
    from skaal.declare.app_ref import load_app

    blueprint = load_app(app_ref, cwd=cwd).blueprint()
    folder = writable_dir((cwd / data_dir).resolve(), flag="--data-dir") if data_dir else None

    from skaal.migrate import engine as migrate_engine
    from skaal.migrate import remote

    invoker = (
        None
        if direct
        else _invoker(
            ctx,
            lock,
            env_name=_env_name(env),
            stack=env.stack if env is not None else None,
            artifacts=from_project(project, env.artifacts, cwd=cwd)
            if env is not None
            else "artifacts",
        )
    )
    if invoker is not None and rollback:
        _rolled_back(remote.rollback_remote(lock, invoke=invoker, resources=resources, batch=batch))
        return
    if invoker is not None:
        _report(
            remote.migrate_remote(
                lock, invoke=invoker, resources=resources, batch=batch, dry_run=dry_run
            ),
            dry_run=dry_run,
        )
        return
    if rollback:
        done = asyncio.run(
            migrate_engine.rollback(
                blueprint,
                lock,
                resources=resources,
                batch=batch,
                project_dir=cwd,
                data_dir=folder,
                env=variables,
            )
        )
        _rolled_back(done)
        return
    results = asyncio.run(
        migrate_engine.migrate(
            blueprint,
            lock,
            resources=resources,
            batch=batch,
            dry_run=dry_run,
            project_dir=cwd,
            data_dir=folder,
            env=variables,
        )
    )
    _report(results, dry_run=dry_run)


def _env_name(env: Environment | None) -> str:
    return env.name if env is not None else ""


def _invoker(
    ctx: click.Context, lock: Path, *, env_name: str, stack: str | None, artifacts: str
) -> Invoker | None:
    """The migration runner's invoker for a cloud lock; ``None`` for a local one.

    On aws, one invoker per region where moves are copied (:func:`migration_region`);
    on gcp, the runner whose URL the deployment record of ``stack`` (default: the
    one the build of ``artifacts`` configured) holds.
    """
    from skaal.migrate.remote import MigrateServices
    from skaal.plan.lock import read_lock
    from skaal.plan.moves import pending_moves
    from skaal.plan.wiring import migration_function_name, migration_region

    plan = read_lock(lock)
    if plan is None or plan.provider == "local":
        return None
    obj = ctx.find_root().obj
    services = obj if isinstance(obj, MigrateServices) else MigrateServices.default()
    if plan.provider == "gcp":
        return services.cloud_run(_runner_url(plan, lock, stack=stack, artifacts=artifacts))
    if plan.provider != "aws":
        raise UsageError(
            f"{lock.name} is planned for {plan.provider}, whose deployed apps cannot be "
            "migrated by a function of their stack yet",
            where=str(lock),
            fix="copy from this machine with --direct when both ends are reachable from it "
            "(see docs/migrate.md)",
        )
    name = migration_function_name(plan.app, env_name)
    by_region: dict[str, Invoker] = {}
    where: dict[str, str] = {}
    for binding in pending_moves(plan):
        region = migration_region(binding)
        if region is None:
            raise UsageError(
                f"{binding.resource} moves between servers of two regions: no migration "
                "function reaches both",
                where=binding.resource,
                fix="move it in two steps, through a managed backend or within one region",
            )
        where[binding.resource] = region
        if region not in by_region:
            by_region[region] = services.invoker(name, region)

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        return by_region[where[request["resource"]]](request)

    return invoke


def _runner_url(plan: Plan, lock: Path, *, stack: str | None, artifacts: str) -> str:
    """The URL of the gcp migration runner deployed from ``lock`` (the stack output).

    Read from the record ``skaal deploy`` wrote (:mod:`skaal.deploy.state`); a
    :class:`MigrationError` when the stack is not deployed, was deployed from
    another lock, or has no runner.
    """
    from skaal.builder.stacks.gcp import MIGRATION_URL_OUTPUT
    from skaal.deploy.request import default_stack
    from skaal.deploy.state import DeploymentStore

    cwd = Path.cwd()
    name = stack or default_stack(cwd, "gcp", artifacts)
    store = DeploymentStore(cwd)
    record = store.read("gcp", name)
    where = str(store.path("gcp", name))
    deploy = "skaal build, then skaal deploy (the stack built from this lock has the runner)"
    command = "skaal deploy --target gcp"
    if record is None:
        raise MigrationError(
            f"the gcp stack {name!r} has not been deployed from this project: there is no "
            "migration runner to copy the moves with",
            where=where,
            fix=f"run {deploy}, or copy from this machine with --direct when both ends are "
            "reachable from it",
            command=command,
        )
    if record.plan_hash != plan.content_hash():
        raise MigrationError(
            f"the gcp stack {name!r} was deployed from plan {record.plan_hash[:12]}, not from "
            f"{lock.name} (plan {plan.content_hash()[:12]})",
            where=where,
            fix=f"run {deploy}, then skaal migrate again",
            command=command,
        )
    url = record.outputs.get(MIGRATION_URL_OUTPUT)
    if not url:
        raise MigrationError(
            f"the gcp stack {name!r} has no stack output {MIGRATION_URL_OUTPUT}: it was "
            "deployed without the migration runner",
            where=where,
            fix=f"run {deploy}",
            command=command,
        )
    return url


def _rolled_back(done: tuple[str, ...]) -> None:
    for name in done:
        click.echo(
            f"{name}: copy abandoned, target emptied; still served from its origin "
            f"(to stay there: skaal plan --pin {name}=<its backend>)"
        )
    if not done:
        click.echo("no pending moves")


def _report(results: tuple[MoveResult, ...], *, dry_run: bool) -> None:
    if not results:
        click.echo("no pending moves")
    for result in results:
        check = result.verified
        head = f"{result.resource}: {result.source} → {result.target}"
        if dry_run:
            assert check is not None  # a dry run compares
            click.echo(
                f"{head}: {check.source_items} items on the source, {check.target_items} "
                f"on the target ({result.resumed_at} copied by earlier runs); nothing written"
            )
            continue
        resumed = f", resumed after {result.resumed_at}" if result.resumed_at else ""
        click.echo(
            f"{head}: copied {result.copied} items{resumed}, caught up {result.caught_up}, "
            f"verified {check.source_items if check else 0} items, switched"
        )
