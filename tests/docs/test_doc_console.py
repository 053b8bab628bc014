"""Every ```console block of the docs shows what the tool really prints.

``docs/_gen/console.py`` runs the ``$ `` lines of each page's console blocks,
in order, in a fresh directory holding a copy of ``examples/`` (and the
page's ``<!-- file: PATH -->`` blocks), and this test compares each shown
output with the real one.  On a difference, regenerate the blocks with
``python docs/_gen/console.py`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs._pages import PAGES, ROOT, generator

console = generator("console")
CONSOLE_PAGES = [p for p in PAGES if console.BLOCK.search(p.read_text(encoding="utf-8"))]


def test_the_docs_show_real_output() -> None:
    names = {p.name for p in CONSOLE_PAGES}
    assert {"README.md", "getting-started.md", "solver.md", "cli.md"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("page", CONSOLE_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_console_output_is_real(page: Path) -> None:
    blocks, outputs = console.run_page(page)
    for block, real in zip(blocks, outputs, strict=True):
        for step, output in zip(block.steps, real, strict=True):
            assert step.output == output, (
                f"{page.relative_to(ROOT)}: `$ {step.command}` prints something else; "
                f"run `python docs/_gen/console.py {page.relative_to(ROOT)}`\n"
                f"--- shown\n{step.output}\n--- real\n{output}"
            )


def test_blocks_parse_into_commands_and_outputs() -> None:
    text = "intro\n```console\n$ echo a\na\n\n$ true\n$ echo b &\n```\nafter\n"
    (block,) = console.parse_blocks(text)
    assert [(s.command, s.output) for s in block.steps] == [
        ("echo a", "a"),
        ("true", ""),
        ("echo b &", ""),
    ]
    assert text[block.start : block.end].startswith("$ echo a\na\n")
    assert block.render(["new", "", ""]) == "$ echo a\nnew\n$ true\n$ echo b &\n"


def test_text_before_the_first_command_is_refused() -> None:
    with pytest.raises(ValueError, match="text before a command"):
        console.parse_blocks("```console\noops\n$ echo a\n```\n")


def test_a_session_runs_in_its_own_directory_with_the_page_files() -> None:
    page = "<!-- file: pkg/app.py -->\n```python\nx = 1\n```\n"
    with console.session(page) as current:
        assert (current.directory / "examples" / "hello" / "app.py").is_file()
        assert current.run("cat pkg/app.py") == "x = 1"
        assert current.run("pwd") == "."
        assert current.run("echo $COLUMNS") == console.COLUMNS
        assert current.run("echo localhost:8000") == "localhost:8000"
        assert (
            current.run(f"echo {current.port} localhost:8000") == f"{current.port} localhost:8000"
        )
        assert current.run("echo 'a  '; echo b >&2") == "a\nb"


def test_a_table_holding_a_machine_path_is_refused() -> None:
    with console.session("") as current, pytest.raises(ValueError, match="table row"):
        current.run(f"echo '│ {ROOT}/catalogs/aws.toml │'")
