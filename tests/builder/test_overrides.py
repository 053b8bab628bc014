"""Override hooks (skaal.overrides): a project's module changes generated resources.

Each program is built with the hooks module and run under Pulumi's mocks: the
mocked resource shows what the hook changed, and a hook for a resource the
plan lacks, a module that does not import, or a hook that raises is an
error naming the file and line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pulumi
import pytest

from skaal.blueprint.model import Blueprint
from skaal.builder.inputs import read_overrides
from skaal.builder.model import Artifact, BuildContext
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp import build_gcp
from skaal.errors import BuildError, DeployError
from skaal.overrides import ResourceArgs, override

sys.path.insert(0, str(Path(__file__).parent))
import gcp_mocks
from aws_support import build_example, run_program, write_with_layer

from tests.builder._pulumi import write

HOOKS = """
from skaal.overrides import ResourceArgs, override


@override("Results")
def results(args: ResourceArgs) -> None:
    if args.type == "aws:dynamodb/table:Table":
        args.props["tags"] = {"team": "jobs", "resource": args.resource}


@override(type="aws:sqs/queue:Queue")
def queues(args: ResourceArgs) -> None:
    args.props["delay_seconds"] = 7
"""

GCP_HOOKS = """
from skaal.overrides import ResourceArgs, override


@override("Uploads")
def uploads(args: ResourceArgs) -> None:
    if args.type == "gcp:storage/bucket:Bucket":
        args.props["labels"] = {"team": "uploads"}
"""


@pytest.fixture(autouse=True)
def _forget_transformations() -> Iterator[None]:
    """Mocked programs share one root resource per process: drop the hooks a test installed."""
    root = pulumi.runtime.get_root_resource()
    before = root._transformations if root is not None else None
    yield
    root = pulumi.runtime.get_root_resource()
    if root is not None:
        root._transformations = before


def _with_hooks(context: BuildContext, text: str) -> BuildContext:
    return msgspec.structs.replace(context, overrides=Artifact("skaal_overrides.py", text))


def test_aws_hooks_change_the_named_resource_and_the_typed_ones(tmp_path: Path) -> None:
    context, _ = build_example("jobs")
    artifacts = build_aws(_with_hooks(context, HOOKS))
    assert artifacts.file("skaal_overrides.py").content == HOOKS
    run = run_program(write_with_layer(artifacts, tmp_path))
    assert run.named("Results").inputs["tags"] == {"team": "jobs", "resource": "Results"}
    assert run.named("Stats").inputs.get("tags") is None  # another table: untouched
    queues = run.of_type("aws:sqs/queue:Queue")
    assert queues
    assert all(q.inputs["delaySeconds"] == 7 for q in queues)


def test_without_hooks_nothing_changes(tmp_path: Path) -> None:
    _, artifacts = build_example("jobs")
    assert "skaal_overrides.py" not in artifacts.paths()
    run = run_program(write_with_layer(artifacts, tmp_path))
    assert run.named("Results").inputs.get("tags") is None
    assert all("delaySeconds" not in q.inputs for q in run.of_type("aws:sqs/queue:Queue"))


def test_gcp_hooks_change_the_named_bucket(tmp_path: Path) -> None:
    context, _ = gcp_mocks.build_example("file_upload")
    artifacts = build_gcp(_with_hooks(context, GCP_HOOKS))
    folder = write(artifacts, tmp_path)
    program = folder / "infra" / "__main__.py"
    run = gcp_mocks.run_program(program.read_text(), gcp_mocks.CONFIG, path=program)
    assert run.named("Uploads").inputs["labels"] == {"team": "uploads"}


def test_a_hook_that_raises_stops_the_deployment_at_its_line(tmp_path: Path) -> None:
    context, _ = build_example("jobs")
    hooks = HOOKS + '\n\n@override("Stats")\ndef broken(args: ResourceArgs) -> None:\n    1 / 0\n'
    folder = write_with_layer(build_aws(_with_hooks(context, hooks)), tmp_path)
    with pytest.raises(DeployError) as raised:
        run_program(folder)
    assert "override broken failed on Stats" in raised.value.what
    assert "ZeroDivisionError" in raised.value.what
    line = hooks.splitlines().index('@override("Stats")') + 1
    assert raised.value.where == f"{folder / 'skaal_overrides.py'}:{line}"


def _blueprint() -> Blueprint:
    context, _ = build_example("jobs")
    return context.blueprint


def test_the_build_refuses_a_hook_for_an_unknown_resource(tmp_path: Path) -> None:
    (tmp_path / "skaal_overrides.py").write_text(
        "from skaal.overrides import override\n\n\n@override('Resluts')\ndef f(args):\n    pass\n"
    )
    with pytest.raises(BuildError) as raised:
        read_overrides(tmp_path, _blueprint())
    assert "names resource 'Resluts', which the plan does not have" in raised.value.what
    assert "did you mean 'Results'" in raised.value.what
    assert raised.value.where == f"{tmp_path / 'skaal_overrides.py'}:4"


def test_the_build_reports_a_module_that_does_not_import(tmp_path: Path) -> None:
    (tmp_path / "skaal_overrides.py").write_text("import json\n\nraise RuntimeError('nope')\n")
    with pytest.raises(BuildError) as raised:
        read_overrides(tmp_path, _blueprint())
    assert "RuntimeError: nope" in raised.value.what
    assert raised.value.where == f"{tmp_path / 'skaal_overrides.py'}:3"


def test_a_syntax_error_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "skaal_overrides.py").write_text("x = 1\ndef (:\n")
    with pytest.raises(BuildError) as raised:
        read_overrides(tmp_path, _blueprint())
    assert raised.value.where == f"{tmp_path / 'skaal_overrides.py'}:2"


def test_pyproject_names_another_module(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.skaal]\noverrides = "infra_hooks.py"\n')
    (tmp_path / "infra_hooks.py").write_text(HOOKS)
    found = read_overrides(tmp_path, _blueprint())
    assert found == Artifact("skaal_overrides.py", HOOKS)
    (tmp_path / "pyproject.toml").write_text('[tool.skaal]\noverrides = "missing.py"\n')
    with pytest.raises(BuildError, match="not a file"):
        read_overrides(tmp_path, _blueprint())


def test_no_module_no_hooks(tmp_path: Path) -> None:
    assert read_overrides(tmp_path, _blueprint()) is None


def test_override_needs_a_target() -> None:
    with pytest.raises(BuildError, match="names no resource and no type"):
        override()


def test_a_hook_sees_its_resource() -> None:
    seen: list[ResourceArgs] = []

    @override("Carts", type="aws:dynamodb/table:Table")
    def hook(args: ResourceArgs) -> None:
        seen.append(args)

    marked = hook.__skaal_override__  # type: ignore[attr-defined]
    table = ResourceArgs("Carts", "Carts", "aws:dynamodb/table:Table", {})
    assert marked.matches(table)
    assert not marked.matches(msgspec.structs.replace(table, type="aws:s3/bucket:Bucket"))
    assert not marked.matches(msgspec.structs.replace(table, resource="Orders"))
