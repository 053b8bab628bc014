"""Regenerate the committed sample build: ``python -m skaal.build.sample``.

Run from the repository root.  It plans ``examples/counter`` against the
bundled local catalog in memory (no lock is read or written), builds the
``local`` target and writes ``artifacts/counter/local/`` atomically, exactly
as ``skaal plan --target local`` then ``skaal build --target local --out
artifacts/counter`` would in that folder -- except for the versions pinned in
``requirements.txt``: a real build pins what is installed, the sample pins
:data:`SAMPLE_VERSIONS`, so it does not change with every release of a
dependency.  A test rebuilds it into a temporary folder and fails when the
committed copy differs by a byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from skaal._version import __version__
from skaal.build.model import ArtifactSet, BuildContext
from skaal.build.writer import FileWriter, WriteResult

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


def sample_set(root: Path) -> ArtifactSet:
    """The sample's artifact set, built from the project at ``root``."""
    from skaal.build import build_artifacts
    from skaal.build.sources import read_app_sources
    from skaal.catalog import catalog_for_target
    from skaal.cli.app_ref import load_app, parse_ref
    from skaal.pipeline import MemoryLockStore, plan_blueprint

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
    return build_artifacts(context)


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
