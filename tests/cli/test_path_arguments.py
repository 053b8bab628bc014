"""No path argument ends in a traceback: each gets a clear error and the right exit code.

Paths that cannot be what a command needs -- a ``--lock`` that is a folder,
under a file or in a folder nothing can be written to, a ``--catalog`` that
is a folder or not UTF-8, an app path that is a folder, an ``--out`` or
``--data-dir`` that is a file, any path with a NUL character -- are refused
with a :class:`~skaal.errors.SkaalError` message: exit 2 for usage errors,
1 for failures.
"""

from __future__ import annotations

import os
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli

APP = """
from skaal import App, Map

app = App("demo")


@app.storage()
class Items(Map[str, int]): ...


@app.function()
async def read(key: str) -> int | None:
    return await Items.get(key)
"""

#: A folder nothing can be created in, whoever runs the tests (root included).
UNWRITABLE = "/proc/skaal.lock"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("paths")
    (root / "app.py").write_text(textwrap.dedent(APP).lstrip())
    (root / "afile").write_text("not a folder")
    (root / "adir").mkdir()
    (root / "folder.toml").mkdir()
    (root / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
    old = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["plan", "app.py"])
        assert result.exit_code == 0, result.output
        yield root
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def taken_port() -> Iterator[str]:
    """A port in use: a ``skaal run`` that got as far as serving fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield str(sock.getsockname()[1])


CASES = [
    # plan
    (["plan", "app.py", "--lock", "afile/skaal.lock"], 2, "UsageError", "not usable"),
    (["plan", "app.py", "--lock", "adir"], 2, "UsageError", "not usable (Is a directory)"),
    (["plan", "app.py", "--lock", UNWRITABLE], 2, "UsageError", "it cannot be written"),
    (["plan", "app.py", "--lock", "a\0b"], 2, "UsageError", "contains a NUL character"),
    (["plan", "app.py", "--catalog", "folder.toml"], 2, "CatalogError", "folder.toml"),
    (["plan", "app.py", "--catalog", "latin1.toml"], 2, "CatalogError", "latin1.toml"),
    (["plan", "app.py", "--catalog", "a\0b.toml"], 2, "UsageError", "contains a NUL character"),
    (["plan", "adir"], 2, "UsageError", "the app path is a folder"),
    (["plan", "adir/"], 2, "UsageError", "the app path is a folder"),
    (["plan", "a\0b.py"], 2, "UsageError", "contains a NUL character"),
    # build
    (["build", "app.py", "--target", "local", "--lock", "adir"], 2, "UsageError", "not usable"),
    (
        ["build", "app.py", "--target", "local", "--lock", "afile/skaal.lock"],
        2,
        "UsageError",
        "not usable (Not a directory)",
    ),
    (["build", "app.py", "--target", "local", "--out", "afile"], 1, "BuildError", "afile"),
    (["build", "app.py", "--target", "local", "--out", "a\0"], 2, "UsageError", "NUL"),
    (["build", "adir", "--target", "local"], 2, "UsageError", "the app path is a folder"),
    # run
    (["run", "app.py", "--lock", "adir"], 2, "UsageError", "not usable (Is a directory)"),
    (["run", "app.py", "--lock", "afile/skaal.lock"], 2, "UsageError", "not usable"),
    (["run", "app.py", "--lock", UNWRITABLE], 2, "UsageError", "it cannot be written"),
    (["run", "app.py", "--data-dir", "afile"], 2, "UsageError", "it is a file, not a folder"),
    (["run", "app.py", "--data-dir", "afile/data"], 2, "UsageError", "cannot be created"),
    (["run", "app.py", "--data-dir", "a\0"], 2, "UsageError", "contains a NUL character"),
    (["run", "adir"], 2, "UsageError", "the app path is a folder"),
    # deploy
    (["deploy", "--lock", "a\0", "--yes"], 2, "UsageError", "contains a NUL character"),
]


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c[0]).replace("\0", "<NUL>") for c in CASES])
def test_a_bad_path_argument_is_a_clear_error(
    project: Path, taken_port: str, case: tuple[list[str], int, str, str]
) -> None:
    args, code, error, fragment = case
    if args[0] == "run":
        args = [*args, "--port", taken_port]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    assert result.output.startswith(f"error ({error}) "), result.output
    assert fragment in result.output
    assert "  fix: " in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, OSError | ValueError)


def test_a_missing_lock_folder_is_created(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "app.py", "--lock", "new/folder/skaal.lock"])
    assert result.exit_code == 0, result.output
    assert (project / "new" / "folder" / "skaal.lock").is_file()
