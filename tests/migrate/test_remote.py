"""A deployed app's move, copied by its migration function: the Lambda handler run in-process.

``skaal migrate --env NAME`` on aws invokes the stack's migration Lambda step
by step (:mod:`skaal.migrate.remote`).  Here the invoker calls the real
:class:`~skaal.hosts.aws_lambda.handler.LambdaHandler` with the event the
Lambda receives, against real servers (moto's DynamoDB, PostgreSQL):
a step lost mid-copy (its reply never arrives, as when the Lambda times out)
is resumed from the operator's journal, writes made meanwhile are caught up,
and the lock is switched only after a matching verification.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from _migrate_env import drop_namespaces, server_env
from click.testing import CliRunner
from test_kill import DYNAMODB, ITEMS, RDS, End, _contents, _moving, _plan, _write

from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.errors import MigrationError
from skaal.hosts.aws_lambda import handler as lambda_handler
from skaal.hosts.aws_lambda.handler import LambdaHandler
from skaal.migrate import remote
from skaal.migrate.journal import journal_path
from skaal.migrate.remote import (
    Invoker,
    MigrateServices,
    lambda_invoker,
    migrate_remote,
    rollback_remote,
)
from skaal.plan.lock import read_lock
from skaal.plan.wiring import migration_function_name, migration_region

BATCH = 20


class LostReplyError(Exception):
    """The reply of a step that ran but never reached the operator."""


def _handler(project: Path, env: dict[str, str]) -> LambdaHandler:
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    return LambdaHandler(load_app("shop.py:app", cwd=project), plan, env=env)


def _invoker(handler: LambdaHandler, *, lose_after: int | None = None) -> Invoker:
    """Invoke ``handler`` as Lambda does; with ``lose_after``, the reply of that step is lost."""
    calls = [0]

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        event = json.loads(json.dumps({remote.MIGRATE_KEY: request}))  # the wire round trip
        reply = handler(event)
        calls[0] += 1
        if lose_after is not None and calls[0] == lose_after:
            raise LostReplyError(request["action"])
        return json.loads(json.dumps(reply))

    return invoke


def test_the_event_key_is_the_one_the_handler_dispatches() -> None:
    assert lambda_handler.MIGRATE_KEY == remote.MIGRATE_KEY


@pytest.mark.parametrize(
    ("source", "target", "resource"),
    [
        pytest.param(DYNAMODB, RDS, "Orders", id="dynamodb-postgres-map"),
        pytest.param(DYNAMODB, RDS, "Invoices", id="dynamodb-postgres-collection"),
    ],
)
def test_a_lost_step_resumes_from_the_journal_and_loses_nothing(
    project: Path, source: End, target: End, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env(source.implementation, target.implementation)
    monkeypatch.chdir(project)
    try:
        asyncio.run(_fill(project, env, source, target, resource))
        _run(project, env, resource)
    finally:
        asyncio.run(drop_namespaces(env))


async def _fill(project: Path, env: dict[str, str], source: End, target: End, res: str) -> None:
    _plan(project, source, res)
    await _write(project, env, res, [(f"k{i:04}", i) for i in range(ITEMS)])
    _plan(project, target, res)
    assert (await _contents(project, env, res))["backend"] == source.backend


def _run(project: Path, env: dict[str, str], resource: str) -> None:
    lock = project / "skaal.lock"
    handler = _handler(project, env)
    try:
        # one batch per step (no time budget); the fourth step's reply is lost
        with pytest.raises(LostReplyError):
            migrate_remote(
                lock,
                invoke=_invoker(handler, lose_after=4),
                resources=(resource,),
                batch=BATCH,
                budget_s=0,
            )
        progress = json.loads(journal_path(lock).read_text())["moves"][resource]
        assert progress["copied"] == 3 * BATCH  # the lost step's batch is not recorded
        assert _moving(lock, resource)

        asyncio.run(
            _write(project, env, resource, [("k9999", 9999), ("k0001", 111_111), ("k0002", None)])
        )
        expected = asyncio.run(_contents(project, env, resource))["items"]

        (result,) = migrate_remote(
            lock, invoke=_invoker(handler), resources=(resource,), batch=BATCH, budget_s=0
        )
    finally:
        handler.shutdown()
    assert result.resumed_at == 3 * BATCH
    assert result.copied == ITEMS - 3 * BATCH + 1
    assert result.caught_up == 2  # k0001 changed and k0002 deleted after they were copied
    assert result.switched
    assert result.verified is not None
    assert result.verified.matches
    assert not _moving(lock, resource)
    assert not journal_path(lock).exists()
    after = asyncio.run(_contents(project, env, resource))
    assert after["backend"] == "rds-postgres"
    assert after["items"] == expected


def test_a_step_for_another_plan_is_refused_and_rollback_empties_the_target(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env("dynamodb", "postgres")
    monkeypatch.chdir(project)
    lock = project / "skaal.lock"
    try:
        asyncio.run(_fill(project, env, DYNAMODB, RDS, "Orders"))
        handler = _handler(project, env)
        try:
            stale = handler.plan.model_copy(update={"app": "other"})
            refused = LambdaHandler(handler.app, stale, env=env)
            with pytest.raises(MigrationError, match="deploy the lock"):
                migrate_remote(lock, invoke=_invoker(refused), batch=BATCH)
            refused.shutdown()
            with pytest.raises(LostReplyError):
                migrate_remote(
                    lock, invoke=_invoker(handler, lose_after=3), batch=BATCH, budget_s=0
                )
            assert rollback_remote(lock, invoke=_invoker(handler)) == ("Orders",)
            assert not journal_path(lock).exists()
            (dry,) = migrate_remote(lock, invoke=_invoker(handler), dry_run=True)
        finally:
            handler.shutdown()
        assert dry.verified is not None
        assert (dry.verified.source_items, dry.verified.target_items) == (ITEMS, 0)
        assert _moving(lock, "Orders")
    finally:
        asyncio.run(drop_namespaces(env))


def test_skaal_migrate_on_an_aws_lock_drives_the_migration_function(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env("dynamodb", "postgres")
    monkeypatch.chdir(project)
    lock = project / "skaal.lock"
    try:
        asyncio.run(_fill(project, env, DYNAMODB, RDS, "Orders"))
        plan = read_lock(lock)
        assert plan is not None
        handler = _handler(project, env)
        called: list[tuple[str, str]] = []

        def invoker(name: str, region: str) -> Invoker:
            called.append((name, region))
            return _invoker(handler)

        try:
            (project / "pyproject.toml").write_text(
                '[tool.skaal]\napp = "shop.py:app"\n\n[tool.skaal.envs.prod]\ntarget = "aws"\n'
            )
            result = CliRunner().invoke(
                cli,
                ["migrate", "--env", "prod", "--lock", "skaal.lock", "--batch", "50"],
                obj=MigrateServices(invoker=invoker),
            )
        finally:
            handler.shutdown()
        assert result.exit_code == 0, result.output
        assert "Orders: dynamodb@" in result.output
        assert f"copied {ITEMS} items" in result.output
        assert "switched" in result.output
        move = plan.binding("Orders")
        assert called == [(migration_function_name("shop", "prod"), migration_region(move))]
        assert migration_function_name("shop", "prod") == "shop-prod-skaal-migrate"
        assert not _moving(lock, "Orders")
    finally:
        asyncio.run(drop_namespaces(env))


def test_the_lambda_invoker_says_when_the_function_is_not_deployed() -> None:
    """boto3's Lambda API against moto's server: a stack not deployed yet is a MigrationError."""
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    client = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = migration_function_name("shop", "prod")
    invoke = lambda_invoker(name, region="us-east-1", client=client)
    with pytest.raises(MigrationError, match=f"cannot invoke the migration function {name}"):
        invoke({"resource": "Orders", "action": "copy"})


def test_an_undeployed_gcp_lock_is_migrated_only_directly(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    for backend in ("firestore", "cloudsql-postgres"):
        planned = CliRunner().invoke(
            cli, ["plan", "shop.py:app", "--target", "gcp", "--pin", f"Orders={backend}"]
        )
        assert planned.exit_code == 0, planned.output
    result = CliRunner().invoke(cli, ["migrate", "shop.py:app"])
    assert result.exit_code == 1  # no deployed runner to copy with (test_gcp_runner.py)
    text = " ".join(result.output.split())
    assert "the gcp stack 'dev' has not been deployed" in text
    assert "--direct" in text


def test_direct_copies_from_this_machine_without_the_function(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env("dynamodb", "postgres")
    monkeypatch.chdir(project)
    try:
        asyncio.run(_fill(project, env, DYNAMODB, RDS, "Orders"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)

        def no_function(name: str, region: str) -> Invoker:
            raise AssertionError(f"--direct invoked {name} in {region}")

        result = CliRunner().invoke(
            cli,
            ["migrate", "shop.py:app", "--direct", "--batch", "50"],
            obj=MigrateServices(invoker=no_function),
        )
        assert result.exit_code == 0, result.output
        assert f"copied {ITEMS} items" in result.output
        assert not _moving(project / "skaal.lock", "Orders")
    finally:
        asyncio.run(drop_namespaces(env))
