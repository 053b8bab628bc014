"""Every file of the gcp artifact, for every example: parsed, checked, or executed.

``main.py`` is executed in ``test_gcp_serve.py``; this module parses the
rest, reads ``infra/stack.json`` back through its model, and runs every
example's ``infra/__main__.py`` (the fixed program on its stack model) under
mocks.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from skaal.builder.model import BuildContext
from skaal.builder.requirements import parse_requirements
from skaal.builder.stack_files import program_source
from skaal.builder.stacks.base import read_stack
from skaal.builder.stacks.gcp import GcpStack
from skaal.builder.targets import get_target
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog.loader import load_catalog
from skaal.errors import BuildError
from skaal.plan.lock import read_lock
from skaal.solver import solve
from tests.builder._pulumi import EXAMPLES, write
from tests.builder.gcp_mocks import CONFIG, build_example, run_artifacts

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "app.py").is_file())
BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


def instructions(text: str) -> list[tuple[str, str]]:
    logical = text.replace("\\\n", " ")
    found = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            found.append((word, " ".join(rest.split())))
    return found


def test_gcp_is_a_registered_target() -> None:
    assert get_target("gcp") is build_gcp


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_example_builds_and_its_program_runs(example: str) -> None:
    context, artifacts = build_example(example)
    run = run_artifacts(artifacts, CONFIG)
    assert run.of_type("gcp:cloudrunv2/service:Service")
    for item in run.resources:
        assert item.inputs.get("role") not in BASIC_ROLES
        for key in ("region", "location", "locationId"):
            if key in item.inputs:
                assert item.inputs[key].lower() == context.plan.region
    assert {f"src/{p}" for p in context.app_source_files} <= set(artifacts.paths())


def test_files_parse_and_describe_the_plan(tmp_path: Path) -> None:
    context, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path)
    assert read_lock(folder / "skaal.lock") == context.plan
    project = yaml.safe_load((folder / "infra" / "Pulumi.yaml").read_text())
    assert project["name"] == "skaal-jobs-gcp"
    assert project["runtime"]["name"] == "python"
    stack = yaml.safe_load((folder / "infra" / "Pulumi.dev.yaml").read_text())
    assert stack == {"config": {"gcp:region": "us-central1"}}
    infra = {
        r.name for r in parse_requirements((folder / "infra" / "requirements.txt").read_text())
    }
    assert infra == {"pulumi", "pulumi-gcp", "skaal"}
    app = {r.name for r in parse_requirements((folder / "requirements.txt").read_text())}
    assert {"skaal", "google-cloud-firestore", "google-cloud-pubsub", "uvicorn"} <= app
    assert "boto3" not in app
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["target"] == "gcp"
    assert manifest["plan_hash"] == context.plan.content_hash()
    assert "infra/" in (folder / ".dockerignore").read_text().splitlines()


def test_dockerfile_is_non_root_health_checked_and_serves_main(tmp_path: Path) -> None:
    _, artifacts = build_example("jobs")
    steps = instructions(artifacts.file("Dockerfile").content)
    words = [w for w, _ in steps]
    assert steps[0][0] == "FROM"
    assert "slim" in steps[0][1]
    user, _, group = dict(steps)["USER"].partition(":")
    assert user.isdigit()  # numeric, so the runtime can verify it is not root
    assert int(user) > 0
    assert group == user
    assert words.index("USER") < words.index("CMD")
    assert json.loads(dict(steps)["CMD"]) == ["python", "main.py"]
    assert "/_skaal/health" in dict(steps)["HEALTHCHECK"]
    assert shlex.split(dict(steps)["ENV"]).count("PORT=8080") == 1


def test_a_plan_for_another_provider_is_refused() -> None:
    context, _ = build_example("hello")
    local = solve(context.blueprint, load_catalog("local"))
    other = BuildContext(
        blueprint=context.blueprint,
        plan=local,
        app_ref=context.app_ref,
        target="gcp",
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )
    with pytest.raises(BuildError, match="not gcp"):
        build_gcp(other)


def test_the_stack_json_is_the_model_of_the_plan(tmp_path: Path) -> None:
    context, artifacts = build_example("shop")
    folder = write(artifacts, tmp_path)
    stack = read_stack(folder / "infra" / "stack.json", GcpStack)
    assert stack == gcp_stack(context.blueprint, context.plan)
    assert stack.plan_hash == context.plan.content_hash()
    program = (folder / "infra" / "__main__.py").read_text()
    # the program is skaal's, not generated: below its docstring, the shared text
    assert program.split('"""')[-1] == program_source("", "gcp").split('"""')[-1]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda s: s.update(services=[{**s["services"][0], "cpus": "2"}]), "cpus"),
        (lambda s: s.update(region=7), "region"),
        (
            lambda s: s.update(services=[{**s["services"][0], "account": "nobody"}]),
            "account 'nobody' names nothing in the stack",
        ),
    ],
)
def test_a_foreign_stack_json_is_a_build_error(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], said: str
) -> None:
    _, artifacts = build_example("hello")
    stack = json.loads(str(artifacts.file("infra/stack.json").content))
    change(stack)
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack), encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        read_stack(path, GcpStack)
    assert said in raised.value.what
    assert raised.value.where == str(path)


def test_a_created_bucket_needs_the_runtime_account(tmp_path: Path) -> None:
    # the bucket's name ends with a hash of that account's unique id
    bucket = {"resource": "Uploads", "base": "app-uploads", "location": "US-CENTRAL1"}
    stack = {"app": "app", "plan_hash": "0" * 64, "region": "us-central1", "accounts": []}
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({**stack, "buckets": [bucket]}), encoding="utf-8")
    with pytest.raises(BuildError, match="account 'runtime' names nothing in the stack"):
        read_stack(path, GcpStack)
    adopted = {"resource": "Uploads", "adopted": "acme-uploads"}
    path.write_text(json.dumps({**stack, "buckets": [adopted]}), encoding="utf-8")
    assert read_stack(path, GcpStack).buckets[0].adopted == "acme-uploads"
