"""The documentation site builds with ``mkdocs build --strict``.

Strict mode turns every warning into a failure: a page missing from the
navigation, a link to a page or an anchor that does not exist.  (Not with
``--quiet``: it hides the warnings from the strict count.)  The site is built
into a temporary directory, so the repository is left untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs._pages import ROOT


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict"]
    command += ["--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    for page in ("getting-started", "clients", "targets", "testing", "deploy", "cli"):
        assert (site / page / "index.html").is_file()
    assert not (site / "_gen").exists()
