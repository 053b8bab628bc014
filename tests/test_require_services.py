"""``SKAAL_REQUIRE_SERVICES=1`` turns a skip for a missing service into a failure.

The mechanism is checked on a small test file run by pytest in a separate
process, with and without the variable; a lint over the suite checks that
every skip for a missing service names its ``.ci/services/`` script (the
mark the plugin recognises), and that ``.ci/run`` sets the variable.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests._require_services import REQUIRE_SERVICES, SERVICE_SCRIPTS

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """
import os

import pytest


def test_service_skip() -> None:
    if not os.environ.get("SKAAL_TEST_NOWHERE_URL"):
        pytest.skip("SKAAL_TEST_NOWHERE_URL not set: start it (see .ci/services/99-nowhere.sh)")


@pytest.mark.skipif(True, reason="no browser here (see .ci/services/05-chromium.sh)")
def test_service_skipif() -> None: ...


@pytest.fixture
def server() -> str:
    pytest.skip("SKAAL_TEST_NOWHERE_URL not set (see .ci/services/99-nowhere.sh)")


def test_service_fixture(server: str) -> None: ...


def test_other_skip() -> None:
    pytest.skip("not about a service")


@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure() -> None:
    raise AssertionError


def test_passes() -> None: ...
"""


def _run_sample(tmp_path: Path, *, required: str | None) -> tuple[int, str]:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SAMPLE))
    env = {k: v for k, v in os.environ.items() if k != REQUIRE_SERVICES}
    env["PYTHONPATH"] = str(ROOT)
    if required is not None:
        env[REQUIRE_SERVICES] = required
    command = [sys.executable, "-m", "pytest", "-p", "tests._require_services"]
    command += ["-p", "no:cacheprovider", "-p", "no:asyncio", "-q", "-rfEs", "test_sample.py"]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout


def _summary(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_without_the_variable_service_skips_stay_skips(tmp_path: Path) -> None:
    code, output = _run_sample(tmp_path, required=None)
    assert code == 0, output
    assert re.search(r"\b1 passed, 4 skipped, 1 xfailed\b", _summary(output)), output


def test_with_the_variable_every_service_skip_fails(tmp_path: Path) -> None:
    code, output = _run_sample(tmp_path, required="1")
    assert code == 1, output
    summary = _summary(output)
    assert re.search(r"\b1 failed, 1 passed, 1 skipped, 1 xfailed, 2 errors\b", summary)
    assert "FAILED test_sample.py::test_service_skip" in output
    assert "ERROR test_sample.py::test_service_skipif" in output  # marks run at setup
    assert "ERROR test_sample.py::test_service_fixture" in output
    assert "SKIPPED [1] test_sample.py:" in output  # the skip that is not about a service
    assert f"{REQUIRE_SERVICES}=1: a service these tests need is missing" in output


def test_zero_means_not_required(tmp_path: Path) -> None:
    code, output = _run_sample(tmp_path, required="0")
    assert code == 0, output


def test_ci_requires_the_services() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    exported = script.index(f"export {REQUIRE_SERVICES}=1")
    assert exported < script.index("\npython -m pytest")


#: Words that make a skip about a missing server, emulator or browser.
_SERVICE_WORDS = ("SKAAL_TEST_", "not set", "server", "emulator", "chromium")


def _skip_calls(path: Path) -> list[tuple[int, str]]:
    """(line, source) of every ``pytest.skip(...)`` and ``pytest.mark.skipif(...)`` in ``path``."""
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in ("pytest.skip", "pytest.mark.skipif"):
            found.append((node.lineno, ast.get_source_segment(source, node) or ""))
    return found


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "tests").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_service_skip_names_its_script(path: Path) -> None:
    for line, call in _skip_calls(path):
        if any(word in call for word in _SERVICE_WORDS) and path.name != Path(__file__).name:
            assert SERVICE_SCRIPTS in call or "{script}" in call, (
                f"{path.relative_to(ROOT)}:{line}: a skip for a missing service must name the "
                f"{SERVICE_SCRIPTS} script that starts it, so CI turns it into a failure"
            )
