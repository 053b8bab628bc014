"""``python -m skaal`` runs the same command line as the ``skaal`` script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from skaal import __version__

REPO = Path(__file__).resolve().parents[2]


def test_python_dash_m_skaal_prints_the_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skaal", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_python_dash_m_skaal_plans_an_example(tmp_path: Path) -> None:
    app = REPO / "examples" / "hello" / "app.py"
    done = subprocess.run(
        [sys.executable, "-m", "skaal", "plan", f"{app}:app", "--target", "local", "--no-write"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Counters" in done.stdout
    assert not (tmp_path / "skaal.lock").exists()


def test_a_usage_error_exits_2_under_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skaal", "plan", "--no-such-option"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--no-such-option" in done.stderr
