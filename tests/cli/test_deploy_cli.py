"""``skaal deploy`` / ``skaal destroy`` through click, with the fake engine injected.

The real engine (Pulumi's Automation API) never runs here: no pulumi CLI is
installable on these machines.  What runs is everything around it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.cli.main import cli
from skaal.deploy.services import DeployServices
from tests.deploy.fakes import FakeEngine, built_project

ENV = {"PULUMI_CONFIG_PASSPHRASE": "x"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return built_project(tmp_path)


def _invoke(args: list[str], services: DeployServices | None) -> Result:
    return CliRunner().invoke(cli, args, obj=services)


def _services(
    engine: FakeEngine, *, interactive: bool = False, answer: bool = True
) -> DeployServices:
    return DeployServices(
        engine=lambda: engine,
        interactive=lambda: interactive,
        ask=lambda question: answer,
        clock=lambda: "2026-11-22T20:00:00+00:00",
        environ=ENV,
    )


@pytest.mark.skipif(shutil.which("pulumi") is not None, reason="the pulumi CLI is installed here")
def test_deploy_without_the_pulumi_cli_says_how_to_install_it(project: Path) -> None:
    result = _invoke(
        ["deploy", "--target", "gcp", "--yes"],
        DeployServices(environ=ENV),  # the real engine factory
    )
    assert result.exit_code == 1
    assert "pulumi CLI is not installed" in result.output
    assert "get.pulumi.com" in result.output
    assert "Traceback" not in result.output


def test_dry_run_previews_only(project: Path) -> None:
    engine = FakeEngine()
    result = _invoke(["deploy", "--target", "gcp", "--dry-run"], _services(engine))
    assert result.exit_code == 0, result.output
    assert "preview: 2 to create" in result.output
    assert engine.ops() == ["preview"]
    assert not (project / ".skaal" / "deployments").exists()
    assert (project / ".skaal" / "pulumi").is_dir()  # the default local state backend


def test_no_terminal_and_no_yes_refuses(project: Path) -> None:
    engine = FakeEngine()
    result = _invoke(["deploy", "--target", "gcp"], _services(engine, interactive=False))
    assert result.exit_code == 1
    assert "no terminal" in result.output
    assert "--yes" in result.output
    assert engine.ops() == []


def test_yes_deploys_prints_outputs_and_records(project: Path) -> None:
    engine = FakeEngine()
    result = _invoke(["deploy", "--target", "gcp", "--yes"], _services(engine))
    assert result.exit_code == 0, result.output
    assert "https://web.run.app" in result.output
    assert engine.ops() == ["preview", "up"]
    record = json.loads((project / ".skaal" / "deployments" / "gcp-dev.json").read_text())
    assert record["outputs"] == {"web_url": "https://web.run.app"}


def test_interactive_no_cancels(project: Path) -> None:
    engine = FakeEngine()
    result = _invoke(
        ["deploy", "--target", "gcp"], _services(engine, interactive=True, answer=False)
    )
    assert result.exit_code == 0
    assert "cancelled" in result.output
    assert engine.ops() == ["preview"]


def test_bad_backend_url_is_a_usage_error(project: Path) -> None:
    result = _invoke(
        ["deploy", "--target", "gcp", "--backend-url", "ftp://x", "--yes"], _services(FakeEngine())
    )
    assert result.exit_code == 2
    assert "not a Pulumi state backend URL" in result.output


def test_unbuilt_target(project: Path) -> None:
    result = _invoke(["deploy", "--target", "aws", "--yes"], _services(FakeEngine()))
    assert result.exit_code == 1
    assert "skaal build --target aws" in result.output


def test_destroy_refuses_protected_data_then_deletes_it_with_the_flag(project: Path) -> None:
    engine = FakeEngine()
    assert _invoke(["deploy", "--target", "gcp", "--yes"], _services(engine)).exit_code == 0
    refused = _invoke(["destroy", "--target", "gcp", "--yes"], _services(engine))
    assert refused.exit_code == 1
    assert "--delete-data" in refused.output
    assert engine.state
    done = _invoke(["destroy", "--target", "gcp", "--yes", "--delete-data"], _services(engine))
    assert done.exit_code == 0, done.output
    assert engine.state == []
    assert not (project / ".skaal" / "deployments" / "gcp-dev.json").exists()
