"""The artifact's ``infra/__main__.py`` says what is missing when its Python lacks skaal.

Pulumi runs the program in the stack's own virtual environment, filled from
``infra/requirements.txt``.  Run here by a Python that cannot import skaal
(``-S``: no site-packages, no ``PYTHONPATH``), it must stop with exit 1 and a
message naming the program, the environment and the way to rebuild it, not
an ``ImportError`` traceback.  Under a Python that has skaal, every target's
program runs under Pulumi's mocks in the target's own tests.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skaal.builder.stack_files import program_source


@pytest.mark.parametrize("target", ["aws", "gcp", "local"])
def test_a_python_without_skaal_is_told_how_to_fix_it(tmp_path: Path, target: str) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(program_source("A stack.", target), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-S", str(program)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"needs skaal's {target} program" in done.stderr
    assert "No module named 'skaal'" in done.stderr
    assert "infra/venv" in done.stderr
    assert "infra/requirements.txt" in done.stderr


def test_the_program_only_hands_the_stack_file_beside_it_to_the_fixed_one() -> None:
    source = program_source("A stack.", "aws")
    tree = ast.parse(source)
    assert ast.get_docstring(tree) == "A stack."
    # the docstring, the two imports (the program's guarded), one call: run(stack.json)
    assert [type(node).__name__ for node in tree.body] == ["Expr", "ImportFrom", "Try", "Expr"]
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"pathlib", "skaal.programs.aws"}
    assert source.endswith('\nrun(Path(__file__).resolve().with_name("stack.json"))\n')
