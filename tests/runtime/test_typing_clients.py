"""The client facade is typed for the user: ``mypy --strict`` on ``tests/typing/clients.py``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "tests" / "typing" / "clients.py"


@pytest.mark.slow
def test_facade_types_are_inferred_and_misuse_is_rejected() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(PATH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    marked = {
        number
        for number, line in enumerate(PATH.read_text().splitlines(), start=1)
        if "# error:" in line
    }
    reported = {int(m[1]) for m in re.finditer(r"clients\.py:(\d+): error:", result.stdout)}
    assert result.returncode == 1, result.stdout + result.stderr
    assert reported == marked, result.stdout
    assert 'incompatible type "int"; expected "str"' in result.stdout
