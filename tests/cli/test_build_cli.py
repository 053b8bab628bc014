"""``skaal build`` through CliRunner: lock checks, exit codes, the real and the dry-run writer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.builder.model import MANIFEST_NAME, sha256_text
from skaal.cli.main import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO / "examples" / "counter" / "app.py", tmp_path / "app.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def planned(target: str = "local") -> None:
    result = run("plan", "app.py", "--target", target)
    assert result.exit_code == 0, result.output


def test_build_is_a_listed_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "build" in result.output


def test_without_a_lock_it_says_to_plan_first(project: Path) -> None:
    result = run("build", "app.py", "--target", "local")
    assert result.exit_code == 1
    assert "run skaal plan --target local first" in result.stderr
    assert "Traceback" not in result.output
    assert not (project / "artifacts").exists()


def test_build_writes_the_target_folder_with_its_manifest(project: Path) -> None:
    planned()
    result = run("build", "app.py", "--target", "local")
    assert result.exit_code == 0, result.output
    folder = project / "artifacts" / "local"
    assert "wrote 13 files to artifacts/local/" in result.output  # with wheels/
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert "serve.py" in manifest["files"]
    for path, entry in manifest["files"].items():
        assert sha256_text((folder / path).read_bytes()) == entry["sha256"]
        assert f"  {path}" in result.output


def test_out_and_lock_options(project: Path) -> None:
    assert run("plan", "app.py", "--lock", "locks/app.lock").exit_code == 0
    result = run(
        "build", "app.py", "--target", "local", "--lock", "locks/app.lock", "--out", "dist"
    )
    assert result.exit_code == 0, result.output
    assert (project / "dist" / "local" / "serve.py").is_file()


def test_dry_run_lists_the_files_and_writes_nothing(project: Path) -> None:
    planned()
    result = run("build", "app.py", "--target", "local", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would write 13 files to artifacts/local/" in result.output
    assert "  serve.py" in result.output
    assert "  manifest.json" in result.output
    assert not (project / "artifacts").exists()


def test_a_stale_lock_is_refused(project: Path) -> None:
    planned()
    app = project / "app.py"
    app.write_text(app.read_text().replace('durability="persistent"', 'durability="durable"'))
    result = run("build", "app.py", "--target", "local")
    assert result.exit_code == 1
    assert "stale" in result.stderr
    assert "declarations changed since the plan was made" in result.stderr
    assert "skaal plan" in result.stderr
    assert not (project / "artifacts").exists()


def test_a_lock_for_another_target_is_refused(project: Path) -> None:
    planned("aws")
    result = run("build", "app.py", "--target", "local")
    assert result.exit_code == 1
    assert "planned for 'aws', not for the 'local' target" in result.stderr


def test_an_unknown_target_is_a_usage_error(project: Path) -> None:
    result = run("build", "app.py", "--target", "lokal")
    assert result.exit_code == 2
    assert "unknown build target 'lokal'" in result.stderr
    assert "did you mean 'local'" in result.stderr


def test_the_target_is_required(project: Path) -> None:
    result = run("build", "app.py")
    assert result.exit_code == 2
    assert "--target" in result.output


def test_the_app_comes_from_pyproject_when_not_given(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.skaal]\napp = "app:app"\n')
    assert run("plan", "--catalog", "local").exit_code == 0
    result = run("build", "--target", "local", "--catalog", "local")
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / "artifacts" / "local" / MANIFEST_NAME).read_text())
    assert manifest["app"] == "counter"
    assert "src/app.py" in manifest["files"]


def test_the_aws_build_ships_the_project_hooks_and_refuses_bad_ones(project: Path) -> None:
    planned("aws")
    hooks = project / "skaal_overrides.py"
    hooks.write_text(
        "from skaal.overrides import ResourceArgs, override\n\n\n"
        '@override("Counters")\n'
        "def tag(args: ResourceArgs) -> None:\n"
        '    args.props["tags"] = {"team": "counters"}\n'
    )
    result = run("build", "app.py", "--target", "aws", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "  skaal_overrides.py" in result.output
    hooks.write_text(hooks.read_text().replace('"Counters"', '"Cuonters"'))
    result = run("build", "app.py", "--target", "aws", "--dry-run")
    assert result.exit_code == 1
    assert f"{hooks}:4: override tag names resource 'Cuonters'" in result.stderr
    assert "Traceback" not in result.output
