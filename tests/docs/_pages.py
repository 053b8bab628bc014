"""What the documentation tests share: the pages, and the generators in ``docs/_gen``.

The generators are scripts a maintainer runs (``python docs/_gen/console.py``),
not part of the package, so the tests load them from their files.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


def generator(name: str) -> ModuleType:
    """The module ``docs/_gen/<name>.py``, loaded once."""
    key = f"skaal_docs_gen_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, DOCS / "_gen" / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
