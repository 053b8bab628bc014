"""Every test module has a name of its own.

The test folders are not packages, so pytest imports each test module under
its file name alone: two ``test_regions.py`` in two folders make the whole
run stop at collection ("import file mismatch"), and only a run of every
folder at once shows it.  This catches it in any run.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_two_test_modules_share_a_file_name() -> None:
    folders: defaultdict[str, list[str]] = defaultdict(list)
    for module in TESTS.rglob("test_*.py"):
        folders[module.name].append(str(module.parent.relative_to(TESTS)))
    shared = {name: sorted(where) for name, where in folders.items() if len(where) > 1}
    assert not shared, f"test modules sharing a file name (rename one of each): {shared}"
