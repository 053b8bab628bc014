from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import skaal.catalog
from skaal.catalog import bundled_catalogs, catalog_for_target, load_catalog
from skaal.catalog.locate import bundled_dir
from skaal.errors import CatalogError, UsageError

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("local", "aws", "gcp")


def test_public_api_is_sorted_and_complete() -> None:
    exported = skaal.catalog.__all__
    # isort style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in exported:
        assert hasattr(skaal.catalog, name), name


def test_source_checkout_uses_the_top_level_catalogs_directory() -> None:
    assert bundled_dir() == REPO / "catalogs"
    assert set(TARGETS) <= set(bundled_catalogs())
    assert list(bundled_catalogs()) == sorted(bundled_catalogs())


@pytest.mark.parametrize("target", TARGETS)
def test_each_target_catalog_loads(target: str) -> None:
    catalog = catalog_for_target(target)
    assert catalog.provider == target
    assert catalog.backends
    assert catalog.sources[-1] == str(bundled_catalogs()[target].resolve())


@pytest.mark.parametrize("name", sorted(bundled_catalogs()))
def test_every_bundled_catalog_is_valid(name: str) -> None:
    assert load_catalog(name).backends


def test_unknown_target_suggests_one() -> None:
    with pytest.raises(UsageError, match="did you mean 'aws'"):
        catalog_for_target("aws2")


def test_unknown_bundled_name_suggests_one() -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog("gpc")
    assert "did you mean 'gcp'" in str(info.value)
    assert "skaal catalog list" in str(info.value)


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "absent.toml")


@pytest.mark.slow
def test_wheel_carries_the_bundled_catalogs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copytree(REPO / "skaal", project / "skaal", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "catalogs", project / "catalogs")
    for name in ("README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, project)
        else:
            (project / name).write_text("placeholder\n", encoding="utf-8")
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=project,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for target in TARGETS:
            assert f"skaal/_bundled/catalogs/{target}.toml" in names
        archive.extractall(tmp_path / "site")
    # The installed layout finds them through importlib.resources, not the repo.
    probe = (
        "from skaal.catalog import bundled_catalogs, load_catalog\n"
        "from skaal.catalog.locate import bundled_dir\n"
        "print(bundled_dir())\n"
        "print(sorted(bundled_catalogs()))\n"
        "print(len(load_catalog('aws').backends) > 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    where, names_line, loaded = result.stdout.splitlines()
    assert where == str(tmp_path / "site" / "skaal" / "_bundled" / "catalogs")
    assert all(repr(t) in names_line for t in TARGETS)
    assert loaded == "True"
