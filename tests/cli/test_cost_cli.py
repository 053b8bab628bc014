"""``skaal cost`` through click: the bill of the lock, its groupings, JSON and errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.cli.main import cli
from skaal.cli.render import make_console, money
from skaal.cli.render_cost import render_bill
from skaal.plan.bill import bill_of
from skaal.plan.lock import read_lock
from skaal.solver import solve
from skaal.testing import backend, catalog
from tests.cli.test_plan_cli import APP, CATALOG
from tests.solver._factories import blueprint, res

ROOT = Path(__file__).resolve().parents[2]
SHOP = "examples/shop/app.py:app"


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _ok(*args: str) -> Result:
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    _ok("plan", SHOP, "--target", "aws")
    return tmp_path


def test_the_bill_lists_every_line_with_its_source_and_the_plans_total(shop: Path) -> None:
    plan = read_lock(shop / "skaal.lock")
    assert plan is not None
    before = (shop / "skaal.lock").read_bytes()
    out = _ok("cost", SHOP).stdout
    assert "Monthly bill for shop on aws (aws, us-east-1), from skaal.lock" in out
    assert f"total {money(plan.total_monthly_cost)}/month" in out
    assert "instance fee db.t4g.micro" in out
    assert "NAT gateway" in out
    assert "https://aws.amazon.com/rds/postgresql/pricing/ (read 2026-12-03)" in out
    assert "https://aws.amazon.com/vpc/pricing/ (read 2026-12)" in out
    assert (shop / "skaal.lock").read_bytes() == before  # cost never writes the lock


def test_json_total_equals_the_lock_total_exactly(shop: Path) -> None:
    plan = read_lock(shop / "skaal.lock")
    assert plan is not None
    data = json.loads(_ok("cost", SHOP, "--json").stdout)
    assert data["total_monthly_cost"] == plan.total_monthly_cost
    assert data["plan_hash"] == plan.content_hash()
    assert round(sum(line["monthly"] for line in data["lines"]), 6) == pytest.approx(
        plan.total_monthly_cost
    )
    owners = {line["owner_kind"] for line in data["lines"]}
    assert owners == {"resource", "instance", "network"}
    assert all(line["source"].startswith("https://") for line in data["lines"])
    assert data["by"] is None
    assert "groups" not in data


@pytest.mark.parametrize(
    ("by", "key"), [("resource", "rds-postgres#1"), ("item", "NAT gateway"), ("backend", "lambda")]
)
def test_grouped_bills(shop: Path, by: str, key: str) -> None:
    text = _ok("cost", SHOP, "--by", by).stdout
    assert f"from skaal.lock, by {by}" in text
    assert key in text
    data = json.loads(_ok("cost", SHOP, "--by", by, "--json").stdout)
    assert data["by"] == by
    assert key in [g["key"] for g in data["groups"]]
    assert sum(g["monthly"] for g in data["groups"]) == pytest.approx(data["total_monthly_cost"])


def test_an_unknown_grouping_is_a_usage_error(shop: Path) -> None:
    result = _invoke("cost", SHOP, "--by", "colour")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_no_lock_is_an_error_naming_the_command(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = _invoke("cost", SHOP)
        as_json = _invoke("cost", SHOP, "--json")
    assert result.exit_code == 1
    assert "there is no lock file to price (skaal.lock does not exist)" in result.output
    assert "try: skaal plan" in result.output
    assert "Traceback" not in result.output
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["type"] == "PlanError"


def test_a_stale_lock_is_an_error(shop: Path) -> None:
    app = shop / "examples" / "shop" / "app.py"
    app.write_text(app.read_text().replace('budget="$100/month"', 'budget="$1000/month"'))
    result = _invoke("cost", SHOP)
    assert result.exit_code == 1
    assert "skaal.lock is stale: declarations changed since the plan was made" in result.output
    assert "try: skaal plan --target aws" in result.output


def test_a_lock_planned_against_another_catalog_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "shop.toml").write_text(CATALOG)
    _ok("plan", "app:app", "--catalog", "shop.toml")
    result = _invoke("cost", "app:app")
    assert result.exit_code == 1
    assert "planned against catalog 'shop'" in result.output
    assert _ok("cost", "app:app", "--catalog", "shop.toml").stdout.count("[1]") >= 1


def test_the_reoptimise_saving_broken_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "shop.toml").write_text(CATALOG)
    _ok("plan", "app:app", "--catalog", "shop.toml")
    dearer = CATALOG.replace("amount = 0.5, source", "amount = 2.0, source")
    assert dearer != CATALOG
    (tmp_path / "dearer.toml").write_text(dearer)
    _ok("plan", "app:app", "--catalog", "dearer.toml")
    plan = read_lock(tmp_path / "skaal.lock")
    assert plan is not None
    assert plan.binding("Sessions").status == "kept"
    assert plan.reoptimize_savings == pytest.approx(1.0)
    hint = _ok("cost", "app:app", "--catalog", "dearer.toml").stdout
    assert "skaal cost --reoptimize shows where" in hint
    text = _ok("cost", "app:app", "--catalog", "dearer.toml", "--reoptimize").stdout
    assert "What skaal plan --reoptimize would change, by resource" in text
    assert "Sessions" in text
    assert "-$1.00" in text
    assert "saves $1.00/month" in text
    data = json.loads(
        _ok("cost", "app:app", "--catalog", "dearer.toml", "--reoptimize", "--json").stdout
    )
    changes = data["reoptimize"]["changes"]
    assert [c["key"] for c in changes] == ["Sessions"]
    assert sum(c["delta"] for c in changes) == pytest.approx(-plan.reoptimize_savings)
    assert data["reoptimize"]["saving"] == pytest.approx(plan.reoptimize_savings)
    by_item = json.loads(
        _ok(
            "cost",
            "app:app",
            "--catalog",
            "dearer.toml",
            "--reoptimize",
            "--by",
            "backend",
            "--json",
        ).stdout
    )
    deltas = {c["key"]: c["delta"] for c in by_item["reoptimize"]["changes"]}
    assert deltas == {"memory": -2.0, "sqlite": 1.0}
    assert read_lock(tmp_path / "skaal.lock") == plan  # --reoptimize writes nothing


def test_reoptimize_without_a_saving_changes_nothing(shop: Path) -> None:
    text = _ok("cost", SHOP, "--reoptimize").stdout
    assert "skaal plan --reoptimize would change nothing on this bill" in text


def test_a_large_bill_shows_its_costliest_lines_and_groups() -> None:

    bp = blueprint(*(res(f"R{i:03}", size_gb=float(i + 1)) for i in range(80)))
    plan = solve(bp, catalog(backends=[backend("a", kinds=("map",), per_gb_month=1.0)]))
    bill = bill_of(plan)

    def text(by: str | None) -> str:
        out = io.StringIO()
        render_bill(make_console(file=out), bill, by=by, lock="skaal.lock")  # type: ignore[arg-type]
        return out.getvalue()

    lines = text(None)
    assert "the 20 costliest of 80 lines (--by or --json for all)" in lines
    assert "R079" in lines
    assert "R000 " not in lines
    grouped = text("resource")
    assert "the 20 costliest of 80" in grouped
    assert f"total {money(plan.total_monthly_cost)}/month" in grouped


def test_a_schema_2_lock_is_priced_after_a_plan_that_moves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "tests" / "plan" / "locks" / "shop-aws-schema2.lock", "skaal.lock")
    refused = _invoke("cost", SHOP)
    assert refused.exit_code == 1
    assert "records no price for the 'instance db.t4g.micro' line" in refused.output
    assert "skaal plan adds them without moving anything" in refused.output
    replanned = _ok("plan", SHOP, "--target", "aws").stdout
    # nothing moves (the total may differ: the lock was priced by an older Skaal)
    assert "9 resources kept where the last plan placed them" in replanned
    assert " moved" not in replanned
    assert "→ rds" not in replanned
    assert "instance fee db.t4g.micro" in _ok("cost", SHOP).stdout


VIEWS = """\
from skaal import App, Map

app = App("views")


@app.storage(size="1GB", reads="100/s", writes="10/s", consistency="eventual")
class Views(Map[str, str]):
    pass
"""


def test_an_eventual_map_shows_how_its_reads_are_served_and_billed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "views.py").write_text(VIEWS)
    _ok("plan", "views.py:app", "--target", "aws")
    explained = _ok("plan", "views.py:app", "--target", "aws", "--explain", "Views").stdout
    assert "eventual per_read_per_s_month: 72" in explained  # ceil(100 x 0.5 / 0.7) RCUs
    plan = read_lock(tmp_path / "skaal.lock")
    assert plan is not None
    binding = plan.binding("Views")
    assert (binding.backend, binding.mode, binding.consistency) == (
        "dynamodb",
        "provisioned",
        "eventual",
    )
    assert "eventually consistent reads at 0.5 of a strong read's price" in binding.reason
    out = _ok("cost", "views.py:app").stdout
    assert "provisioned eventual reads (0.5 unit each)" in out
    assert "72 read unit/s-month" in out
    assert "$0.0949" in out
    data = json.loads(_ok("cost", "views.py:app", "--json").stdout)
    (reads,) = [line for line in data["lines"] if line["eventual_read_factor"]]
    assert reads["eventual_read_factor"]["source"] == (
        "https://aws.amazon.com/dynamodb/pricing/provisioned/"
    )
    assert reads["monthly"] == pytest.approx(72 * 0.0949)
