"""Migrating a deployed app: the copy runs in the stack's migration function, driven step by step.

On a cloud, one end of a move may be a server in a VPC (RDS, ElastiCache,
Memorystore, Cloud SQL) that the operator's machine cannot reach.  The aws
build therefore adds a *migration function* to a stack with pending moves
(a Lambda named :func:`skaal.plan.wiring.migration_function_name`, in the VPC
when an end is a server, its role allowed on both ends of every move and
nothing else), and the gcp build a *migration runner* (a Cloud Run service
in the ``migrate`` role, its account allowed on both ends, invoked only by
the operator; its URL is the stack output ``migrationUrl``,
:mod:`skaal.builder.targets.gcp_moves`).  Both run this module's
:func:`run_step` with the app's own code and the lock it was built from;
``skaal migrate --env NAME`` drives them with :func:`migrate_remote`.

One invocation is one *step* (``{"skaal_migrate": {...}}``):

* ``copy``: copy batches from the journal position it is given, until its
  time budget (``budget_s``, well under the Lambda's timeout) is spent or
  the copy is complete, and return the new position;
* ``verify``: catch up and compare both ends (steps 2 and 3 of
  :mod:`skaal.migrate.engine`) from the :class:`~skaal.migrate.verify.Scan`
  it is given, until its time budget is spent or the comparison is done, and
  return the scan reached (the journal saves it, as a copy's position);
* ``compare``: compare without repairing (``--dry-run``), in steps likewise;
* ``rollback``: remove what was copied to the target.

The journal stays with the operator, beside the lock, as locally: the
function is given the position to resume from and returns the position it
reached, and the operator saves it before the next step; a verification
likewise (its scan: where both ends were read to, the running counts and
hashes), so no step outlasts the Lambda's 15 minutes however large the
resource.  Nothing is kept in
the cloud, so the function needs no table or bucket of its own and a step
killed mid-copy (a timeout, a lost connection) only makes the next step copy
again the batches since the last saved position -- harmless, writes replace.
The switch is the operator's too: after a matching ``verify`` it rewrites
the lock (:func:`skaal.migrate.engine.switch`); the next ``skaal deploy``
points the functions at the new backend and drops the origin.

The step refuses a request made for another plan than the one it was built
with (``plan_hash``): the operator's lock and the deployed one must agree.
Errors are returned as ``{"error": ...}`` so the operator raises a
:class:`~skaal.errors.MigrationError` with the message, not a Lambda stack
trace.  The invoker is injected (:data:`Invoker`): :func:`lambda_invoker`
calls the Lambda through boto3, :func:`cloud_run_invoker` posts to the gcp
artifact's ``migrate`` role (:mod:`skaal.hosts.cloud_run`) with an identity
token, tests call :func:`run_step` in-process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from msgspec import Struct

from skaal.blueprint.model import Blueprint
from skaal.errors import MigrationError, SkaalError
from skaal.migrate.engine import (
    DEFAULT_BATCH,
    BatchHook,
    MoveResult,
    Opener,
    open_ends,
    read_plan,
    selected,
    switch,
)
from skaal.migrate.journal import Journal, Progress, journal_path, placement
from skaal.migrate.sides import items_of
from skaal.migrate.verify import Phase, Scan, verify
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import pending_moves
from skaal.plan.wiring import MIGRATE_KEY, MIGRATE_PATH

__all__ = [
    "DEFAULT_BUDGET_S",
    "MIGRATE_KEY",
    "MIGRATE_PATH",
    "RESERVE_S",
    "Action",
    "Invoker",
    "MigrateServices",
    "cloud_run_invoker",
    "lambda_invoker",
    "migrate_remote",
    "rollback_remote",
    "run_step",
]

DEFAULT_BUDGET_S = 600.0
"""How long a copy or verify step runs before it returns (the Lambda timeout is 900 s)."""

RESERVE_S = 60.0
"""The time a step keeps, of its call's, to close both ends and reply."""

Action = Literal["copy", "verify", "compare", "rollback"]
_FIRST_PASS: dict[str, Phase] = {"verify": "catch_up", "compare": "check"}
Invoker = Callable[[dict[str, Any]], dict[str, Any]]
"""Runs one step (the event's ``skaal_migrate`` payload) where both ends are reachable."""


async def run_step(
    blueprint: Blueprint,
    plan: Plan,
    request: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
    opener: Opener | None = None,
    clock: Callable[[], float] = time.monotonic,
    remaining: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Run the step ``request`` asks for, against the ends of one pending move of ``plan``.

    A copy or verify step returns when its ``budget_s`` is spent, or sooner
    when ``remaining`` (the seconds the call has left, as Lambda's context
    tells them) falls under :data:`RESERVE_S`.  Never raises a
    :class:`SkaalError`: it is returned as ``{"error": {...}}``.
    """
    try:
        return await _step(
            blueprint,
            plan,
            request,
            env=env,
            data_dir=data_dir,
            opener=opener or open_ends,
            clock=clock,
            remaining=remaining,
        )
    except SkaalError as exc:
        return {"error": {"type": type(exc).__name__, "message": str(exc)}}


async def _step(
    blueprint: Blueprint,
    plan: Plan,
    request: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None,
    data_dir: Path | None,
    opener: Opener,
    clock: Callable[[], float],
    remaining: Callable[[], float] | None,
) -> dict[str, Any]:
    started = clock()
    binding = _move(plan, request)
    batch = int(request.get("batch", DEFAULT_BATCH))
    action = request.get("action")
    budget = float(request.get("budget_s", DEFAULT_BUDGET_S))

    def spent() -> bool:
        late = remaining is not None and remaining() < RESERVE_S
        return late or clock() - started >= budget

    async with opener(
        blueprint, plan, binding, env=env, project_dir=None, data_dir=data_dir
    ) as ends:
        match action:
            case "copy":
                assert binding.moving_from is not None  # a pending move
                given = request.get("progress")
                progress = (
                    Progress.loaded(given)
                    if given
                    else Progress(placement(binding.moving_from), placement(binding))
                )
                while not progress.complete:
                    items, position = await ends.source.page(progress.position, batch)
                    await ends.target.write(items)
                    progress = progress.advanced(position, len(items))
                    if spent():
                        break
                return {"progress": progress.dumped()}
            case "verify" | "compare":
                given = request.get("scan")
                start = Scan.loaded(given) if given else Scan(phase=_FIRST_PASS[action])
                reached = await verify(ends, start, batch=batch, spent=spent)
                return {"scan": reached.dumped()}
            case "rollback":
                keys = [item.key async for item in items_of(ends.target, batch=batch)]
                for key in keys:
                    await ends.target.remove(key)
                return {"removed": len(keys)}
            case _:
                raise MigrationError(
                    f"unknown migration step {action!r}",
                    where=MIGRATE_KEY,
                    fix="send one of copy, verify, compare, rollback (skaal migrate does)",
                )


def _move(plan: Plan, request: Mapping[str, Any]) -> Binding:
    if request.get("plan_hash") != plan.content_hash():
        raise MigrationError(
            f"the deployed lock (plan {plan.content_hash()[:12]}) is not the one skaal migrate "
            f"read (plan {str(request.get('plan_hash'))[:12]})",
            where="skaal.lock",
            fix="deploy the lock with the pending moves first, then run skaal migrate",
            command="skaal deploy",
        )
    name = request.get("resource")
    for binding in pending_moves(plan):
        if binding.resource == name:
            return binding
    raise MigrationError(
        f"{name!r} has no pending move in the deployed lock",
        where="skaal.lock",
        fix="run skaal migrate for a resource the lock moves",
    )


def _call(invoke: Invoker, request: dict[str, Any]) -> dict[str, Any]:
    reply = invoke(request)
    error = reply.get("error")
    if error is not None:
        raise MigrationError(
            f"the migration function failed on {request['resource']} ({request['action']}): "
            f"{error.get('message', error)}",
            where=str(request["resource"]),
            fix="fix the cause, then run skaal migrate again: it resumes from the journal",
        )
    return reply


def migrate_remote(
    lock: Path,
    *,
    invoke: Invoker,
    resources: Sequence[str] = (),
    batch: int = DEFAULT_BATCH,
    dry_run: bool = False,
    budget_s: float = DEFAULT_BUDGET_S,
    on_batch: BatchHook | None = None,
) -> tuple[MoveResult, ...]:
    """:func:`skaal.migrate.engine.migrate` with each step run by ``invoke``.

    The journal beside ``lock`` records the position each copy step returns,
    so a run interrupted anywhere resumes from the last step saved.  Plain
    (not async): the invoker may run its own event loop, as the Lambda handler does.
    """
    plan = read_plan(lock)
    results = []
    for binding in selected(plan, resources):
        results.append(
            _one(
                lock,
                plan,
                binding,
                invoke,
                batch,
                dry_run=dry_run,
                budget_s=budget_s,
                hook=on_batch,
            )
        )
        if not dry_run:
            plan = read_plan(lock)
    return tuple(results)


def _one(
    lock: Path,
    plan: Plan,
    binding: Binding,
    invoke: Invoker,
    batch: int,
    *,
    dry_run: bool,
    budget_s: float,
    hook: BatchHook | None,
) -> MoveResult:
    assert binding.moving_from is not None  # a pending move
    name = binding.resource
    source, target = placement(binding.moving_from), placement(binding)
    journal = Journal.load(journal_path(lock))
    progress = journal.progress(name, source, target)
    resumed_at = progress.copied
    base = {"resource": name, "plan_hash": plan.content_hash(), "batch": batch}
    if dry_run:
        compared = _verified(invoke, {**base, "action": "compare", "budget_s": budget_s}, None)
        check = compared.comparison()
        return MoveResult(name, source, target, resumed_at, 0, 0, check, switched=False)
    while not progress.complete:
        reply = _call(
            invoke,
            {**base, "action": "copy", "progress": progress.dumped(), "budget_s": budget_s},
        )
        progress = Progress.loaded(reply["progress"])
        journal = journal.save(name, progress)
        if hook is not None:
            hook(name, progress)

    def saved(scan: Scan) -> None:
        nonlocal journal
        journal = journal.save(name, progress.verified_to(scan))

    request = {**base, "action": "verify", "budget_s": budget_s}
    verified = _verified(invoke, request, progress.verifying, saved)
    check = verified.comparison()
    if not check.matches:
        journal = journal.save(name, progress.verified_to(None))  # the next run starts again
    switch(lock, binding, check, journal)
    copied = progress.copied - resumed_at
    return MoveResult(name, source, target, resumed_at, copied, verified.caught_up, check, True)


def _verified(
    invoke: Invoker,
    request: dict[str, Any],
    scan: Scan | None,
    save: Callable[[Scan], None] | None = None,
) -> Scan:
    """Run verify (or compare) steps from ``scan`` until the check is done, saving each."""
    while scan is None or not scan.done or scan.phase != "check":
        reply = _call(invoke, {**request, "scan": None if scan is None else scan.dumped()})
        if "scan" not in reply:
            raise MigrationError(
                f"the migration function answered a {request['action']} step of "
                f"{request['resource']} without a scan: it runs an older Skaal than this one",
                where=str(request["resource"]),
                fix="build and deploy the stack with this version of Skaal, then run skaal "
                "migrate again (it resumes from the journal)",
                command="skaal deploy",
            )
        scan = Scan.loaded(reply["scan"])
        if save is not None:
            save(scan)
    return scan


def rollback_remote(
    lock: Path, *, invoke: Invoker, resources: Sequence[str] = (), batch: int = DEFAULT_BATCH
) -> tuple[str, ...]:
    """:func:`skaal.migrate.engine.rollback` with the targets emptied by ``invoke``."""
    plan = read_plan(lock)
    journal = Journal.load(journal_path(lock))
    done = []
    for binding in selected(plan, resources):
        request = {
            "resource": binding.resource,
            "plan_hash": plan.content_hash(),
            "batch": batch,
            "action": "rollback",
        }
        _call(invoke, request)
        journal = journal.save(binding.resource, None)
        done.append(binding.resource)
    return tuple(done)


def lambda_invoker(function_name: str, *, region: str, client: Any = None) -> Invoker:
    """An :data:`Invoker` calling the Lambda ``function_name`` in ``region`` synchronously."""
    if client is None:
        import boto3  # noqa: PLC0415 - the aws extra, needed only to migrate a deployed app

        client = boto3.client("lambda", region_name=region)

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = client.invoke(
                FunctionName=function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({MIGRATE_KEY: request}).encode(),
            )
        except Exception as exc:  # botocore's errors: wrapped at the boundary
            raise MigrationError(
                f"cannot invoke the migration function {function_name} in {region}: {exc}",
                where=function_name,
                fix="deploy the stack built from this lock (skaal deploy), and check your "
                "AWS credentials allow lambda:InvokeFunction on it",
                command="skaal deploy",
            ) from None
        body = response["Payload"].read()
        if response.get("FunctionError"):
            raise MigrationError(
                f"the migration function {function_name} failed: {body.decode(errors='replace')}",
                where=function_name,
                fix="read its log group, fix the cause and run skaal migrate again (it resumes)",
            )
        reply: dict[str, Any] = json.loads(body)
        return reply

    return invoke


def cloud_run_invoker(
    url: str, *, token: Callable[[str], str] | None = None, timeout_s: float = 3600.0
) -> Invoker:
    """An :data:`Invoker` posting each step to the gcp ``migrate`` role at ``url``.

    The service is private: each request carries an identity token for
    ``url`` (``token``; default: google-auth's ``fetch_id_token`` from the
    operator's application default credentials).
    """
    import httpx  # noqa: PLC0415 - the serve extra, needed only to migrate a deployed app

    if token is None:
        import google.auth.transport.requests  # noqa: PLC0415 - the gcp extra, as above
        import google.oauth2.id_token  # noqa: PLC0415 - the gcp extra, as above

        def token(audience: str) -> str:
            request = google.auth.transport.requests.Request()
            found: str = google.oauth2.id_token.fetch_id_token(request, audience)  # type: ignore[no-untyped-call]
            return found

    endpoint = url.rstrip("/") + MIGRATE_PATH

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        fix = (
            "deploy the stack built from this lock (skaal deploy), and check your credentials "
            "may invoke the migration runner (roles/run.invoker)"
        )
        try:
            assert token is not None
            response = httpx.post(
                endpoint,
                json={MIGRATE_KEY: request},
                headers={"Authorization": f"Bearer {token(url)}"},
                timeout=timeout_s,
            )
        except Exception as exc:  # httpx's and google-auth's errors: wrapped at the boundary
            raise MigrationError(
                f"cannot reach the migration runner at {endpoint}: {exc}",
                where=endpoint,
                fix=fix,
                command="skaal deploy",
            ) from None
        try:
            reply: dict[str, Any] = response.json()
        except ValueError:
            reply = {}
        if response.status_code != 200 and "error" not in reply:
            raise MigrationError(
                f"the migration runner at {endpoint} answered {response.status_code}: "
                f"{response.text[:500]}",
                where=endpoint,
                fix=fix,
            )
        return reply

    return invoke


def _cloud_run(url: str) -> Invoker:
    return cloud_run_invoker(url)


class MigrateServices(Struct, frozen=True):
    """What ``skaal migrate`` reaches a deployed app with (the click root ``obj`` in tests)."""

    invoker: Callable[[str, str], Invoker]
    """``(function name, region) -> Invoker``: the aws migration function of a region."""
    cloud_run: Callable[[str], Invoker] = _cloud_run
    """``URL -> Invoker``: the gcp migration runner at that URL (the stack output
    ``migrationUrl``)."""

    @classmethod
    def default(cls) -> MigrateServices:
        return cls(invoker=lambda name, region: lambda_invoker(name, region=region))
