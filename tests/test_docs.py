"""The documentation is tested: its Python snippets run, and its references stay complete.

Every ```python block in ``docs/`` and ``README.md`` is executed in a fresh
namespace inside a temporary directory; a block preceded by
``<!-- skip -->`` is not (use it only for code that cannot run here).
``docs/constraints.md`` must document every keyword of the constraint table
with exactly the kinds that accept it, and ``docs/catalogs.md`` every field of
the catalog records.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from skaal.blueprint.model import KINDS
from skaal.catalog import model as catalog_model
from skaal.declare.constraints import CONSTRAINTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"(?P<skip><!-- skip -->\s*\n)?```python\n(?P<code>.*?)```", re.DOTALL)


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
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize(
    ("page", "line", "code"), SNIPPETS, ids=[f"{p}:{n}" for p, n, _ in SNIPPETS]
)
def test_snippet_runs(
    page: str, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    compiled = compile("\n" * (line - 1) + code, str(ROOT / page), "exec")
    exec(compiled, {"__name__": f"docs_{Path(page).stem.replace('-', '_')}"})


def _section(text: str, keyword: str) -> str:
    match = re.search(rf"^### `{keyword}`\n(.*?)(?=^#|\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"docs/constraints.md has no section for {keyword!r}"
    return match[1]


@pytest.mark.parametrize("keyword", sorted(CONSTRAINTS))
def test_every_constraint_is_documented_with_its_kinds(keyword: str) -> None:
    section = _section((DOCS / "constraints.md").read_text(encoding="utf-8"), keyword)
    kinds = re.search(r"\*Kinds:\* ([a-z, ]+?) ·", section)
    assert kinds, f"the {keyword} section does not list its kinds"
    expected = [k for k in KINDS if k in CONSTRAINTS[keyword].kinds]
    assert kinds[1].split(", ") == expected


def test_constraints_doc_has_no_unknown_keywords() -> None:
    text = (DOCS / "constraints.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^### `(\w+)`", text, re.MULTILINE)) == set(CONSTRAINTS)


CATALOG_MODELS = [
    obj
    for obj in vars(catalog_model).values()
    if isinstance(obj, type)
    and issubclass(obj, BaseModel)
    and obj.__module__ == catalog_model.__name__
    and not obj.__name__.startswith("_")
]


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m.__name__)
def test_every_catalog_field_is_documented(model: type[BaseModel]) -> None:
    text = (DOCS / "catalogs.md").read_text(encoding="utf-8")
    missing = [f for f in model.model_fields if f"`{f}`" not in text]
    assert missing == [], f"docs/catalogs.md does not document {model.__name__}: {missing}"


def test_catalog_file_keywords_are_documented() -> None:
    text = (DOCS / "catalogs.md").read_text(encoding="utf-8")
    for key in ("extends", "remove", "remove_backends", "capabilities", "shared"):
        assert f"`{key}`" in text


def test_mkdocs_nav_lists_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        assert f" {page.name}" in nav, f"mkdocs.yml does not list {page.name}"
