"""``skaal migrate --env`` on an aws lock whose moves are copied in two regions.

The build adds a migration function per region where moves are copied
(:mod:`skaal.builder.targets.aws_moves`), all of one name; ``skaal migrate``
must send each move's steps to the function of that move's region.  The
invokers are injected (:class:`~skaal.migrate.remote.MigrateServices`): each
answers a ``compare`` step with an empty, finished scan and records what it
was sent.  The copy itself through the real handler is tested in
``test_remote.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli
from skaal.errors import MigrationError
from skaal.migrate.remote import Invoker, MigrateServices, migrate_remote
from skaal.migrate.verify import Scan
from skaal.plan.lock import read_lock
from skaal.plan.wiring import migration_function_name

APP = """
from skaal import App, Map

app = App("shop")


@app.storage(size="2GB", residency="eu")
class Carts(Map[str, int]): ...


@app.storage(size="2GB")
class Orders(Map[str, int]): ...
"""


def test_each_move_is_driven_through_the_function_of_its_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.skaal]\napp = "shop.py:app"\n\n[tool.skaal.envs.prod]\ntarget = "aws"\n'
    )
    monkeypatch.chdir(tmp_path)
    for backend in ("dynamodb", "rds-postgres"):
        pins = ["--pin", f"Carts={backend}", "--pin", f"Orders={backend}"]
        planned = CliRunner().invoke(cli, ["plan", "--env", "prod", *pins])
        assert planned.exit_code == 0, planned.output
    lock = next(tmp_path.glob("*.lock"))
    before = lock.read_bytes()
    plan = read_lock(lock)
    assert plan is not None
    sent: dict[str, list[str]] = {}

    def invoker(name: str, region: str) -> Invoker:
        assert name == migration_function_name("shop", "prod")

        def invoke(request: dict[str, Any]) -> dict[str, Any]:
            sent.setdefault(region, []).append(f"{request['action']} {request['resource']}")
            return {"scan": Scan(phase="check", done=True).dumped()}

        return invoke

    result = CliRunner().invoke(
        cli, ["migrate", "--env", "prod", "--dry-run"], obj=MigrateServices(invoker=invoker)
    )
    assert result.exit_code == 0, result.output
    assert sent == {"eu-west-1": ["compare Carts"], "us-east-1": ["compare Orders"]}
    assert lock.read_bytes() == before


def test_a_function_of_an_older_skaal_is_told_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A function built before verifications were stepped answers with a comparison only."""
    (tmp_path / "shop.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    for backend in ("dynamodb", "rds-postgres"):
        planned = CliRunner().invoke(
            cli, ["plan", "shop.py:app", "--target", "aws", "--pin", f"Orders={backend}"]
        )
        assert planned.exit_code == 0, planned.output

    def older(request: dict[str, Any]) -> dict[str, Any]:
        return {"comparison": {"source_items": 0}}

    with pytest.raises(MigrationError, match="runs an older Skaal") as raised:
        migrate_remote(tmp_path / "skaal.lock", invoke=older, dry_run=True)
    assert "skaal deploy" in str(raised.value)
