"""``skaal build``: turn the lock into a deployable folder for one target.

Reads the plan from the lock (never re-plans: a missing, stale or
other-provider lock is refused with the ``skaal plan`` command to run),
generates the target's files (:mod:`skaal.builder.targets`) and writes
``<out>/<target>/`` atomically with its ``manifest.json``
(:class:`skaal.builder.writer.FileWriter`).  ``--dry-run`` hands the same set
to :class:`~skaal.builder.writer.DryRunWriter`, which lists the files and
writes nothing.

Exit codes: 0 built, 1 the build failed (no or stale lock, files cannot be
written), 2 usage errors (unknown target, bad app reference).
"""

from __future__ import annotations

from pathlib import Path

import click

from skaal.cli.paths import check_path, lock_option

__all__ = ["build"]


@click.command("build")
@click.argument("app_ref", required=False, metavar="[APP_REF]", callback=check_path)
@click.option(
    "--target",
    required=True,
    metavar="local|aws|gcp",
    help="What to build for; the lock must be planned for it.",
)
@lock_option
@click.option(
    "--catalog",
    "catalog_ref",
    metavar="PATH_OR_NAME",
    callback=check_path,
    help="Catalog the lock was planned against [default: the target's bundled one].",
)
@click.option(
    "--out",
    "out_dir",
    default="artifacts",
    show_default=True,
    metavar="DIR",
    callback=check_path,
    help="Folder receiving <target>/, relative to the working directory.",
)
@click.option("--dry-run", is_flag=True, help="List the files without writing anything.")
def build(
    *,
    app_ref: str | None,
    target: str,
    lock_path: str,
    catalog_ref: str | None,
    out_dir: str,
    dry_run: bool,
) -> None:
    """Build the artifacts of APP_REF for --target from its lock file.

    APP_REF is module.path:attr or path/to/file.py:attr (attribute defaults
    to "app"); without it, [tool.skaal] app in pyproject.toml is used.
    """
    from skaal.builder import build_artifacts
    from skaal.builder.inputs import load_context
    from skaal.builder.targets import get_target
    from skaal.builder.writer import ArtifactWriter, DryRunWriter, FileWriter

    get_target(target)
    cwd = Path.cwd()
    context = load_context(app_ref, cwd=cwd, target=target, lock=lock_path, catalog_ref=catalog_ref)
    artifacts = build_artifacts(context)
    out = cwd / out_dir
    writer: ArtifactWriter = DryRunWriter(out) if dry_run else FileWriter(out)
    result = writer.write(artifacts)
    shown = _relative(result.folder, cwd)
    verb = "would write" if dry_run else "wrote"
    click.echo(f"{verb} {len(result.files)} files to {shown}/ (plan {artifacts.plan_hash[:12]})")
    for path in result.files:
        click.echo(f"  {path}")


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
