"""Adopting per environment through the command line: plan, env diff, build, mistakes.

A project with two aws environments; prod adopts its legacy carts table in
``[tool.skaal.envs.prod.existing]``.  Each mistake in that table is a usage
error (exit 2) naming the line, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.cli.main import cli
from skaal.plan.lock import read_lock

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/legacy-carts"

APP = """\
from skaal import App, BlobStore, Map


class Carts(Map[str, int]): ...


class Images(BlobStore): ...


app = App("shop")
app.storage()(Carts)
app.blob()(Images)
"""

PYPROJECT = """\
[tool.skaal]
app = "shop_app.py:app"
env = "dev"

[tool.skaal.envs.dev]
target = "aws"

[tool.skaal.envs.prod]
target = "aws"

[tool.skaal.envs.prod.existing]
{line}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "shop_app.py").write_text(APP, encoding="utf-8")
    _existing(tmp_path, f'Carts = "{TABLE_ARN}"')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKAAL_ENV", raising=False)
    return tmp_path


def _existing(folder: Path, line: str) -> None:
    (folder / "pyproject.toml").write_text(PYPROJECT.format(line=line), encoding="utf-8")


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def test_the_lock_of_the_adopting_environment_only_is_adopted(project: Path) -> None:
    assert run("plan", "--env", "prod").exit_code == 0
    assert run("plan", "--env", "dev").exit_code == 0
    prod = read_lock(project / "skaal.prod.lock")
    dev = read_lock(project / "skaal.dev.lock")
    assert prod is not None
    assert dev is not None
    assert prod.binding("Carts").adopted == "legacy-carts"
    assert dev.binding("Carts").adopted is None


def test_env_diff_shows_what_each_environment_adopts(project: Path) -> None:
    run("plan", "--env", "prod")
    run("plan", "--env", "dev")
    shown = run("env", "diff", "dev", "prod")
    assert shown.exit_code == 0, shown.output
    assert "legacy-carts" in shown.output
    assert "- (created)" in shown.output
    data = json.loads(run("env", "diff", "dev", "prod", "--json").output)
    assert data["adopted"] == [{"resource": "Carts", "a": None, "b": "legacy-carts"}]


def test_a_build_refuses_a_lock_planned_before_the_entry_changed(project: Path) -> None:
    run("plan", "--env", "prod")
    _existing(project, 'Carts = "other-carts"')
    result = run("build", "--env", "prod", "--dry-run")
    assert result.exit_code == 1, result.output
    assert "what Carts adopt(s) (existing) changed" in result.output
    assert run("plan", "--env", "prod").exit_code == 0
    prod = read_lock(project / "skaal.prod.lock")
    assert prod is not None
    assert prod.binding("Carts").adopted == "other-carts"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('Cartz = "legacy-carts"', "did you mean 'Carts'?"),
        ('Images = "arn:aws:dynamodb:us-east-1:123456789012:table/legacy-table"', "not a blob"),
        ('Images = "gs://legacy-images"', "a resource on gcp, but this plan is for aws"),
        ('Carts = "projects/acme-prod/subscriptions/jobs"', "a Pub/Sub subscription, which"),
    ],
)
def test_mistakes_are_usage_errors(project: Path, line: str, message: str) -> None:
    _existing(project, line)
    result = run("plan", "--env", "prod")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "[tool.skaal.envs.prod.existing]" in result.output
    assert not (project / "skaal.prod.lock").exists()
