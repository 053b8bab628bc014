"""Plan ⇒ buildable: every example plans and builds for every target with the default registry.

This is the user's path (``skaal plan`` then ``skaal build``), run through the
CLI on a copy of the examples, so a plan the solver can produce that a
builder cannot handle fails here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "app.py").is_file())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "examples", folder / "examples")
    return folder


@pytest.mark.parametrize("target", ["local", "aws", "gcp"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_the_example_plans_and_builds(
    project: Path, example: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    ref = f"examples/{example}/app.py:app"
    lock = f"{example}-{target}.lock"
    runner = CliRunner()
    planned = runner.invoke(cli, ["plan", ref, "--target", target, "--lock", lock])
    assert planned.exit_code == 0, planned.output
    built = runner.invoke(
        cli, ["build", ref, "--target", target, "--lock", lock, "--out", f"out-{example}"]
    )
    assert built.exit_code == 0, built.output
    manifest = project / f"out-{example}" / target / "manifest.json"
    assert manifest.is_file(), built.output
