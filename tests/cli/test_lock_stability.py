"""A lock that only changes when the plan does.

Re-planning unchanged code must write the same ``skaal.lock``, byte for byte:
a build records the plan hash it was made from, and ``skaal deploy`` refuses
artifacts built from another plan, so a lock that changed on every
``skaal plan`` made ``plan → build → plan → deploy`` fail.  Whether a
resource stayed where the last lock put it is reported by the diff (the
``kept`` list), not written into the plan.

The deploys here run with the in-repo fake engine and a fake pip (the
collaborators ``skaal deploy`` takes through click's ``obj``): the dry run
needs no pulumi CLI and no network.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.cli.main import cli
from skaal.deploy.services import DeployServices
from skaal.plan.lock import read_lock
from skaal.solver import solve
from skaal.testing import backend, catalog
from tests.deploy.fakes import FakeEngine, FakePip
from tests.solver._factories import blueprint, res

ROOT = Path(__file__).resolve().parents[2]
SHOP = "examples/shop/app.py:app"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str, services: DeployServices | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), obj=services)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("target", ["local", "aws", "gcp"])
def test_planning_twice_writes_a_byte_identical_lock(project: Path, target: str) -> None:
    first = _run("plan", SHOP, "--target", target)
    before = (project / "skaal.lock").read_bytes()
    second = _run("plan", SHOP, "--target", target, "--json")
    assert (project / "skaal.lock").read_bytes() == before
    data = json.loads(second.stdout)
    assert data["diff"]["empty"] is True
    names = sorted(b["resource"] for b in data["plan"]["bindings"])
    assert data["diff"]["kept"] == names
    assert all(b["status"] != "kept" for b in data["plan"]["bindings"])
    assert "first plan" in first.stdout
    assert "kept from" not in (project / "skaal.lock").read_text()


def test_the_second_plan_says_what_was_kept(project: Path) -> None:
    _run("plan", SHOP, "--target", "aws")
    again = _run("plan", SHOP, "--target", "aws")
    assert "no changes (9 resources kept where the last plan placed them)" in again.stdout


@pytest.mark.parametrize("target", ["local", "aws"])
def test_plan_build_plan_deploy_dry_run(project: Path, target: str) -> None:
    services = DeployServices(
        engine=FakeEngine,
        interactive=lambda: False,
        environ={"PULUMI_CONFIG_PASSPHRASE": "x"},
        run_command=FakePip(),
    )
    _run("plan", SHOP, "--target", target)
    built = _run("build", SHOP, "--target", target)
    _run("plan", SHOP, "--target", target)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    assert f"(plan {plan.content_hash()[:12]})" in built.stdout
    deployed = _run("deploy", "--target", target, "--dry-run", services=services)
    assert "dry run: nothing was changed" in deployed.output


def test_a_changed_declaration_changes_the_lock_and_the_deploy_refuses_the_old_build(
    project: Path,
) -> None:
    services = DeployServices(
        engine=FakeEngine, interactive=lambda: False, environ={"PULUMI_CONFIG_PASSPHRASE": "x"}
    )
    _run("plan", SHOP, "--target", "local")
    _run("build", SHOP, "--target", "local")
    before = (project / "skaal.lock").read_bytes()
    app = project / "examples" / "shop" / "app.py"
    extra = '@app.storage(size="2GB")\nclass Extra(Map[str, str]): ...\n'
    app.write_text(app.read_text() + "\n\nfrom skaal import Map\n\n\n" + extra)
    changed = _run("plan", SHOP, "--target", "local")
    assert (project / "skaal.lock").read_bytes() != before
    assert "+ Extra → " in changed.stdout
    assert "= 9 resources kept where the last plan placed them" in changed.stdout
    refused = CliRunner().invoke(cli, ["deploy", "--target", "local", "--dry-run"], obj=services)
    assert refused.exit_code == 1
    assert "built from another plan" in refused.output


def _two_backends(b_price: float) -> object:
    return catalog(
        backends=[
            backend("a", kinds=("map",), per_gb_month=1.0),
            backend("b", kinds=("map",), per_gb_month=b_price),
        ]
    )


def test_a_plan_held_by_the_lock_is_a_fixed_point() -> None:
    bp = blueprint(res("Carts", size_gb=10.0), res("Orders", size_gb=1.0))
    before = solve(bp, _two_backends(2.0))  # type: ignore[arg-type]
    assert solve(bp, _two_backends(2.0), previous=before) == before  # type: ignore[arg-type]
    held = solve(bp, _two_backends(0.5), previous=before)  # type: ignore[arg-type]
    carts = held.binding("Carts")
    assert (carts.backend, carts.status) == ("a", "kept")
    assert "re-optimising would move it to b" in carts.reason
    again = solve(bp, _two_backends(0.5), previous=held)  # type: ignore[arg-type]
    assert again.content_hash() == held.content_hash()
