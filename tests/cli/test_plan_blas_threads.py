"""Planning commands run numpy's BLAS on one thread, unless the user says otherwise.

Loading numpy starts OpenBLAS's pool of threads, which spin and take CPU from
the planner's own second thread, while the planner never asks BLAS for a
matrix product (:mod:`skaal.cli.main`).  ``OPENBLAS_NUM_THREADS`` is set only
when the user has not set it, and removed when the command ends; the commands
that run the app's own code are not among these (``test_plan_plugins``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli
from tests.cli._console import probe_project, run_skaal

VARIABLE = "OPENBLAS_NUM_THREADS"

#: An app that writes down, as it is imported, what the variable says.
APP = """\
import os
from pathlib import Path

from skaal import App, Map

Path("seen.txt").write_text(repr(os.environ.get("OPENBLAS_NUM_THREADS")))

app = App("blasprobe")


@app.storage(read_latency="< 100ms", durability="persistent")
class Notes(Map[str, str]): ...
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return probe_project(tmp_path, monkeypatch, module="blasprobe", source=APP, unset=VARIABLE)


def _seen(project: Path) -> str:
    return (project / "seen.txt").read_text(encoding="utf-8")


def test_plan_runs_blas_on_one_thread_and_restores_the_environment(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "blasprobe.py:app", "--no-write"])
    assert result.exit_code == 0, result.output
    assert _seen(project) == "'1'"
    assert VARIABLE not in os.environ


def test_a_value_the_user_set_is_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "4")
    result = CliRunner().invoke(cli, ["plan", "blasprobe.py:app", "--no-write"])
    assert result.exit_code == 0, result.output
    assert _seen(project) == "'4'"
    assert os.environ[VARIABLE] == "4"


def test_the_console_script_plans_with_one_blas_thread(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    done = run_skaal("plan", "blasprobe.py:app", "--no-write", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert _seen(project) == "'1'"
