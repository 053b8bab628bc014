"""Fixtures of the migration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _migrate_env import APP


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "shop.py").write_text(APP)
    return tmp_path
