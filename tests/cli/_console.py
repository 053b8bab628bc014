"""The ``skaal`` console script run as a user runs it: a process of its own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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
