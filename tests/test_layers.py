"""The layer rule of ``docs/architecture.md``, enforced by import-linter.

The contract lives in ``pyproject.toml`` (``[tool.importlinter]``): every
package under ``skaal/`` sits on one line of a stack and imports only from the
lines below.  These tests run it on the checkout, check that it stays strict
(no ignored import, every package placed, imports under ``TYPE_CHECKING``
counted) and that the architecture page shows the same stack, and run it on a
copy with one import added *inside a function* to show such imports count.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"

_RUN = (
    "import sys\n"
    "from importlinter.cli import lint_imports\n"
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))\n"
)


def _contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    assert isinstance(contract, dict)
    return contract


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the project at ``root`` (its ``skaal`` package and pyproject)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", _RUN],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_every_package_imports_only_from_the_layers_below() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_has_no_exception_and_places_every_package() -> None:
    contract = _contract()
    assert contract["type"] == "layers"
    assert contract["exhaustive"] is True
    for loophole in ("ignore_imports", "unmatched_ignore_imports_alerting", "exhaustive_ignores"):
        assert loophole not in contract, loophole
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "exclude_type_checking_imports" not in config["tool"]["importlinter"]
    layers = contract["layers"]
    assert isinstance(layers, list)
    placed = {name.strip() for line in layers for name in re.split(r"[|:]", line)}
    packages = {
        p.stem if p.is_file() else p.name
        for p in (ROOT / "skaal").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.name != "__init__.py")
    }
    assert placed == packages


def test_the_architecture_page_shows_the_contract_stack() -> None:
    text = PAGE.read_text(encoding="utf-8")
    block = re.search(r"<!-- layers -->\n```text\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/architecture.md lost its layer stack"
    shown = [
        " | ".join(f"skaal.{name.strip()}" for name in line.split("|"))
        for line in _contract()["layers"]  # type: ignore[union-attr]
    ]
    assert block[1].splitlines() == shown


def test_an_import_inside_a_function_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "skaal", tmp_path / "skaal", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    model = tmp_path / "skaal" / "model" / "providers.py"
    reach_up = "\n\ndef _reach_up() -> object:\n    import skaal.cli.main\n\n    return skaal.cli\n"
    model.write_text(model.read_text(encoding="utf-8") + reach_up, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "skaal.model is not allowed to import skaal.cli" in result.stdout
