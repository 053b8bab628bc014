"""Catalog files are parsed by rtoml; tomllib reports the syntax errors.

``skaal.catalog.merge.read_file`` parses with the compiled ``rtoml`` and asks
``tomllib`` again only when ``rtoml`` refuses a file, so the error a user sees
is still ``tomllib``'s, with its line.  The two must read every catalog the
project ships the same way, and refuse the same broken files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from skaal.catalog import bundled_catalogs
from skaal.catalog.merge import read_file
from skaal.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [*bundled_catalogs().values(), *(ROOT / "solver" / "catalogs").glob("*.toml")],
    key=str,
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_catalog_reads_as_tomllib_reads_it(path: Path) -> None:
    assert read_file(path).data == tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("schema_version = 2\nname = = 1\n", 2),
        ('schema_version = 2\nname = "x"\nname = "y"\n', 3),
        ("schema_version = 2\n[backends.a]\nx = 1\n[backends.a]\ny = 2\n", 4),
        ('schema_version = 2\nname = "unterminated\n', 2),
        ("schema_version = 2\nlist = [1, 2\n", None),  # tomllib: "at end of document"
        ("schema_version = 2\nx = 1979-13-01\n", 2),
    ],
    ids=[
        "double-equals",
        "duplicate-key",
        "duplicate-table",
        "open-string",
        "open-array",
        "bad-date",
    ],
)
def test_a_broken_file_reports_tomllib_s_error_and_line(
    tmp_path: Path, text: str, line: int | None
) -> None:
    path = tmp_path / "cat.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(tomllib.TOMLDecodeError) as expected:
        tomllib.loads(text)
    with pytest.raises(CatalogError) as info:
        read_file(path)
    message = str(info.value)
    where = "cat.toml" if line is None else f"cat.toml:{line}"
    assert f"{where}: TOML syntax error" in message
    assert str(expected.value).split(" (at line")[0] in message


def test_a_parsed_file_s_repr_leaves_its_text_out_and_its_key_lines_are_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cat.toml"
    path.write_text('schema_version = 2\n\n[backends.redis]\nsummary = "a cache"\n')
    parsed = read_file(path)
    assert repr(parsed) == f"CatalogFile(path={path!r}, data={parsed.data!r})"
    assert parsed.lines[("backends", "redis", "summary")] == 4
    assert parsed.lines is parsed.lines  # scanned once, on first use
