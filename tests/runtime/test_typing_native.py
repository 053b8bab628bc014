"""``Resource.native`` is typed per backend: ``mypy --strict`` on ``tests/typing/native.py``.

mypy must report exactly the lines marked ``# error:``, plus those marked
``# error (needs DIST):`` when the stubs distribution DIST is installed (the
dev extra has them; CI must).  Without its stubs a client is ``Any`` to mypy.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "tests" / "typing" / "native.py"
STUBS = (
    "asyncpg-stubs",
    "mypy-boto3-dynamodb",
    "mypy-boto3-s3",
    "mypy-boto3-sns",
    "mypy-boto3-sqs",
)


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def expected_errors(text: str, installed: set[str]) -> set[int]:
    """The lines mypy must report: every ``# error:``, and ``# error (needs DIST):`` with DIST."""
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        found = re.search(r"# error(?: \(needs ([\w-]+)\))?:", line)
        if found and (found[1] is None or found[1] in installed):
            lines[number] = found[1]
    return set(lines)


def test_lines_needing_stubs_are_expected_only_with_them() -> None:
    text = "a = 1  # error: x\nb = 2  # error (needs asyncpg-stubs): y\nc = 3\n"
    assert expected_errors(text, set()) == {1}
    assert expected_errors(text, {"asyncpg-stubs"}) == {1, 2}


@pytest.mark.slow
def test_native_clients_are_typed_and_misuse_is_rejected() -> None:
    installed = {d for d in STUBS if _installed(d)}
    if installed != set(STUBS) and os.environ.get("CI"):
        pytest.fail(f"CI must install the dev extra's stubs: {', '.join(STUBS)}")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(PATH)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    expected = expected_errors(PATH.read_text(), installed)
    assert expected, "the typing file marks no misuse"
    reported = {int(m[1]) for m in re.finditer(r"native\.py:(\d+): error:", result.stdout)}
    assert result.returncode == 1, result.stdout + result.stderr
    assert reported == expected, result.stdout
    assert 'expected "Backend[SQSClient, Leaderboard]"' in result.stdout
    assert '"Redis" has no attribute "put_item"' in result.stdout
