"""The records the builders exchange: what goes in, what comes out.

A builder is a pure function ``BuildContext -> ArtifactSet``: it reads the
blueprint and the plan (never the solver, never the disk) and returns text.
Only :mod:`skaal.builder.writer` puts an :class:`ArtifactSet` on disk, so a
build can be previewed, compared or tested without touching a file.

* :class:`BuildContext` — the frozen inputs: the app's blueprint, its plan,
  how to import it from the project root (``app_ref``), the project files
  that ship with it (``app_sources``: project-relative paths with their text,
  read by the caller so targets never touch the disk), the Skaal version,
  the target name and where pinned versions come from (``versions``: what is
  installed, unless a test or the committed sample fixes them).
* :class:`Artifact` — one generated file: a posix path relative to
  ``artifacts/<target>/``, its content (``str``, written as UTF-8 with
  ``\n`` line ends, or ``bytes``, written as they are: the framework wheel)
  and whether it is executable.
* ``BuildContext.framework`` — the wheel of the running Skaal
  (:func:`skaal.builder.framework.framework_artifact`), which every target
  ships under ``wheels/`` so its installs find the pinned ``skaal`` version.
* :class:`ArtifactSet` — every file of one target, sorted by path, plus the
  manifest (plan hash, blueprint hash, Skaal version, sha256 of every file)
  that the writer stores as ``manifest.json``.  Deterministic: the same
  inputs give byte-identical output (no timestamps, sorted keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from msgspec import Struct, field
from msgspec.structs import force_setattr

from skaal.blueprint.model import Blueprint, ResourceSpec
from skaal.builder.artifact import Artifact, sha256_text
from skaal.builder.framework import framework_artifact
from skaal.errors import BuildError
from skaal.plan.model import Plan

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "Artifact",
    "ArtifactSet",
    "BuildContext",
    "VersionSource",
    "installed_version",
    "sha256_text",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1


VersionSource = Callable[[str], "str | None"]
"""Distribution name -> the version to pin, ``None`` if it is not available."""


def installed_version(distribution: str) -> str | None:
    """The version of ``distribution`` installed here, ``None`` if it is not."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


class BuildContext(Struct, frozen=True):
    """Everything a target needs to generate its files."""

    blueprint: Blueprint
    plan: Plan
    app_ref: str
    """``module.path:attr``, importable with the project root on ``sys.path``."""
    target: str
    skaal_version: str
    versions: VersionSource = installed_version
    """Distribution -> version to pin (:func:`installed_version` unless a test fixes them)."""
    framework: Callable[[], Artifact] = framework_artifact
    """The wheel of the running Skaal, shipped under ``wheels/`` (made once per process)."""
    app_sources: tuple[Artifact, ...] = ()
    """The app's own source files (project-relative posix paths and their text),
    read from the project by the caller so targets stay pure; ship them with
    :meth:`source_artifacts`."""
    overrides: Artifact | None = None
    """The project's override hooks module (:mod:`skaal.overrides`), read and
    checked by the caller; the target ships it next to its Pulumi program."""

    env: str = ""
    """The environment built for (``skaal build --env``, :mod:`skaal.envs`): the
    Pulumi stack is named after it and physical names start with ``<app>-<env>``;
    ``""`` builds the app outside any environment."""

    config: tuple[tuple[str, str], ...] = ()
    """The environment's ``config`` variables, set in every deployed process."""

    existing: Mapping[str, str] = field(default_factory=dict)
    """The configuration's adoptions (:mod:`skaal.envs.existing`): resource -> what it
    adopts, in place of the code's ``existing=``; :meth:`specs` applies them."""

    traces: bool = False
    """Export traces to the cloud's trace service (``[tool.skaal] traces``,
    :mod:`skaal.builder.traces`); off: nothing traced, nothing added."""

    def specs(self) -> dict[str, ResourceSpec]:
        """The Blueprint's resources by name, each adopting what the plan adopts for it
        (the configuration's :attr:`existing` in place of the code's ``existing=``)."""
        return {
            s.name: (
                s.model_copy(update={"existing": self.existing[s.name]})
                if s.name in self.existing
                else s
            )
            for s in self.blueprint.resources
        }

    def stack(self, default: str) -> str:
        """The Pulumi stack the build configures: the environment's name, else ``default``."""
        return self.env or default

    @property
    def app_source_files(self) -> tuple[str, ...]:
        """Project-relative posix paths of the app's source files, sorted."""
        return tuple(sorted(a.path for a in self.app_sources))

    def source_artifacts(self, prefix: str = "") -> tuple[Artifact, ...]:
        """The app's source files as artifacts, under ``prefix`` (e.g. ``"app/"``)."""
        return tuple(Artifact(prefix + a.path, a.content) for a in self.app_sources)

    @property
    def app_module(self) -> str:
        return self.app_ref.partition(":")[0]

    @property
    def app_attr(self) -> str:
        return self.app_ref.partition(":")[2] or "app"


class ArtifactSet(Struct, frozen=True):
    """Every file of one target, sorted by path, with provenance for the manifest."""

    target: str
    files: tuple[Artifact, ...]
    plan_hash: str
    blueprint_hash: str
    skaal_version: str
    app: str = ""

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.files, key=lambda f: f.path))
        paths = [f.path for f in ordered]
        duplicates = sorted({p for p in paths if paths.count(p) > 1})
        if duplicates:
            raise BuildError(
                f"target {self.target!r} generated {', '.join(duplicates)} more than once",
                where=f"skaal.builder.targets.{self.target}",
                fix="give every generated file a distinct path",
            )
        if MANIFEST_NAME in paths:
            raise BuildError(
                f"target {self.target!r} generated its own {MANIFEST_NAME}",
                where=f"skaal.builder.targets.{self.target}",
                fix="the manifest is added by ArtifactSet.with_manifest(); do not generate it",
            )
        force_setattr(self, "files", ordered)

    @classmethod
    def from_context(cls, context: BuildContext, files: Iterable[Artifact]) -> ArtifactSet:
        """The set of ``files`` for ``context``'s target, plan and version."""
        return cls(
            target=context.target,
            files=tuple(files),
            plan_hash=context.plan.content_hash(),
            blueprint_hash=context.blueprint.content_hash(),
            skaal_version=context.skaal_version,
            app=context.blueprint.app,
        )

    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    def file(self, path: str) -> Artifact:
        """The artifact at ``path``; ``KeyError`` if there is none."""
        for artifact in self.files:
            if artifact.path == path:
                return artifact
        raise KeyError(path)

    def manifest(self) -> dict[str, Any]:
        """Provenance of the build: hashes of the plan, blueprint and every file."""
        return {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "app": self.app,
            "target": self.target,
            "skaal_version": self.skaal_version,
            "plan_hash": self.plan_hash,
            "blueprint_hash": self.blueprint_hash,
            "files": {f.path: {"sha256": f.sha256, "executable": f.executable} for f in self.files},
        }

    def manifest_text(self) -> str:
        return json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n"

    def with_manifest(self) -> tuple[Artifact, ...]:
        """The files plus ``manifest.json``, sorted by path: exactly what is written."""
        files = (*self.files, Artifact(MANIFEST_NAME, self.manifest_text()))
        return tuple(sorted(files, key=lambda f: f.path))
