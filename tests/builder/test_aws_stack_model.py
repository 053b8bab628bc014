"""The aws stack model: what the builder writes is what the program reads, and nothing else.

The build writes an :class:`AwsStack` as ``stack.json`` and a three-line
``__main__.py`` that hands it to :mod:`skaal.programs.aws`; the program
reads it back through the same model.  A file the model does not describe
(hand-edited, or written by another Skaal) is refused with a
:class:`BuildError` naming the field, before any resource is registered; a
reference that names nothing the program creates is a :class:`DeployError`.
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from skaal.builder.stacks.aws import LAMBDA_RUNTIME, AwsStack
from skaal.builder.stacks.base import read_stack
from skaal.builder.targets.aws import PROGRAM
from skaal.builder.targets.aws_stack import aws_stack
from skaal.errors import BuildError, DeployError
from tests.builder._pulumi import ROOT
from tests.builder.aws_support import build_example, run_program, write_with_layer


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[AwsStack, Path]:
    """The jobs example's stack model, and its artifact folder (with a stand-in layer)."""
    context, artifacts = build_example("jobs")
    return aws_stack(context), write_with_layer(artifacts, tmp_path_factory.mktemp("jobs"))


def _tampered(folder: Path, tmp_path: Path, change: Any) -> Path:
    """The artifact's ``__main__.py`` and layer, with ``change`` made to its ``stack.json``."""
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "__main__.py").write_text((folder / "__main__.py").read_text())
    data = json.loads((folder / "stack.json").read_text())
    change(data)
    (tmp_path / "stack.json").write_text(json.dumps(data))
    return tmp_path


def test_the_program_reads_back_exactly_the_model_the_build_wrote(
    built: tuple[AwsStack, Path],
) -> None:
    stack, folder = built
    assert read_stack(folder / "stack.json", AwsStack) == stack


def test_the_main_module_only_hands_its_stack_to_the_fixed_program(
    built: tuple[AwsStack, Path],
) -> None:
    _, folder = built
    source = (folder / "__main__.py").read_text()
    assert source == PROGRAM
    tree = ast.parse(source)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"pathlib", "skaal.programs.aws"}
    # the docstring, the two imports (the program's guarded), one call: run(stack.json)
    kinds = [type(node).__name__ for node in tree.body]
    assert kinds == ["Expr", "ImportFrom", "Try", "Expr"]
    last = tree.body[-1]
    assert isinstance(last, ast.Expr)
    assert isinstance(last.value, ast.Call)
    assert isinstance(last.value.func, ast.Name)
    assert last.value.func.id == "run"


def test_every_lambda_and_layer_run_the_runtime_the_layer_is_built_for(
    built: tuple[AwsStack, Path],
) -> None:
    _, folder = built
    run = run_program(folder)
    assert {f.inputs["runtime"] for f in run.of_type("aws:lambda/function:Function")} == {
        LAMBDA_RUNTIME
    }
    (layer,) = run.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["compatibleRuntimes"] == [LAMBDA_RUNTIME]


def test_a_field_the_model_does_not_know_is_refused_naming_it(
    built: tuple[AwsStack, Path], tmp_path: Path
) -> None:
    _, folder = built

    def extra(data: dict[str, Any]) -> None:
        data["tables"][0]["billing"] = "PROVISIONED"

    with pytest.raises(BuildError, match=r"tables\.0\.billing: Extra inputs") as refused:
        read_stack(_tampered(folder, tmp_path, extra) / "stack.json", AwsStack)
    assert refused.value.command == "skaal build --target TARGET"


def test_the_program_refuses_a_mistyped_stack_before_creating_anything(
    built: tuple[AwsStack, Path], tmp_path: Path
) -> None:
    _, folder = built

    def mistyped(data: dict[str, Any]) -> None:
        data["functions"][0]["memory_mb"] = "a lot"

    with pytest.raises(BuildError, match=r"functions\.0\.memory_mb"):
        run_program(_tampered(folder, tmp_path, mistyped))


def test_the_program_refuses_an_output_the_model_does_not_name(
    built: tuple[AwsStack, Path], tmp_path: Path
) -> None:
    _, folder = built

    def unknown(data: dict[str, Any]) -> None:
        data["functions"][0]["statements"][0]["resources"][0]["attr"] = "password"

    with pytest.raises(BuildError, match=r"functions\.0\.statements\.0\.resources\.0"):
        run_program(_tampered(folder, tmp_path, unknown))


def test_a_reference_to_nothing_the_program_creates_is_a_deploy_error(
    built: tuple[AwsStack, Path], tmp_path: Path
) -> None:
    _, folder = built

    def dangling(data: dict[str, Any]) -> None:
        for function in data["functions"]:
            function["statements"][0]["resources"][0]["ref"] = "Nowhere"

    with pytest.raises(DeployError, match=r"reference Nowhere\.arn names nothing"):
        run_program(_tampered(folder, tmp_path, dangling))


def test_mypy_checks_the_program_strictly_against_pulumis_own_types() -> None:
    # tests/test_lint.py runs mypy with this configuration on the whole package
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert "skaal" in config["files"]
    relaxed = {
        module
        for override in config.get("overrides", [])
        for module in override["module"]
        if override.get("ignore_missing_imports") or override.get("ignore_errors")
    }
    assert not {m for m in relaxed if m.startswith(("pulumi", "skaal"))}
    assert (ROOT / "skaal" / "programs" / "aws" / "program.py").is_file()
