"""The wheel of the running Skaal that every build ships under ``wheels/``.

It is installed for real (offline, ``--no-deps --no-index``) into a folder and
used from a child process that has that folder first on its path: the
package, its bundled catalogs and its ``skaal`` console script must come
from the wheel, not from this checkout.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import skaal
from skaal._version import __version__
from skaal.builder.framework import (
    WHEEL_DIR,
    framework_artifact,
    framework_files,
    framework_wheel,
    wheel_name,
)
from skaal.builder.requirements import parse_requirements
from skaal.cli.main import cli

INFO = f"skaal-{__version__}.dist-info"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    path = folder / wheel_name()
    content = framework_artifact().content
    assert isinstance(content, bytes)
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("target")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    subprocess.run(
        [*command, "--disable-pip-version-check", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def _env(target: Path) -> dict[str, str]:
    # the wheel first, then this environment's site-packages for the dependencies
    path = os.pathsep.join([str(target), *site.getsitepackages()])
    return {**os.environ, "PYTHONPATH": path}


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_the_artifact_is_the_wheel_under_wheels() -> None:
    artifact = framework_artifact()
    assert artifact.path == f"{WHEEL_DIR}/skaal-{__version__}-py3-none-any.whl"
    assert isinstance(artifact.content, bytes)
    assert not artifact.executable


def test_the_installed_wheel_imports_loads_catalogs_and_runs_the_cli(
    installed: Path, tmp_path: Path
) -> None:
    probe = (
        "import json, skaal\n"
        "from skaal.catalog import catalog_for_target\n"
        "from skaal.catalog.locate import bundled_dir\n"
        "catalog = catalog_for_target('aws')\n"
        "print(json.dumps({'file': skaal.__file__, 'catalogs': str(bundled_dir()),"
        " 'backends': len(catalog.backends), 'provider': catalog.provider}))\n"
    )
    env = _env(installed)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert Path(found["file"]).is_relative_to(installed)
    assert Path(found["catalogs"]) == installed / "skaal" / "_bundled" / "catalogs"
    assert found["provider"] == "aws"
    assert found["backends"] > 0
    script = installed / "bin" / "skaal"
    assert script.is_file()  # pip made the console script from entry_points.txt
    help_ = subprocess.run(
        [sys.executable, str(script), "--help"],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert help_.returncode == 0, help_.stderr
    assert "plan" in help_.stdout
    assert "deploy" in help_.stdout


def test_pip_resolves_the_pinned_skaal_from_the_shipped_wheel(wheel: Path, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"skaal=={__version__}\n")
    report = tmp_path / "report.json"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--no-deps", "--no-index", "--disable-pip-version-check", "--quiet",
            "--find-links", str(wheel.parent), "-r", str(requirements), "--report", str(report),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (item,) = json.loads(report.read_text())["install"]
    assert item["metadata"]["name"] == "skaal"
    assert item["metadata"]["version"] == __version__
    assert item["download_info"]["url"] == wheel.as_uri()


def test_two_builds_give_the_same_bytes() -> None:
    assert framework_wheel() == framework_wheel()


def test_record_lists_every_file_with_its_digest_and_size() -> None:
    archive = _zip(framework_wheel())
    names = archive.namelist()
    assert names[-1] == f"{INFO}/RECORD"
    rows = [line.split(",") for line in archive.read(f"{INFO}/RECORD").decode().splitlines()]
    assert [row[0] for row in rows] == names
    assert rows[-1] == [f"{INFO}/RECORD", "", ""]
    for name, digest, size in rows[:-1]:
        data = archive.read(name)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}", name
        assert int(size) == len(data), name


def test_entries_are_sorted_with_fixed_times_and_modes() -> None:
    archive = _zip(framework_wheel())
    package = [n for n in archive.namelist() if not n.startswith(INFO)]
    assert package == sorted(package)
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert info.external_attr >> 16 == 0o100644, info.filename


def test_the_package_is_complete_and_free_of_bytecode() -> None:
    archive = _zip(framework_wheel())
    names = set(archive.namelist())
    package = Path(skaal.__file__).parent
    sources = {"skaal/" + p.relative_to(package).as_posix() for p in package.rglob("*.py")}
    sources = {n for n in sources if "__pycache__" not in n}
    assert sources <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "skaal/py.typed" in names or not (package / "py.typed").exists()
    assert {"skaal/_bundled/catalogs/aws.toml", "skaal/_bundled/catalogs/local.toml"} <= names


def test_metadata_wheel_and_entry_points() -> None:
    archive = _zip(framework_wheel())
    metadata = archive.read(f"{INFO}/METADATA").decode().splitlines()
    assert "Name: skaal" in metadata
    assert f"Version: {__version__}" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert any(line.startswith("Requires-Dist: z3-solver") for line in metadata)
    assert any(line.startswith("Requires-Dist: boto3") and "extra ==" in line for line in metadata)
    assert "Provides-Extra: aws" in metadata
    wheel = archive.read(f"{INFO}/WHEEL").decode().splitlines()
    assert {"Wheel-Version: 1.0", "Root-Is-Purelib: true", "Tag: py3-none-any"} <= set(wheel)
    entry_points = archive.read(f"{INFO}/entry_points.txt").decode()
    assert entry_points == "[console_scripts]\nskaal = skaal.cli.main:main\n"


def test_a_source_tree_gets_its_catalogs_from_the_catalogs_folder(tmp_path: Path) -> None:
    package, catalogs = tmp_path / "skaal", tmp_path / "catalogs"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (package / "stale.pyc").write_bytes(b"\0")
    catalogs.mkdir()
    (catalogs / "mine.toml").write_text("schema_version = 1\n")
    files = framework_files(package, catalogs)
    assert list(files) == ["skaal/__init__.py", "skaal/_bundled/catalogs/mine.toml"]
    # an installed package already holds them: nothing is added
    (package / "_bundled" / "catalogs").mkdir(parents=True)
    (package / "_bundled" / "catalogs" / "aws.toml").write_text("")
    assert list(framework_files(package, catalogs)) == [
        "skaal/__init__.py",
        "skaal/_bundled/catalogs/aws.toml",
    ]


@pytest.mark.parametrize(
    ("target", "requirements", "install"),
    [
        ("local", "requirements.txt", "Dockerfile"),
        ("gcp", "requirements.txt", "Dockerfile"),
        ("aws", "requirements.txt", "requirements.txt"),  # the program's: skaal from wheels/
    ],
)
def test_every_target_ships_the_wheel_its_requirements_pin(
    target: str, requirements: str, install: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ref = str(ROOT / "examples" / "counter" / "app.py") + ":app"
    runner = CliRunner()
    planned = runner.invoke(cli, ["plan", ref, "--target", target, "--lock", "x.lock"])
    assert planned.exit_code == 0, planned.output
    built = runner.invoke(
        cli, ["build", ref, "--target", target, "--lock", "x.lock", "--out", "out"]
    )
    assert built.exit_code == 0, built.output
    folder = tmp_path / "out" / target
    wheel = folder / WHEEL_DIR / wheel_name()
    assert wheel.read_bytes() == framework_artifact().content
    manifest = json.loads((folder / "manifest.json").read_text())
    assert f"{WHEEL_DIR}/{wheel_name()}" in manifest["files"]
    pins = {r.name: r.version for r in parse_requirements((folder / requirements).read_text())}
    assert pins["skaal"] == __version__
    assert "--find-links wheels" in (folder / install).read_text()
