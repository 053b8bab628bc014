"""Gathering what a build needs, and refusing a lock that does not fit.

``skaal build`` never plans: it builds exactly the plan in the lock, so the
lock must exist, be planned for the target being built, be of a schema that
records everything the build provisions (backups and retention: schema 4),
and still match the app's declarations and the catalog it was planned against
(:func:`skaal.plan.lock.is_stale`).  A lock with pending moves
(:mod:`skaal.plan.moves`) is built: the cloud builds provision both ends
(:mod:`skaal.builder.moves`, which refuses what they cannot).  Any mismatch is a
:class:`~skaal.errors.BuildError` naming the lock and the ``skaal plan``
command that fixes it.

:func:`load_context` imports the app, reads its sources and the lock, loads
the catalog and returns the frozen :class:`~skaal.builder.model.BuildContext`
the targets consume; :func:`check_lock` is the pure part, tested on its own.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from skaal._version import __version__
from skaal.blueprint.model import Blueprint
from skaal.builder.model import Artifact, BuildContext, VersionSource, installed_version
from skaal.builder.sources import read_app_sources
from skaal.builder.traces import traces_setting
from skaal.catalog import catalog_for_target, load_catalog
from skaal.catalog.locate import is_path_ref
from skaal.catalog.model import Catalog
from skaal.declare.app_ref import load_app, parse_ref, ref_from_pyproject
from skaal.errors import BuildError
from skaal.overrides import OVERRIDES_FILE, check_hooks, load_hooks
from skaal.plan.lock import is_stale, read_lock
from skaal.plan.model import BUILDABLE_SCHEMA_VERSION, Plan

__all__ = ["check_lock", "load_catalog_for", "load_context", "read_overrides"]


def check_lock(
    plan: Plan | None,
    *,
    lock: str,
    blueprint: Blueprint,
    catalog: Catalog,
    target: str,
    existing: Mapping[str, str] | None = None,
) -> Plan:
    """``plan`` if it may be built for ``target``; a :class:`BuildError` saying why not.

    ``existing``: the configuration's adoptions, which the lock must match.
    """
    command = f"skaal plan --target {target}"
    if plan is None:
        raise BuildError(
            f"there is no lock file to build from ({lock} does not exist)",
            where=lock,
            fix=f"run skaal plan --target {target} first; skaal build uses its plan",
            command=command,
        )
    if plan.provider != target:
        raise BuildError(
            f"{lock} was planned for {plan.provider!r}, not for the {target!r} target",
            where=lock,
            fix=f"plan for {target} (this replaces the lock), or build --target {plan.provider}",
            command=command,
        )
    if plan.schema_version < BUILDABLE_SCHEMA_VERSION:
        raise BuildError(
            f"{lock} was written by an older Skaal (schema {plan.schema_version}): it does not "
            "record the backups and retention the build provisions, nor their prices",
            where=lock,
            fix="run skaal plan, which records them and moves nothing, then build again",
            command=command,
        )
    reasons = is_stale(plan, blueprint, catalog, existing=existing)
    if reasons:
        raise BuildError(
            f"{lock} is stale: {'; '.join(reasons)}",
            where=lock,
            fix="run skaal plan to bring the lock up to date, then build again",
            command=command,
        )
    return plan


def load_catalog_for(target: str, catalog_ref: str | None, *, cwd: Path) -> Catalog:
    """The catalog the lock is checked against: ``--catalog``, else the target's bundled one."""
    if catalog_ref is None:
        return catalog_for_target(target)
    if is_path_ref(catalog_ref):
        return load_catalog(cwd / catalog_ref)
    return load_catalog(catalog_ref)


def load_context(
    app_ref: str | None,
    *,
    cwd: Path,
    target: str,
    lock: str = "skaal.lock",
    catalog_ref: str | None = None,
    versions: VersionSource = installed_version,
    env: str = "",
    config: tuple[tuple[str, str], ...] = (),
    existing: Mapping[str, str] | None = None,
) -> BuildContext:
    """Import the app, read the lock and sources, check them: the inputs of a build
    (for environment ``env``, ``""``: none, with its ``config`` variables)."""
    text, base = (app_ref, cwd) if app_ref is not None else ref_from_pyproject(cwd)
    parsed = parse_ref(text, base=base)
    app = load_app(text, cwd=base)
    blueprint = app.blueprint()
    catalog = load_catalog_for(target, catalog_ref, cwd=cwd)
    plan = check_lock(
        read_lock(cwd / lock),
        lock=lock,
        blueprint=blueprint,
        catalog=catalog,
        target=target,
        existing=existing,
    )
    traces = traces_setting(parsed.root)
    if traces != plan.traces and target != "local":
        said, planned = ("on", "off") if traces else ("off", "on")
        would = "export traces the plan does not price" if traces else "send no traces it prices"
        raise BuildError(
            f"[tool.skaal] traces is {said}, and {lock} was planned with traces {planned}: "
            f"the build would {would}",
            where=f"{parsed.root / 'pyproject.toml'} tool.skaal.traces",
            fix="re-plan, which prices the traces as the project now says",
            command=f"skaal plan --target {target}",
        )
    return BuildContext(
        blueprint=blueprint,
        plan=plan,
        app_ref=f"{parsed.module}:{parsed.attr}",
        target=target,
        skaal_version=__version__,
        versions=versions,
        app_sources=read_app_sources(parsed.root, parsed.module),
        overrides=read_overrides(parsed.root, blueprint),
        env=env,
        config=config,
        existing=dict(existing or {}),
        traces=traces,
    )


def read_overrides(root: Path, blueprint: Blueprint) -> Artifact | None:
    """The project's hooks module, imported and checked; ``None`` if it has none.

    ``[tool.skaal] overrides`` in ``root/pyproject.toml`` names it (relative
    to ``root``), else ``skaal_overrides.py`` in ``root`` is used if present.
    """
    path = root / OVERRIDES_FILE
    named = _overrides_setting(root)
    if named is not None:
        path = root / named
        if not path.is_file():
            raise BuildError(
                f"[tool.skaal] overrides names {named!r}, which is not a file",
                where=str(root / "pyproject.toml"),
                fix="name the hooks module relative to pyproject.toml, or remove the setting",
            )
    elif not path.is_file():
        return None
    check_hooks(load_hooks(path), (spec.name for spec in blueprint.resources))
    return Artifact(OVERRIDES_FILE, path.read_text(encoding="utf-8"))


def _overrides_setting(root: Path) -> str | None:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BuildError(f"cannot read {pyproject}: {exc}", where=str(pyproject)) from None
    value = data.get("tool", {}).get("skaal", {}).get("overrides")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BuildError(
            f"[tool.skaal] overrides must be a file name, got {value!r}",
            where=str(pyproject),
            fix='write overrides = "skaal_overrides.py"',
        )
    return value
