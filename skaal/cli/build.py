"""``skaal build``: turn the lock into a deployable folder for one target.

Reads the plan from the lock (never re-plans: a missing, stale or
other-provider lock is refused with the ``skaal plan`` command to run),
generates the target's files (:mod:`skaal.builder.targets`) and writes
``<out>/<target>/`` atomically with its ``manifest.json``
(:class:`skaal.builder.writer.FileWriter`).  ``--dry-run`` hands the same set
to :class:`~skaal.builder.writer.DryRunWriter`, which lists the files and
writes nothing.

``--env NAME`` builds environment NAME (:mod:`skaal.envs`) from its lock,
checked against its catalog, into ``artifacts/<env>/<target>/``, for a
Pulumi stack named after it, with physical names starting ``<app>-<env>-``
and its ``config`` variables in every deployed process; ``--target`` then
defaults to the environment's.

Exit codes: 0 built, 1 the build failed (no or stale lock, files cannot be
written), 2 usage errors (unknown target, bad app reference).
"""

from __future__ import annotations

from pathlib import Path

import click

from skaal.cli.paths import (
    catalog_for,
    check_path,
    current_env,
    env_option,
    from_project,
    lock_for,
    lock_option,
)
from skaal.errors import UsageError

__all__ = ["build", "env_target"]


@click.command("build")
@click.argument("app_ref", required=False, metavar="[APP_REF]", callback=check_path)
@click.option(
    "--target",
    metavar="local|aws|gcp",
    help="What to build for; the lock must be planned for it [default: the environment's].",
)
@lock_option
@env_option
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
    metavar="DIR",
    callback=check_path,
    help="Folder receiving <target>/, relative to the working directory "
    "[default: artifacts; artifacts/<env> in an environment].",
)
@click.option("--dry-run", is_flag=True, help="List the files without writing anything.")
def build(
    *,
    app_ref: str | None,
    target: str | None,
    lock_path: str | None,
    env_name: str | None,
    catalog_ref: str | None,
    out_dir: str | None,
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
    from skaal.envs.existing import configured_existing

    cwd = Path.cwd()
    env, project = current_env(env_name, cwd=cwd)
    lock_path = lock_for(lock_path, env, project, cwd=cwd)
    if env is not None:
        catalog_ref, _ = catalog_for(catalog_ref, None, env, project, cwd=cwd)
        target = target or env_target(env.target, catalog_ref, cwd=cwd)
        out_dir = out_dir or from_project(project, env.artifacts, cwd=cwd)
    if target is None:
        raise UsageError(
            "skaal build needs a target",
            where="--target",
            fix="pass --target local, aws or gcp (or --env NAME, whose catalog gives it)",
        )
    get_target(target)
    context = load_context(
        app_ref,
        cwd=cwd,
        target=target,
        lock=lock_path,
        catalog_ref=catalog_ref,
        env=env.name if env is not None else "",
        config=tuple(sorted(env.config.items())) if env is not None else (),
        existing=configured_existing(project, env)[0],
    )
    artifacts = build_artifacts(context)
    out = cwd / (out_dir or "artifacts")
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


def env_target(target: str | None, catalog_ref: str | None, *, cwd: Path) -> str:
    """The target of an environment: its own, else its catalog's provider, else local."""
    if target is not None:
        return target
    if catalog_ref is None:
        return "local"
    from skaal.builder.inputs import load_catalog_for

    return load_catalog_for("local", catalog_ref, cwd=cwd).provider
