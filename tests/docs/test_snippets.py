"""Every ```python block of the docs and the README runs.

Each block is executed in a fresh namespace inside a temporary directory; a
block preceded by ``<!-- skip -->`` is not (use it only for code that cannot
run here).  Errors point at the page and line of the block.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs._pages import PAGES, ROOT

BLOCK = re.compile(
    r"(?P<skip><!-- skip -->\s*\n)?(?:<!-- file: \S+ -->\n)?```python\n(?P<code>.*?)```", re.DOTALL
)


def snippets() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            if not match["skip"]:
                line = text.count("\n", 0, match.start("code")) + 1
                found.append((str(page.relative_to(ROOT)), line, match["code"]))
    return found


SNIPPETS = snippets()


def test_docs_have_snippets() -> None:
    assert len(SNIPPETS) >= 10


def test_skip_marker_is_recognised() -> None:
    text = "<!-- skip -->\n```python\nraise SystemExit\n```\n```python\nx = 1\n```\n"
    assert [m["code"] for m in BLOCK.finditer(text) if not m["skip"]] == ["x = 1\n"]


@pytest.mark.parametrize(
    ("page", "line", "code"), SNIPPETS, ids=[f"{p}:{n}" for p, n, _ in SNIPPETS]
)
def test_snippet_runs(
    page: str, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    compiled = compile("\n" * (line - 1) + code, str(ROOT / page), "exec")
    exec(compiled, {"__name__": f"docs_{Path(page).stem.replace('-', '_')}"})
