"""The ``skaal`` console script run as a user runs it: a process of its own; and the
small project a probe app plans in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

#: What the installed ``skaal`` script runs.
SKAAL = "from skaal.cli.main import main; main()"


def run_skaal(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``skaal ARGS`` in ``cwd`` with exactly ``env``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-c", SKAAL, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )


def probe_project(
    folder: Path, monkeypatch: pytest.MonkeyPatch, *, module: str, source: str, unset: str
) -> Path:
    """``folder`` holding the app module ``module`` (its ``source``), made the working
    folder, with the environment variable ``unset`` taken away."""
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.delenv(unset, raising=False)
    return folder
