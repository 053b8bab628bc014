"""Fixtures writing catalog files into ``tmp_path``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from catalog_samples import BASE, Write


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write ``text`` (dedented) to ``tmp_path / name`` and return the path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def base(write: Write) -> Path:
    return write("base.toml", BASE)
