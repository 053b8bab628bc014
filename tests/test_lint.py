"""The linters are part of the test suite: ruff (lint and format) and mypy strict.

Each runs as a subprocess from the repository root, exactly as a developer
would, and must exit 0; on failure the test shows the tool's output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "ruff-check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff-format": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "mypy": [sys.executable, "-m", "mypy"],
}


@pytest.mark.slow
@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_tool_passes(tool: str) -> None:
    result = subprocess.run(COMMANDS[tool], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(COMMANDS[tool])}\n{result.stdout}{result.stderr}"
