"""Run the Pulumi program of any target's artifact set under mocks: what it creates.

:func:`created` writes an artifact set (aws: with an empty ``layer/python``
standing in for the dependencies), executes its program under Pulumi's
mocks with the helpers each target's own tests use
(:func:`tests.builder.aws_support.run_program`,
:func:`tests.builder.gcp_mocks.run_program`; the local program with its own
stack configuration) and returns every registered resource as a
:class:`tests.builder.billable.Created`: type, logical name, resolved inputs.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from skaal.builder.model import ArtifactSet
from skaal.plan.model import Plan
from tests.builder import aws_support, gcp_mocks
from tests.builder._pulumi import Recorded, Run, mocked, write
from tests.builder.billable import Created

__all__ = ["created"]


def created(artifacts: ArtifactSet, plan: Plan, folder: Path) -> list[Created]:
    """Every resource the program of ``artifacts`` (built from ``plan``) registers."""
    match plan.provider:
        case "aws":
            run: Run = aws_support.run_program(aws_support.write_with_layer(artifacts, folder))
        case "gcp":
            secrets = {
                f"skaal:{b.resource}": "value"
                for b in plan.bindings
                if b.implementation == "secret-manager"
            }
            run = gcp_mocks.run_artifacts(artifacts, {**gcp_mocks.CONFIG, **secrets})
        case "local":
            run = _run_local(write(artifacts, folder))
    return [Created(r.type, r.name, r.inputs) for r in run.resources]


class _Local(Mocks):
    def __init__(self, run: Run) -> None:
        self.run = run

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.run.resources.append(Recorded(args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        raise AssertionError(f"the local program calls no provider function: {args.token}")


def _run_local(folder: Path) -> Run:
    """Execute ``infra/__main__.py`` of a local artifact with its own stack configuration."""
    infra = folder / "infra"
    project = yaml.safe_load((infra / "Pulumi.yaml").read_text())["name"]
    config = yaml.safe_load((infra / "Pulumi.local.yaml").read_text())["config"]
    run = Run()

    @pulumi.runtime.test
    def execute() -> None:
        runpy.run_path(str(infra / "__main__.py"), run_name="__main__")

    settings = {key: str(value) for key, value in config.items()}
    with mocked(_Local(run), project=project, stack="local", config=settings):
        execute()
    return run
