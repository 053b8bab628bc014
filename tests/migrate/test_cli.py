"""``skaal migrate`` on the command line: its output and exit codes (2 usage, 1 failure)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from _migrate_env import drop_namespaces, server_env
from click.testing import CliRunner, Result

from skaal.cli.main import cli
from skaal.migrate.journal import journal_path
from skaal.plan.lock import read_lock
from skaal.plan.moves import pending_moves
from skaal.runtime.runtime import Runtime


def _skaal(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _text(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def moving(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lock in which Orders moves from sqlite to postgres (planning needs no server)."""
    monkeypatch.chdir(project)
    plan = ["plan", "shop.py:app", "--catalog", "local-servers"]
    assert _skaal(*plan, "--pin", "Orders=sqlite").exit_code == 0
    assert _skaal(*plan, "--pin", "Orders=postgres").exit_code == 0
    return project


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "0"], "--batch 0 is not a positive number of items"),
        (["--dry-run", "--rollback"], "--dry-run and --rollback cannot be used together"),
        (["--resource", "Order"], "--resource Order is not in the plan (did you mean 'Orders'?)"),
        (["--resource", "Invoices"], "--resource Invoices has no pending move"),
        (["--lock", "elsewhere.lock"], "there is no lock file at"),
    ],
)
def test_usage_errors_exit_2(moving: Path, args: list[str], message: str) -> None:
    result = _skaal("migrate", "shop.py:app", *args)
    assert result.exit_code == 2, result.output
    assert message in _text(result)


def test_a_damaged_journal_exits_1_and_switches_nothing(moving: Path) -> None:
    journal_path(moving / "skaal.lock").write_text("[]")
    before = (moving / "skaal.lock").read_bytes()
    result = _skaal("migrate", "shop.py:app")
    assert result.exit_code == 1
    assert "the migration journal is not a migration journal" in _text(result)
    assert (moving / "skaal.lock").read_bytes() == before


def test_nothing_pending(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert _skaal("plan", "shop.py:app", "--catalog", "local-servers").exit_code == 0
    result = _skaal("migrate", "shop.py:app")
    assert result.exit_code == 0
    assert result.output == "no pending moves\n"


def test_dry_run_then_migrate_on_real_servers(
    moving: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env("postgres")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        _run(moving)
    finally:
        asyncio.run(drop_namespaces(env))


def _run(project: Path) -> None:

    async def fill() -> None:
        import shop  # type: ignore[import-not-found]  # noqa: PLC0415 - the project's module, importable once the test is in it

        plan = read_lock(project / "skaal.lock")
        assert plan is not None
        async with Runtime.open(shop.app, plan, env={"SKAAL_USED_RESOURCES": "Orders"}):
            for i in range(30):
                await shop.Orders.set(f"k{i:02}", shop.Order(id=f"k{i}", owner="u", total=i))

    asyncio.run(fill())
    dry = _skaal("migrate", "shop.py:app", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert _text(dry) == (
        "Orders: sqlite@local → postgres@local (postgres#1): 30 items on the source, "
        "0 on the target (0 copied by earlier runs); nothing written"
    )
    done = _skaal("migrate", "shop.py:app", "--batch", "7")
    assert done.exit_code == 0, done.output
    assert _text(done) == (
        "Orders: sqlite@local → postgres@local (postgres#1): copied 30 items, caught up 0, "
        "verified 30 items, switched"
    )
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    assert pending_moves(plan) == ()
    assert _skaal("migrate", "shop.py:app").output == "no pending moves\n"


def test_an_environment_migrates_its_own_lock(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.skaal]\napp = "shop.py:app"\n\n'
        '[tool.skaal.envs.staging]\ncatalog = "local-servers"\n'
    )
    monkeypatch.chdir(project)
    for backend in ("sqlite", "postgres"):
        planned = _skaal("plan", "--env", "staging", "--pin", f"Orders={backend}")
        assert planned.exit_code == 0, planned.output
    assert (project / "skaal.staging.lock").is_file()
    assert not (project / "skaal.lock").exists()
    # the staging lock is the one read: it has Orders' move and no other
    result = _skaal("migrate", "--env", "staging", "--resource", "Invoices")
    assert result.exit_code == 2, result.output
    assert "--resource Invoices has no pending move" in _text(result)
    unknown = _skaal("migrate", "--env", "prod")
    assert unknown.exit_code == 2
    assert "staging" in _text(unknown)
