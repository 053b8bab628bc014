"""What ``skaal plan``, ``skaal --help``, ``import skaal`` and an app's declarations load.

Start-up time of the CLI is mostly imports, so the guard is on the import
graph, not on a clock: each case runs in a fresh interpreter and lists
``sys.modules`` afterwards.  Planning needs the declarations, the catalog,
the solver and the lock; it must not load the runtime, the servers, the
builders, the deployer, cloud SDKs or other subcommands; building writes the
stack model of a cloud target and never loads Pulumi or the fixed programs
that read that model (they run at deploy time); importing an app module
needs only the declaration API.  A failure names the
modules that crept in; import them inside the function that needs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skaal.cli.deploy import TARGETS
from skaal.deploy.request import TARGETS as DEPLOYABLE
from solver.draws import write_app

#: Loaded by no planning command (prefixes of module names).
NOT_FOR_PLANNING = (
    "boto3",
    "botocore",
    "google",
    "httpx",
    "psycopg",
    "pulumi",
    "redis",
    "skaal.builder",
    "skaal.hosts",
    "skaal.cli.build",
    "skaal.cli.catalog",
    "skaal.cli.deploy",
    "skaal.cli.run",
    "skaal.deploy",
    "skaal.runtime",
    "skaal.serve",
    "skaal.testing",
    "starlette",
    "uvicorn",
    "z3",
)

#: Loaded by no build: the programs (and Pulumi) run only at deploy time.
NOT_FOR_BUILDING = ("pulumi", "pulumi_aws", "pulumi_gcp", "skaal.programs")

#: Heavy modules ``skaal --help`` and ``import skaal`` have no use for.
NOT_FOR_HELP = (
    "pydantic",
    "rich",
    "skaal.blueprint",
    "skaal.catalog",
    "skaal.deploy",
    "skaal.solver",
    "z3",
)

#: What importing an app module (running its declarations) has no use for; the
#: schedules' classes are loaded by an app that declares one.
NOT_FOR_DECLARING = (
    *NOT_FOR_PLANNING,
    "click",
    "rich",
    "skaal.catalog",
    "skaal.cli",
    "skaal.declare.schedule",
    "skaal.pipeline",
    "skaal.plan",
    "skaal.solver",
    "rtoml",
)

_PROBE = """
import contextlib, io, json, sys
out = sys.argv[1]
args = sys.argv[2:]
if args == ["import"]:
    import skaal
elif args == ["declare"]:
    import app
    app.app.blueprint()
else:
    from skaal.cli.main import cli
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main(args, prog_name="skaal", standalone_mode=False)
        except SystemExit as exc:
            assert not exc.code, exc.code
with open(out, "w") as handle:
    json.dump(sorted(sys.modules), handle)
"""


def _write_app(folder: Path) -> None:
    lines = ["from skaal import App, Map", "", 'app = App("ten")', ""]
    for i in range(10):
        lines += [
            "",
            f'@app.storage(read_latency="< 50ms", durability="persistent", '
            f'size="{i + 1}GB", reads="{10 * (i + 1)}/s")',
            f"class R{i}(Map[str, int]): ...",
        ]
    (folder / "app.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _loaded(folder: Path, *args: str) -> list[str]:
    out = folder / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(out.read_text(encoding="utf-8"))
    return modules


def _offending(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    _write_app(tmp_path)
    return tmp_path


def test_plan_loads_only_what_planning_needs(project: Path) -> None:
    modules = _loaded(project, "plan", "app.py:app", "--target", "aws", "--no-write")
    assert "skaal.solver" in modules  # the probe really planned
    assert _offending(modules, NOT_FOR_PLANNING) == []
    # rtoml is loaded: it parses the catalog (skaal.catalog.merge), twenty times faster than tomllib


def test_plan_json_does_not_load_rich(project: Path) -> None:
    modules = _loaded(project, "plan", "app.py:app", "--target", "aws", "--json")
    assert "rtoml" in modules  # the probe really wrote the lock
    assert (project / "skaal.lock").is_file()
    assert _offending(modules, (*NOT_FOR_PLANNING, "rich")) == []


#: Loaded only by what a plain plan of a project without a pyproject.toml never meets:
#: a mistake to suggest a name for (difflib), a pyproject.toml or a catalog rtoml
#: refused to read (tomllib), pydantic's plugins (importlib.metadata: skaal.cli.main
#: stands in for pydantic's plugin loader while they are off), a schedule (the cron
#: parser), a schema-1 catalog; nor does finding a bundled catalog need importlib.resources,
#: nor the console's width shutil (which loads zlib, bz2 and lzma).
NOT_FOR_A_PLAIN_PLAN = (
    "bz2",
    "difflib",
    "importlib.metadata",
    "importlib.resources",
    "lzma",
    "shutil",
    "skaal.blueprint.cron",
    "skaal.catalog.schema1",
    "tomllib",
)


def test_a_plain_plan_loads_no_error_or_pyproject_reader(project: Path) -> None:
    assert not (project / "pyproject.toml").exists()
    for output in ([], ["--json"]):
        modules = _loaded(project, "plan", "app.py:app", "--target", "gcp", *output)
        assert "skaal.solver" in modules  # the probe really planned
        assert _offending(modules, NOT_FOR_A_PLAIN_PLAN) == []


#: Loaded only by a plan that fails (the reports) or that the one-instance bound does not
#: settle (the exact searches): skaal.solver.optimise imports them where they are needed.
NOT_AT_THE_BOUND = (
    "skaal.solver.capacity",
    "skaal.solver.conflicts",
    "skaal.solver.diagnosis",
    "skaal.solver.pooled",
    "skaal.solver.small",
    "skaal.solver.uniform",
)


def test_a_plan_settled_by_the_one_instance_bound_loads_no_search_or_report(
    project: Path,
) -> None:
    # on aws one instance of the cheapest server holds every map: the bound settles it
    modules = _loaded(project, "plan", "app.py:app", "--target", "aws", "--json")
    assert "skaal.solver.optimise" in modules  # the probe really optimised
    assert _offending(modules, NOT_AT_THE_BOUND) == []


#: Loaded only by a plan that fails.
REPORTS = ("skaal.solver.conflicts", "skaal.solver.diagnosis")


def test_a_plan_the_searches_settle_loads_no_failure_report(tmp_path: Path) -> None:
    # 1,000 maps of nine profiles: the one-instance bound does not settle the rds
    # servers, so the counting and the searches run, and the plan has no conflict
    write_app(tmp_path / "app.py", "profiles", 1000)
    modules = _loaded(tmp_path, "plan", "app.py:app", "--target", "aws", "--json")
    assert "skaal.solver.uniform" in modules  # the probe really searched
    assert _offending(modules, REPORTS) == []


def test_a_plan_through_the_pooled_relaxation_loads_no_masked_arrays(tmp_path: Path) -> None:
    # 1,000 resources of the users draw on gcp: the pooled relaxation, placement over
    # arrays and the re-solve without VPC backends (rebound) all run; numpy.unique of a
    # plain array imports numpy.ma (30 ms) to ask whether it is masked
    write_app(tmp_path / "app.py", "users", 1000)
    modules = _loaded(tmp_path, "plan", "app.py:app", "--target", "gcp", "--json")
    assert "skaal.solver.rebound" in modules  # the probe really re-solved
    assert "highspy" in modules
    assert _offending(modules, ("numpy.ma",)) == []


def test_build_writes_the_aws_stack_without_loading_pulumi_or_its_program(
    project: Path,
) -> None:
    _loaded(project, "plan", "app.py:app", "--target", "aws")
    modules = _loaded(project, "build", "app.py:app", "--target", "aws")
    assert "skaal.builder.stacks.aws" in modules  # the probe really built the stack model
    assert (project / "artifacts" / "aws" / "stack.json").is_file()
    assert _offending(modules, NOT_FOR_BUILDING) == []


def test_build_writes_the_gcp_stack_without_loading_pulumi_or_its_program(
    project: Path,
) -> None:
    _loaded(project, "plan", "app.py:app", "--target", "gcp")
    modules = _loaded(project, "build", "app.py:app", "--target", "gcp")
    assert "skaal.builder.stacks.gcp" in modules  # the probe really built the stack model
    assert (project / "artifacts" / "gcp" / "infra" / "stack.json").is_file()
    assert _offending(modules, NOT_FOR_BUILDING) == []


def test_build_writes_the_local_stack_without_loading_pulumi_or_its_program(
    project: Path,
) -> None:
    _loaded(project, "plan", "app.py:app", "--target", "local")
    modules = _loaded(project, "build", "app.py:app", "--target", "local")
    assert "skaal.builder.stacks.local" in modules  # the probe really built the stack model
    assert (project / "artifacts" / "local" / "infra" / "stack.json").is_file()
    assert _offending(modules, NOT_FOR_BUILDING) == []


def test_help_and_import_skaal_stay_light(project: Path) -> None:
    assert _offending(_loaded(project, "--help"), NOT_FOR_HELP) == []
    assert _offending(_loaded(project, "import"), (*NOT_FOR_HELP, "click")) == []


def test_declaring_an_app_loads_only_the_declaration_api(project: Path) -> None:
    # start-up of every command, and the import of a large app, pay for these
    modules = _loaded(project, "declare")
    assert "skaal.declare.app" in modules  # the probe really declared
    assert _offending(modules, NOT_FOR_DECLARING) == []


def test_deploy_targets_match_the_deployer() -> None:
    # skaal.cli.deploy repeats the list so that --help need not import skaal.deploy

    assert TARGETS == DEPLOYABLE
