"""Regenerate the committed sample build: ``python docs/_gen/sample.py``.

Run from the repository root.  It plans ``examples/counter`` against the
bundled local catalog in memory (no lock is read or written), builds the
``local`` target and writes ``artifacts/counter/local/`` atomically, exactly
as ``skaal plan --target local`` then ``skaal build --target local --out
artifacts/counter`` would in that folder -- except for the versions pinned in
``requirements.txt``: a real build pins what is installed, the sample pins
:data:`SAMPLE_VERSIONS`, so it does not change with every release of a
dependency.  A maintainer's tool, not part of the installed package.  A test
(``tests/builder/test_local.py``) rebuilds it into a temporary folder and fails when the
committed copy differs by a byte.

The sample leaves out ``wheels/`` (the wheel of the running Skaal that every
build ships, :mod:`skaal.builder.framework`): its bytes change with every edit
of Skaal, so committing it -- or listing it in the committed manifest --
would make the sample stale on every change.  The sample is therefore "the
build minus ``wheels/``", its ``manifest.json`` included; a test checks that
the same build with the framework does ship
``wheels/skaal-<version>-py3-none-any.whl`` and lists it in its manifest.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import msgspec

from skaal._version import __version__
from skaal.builder import build_artifacts
from skaal.builder.framework import WHEEL_DIR
from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.sources import read_app_sources
from skaal.builder.writer import FileWriter, WriteResult
from skaal.catalog import catalog_for_target
from skaal.declare.app_ref import load_app, parse_ref
from skaal.pipeline import MemoryLockStore, plan_blueprint

__all__ = ["SAMPLE_APP", "SAMPLE_OUT", "SAMPLE_TARGET", "SAMPLE_VERSIONS", "main", "sample_set"]

SAMPLE_APP = "examples/counter/app.py:app"
SAMPLE_TARGET = "local"
SAMPLE_OUT = "artifacts/counter"

#: The versions the sample pins (a real build pins what is installed).
SAMPLE_VERSIONS: Mapping[str, str] = MappingProxyType(
    {"pulumi": "3.272.0", "starlette": "1.10.0", "uvicorn": "0.54.0"}
)


def _sample_version(name: str) -> str | None:
    return SAMPLE_VERSIONS.get(name)


def sample_set(root: Path, *, with_framework: bool = False) -> ArtifactSet:
    """The sample's artifact set, built from the project at ``root``.

    Without ``wheels/`` unless ``with_framework`` (see the module docstring).
    """
    parsed = parse_ref(SAMPLE_APP, base=root)
    blueprint = load_app(SAMPLE_APP, cwd=root).blueprint()
    catalog = catalog_for_target(SAMPLE_TARGET)
    plan = plan_blueprint(blueprint, catalog, lock=MemoryLockStore()).plan
    context = BuildContext(
        blueprint=blueprint,
        plan=plan,
        app_ref=f"{parsed.module}:{parsed.attr}",
        target=SAMPLE_TARGET,
        skaal_version=__version__,
        versions=_sample_version,
        app_sources=read_app_sources(parsed.root, parsed.module),
    )
    built = build_artifacts(context)
    if with_framework:
        return built
    kept = tuple(f for f in built.files if not f.path.startswith(f"{WHEEL_DIR}/"))
    return msgspec.structs.replace(built, files=kept)


def write_sample(root: Path, out: Path) -> WriteResult:
    """Build the sample from ``root`` and write it under ``out`` (``out/local/``)."""
    return FileWriter(out).write(sample_set(root))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the committed sample build.")
    parser.add_argument("--root", default=".", help="repository root [default: .]")
    parser.add_argument("--out", default=SAMPLE_OUT, help=f"[default: {SAMPLE_OUT}]")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    result = write_sample(root, root / args.out)
    print(f"wrote {len(result.files)} files to {result.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
