"""``skaal plan`` end to end: CliRunner for behaviour, a few real subprocess runs.

The project under test is written to a temporary directory: an ``app.py`` and
a small priced catalog (``shop.toml``) so costs, shared instances and diffs
are visible (the bundled local catalog is free).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from skaal.cli.main import cli
from skaal.cli.plan import parse_pins
from skaal.cli.render import make_console, money, render_diff, render_plan
from skaal.errors import UsageError
from skaal.plan.diff import diff_plans
from skaal.plan.lock import read_lock
from skaal.plan.model import Binding, Plan, SharedInstance
from solver.draws import write_app

REPO = Path(__file__).resolve().parents[2]

CATALOG = """\
schema_version = 1
name = "shop"
provider = "local"
region = "local"
description = "priced local backends for tests"

[backends.memory]
description = "memory"
kinds = ["map"]
implementation = "memory"
regions = ["local"]
[backends.memory.performance]
read_latency_ms = 0.01
write_latency_ms = 0.01
durability = "ephemeral"
consistency = ["strong"]
availability = 99.0
[backends.memory.price]
region = "local"
per_gb_month = { amount = 0.5, source = "https://example.com/memory", as_of = "2026-11-22" }

[backends.sqlite]
description = "sqlite"
kinds = ["map"]
implementation = "sqlite"
regions = ["local"]
[backends.sqlite.performance]
read_latency_ms = 0.05
write_latency_ms = 1.0
durability = "durable"
consistency = ["strong"]
availability = 99.0
[backends.sqlite.limits]
max_size_gb = 100.0
[backends.sqlite.price]
region = "local"
per_gb_month = { amount = 1.0, source = "https://example.com/sqlite", as_of = "2026-11-22" }

[backends.redis]
description = "redis"
kinds = ["map"]
implementation = "redis"
regions = ["local"]
[backends.redis.performance]
read_latency_ms = 0.2
write_latency_ms = 0.2
durability = "ephemeral"
consistency = ["strong"]
availability = 99.0
[backends.redis.shared]
size_gb = 10.0
max_instances = 2
[backends.redis.price]
region = "local"
fixed_monthly = { amount = 10.0, source = "https://example.com/redis", as_of = "2026-11-22" }
"""

APP = """\
from skaal import App, Map

app = App("shop")


@app.storage(durability="persistent", size="2GB", read_latency="< 1ms")
class Carts(Map[str, str]): ...


@app.storage(durability="ephemeral", size="1GB")
class Sessions(Map[str, str]): ...
"""

INFEASIBLE = """\
from skaal import App, Map

app = App("shop")


@app.storage(read_latency="< 0.001ms")
class Fast(Map[str, str]): ...


@app.storage(durability="persistent", size="500GB")
class Huge(Map[str, str]): ...


@app.storage(durability="ephemeral")
class Fine(Map[str, str]): ...
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "shop.toml").write_text(CATALOG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _plan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["plan", *args])


# -- usage errors (exit 2) ----------------------------------------------------


def test_missing_app_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _plan()
    assert result.exit_code == 2
    assert "no app given" in result.stderr
    assert "[tool.skaal] app" in result.stderr
    assert "Traceback" not in result.output


def test_module_not_found(project: Path) -> None:
    result = _plan("shopp:app")
    assert result.exit_code == 2
    assert "cannot find module 'shopp'" in result.stderr


def test_syntax_error_points_at_the_user_line(project: Path) -> None:
    (project / "broken.py").write_text("from skaal import App\napp = App('shop'\nx = = 1\n")
    result = _plan("broken.py")
    assert result.exit_code == 2
    assert f"{(project / 'broken.py').resolve()}:" in result.stderr
    assert "syntax error" in result.stderr
    assert "Traceback" not in result.output


def test_attribute_missing_suggests_the_app(project: Path) -> None:
    result = _plan("app:ap")
    assert result.exit_code == 2
    assert "did you mean 'app'?" in result.stderr


def test_catalog_and_target_are_exclusive(project: Path) -> None:
    result = _plan("app:app", "--catalog", "shop.toml", "--target", "aws")
    assert result.exit_code == 2
    assert "--catalog and --target cannot be used together" in result.stderr


def test_bad_pin_syntax(project: Path) -> None:
    result = _plan("app:app", "--pin", "Carts")
    assert result.exit_code == 2
    assert "--pin 'Carts' is not RESOURCE=BACKEND" in result.stderr


def test_pin_of_an_undeclared_resource(project: Path) -> None:
    result = _plan("app:app", "--pin", "Cart=sqlite", "--catalog", "shop.toml")
    assert result.exit_code == 2
    assert "did you mean 'Carts'?" in result.stderr


def test_explain_of_an_undeclared_resource(project: Path) -> None:
    result = _plan("--explain", "Session", "app:app", "--catalog", "shop.toml")
    assert result.exit_code == 2
    assert "did you mean 'Sessions'?" in result.stderr


def test_unknown_target(project: Path) -> None:
    result = _plan("app:app", "--target", "azure")
    assert result.exit_code == 2
    assert "azure" in result.output


def test_parse_pins() -> None:
    assert parse_pins(("Carts=sqlite", "billing.X = redis")) == {
        "Carts": "sqlite",
        "billing.X": "redis",
    }
    for bad in ("=sqlite", "Carts=", "Carts=a=b"):
        with pytest.raises(UsageError):
            parse_pins((bad,))
    with pytest.raises(UsageError, match="pinned twice"):
        parse_pins(("A=x", "A=y"))


# -- planning -----------------------------------------------------------------


def test_plan_prints_the_table_and_writes_the_lock(project: Path) -> None:
    result = _plan("app:app", "--catalog", "shop.toml")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Plan for shop on shop", "Carts", "sqlite", "Sessions", "memory", "$2.00"):
        assert text in out
    assert "total $2.50/month" in out
    assert "status: optimal" in out
    assert "first plan" in out
    assert "+ Carts → sqlite $2.00" in out
    lock = read_lock(project / "skaal.lock")
    assert lock is not None
    assert lock.binding("Carts").backend == "sqlite"
    assert [p.backend for p in lock.prices] == ["memory", "sqlite"]


def test_second_plan_is_stable_and_shows_no_changes(project: Path) -> None:
    first = _plan("app:app", "--catalog", "shop.toml")
    assert first.exit_code == 0, first.output
    first_lock = read_lock(project / "skaal.lock")
    first_bytes = (project / "skaal.lock").read_bytes()
    second = _plan("--catalog", "shop.toml", "app:app")
    assert (project / "skaal.lock").read_bytes() == first_bytes
    assert second.exit_code == 0, second.output
    assert "no changes" in second.stdout
    second_lock = read_lock(project / "skaal.lock")
    assert first_lock is not None
    assert second_lock is not None
    assert [(b.resource, b.backend) for b in second_lock.bindings] == [
        (b.resource, b.backend) for b in first_lock.bindings
    ]
    before = (project / "skaal.lock").read_bytes()
    third = _plan("app:app", "--catalog", "shop.toml")
    assert third.exit_code == 0, third.output
    assert "no changes" in third.stdout
    assert (project / "skaal.lock").read_bytes() == before


def test_diff_after_a_declaration_change(project: Path) -> None:
    assert _plan("app:app", "--catalog", "shop.toml").exit_code == 0
    (project / "app.py").write_text(
        APP.replace('durability="ephemeral", size="1GB"', 'durability="persistent", size="1GB"')
    )
    result = _plan("app:app", "--catalog", "shop.toml")
    assert result.exit_code == 0, result.output
    assert "~ Sessions memory → sqlite $0.50 → $1.00" in result.stdout
    assert "total $2.50 → $3.00 (+$0.50/month)" in result.stdout


def test_json_output_is_valid_json_only(project: Path) -> None:
    result = _plan("app:app", "--json", "--catalog", "shop.toml")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["plan"]["app"] == "shop"
    assert {b["resource"]: b["backend"] for b in data["plan"]["bindings"]} == {
        "Carts": "sqlite",
        "Sessions": "memory",
    }
    assert data["diff"]["first_plan"] is True
    assert data["lock"] == "skaal.lock"
    lock = read_lock(project / "skaal.lock")
    assert lock is not None
    assert data["plan_hash"] == lock.content_hash()


def test_pin_places_the_resource_and_shows_the_shared_instance(project: Path) -> None:
    result = _plan("app:app", "--catalog", "shop.toml", "--pin", "Sessions=redis")
    assert result.exit_code == 0, result.output
    assert "Server instances" in result.stdout
    assert "$10.00/month" in result.stdout
    lock = read_lock(project / "skaal.lock")
    assert lock is not None
    assert lock.binding("Sessions").backend == "redis"
    assert lock.instances[0].backend == "redis"


def test_no_write_and_custom_lock_path(project: Path) -> None:
    result = _plan("app:app", "--catalog", "shop.toml", "--no-write")
    assert result.exit_code == 0, result.output
    assert "not written" in result.stdout
    assert not (project / "skaal.lock").exists()
    result = _plan("app:app", "--catalog", "shop.toml", "--lock", "deploy/shop.lock")
    assert result.exit_code == 0, result.output
    assert read_lock(project / "deploy" / "shop.lock") is not None


def test_explain_lists_every_candidate(project: Path) -> None:
    result = _plan("app:app", "--catalog", "shop.toml", "--explain", "Carts")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Carts (map) declared at" in out
    assert "chosen" in out
    assert "per_gb_month" in out
    assert "rejected" in out
    assert "durability" in out
    assert not (project / "skaal.lock").exists()
    data = json.loads(
        _plan("app:app", "--catalog", "shop.toml", "--explain", "Carts", "--json").stdout
    )
    assert data["chosen"] == "sqlite"
    assert {c["backend"] for c in data["candidates"] if not c["feasible"]} == {"memory", "redis"}


def test_infeasible_plan_names_every_resource_and_writes_nothing(project: Path) -> None:
    assert _plan("app:app", "--catalog", "shop.toml").exit_code == 0
    before = (project / "skaal.lock").read_bytes()
    (project / "app.py").write_text(INFEASIBLE)
    result = _plan("app:app", "--catalog", "shop.toml")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    app_file = str((project / "app.py").resolve())
    assert "Fast" in result.stderr
    assert f"{app_file}:6" in result.stderr
    assert "Huge" in result.stderr
    assert f"{app_file}:10" in result.stderr
    assert "cheapest fix" in result.stderr
    assert (project / "skaal.lock").read_bytes() == before
    as_json = _plan("app:app", "--catalog", "shop.toml", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["type"] == "UnsatisfiableError"
    explained = _plan("app:app", "--catalog", "shop.toml", "--json", "--explain", "Fast")
    assert explained.exit_code == 1
    data = json.loads(explained.stdout)
    assert data["chosen"] is None
    assert data["error"]["type"] == "UnsatisfiableError"
    assert all(not c["feasible"] for c in data["candidates"])
    assert (project / "skaal.lock").read_bytes() == before


def test_lock_for_another_app_is_not_reused(project: Path) -> None:
    assert _plan("app:app", "--catalog", "shop.toml").exit_code == 0
    (project / "app.py").write_text(APP.replace('App("shop")', 'App("blog")'))
    result = _plan("app:app", "--catalog", "shop.toml")
    assert result.exit_code == 0, result.output
    assert "holds a plan for app 'shop', not 'blog'" in result.stdout


def test_corrupt_lock_is_an_error_until_reoptimize(project: Path) -> None:
    (project / "skaal.lock").write_text("this is [not toml")
    result = _plan("app:app", "--catalog", "shop.toml")
    assert result.exit_code == 1
    assert "skaal plan --reoptimize" in result.stderr
    result = _plan("app:app", "--catalog", "shop.toml", "--reoptimize")
    assert result.exit_code == 0, result.output
    assert "ignoring an unreadable lock" in result.stdout
    assert read_lock(project / "skaal.lock") is not None


def test_pyproject_app_discovery_and_default_target(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.skaal]\napp = "app:app"\n')
    result = _plan("--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["plan"]["catalog"] == "local"
    assert data["plan"]["provider"] == "local"


# -- real subprocesses ---------------------------------------------------------


def _skaal_command() -> list[str]:
    script = shutil.which("skaal")
    if script is not None:
        return [script]
    return [sys.executable, "-c", "from skaal.cli.main import main; main()"]


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*_skaal_command(), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_subprocess_usage_error(project: Path) -> None:
    proc = _run(project, "plan", "nope_module")
    assert proc.returncode == 2
    assert "cannot find module 'nope_module'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_subprocess_plan_then_json(project: Path) -> None:
    proc = _run(project, "plan", "app:app", "--catalog", "shop.toml")
    assert proc.returncode == 0, proc.stderr
    assert "wrote skaal.lock" in proc.stdout
    data = tomllib.loads((project / "skaal.lock").read_text())
    assert data["app"] == "shop"
    proc = _run(project, "plan", "--json", "app:app", "--catalog", "shop.toml")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["diff"]["empty"] is True


def test_subprocess_infeasible(project: Path) -> None:
    (project / "app.py").write_text(INFEASIBLE)
    proc = _run(project, "plan", "app:app", "--catalog", "shop.toml")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "Fast" in proc.stderr
    assert not (project / "skaal.lock").exists()


# -- rendering ------------------------------------------------------------------


def _binding(resource: str, backend: str, cost: float, instance: str | None = None) -> Binding:
    return Binding(
        resource=resource,
        kind="map",
        backend=backend,
        implementation=backend,
        region="local",
        instance=instance,
        monthly_cost=cost,
        reason=f"[cheapest] for {resource}",
    )


def _render_plan(*bindings: Binding, **extra: object) -> Plan:
    fields: dict[str, object] = {
        "app": "shop",
        "catalog": "shop",
        "provider": "local",
        "region": "local",
        "blueprint_hash": "b",
        "catalog_hash": "c",
        "bindings": bindings,
        "total_monthly_cost": 12.5,
    }
    fields.update(extra)
    return Plan.model_validate(fields)


def _text(draw: object, *args: object, **kwargs: object) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, highlight=False)
    draw(console, *args, **kwargs)  # type: ignore[operator]
    return buffer.getvalue()


def test_render_plan_shows_instances_savings_and_escapes_markup() -> None:
    plan = _render_plan(
        _binding("Carts", "sqlite", 2.5),
        _binding("Sessions", "redis", 0.0, instance="redis#1"),
        instances=(
            SharedInstance(
                id="redis#1",
                backend="redis",
                instance_class="cache.small",
                replicas=1,
                fixed_monthly=10.0,
                resources=("Sessions",),
            ),
        ),
        status="best_found",
        lower_bound=11.0,
        reoptimize_savings=3.0,
    )
    text = _text(render_plan, plan)
    assert "[cheapest] for Carts" in text
    assert "redis (redis#1)" in text
    assert "$10.00/month" in text
    assert "total $12.50/month" in text
    assert "best found" in text
    assert "cache.small + 1 replica" in text
    assert "proven lower bound $11.00/month, gap $1.50" in text
    assert "--reoptimize would save $3.00/month" in text


def test_make_console_prints_emoji_codes_as_text() -> None:
    buffer = io.StringIO()
    render_plan(make_console(file=buffer), _render_plan(_binding("Carts", "sqlite", 1.0)))
    assert "[cheapest] for Carts" in buffer.getvalue()
    buffer = io.StringIO()
    make_console(file=buffer).print("backend :cloud: ready")
    assert buffer.getvalue() == "backend :cloud: ready\n"


@pytest.mark.parametrize(
    ("columns", "width"), [(None, 140), ("200", 200), ("100", 140), ("wide", 140), ("0", 140)]
)
def test_make_console_is_at_least_140_wide_off_a_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: str | None, width: int
) -> None:
    # COLUMNS widens the output when it is piped; nothing narrows it below 140
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert make_console(file=io.StringIO()).width == width


def test_render_diff_lines() -> None:
    old = _render_plan(
        _binding("Carts", "sqlite", 2.4), _binding("Gone", "memory", 1.0), total_monthly_cost=12.1
    )
    new = _render_plan(
        _binding("Carts", "dynamodb", 2.4),
        _binding("Added", "memory", 2.4),
        total_monthly_cost=14.5,
    )
    text = _text(render_diff, diff_plans(old, new))
    assert "+ Added → memory $2.40" in text
    assert "- Gone (was memory $1.00)" in text
    assert "~ Carts sqlite → dynamodb" in text
    assert "total $12.10 → $14.50 (+$2.40/month)" in text
    assert "no changes" in _text(render_diff, diff_plans(new, new))


def test_money() -> None:
    assert money(2.4) == "$2.40"
    assert money(0.001) == "<$0.01"
    assert money(0) == "$0.00"
    assert money(-1) == "-$1.00"
    assert money(1234.5) == "$1,234.50"


def test_planning_a_drawn_app_twice_writes_the_same_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the re-plan reads the lock with its records shared (skaal.plan.lock) and
    # must write it back byte for byte, on the bundled aws catalog
    write_app(tmp_path / "drawn.py", "profiles", 300, modules=3)
    runner = CliRunner()
    args = ["plan", "drawn.py:app", "--target", "aws"]
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    written = (tmp_path / "skaal.lock").read_bytes()
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "no changes (300 resources kept" in again.output
    assert (tmp_path / "skaal.lock").read_bytes() == written
