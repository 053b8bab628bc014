"""``python -m skaal`` runs the same command line as the ``skaal`` script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from skaal import __version__

REPO = Path(__file__).resolve().parents[2]


def _python_dash_m_skaal(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skaal", *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def test_python_dash_m_skaal_prints_the_version() -> None:
    done = _python_dash_m_skaal("--version")
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_python_dash_m_skaal_plans_an_example(tmp_path: Path) -> None:
    app = REPO / "examples" / "hello" / "app.py"
    done = _python_dash_m_skaal(
        "plan", f"{app}:app", "--target", "local", "--no-write", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Counters" in done.stdout
    assert not (tmp_path / "skaal.lock").exists()


def test_a_usage_error_exits_2_under_python_dash_m() -> None:
    done = _python_dash_m_skaal("plan", "--no-such-option")
    assert done.returncode == 2
    assert "--no-such-option" in done.stderr
