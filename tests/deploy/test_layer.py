"""The aws Lambda layer ``skaal deploy`` builds: pip's command, the stamp, the swap.

pip never runs here: a fake runner records the command and fills the target
folder the way pip would.  :func:`run_streaming` itself runs a small Python
child to show that output is streamed and the status returned.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.builder.stacks.aws import LAMBDA_RUNTIME, LAYER_COMMAND
from skaal.cli.main import cli
from skaal.deploy.layer import PIP_ARGS, STAMP_NAME, layer_hash, prepare_layer, run_streaming
from skaal.deploy.services import DeployServices
from skaal.errors import DeployError
from skaal.programs.aws.program import check_layer
from tests.deploy.fakes import PLAN_HASH, FakeEngine, FakePip

WHEEL = "skaal-1.2.3-py3-none-any.whl"


def aws_folder(root: Path) -> Path:
    """``artifacts/aws/`` as ``skaal build --target aws`` leaves it (the parts used here)."""
    folder = root / "artifacts" / "aws"
    (folder / "app").mkdir(parents=True)
    (folder / "wheels").mkdir()
    (folder / "wheels" / WHEEL).write_bytes(b"PK wheel v1")
    (folder / "app" / "requirements.txt").write_text("skaal==1.2.3\nboto3==1.0\n")
    manifest = {"target": "aws", "app": "shop", "plan_hash": PLAN_HASH, "skaal_version": "1.2.3"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "Pulumi.yaml").write_text("name: skaal-shop\nruntime: python\n")
    (folder / "Pulumi.prod.yaml").write_text("config: {}\n")
    return folder


def test_a_missing_layer_is_built_with_the_programs_pip_flags(tmp_path: Path) -> None:
    folder = aws_folder(tmp_path)
    pip, lines = FakePip(), list[str]()
    assert prepare_layer(folder, run=pip, echo=lines.append, python="py") is True
    (command,) = pip.commands
    assert command[:4] == ("py", "-m", "pip", "install")
    assert command[command.index("-r") + 1] == str(folder / "app" / "requirements.txt")
    assert command[command.index("--find-links") + 1] == str(folder / "wheels")
    assert command[-len(PIP_ARGS) :] == PIP_ARGS
    assert not Path(command[command.index("-t") + 1]).exists()  # the temporary folder is gone
    assert pip.cwds == [folder]
    assert (folder / "layer" / "python" / "skaal" / "__init__.py").read_text() == "# build 1\n"
    assert (folder / "layer" / STAMP_NAME).read_text().strip() == layer_hash(folder)
    assert "Collecting skaal==1.2.3" in lines  # pip's output is passed on
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_a_current_layer_is_kept_and_a_changed_input_rebuilds_it(tmp_path: Path) -> None:
    folder = aws_folder(tmp_path)
    pip = FakePip()
    prepare_layer(folder, run=pip, echo=lambda line: None)
    assert prepare_layer(folder, run=pip, echo=lambda line: None) is False
    assert len(pip.commands) == 1
    (folder / "wheels" / WHEEL).write_bytes(b"PK wheel v2")  # same version, other Skaal
    assert prepare_layer(folder, run=pip, echo=lambda line: None) is True
    (folder / "app" / "requirements.txt").write_text("skaal==1.2.3\nboto3==2.0\n")
    assert prepare_layer(folder, run=pip, echo=lambda line: None) is True
    assert len(pip.commands) == 3
    assert (folder / "layer" / "python" / "skaal" / "__init__.py").read_text() == "# build 3\n"


def test_a_layer_without_a_stamp_is_rebuilt(tmp_path: Path) -> None:
    folder = aws_folder(tmp_path)
    (folder / "layer" / "python").mkdir(parents=True)  # filled by hand, from who knows what
    pip = FakePip()
    assert prepare_layer(folder, run=pip, echo=lambda line: None) is True
    assert len(pip.commands) == 1


def test_a_failing_pip_is_a_deploy_error_and_keeps_the_previous_layer(tmp_path: Path) -> None:
    folder = aws_folder(tmp_path)
    prepare_layer(folder, run=FakePip(), echo=lambda line: None)
    (folder / "app" / "requirements.txt").write_text("skaal==1.2.3\nnot-on-pypi==9\n")
    with pytest.raises(DeployError) as caught:
        prepare_layer(folder, run=FakePip(status=1), echo=lambda line: None)
    message = str(caught.value)
    assert "pip failed (exit status 1)" in message
    assert str(folder / "app" / "requirements.txt") in message
    assert "--find-links wheels -t layer/python " + " ".join(PIP_ARGS) in message
    assert (folder / "layer" / "python" / "skaal" / "__init__.py").read_text() == "# build 1\n"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_an_incomplete_build_is_a_deploy_error(tmp_path: Path) -> None:
    folder = aws_folder(tmp_path)
    (folder / "app" / "requirements.txt").unlink()
    with pytest.raises(DeployError, match="skaal build --target aws"):
        prepare_layer(folder, run=FakePip(), echo=lambda line: None)


def test_the_programs_message_and_runtime_match_the_layer_build(tmp_path: Path) -> None:
    with pytest.raises(DeployError) as refused:  # the program's check, before any resource
        check_layer(tmp_path)
    assert refused.value.fix is not None
    assert "`skaal deploy --target aws`" in refused.value.fix
    assert LAYER_COMMAND in refused.value.fix
    assert LAYER_COMMAND.endswith(" ".join(PIP_ARGS))
    version = PIP_ARGS[PIP_ARGS.index("--python-version") + 1]
    assert f"python{version}" == LAMBDA_RUNTIME


def test_run_streaming_passes_each_line_on_and_returns_the_status(tmp_path: Path) -> None:
    lines: list[str] = []
    code = "import sys; print('out'); print('err', file=sys.stderr, flush=True); sys.exit(3)"
    assert run_streaming([sys.executable, "-c", code], tmp_path, lines.append) == 3
    assert sorted(lines) == ["err", "out"]
    assert run_streaming([str(tmp_path / "no-such-program")], tmp_path, lines.append) == 127


def test_skaal_deploy_aws_builds_the_layer_before_the_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = aws_folder(tmp_path)
    engine, pip = FakeEngine(), FakePip()
    services = DeployServices(
        engine=lambda: engine,
        interactive=lambda: False,
        environ={"PULUMI_CONFIG_PASSPHRASE": "x"},
        run_command=pip,
    )
    result = CliRunner().invoke(cli, ["deploy", "--target", "aws", "--dry-run"], obj=services)
    assert result.exit_code == 0, result.output
    assert len(pip.commands) == 1
    assert (folder / "layer" / "python").is_dir()
    assert result.output.index("Collecting skaal") < result.output.index("previewing stack")
    assert engine.ops() == ["preview"]
    again = CliRunner().invoke(cli, ["deploy", "--target", "aws", "--dry-run"], obj=services)
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output
    assert len(pip.commands) == 1


def test_a_failing_layer_build_stops_the_deploy_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    aws_folder(tmp_path)
    engine = FakeEngine()
    services = DeployServices(
        engine=lambda: engine,
        environ={"PULUMI_CONFIG_PASSPHRASE": "x"},
        run_command=FakePip(status=2),
    )
    result = CliRunner().invoke(cli, ["deploy", "--target", "aws", "--yes"], obj=services)
    assert result.exit_code == 1
    assert "pip failed (exit status 2)" in result.output
    assert "Traceback" not in result.output
    assert engine.ops() == []
