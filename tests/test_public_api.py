"""The public API is curated: ``skaal.__all__`` and each stage package's ``__all__``.

Its typing is tested too: ``tests/typing/user_app.py`` is user-style code that
must pass ``mypy --strict``, and ``tests/typing/rejected_keywords.py`` holds
mistakes that mypy must report on exactly the marked lines.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skaal

ROOT = Path(__file__).resolve().parents[1]
TYPING = Path(__file__).resolve().parent / "typing"

EXPECTED = [
    "App",
    "BlobStore",
    "BuildError",
    "CatalogError",
    "Collection",
    "Cron",
    "DeclarationError",
    "DeployError",
    "Every",
    "Index",
    "Map",
    "MigrationError",
    "Module",
    "PlanError",
    "Queue",
    "Secret",
    "SkaalError",
    "SkaalRuntimeError",
    "Topic",
    "UnsatisfiableError",
    "UsageError",
    "__version__",
    "blocking",
]

SUBPACKAGES = [
    "skaal.blueprint",
    "skaal.catalog",
    "skaal.native",
    "skaal.plan",
    "skaal.solver",
    "skaal.testing",
]


def isort_order(names: list[str]) -> list[str]:
    """Constants, then classes, then functions, each alphabetical (ruff's RUF022 order)."""
    return sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))


def test_top_level_all_is_the_expected_sorted_list() -> None:
    assert skaal.__all__ == EXPECTED
    assert skaal.__all__ == sorted(skaal.__all__)


@pytest.mark.parametrize("name", EXPECTED)
def test_top_level_names_are_importable(name: str) -> None:
    assert getattr(skaal, name) is not None
    namespace: dict[str, object] = {}
    exec(f"from skaal import {name}", namespace)
    assert namespace[name] is getattr(skaal, name)


def test_no_private_names_are_exported() -> None:
    assert [n for n in skaal.__all__ if n.startswith("_") and n != "__version__"] == []


def test_version_is_a_version() -> None:
    assert re.match(r"^\d+\.\d+\.\d+", skaal.__version__)


def test_errors_share_one_root() -> None:
    errors = [getattr(skaal, n) for n in EXPECTED if n.endswith("Error")]
    assert all(issubclass(e, skaal.SkaalError) for e in errors)
    assert issubclass(skaal.UnsatisfiableError, skaal.PlanError)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_all_is_sorted_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert exported == isort_order(exported), f"{package}.__all__ is not sorted"
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(module, name), f"{package}.{name} is listed but missing"
        assert not name.startswith("_"), f"{package} exports private {name}"


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_user_code_type_checks_strictly() -> None:
    result = _mypy(TYPING / "user_app.py")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_type_checker_rejects_misuse() -> None:
    path = TYPING / "rejected_keywords.py"
    marked = {
        number
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "# error:" in line
    }
    result = _mypy(path)
    reported = {
        int(m[1]) for m in re.finditer(rf"{re.escape(path.name)}:(\d+): error:", result.stdout)
    }
    assert result.returncode == 1, result.stdout + result.stderr
    assert reported == marked, result.stdout
    assert 'Argument "read_latncy" to "storage"' in result.stdout
    assert 'expected "Never"' in result.stdout
