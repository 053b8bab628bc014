"""Two environments of the shop example served side by side by ``skaal run --env``.

``dev`` plans against the bundled local catalog and ``staging`` against a
catalog file of its own; each ``skaal run`` is a subprocess on the port its
environment declares, with its own lock, data folder and secrets file.  A
cart written in one is not seen by the other, and each keeps its files
where its environment says, named after it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skaal.cli.run import env_variables
from skaal.envs.config import Environment
from skaal.plan.lock import read_lock
from tests._server import ROOT, free_port, serve_process
from tests.cli.test_env_cli import STAGING

pytestmark = pytest.mark.slow

RUN = [sys.executable, "-c", "from skaal.cli.main import main; main()", "run"]


def shop_project(tmp_path: Path, dev_port: int, staging_port: int) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "shop", project / "shop")
    (project / "pyproject.toml").write_text(
        '[tool.skaal]\napp = "shop/app.py:app"\nenv = "dev"\n\n'
        f"[tool.skaal.envs.dev]\nport = {dev_port}\n\n"
        f'[tool.skaal.envs.staging]\ncatalog = "staging.toml"\nport = {staging_port}\n',
        encoding="utf-8",
    )
    (project / "staging.toml").write_text(STAGING, encoding="utf-8")
    # the shop's STRIPE_KEY is a required secret: each environment has its own file
    (project / ".env.dev").write_text("STRIPE_KEY=sk_dev\n", encoding="utf-8")
    (project / ".env.staging").write_text("STRIPE_KEY=sk_staging\n", encoding="utf-8")
    return project


def test_two_environments_run_side_by_side(tmp_path: Path) -> None:
    dev_port = free_port()
    staging_port = free_port()
    while staging_port == dev_port:
        staging_port = free_port()
    project = shop_project(tmp_path, dev_port, staging_port)
    clean = {"SKAAL_ENV": ""}  # an environment selected by the calling shell must not leak
    with (
        serve_process(RUN, cwd=project, port=dev_port, env=clean) as dev,
        serve_process([*RUN, "--env", "staging"], cwd=project, port=staging_port, env=clean) as stg,
    ):
        add = "/fn/cart.add_item"
        assert dev.post(add, json={"owner": "ada", "sku": "tea-1"}).json()["skus"] == ["tea-1"]
        assert stg.post(add, json={"owner": "ada", "sku": "tea-2"}).json()["skus"] == ["tea-2"]
        assert dev.post(add, json={"owner": "ada", "sku": "tea-3"}).json()["skus"] == [
            "tea-1",
            "tea-3",
        ]
    dev_lock, staging_lock = (
        read_lock(project / "skaal.dev.lock"),
        read_lock(project / "skaal.staging.lock"),
    )
    assert dev_lock is not None
    assert staging_lock is not None
    assert (dev_lock.catalog, staging_lock.catalog) == ("local", "staging")
    assert not (project / "skaal.lock").exists()
    assert (project / ".skaal/envs/dev/data/shop-dev.sqlite3").is_file()
    assert (project / ".skaal/envs/staging/data/shop-staging.sqlite3").is_file()
    assert not (project / ".skaal/data").exists()


def test_a_missing_secrets_file_stops_the_environment_with_the_secret_named(
    tmp_path: Path,
) -> None:
    project = shop_project(tmp_path, free_port(), free_port())
    (project / ".env.staging").unlink()
    result = subprocess.run(
        [*RUN, "--env", "staging"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "STRIPE_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_environment_variables_of_a_run() -> None:
    env = Environment(
        name="staging", where="pyproject.toml:3", config={"LOG_LEVEL": "debug", "MODE": "x"}
    )
    assert env_variables(env, {"MODE": "from-shell", "SKAAL_ENV": "dev"}) == {
        "SKAAL_ENV": "staging",
        "SKAAL_DOTENV": ".env.staging",
        "LOG_LEVEL": "debug",
    }
