"""Environments through the command line: the shop example in dev, staging, qa and prod.

Each command is run with CliRunner in a copy of the shop example whose
``pyproject.toml`` declares four environments on three catalogs: ``dev``
(the default, bundled ``local``), ``staging`` (a catalog file extending
``local`` with another price), ``qa`` (``gcp``) and ``prod`` (``aws``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.builder.stacks.aws import AwsStack
from skaal.builder.stacks.base import read_stack
from skaal.builder.stacks.gcp import EnvValue, GcpStack
from skaal.builder.stacks.local import LocalStack
from skaal.cli.main import cli
from skaal.deploy.services import DeployServices
from skaal.plan.lock import read_lock
from tests.deploy.fakes import FakeEngine

REPO = Path(__file__).resolve().parents[2]

PYPROJECT = """\
[tool.skaal]
app = "shop/app.py:app"
env = "dev"

[tool.skaal.envs.dev]

[tool.skaal.envs.staging]
catalog = "staging.toml"
port = 8001

[tool.skaal.envs.qa]
target = "gcp"
config = { LOG_LEVEL = "debug" }

[tool.skaal.envs.prod]
target = "aws"
config = { LOG_LEVEL = "info", SKAAL_APP = "not-this" }
"""

STAGING = """\
schema_version = 2
name = "staging"
provider = "local"
region = "local"
extends = "local"

[backends.filesystem.price]
fixed_monthly = { amount = 4.0, source = "https://example.com/staging-box", as_of = "2026-12" }
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "examples" / "shop", tmp_path / "shop")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "staging.toml").write_text(STAGING, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKAAL_ENV", raising=False)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None, obj: object = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, obj=obj)


def ok(*args: str, env: dict[str, str] | None = None) -> Result:
    result = run(*args, env=env)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def test_every_command_takes_env() -> None:
    for command in ("plan", "build", "run", "cost", "deploy", "destroy"):
        assert "--env NAME" in run(command, "--help").output, command


def test_each_environment_plans_into_its_own_lock(project: Path) -> None:
    assert "wrote skaal.dev.lock" in ok("plan").output  # the default environment
    assert "wrote skaal.staging.lock" in ok("plan", "--env", "staging").output
    assert "wrote skaal.prod.lock" in ok("plan", env={"SKAAL_ENV": "prod"}).output
    assert not (project / "skaal.lock").exists()
    dev = read_lock(project / "skaal.dev.lock")
    staging = read_lock(project / "skaal.staging.lock")
    prod = read_lock(project / "skaal.prod.lock")
    assert dev is not None
    assert staging is not None
    assert prod is not None
    assert (dev.catalog, staging.catalog, prod.catalog) == ("local", "staging", "aws")
    assert (dev.total_monthly_cost, staging.total_monthly_cost) == (0.0, 4.0)


def test_explicit_lock_and_catalog_win_over_the_environment(project: Path) -> None:
    ok("plan", "--env", "staging", "--lock", "other.lock", "--target", "local")
    other = read_lock(project / "other.lock")
    assert other is not None
    assert other.catalog == "local"
    assert not (project / "skaal.staging.lock").exists()


def test_the_flag_wins_over_skaal_env(project: Path) -> None:
    ok("plan", "--env", "staging", env={"SKAAL_ENV": "prod"})
    assert (project / "skaal.staging.lock").exists()
    assert not (project / "skaal.prod.lock").exists()


def test_an_unknown_environment_is_a_usage_error(project: Path) -> None:
    result = run("plan", "--env", "stagin")
    assert result.exit_code == 2
    assert "unknown environment 'stagin' (did you mean 'staging'?)" in result.stderr
    assert "known: dev, prod, qa, staging" in result.stderr
    assert "Traceback" not in result.output
    result = run("build", env={"SKAAL_ENV": "nope"})
    assert result.exit_code == 2
    assert "SKAAL_ENV=nope" in result.stderr


def test_a_bad_environment_table_is_a_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.skaal.envs.broken]\ncatalgo = "x"\n', encoding="utf-8"
    )
    result = run("plan")
    assert result.exit_code == 2
    assert "pyproject.toml:19 tool.skaal.envs.broken.catalgo" in result.stderr
    assert "did you mean 'catalog'?" in result.stderr


def test_without_environments_nothing_changes(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.skaal]\napp = "shop/app.py:app"\n')
    assert "wrote skaal.lock" in ok("plan").output
    assert "wrote 17 files to artifacts/local/" in ok("build", "--target", "local").output
    assert "Pulumi.local.yaml" in ok("build", "--target", "local").output


def test_cost_prices_the_environment_lock(project: Path) -> None:
    ok("plan", "--env", "staging")
    data = json.loads(ok("cost", "--env", "staging", "--json").output)
    assert data["lock"] == "skaal.staging.lock"
    assert data["total_monthly_cost"] == 4.0
    result = run("cost", "--env", "prod")
    assert result.exit_code == 1
    assert "skaal.prod.lock does not exist" in result.stderr


def test_build_writes_each_environment_into_its_own_folder_and_stack(project: Path) -> None:
    ok("plan", "--env", "prod")
    ok("plan", "--env", "staging")
    built = ok("build", "--env", "prod").output  # the target comes from the environment
    assert "wrote 15 files to artifacts/prod/aws/" in built
    assert "Pulumi.prod.yaml" in built
    stack = read_stack(project / "artifacts/prod/aws/stack.json", AwsStack)
    assert stack.prefix == "shop-prod"
    assert {t.name for t in stack.secrets} == {"shop-prod-stripe-key"}
    assert all(f.lambda_name.startswith("shop-prod-") for f in stack.functions)
    assert all(f.env["SKAAL_ENV"] == "prod" for f in stack.functions)
    assert all(f.env["LOG_LEVEL"] == "info" for f in stack.functions)  # its config
    assert all(f.env["SKAAL_APP"] == "shop" for f in stack.functions)  # not overridden
    staged = ok("build", "--env", "staging").output  # a local catalog file: local target
    assert "artifacts/staging/local/" in staged
    assert "infra/Pulumi.staging.yaml" in staged
    local = read_stack(project / "artifacts/staging/local/infra/stack.json", LocalStack)
    assert local.env_name == "staging"  # the local stack records SKAAL_ENV too
    result = run("build", "--env", "staging", "--target", "aws")
    assert result.exit_code == 1
    assert "skaal.staging.lock was planned for 'local'" in result.stderr


def test_build_without_target_or_environment_says_so(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.skaal]\napp = "shop/app.py:app"\n')
    result = run("build")
    assert result.exit_code == 2
    assert "needs a target" in result.stderr


def test_deploy_and_destroy_use_the_environment_stack_and_artifacts(project: Path) -> None:
    ok("plan", "--env", "qa")
    ok("build", "--env", "qa")
    stack = read_stack(project / "artifacts/qa/gcp/infra/stack.json", GcpStack)
    for service in stack.services:
        assert EnvValue(name="LOG_LEVEL", value="debug") in service.env  # its config
        assert EnvValue(name="SKAAL_ENV", value="qa") in service.env
    engine = FakeEngine()
    services = DeployServices(
        engine=lambda: engine,
        interactive=lambda: False,
        ask=lambda question: True,
        clock=lambda: "2026-12-04T10:00:00+00:00",
        environ={"PULUMI_CONFIG_PASSPHRASE": "x", "SKAAL_ENV": "qa"},
    )
    result = run("deploy", "--yes", obj=services)
    assert result.exit_code == 0, result.output
    assert [(op, stack) for op, stack, _ in engine.calls] == [("preview", "qa"), ("up", "qa")]
    assert (project / ".skaal/deployments/gcp-qa.json").is_file()
    result = run("destroy", "--env", "qa", "--yes", "--delete-data", obj=services)
    assert result.exit_code == 0, result.output
    assert ("destroy", "qa") in [(op, stack) for op, stack, _ in engine.calls]
    missing = run("deploy", "--env", "prod", "--yes", obj=services)
    assert missing.exit_code == 1
    assert "artifacts/prod/aws" in missing.output


def test_env_list_shows_catalogs_locks_and_totals(project: Path) -> None:
    ok("plan", "--env", "staging")
    data = json.loads(ok("env", "list", "--json").output)
    rows = {row["name"]: row for row in data["envs"]}
    assert sorted(rows) == ["dev", "prod", "qa", "staging"]
    assert rows["dev"]["default"] is True
    assert rows["dev"]["total_monthly_cost"] is None
    assert rows["staging"]["total_monthly_cost"] == 4.0
    assert rows["staging"]["catalog"] == "staging.toml"
    assert rows["prod"]["lock"] == "skaal.prod.lock"
    text = ok("env", "list").output
    assert "dev (default)" in text
    assert "not planned yet" in text


def test_env_diff_shows_what_differs_between_two_plans(project: Path) -> None:
    ok("plan", "--env", "dev")
    ok("plan", "--env", "staging")
    ok("plan", "--env", "prod")
    text = ok("env", "diff", "dev", "staging").output
    assert "catalog.Images" in text
    assert "filesystem $0.00" in text
    assert "filesystem $4.00" in text
    assert "same in both: 8 resources" in text
    assert "total $0.00 → $4.00 (+$4.00/month)" in text
    data = json.loads(ok("env", "diff", "dev", "prod", "--json").output)
    assert data["providers"] == ["local", "aws"]
    changed = {c["resource"]: c for c in data["diff"]["changed"]}
    assert changed["catalog.Images"]["old"]["backend"] == "filesystem"
    assert changed["catalog.Images"]["new"]["backend"] == "s3"
    result = run("env", "diff", "dev", "qa")
    assert result.exit_code == 1
    assert "skaal plan --env qa" in result.stderr


def test_env_promote_pins_the_placements_of_one_environment_in_another(project: Path) -> None:
    ok("plan", "--env", "dev")
    result = ok("env", "promote", "dev", "staging")
    assert "promoted 9 placements of dev to staging (catalog staging)" in result.output
    assert "wrote skaal.staging.lock" in result.output
    dev, staging = read_lock(project / "skaal.dev.lock"), read_lock(project / "skaal.staging.lock")
    assert dev is not None
    assert staging is not None
    assert staging.catalog == "staging"  # priced by staging's own catalog
    assert {b.resource: b.backend for b in staging.bindings} == {
        b.resource: b.backend for b in dev.bindings
    }
    assert {b.status for b in staging.bindings} == {"pinned"}
    assert staging.total_monthly_cost == 4.0


def test_env_promote_refuses_when_the_catalog_lacks_a_backend(project: Path) -> None:
    ok("plan", "--env", "dev")
    result = run("env", "promote", "dev", "prod")
    assert result.exit_code == 1
    assert "cannot promote dev to prod: catalog 'aws' of prod has no backend" in result.stderr
    assert "cart.Carts on sqlite" in result.stderr
    assert not (project / "skaal.prod.lock").exists()
    assert run("env", "promote", "dev", "dev").exit_code == 2


def test_env_promote_no_write_leaves_the_lock(project: Path) -> None:
    ok("plan", "--env", "dev")
    data = json.loads(ok("env", "promote", "dev", "staging", "--no-write", "--json").output)
    assert data["lock"] is None
    assert data["pins"]["cart.Carts"] == "sqlite"
    assert not (project / "skaal.staging.lock").exists()


def test_env_commands_need_declared_environments(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.skaal]\napp = "shop/app.py:app"\n')
    result = run("env", "list")
    assert result.exit_code == 2
    assert "declares no environments" in result.stderr
