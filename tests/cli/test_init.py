"""``skaal init``: the scaffold is valid, refuses what it must, and runs as generated.

The end-to-end test does what the generated README tells a newcomer: a
virtual environment, ``pip install -e .``, the project's own tests, then
``skaal run`` spoken to over HTTP.  The environment is created with
``--system-site-packages`` and a ``.pth`` file that adds this interpreter's
site directories, so Skaal and its dependencies are reused (no network) even
when the tests themselves run inside a virtual environment.
"""

from __future__ import annotations

import ast
import os
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal import __version__
from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.scaffold import project_files
from tests._server import ROOT, free_port, serve_process

FILES = [
    ".gitignore",
    "README.md",
    "my_shop/__init__.py",
    "my_shop/app.py",
    "pyproject.toml",
    "tests/test_app.py",
]


def init(cwd: Path, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(cli, ["init", *args])
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def test_pyproject_depends_on_this_skaal_and_names_the_app() -> None:
    files = project_files("my-shop")
    assert sorted(files) == FILES
    pyproject = tomllib.loads(files["pyproject.toml"])
    assert pyproject["project"]["name"] == "my-shop"
    assert pyproject["project"]["dependencies"] == [f"skaal[serve]>={__version__}"]
    assert pyproject["tool"]["skaal"] == {"app": "my_shop.app:app"}
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, filename=path)
    ignored = files[".gitignore"].splitlines()
    assert {".skaal/", "artifacts/", ".venv/", "__pycache__/"} <= set(ignored)
    assert "skaal.lock" not in ignored


def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    code, output = init(tmp_path, "my-shop")
    assert code == 0, output
    project = tmp_path / "my-shop"
    for command in (["check"], ["format", "--check"]):
        ruff = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_init_writes_the_project_and_the_app_is_found_from_pyproject(tmp_path: Path) -> None:
    code, output = init(tmp_path, "my-shop")
    assert code == 0, output
    assert output.startswith("Created my-shop in my-shop/ (app: my_shop.app:app)\n")
    assert "pip install -e '.[dev]'" in output
    project = tmp_path / "my-shop"
    written = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert written == FILES
    app = load_app(None, cwd=project / "tests")  # found through [tool.skaal] app
    assert app.name == "my-shop"
    assert {r.name for r in app.blueprint().resources} == {"Visits", "visit"}


def test_dir_option_and_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    code, output = init(tmp_path, "my-shop", "--dir", "here")
    assert code == 0, output
    assert (tmp_path / "here" / "my_shop" / "app.py").is_file()
    assert not (tmp_path / "my-shop").exists()


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "my-shop").mkdir()
    (tmp_path / "my-shop" / "notes.txt").write_text("keep me")
    code, output = init(tmp_path, "my-shop")
    assert code == 2
    target = tmp_path.resolve() / "my-shop"
    assert output == (
        f"error (UsageError) {target}: {target} is not empty; skaal init only writes into "
        "a new or empty folder\n"
        "  fix: pick another folder (skaal init my-shop --dir PATH) or empty this one\n"
    )
    assert (tmp_path / "my-shop" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "my-shop").iterdir()) == ["notes.txt"]


def test_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "my-shop").write_text("")
    code, output = init(tmp_path, "my-shop")
    assert code == 2
    assert "my-shop exists and is not a folder" in output


@pytest.mark.parametrize("name", ["My_Shop", "1shop", "shop-", "a", "my--shop", "x" * 41])
def test_refuses_an_invalid_name(tmp_path: Path, name: str) -> None:
    code, output = init(tmp_path, name)
    assert code == 2
    assert output == (
        f"error (UsageError) skaal init NAME: {name!r} is not a valid project name\n"
        "  fix: use 2-40 lower-case letters, digits and single dashes, starting with a letter "
        "and not ending with a dash (it names the app and its cloud resources), "
        "e.g. skaal init my-shop\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["json", "skaal", "tests", "class"])
def test_refuses_a_name_whose_package_shadows_a_module(tmp_path: Path, name: str) -> None:
    code, output = init(tmp_path, name)
    assert code == 2
    assert f"would make a Python package {name!r} that shadows" in output
    assert f"skaal init {name}-app" in output
    assert list(tmp_path.iterdir()) == []


def _venv(project: Path) -> tuple[Path, Path]:
    """A virtual environment in ``project/.venv`` that sees this interpreter's packages."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "venv",
            "--system-site-packages",
            "--without-pip",
            str(project / ".venv"),
        ],
        check=True,
        timeout=120,
    )
    python = project / ".venv" / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = [*site.getsitepackages(), site.getusersitepackages()]
    lines = [f"import site; site.addsitedir({p!r})" for p in parents if Path(p).is_dir()]
    (Path(purelib) / "_parent_environment.pth").write_text("\n".join(lines) + "\n")
    return python, Path(purelib)


@pytest.mark.slow
def test_a_new_project_installs_passes_its_test_and_serves(tmp_path: Path) -> None:
    code, output = init(tmp_path, "my-shop")
    assert code == 0, output
    project = tmp_path / "my-shop"
    python, purelib = _venv(project)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    installed = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            ".",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert any(p.name.startswith("my_shop-0.1.0.dist-info") for p in purelib.iterdir())
    where = subprocess.run(
        [python, "-c", "import my_shop.app; print(my_shop.app.__file__)"],
        cwd=tmp_path,  # outside the project: only the install makes it importable
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()) == (project / "my_shop" / "app.py").resolve()
    tested = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout
    port = free_port()
    command = [str(python), "-c", "from skaal.cli.main import main; main()", "run"]
    with serve_process([*command, "--port", str(port)], cwd=project, port=port) as client:
        assert client.post("/fn/visit", json={"page": "home"}).json() == 1
        assert client.post("/fn/visit", json={}).json() == 2
    assert (project / "skaal.lock").is_file()
    with serve_process([*command, "--port", str(port)], cwd=project, port=port) as client:
        assert client.post("/fn/visit", json={"page": "home"}).json() == 3  # persistent
    shutil.rmtree(project / ".venv")
