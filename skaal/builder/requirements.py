"""``requirements.txt``: Skaal plus exactly the packages the plan's implementations need.

Each implementation's record (:attr:`skaal.registry.Implementation.packages`)
names the distributions its runtime code imports (the embedded ones need
nothing beyond Skaal itself).  A target adds what its entrypoint needs on top
(an ASGI adapter, a server) through ``extra``, and what serving the app's
mounts needs (:func:`mount_packages`: the WSGI adapter, only when the app
mounts a WSGI app).

The app's own third-party imports count too (:func:`imported_distributions`):
every absolute ``import`` in the shipped sources whose top-level module is
neither the standard library, the app itself nor Skaal, mapped to the one
distribution that provides it (``fastapi`` → ``fastapi``).  A module no
installed distribution provides, or one shared by several (namespace packages
such as ``google``), is left out; the backend table covers those Skaal needs.

Versions are pinned to what is installed where the build runs
(:func:`installed_version`, through :mod:`importlib.metadata`), so the image
runs with the versions the app was tested with.  The version source is a
collaborator: tests and the committed sample pass a fixed table so their
output does not change with every release of a dependency.  A package that
is not installed cannot be pinned and fails the build with the command that
installs it.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import PurePosixPath

from msgspec import Struct

from skaal.blueprint.model import Blueprint
from skaal.builder.model import Artifact, BuildContext, VersionSource, installed_version
from skaal.errors import BuildError
from skaal.plan.model import Plan
from skaal.registry import DEFAULT_REGISTRY, Registry

__all__ = [
    "Requirement",
    "VersionSource",
    "imported_distributions",
    "installed_version",
    "mount_packages",
    "parse_requirements",
    "pin",
    "requirements_artifact",
    "requirements_for",
    "requirements_txt",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

WSGI_ADAPTER = "a2wsgi"
"""The distribution :mod:`skaal.serve.wsgi` serves WSGI mounts with."""


def mount_packages(blueprint: Blueprint) -> tuple[str, ...]:
    """What serving ``blueprint``'s mounts needs beyond the server: the WSGI adapter, if any."""
    return (WSGI_ADAPTER,) if any(m.interface == "wsgi" for m in blueprint.mounts) else ()


class Requirement(Struct, frozen=True, order=True):
    """One pinned distribution: ``name==version``."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_for(
    plan: Plan,
    *,
    skaal_version: str,
    extra: Iterable[str] = (),
    versions: VersionSource = installed_version,
    registry: Registry = DEFAULT_REGISTRY,
) -> tuple[Requirement, ...]:
    """``skaal`` plus the packages of every implementation ``plan`` uses, sorted by name."""
    names: set[str] = set()
    for binding in plan.bindings:
        implementation = registry.require(
            binding.implementation,
            error=BuildError,
            where=f"resource {binding.resource} (backend {binding.backend})",
        )
        names.update(_normalise(p) for p in implementation.packages)
    names.update(_normalise(p) for p in extra)
    where = f"plan of {plan.app} ({plan.provider})"
    pinned = pin(names - {"skaal"}, versions=versions, where=where)
    return tuple(sorted((Requirement("skaal", skaal_version), *pinned)))


def pin(
    names: Iterable[str], *, versions: VersionSource = installed_version, where: str
) -> tuple[Requirement, ...]:
    """``names`` pinned through ``versions``, sorted; a :class:`BuildError` for any missing."""
    pinned: list[Requirement] = []
    missing: list[str] = []
    for name in sorted({_normalise(n) for n in names}):
        version = versions(name)
        if version is None:
            missing.append(name)
        else:
            pinned.append(Requirement(name, version))
    if missing:
        raise BuildError(
            f"cannot pin {', '.join(missing)}: not installed where the build runs",
            where=where,
            fix=f"install them, then build again: pip install {' '.join(missing)}",
        )
    return tuple(sorted(pinned))


def requirements_txt(
    requirements: Iterable[Requirement], *, header: str = "", find_links: str = ""
) -> str:
    """The text of ``requirements.txt``: an optional comment header, one pin per line.

    ``find_links`` adds a ``--find-links`` line (where the shipped Skaal wheel
    is, relative to the file) for installs Skaal does not run itself.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"--find-links {find_links}"] if find_links else []
    lines += [str(r) for r in sorted(requirements)]
    return "\n".join(lines) + "\n"


def parse_requirements(text: str) -> tuple[Requirement, ...]:
    """The pins of a ``requirements.txt`` written by :func:`requirements_txt`."""
    found: list[Requirement] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("--find-links "):
            continue
        name, sep, version = line.partition("==")
        if not sep or not _NAME.match(name) or not version or " " in version:
            raise BuildError(
                f"requirements line {number} is not a pin: {raw!r}",
                where=f"requirements.txt:{number}",
                fix="write name==version",
            )
        found.append(Requirement(name, version))
    return tuple(found)


def imported_distributions(sources: Iterable[Artifact]) -> tuple[str, ...]:
    """The distributions the app's own imports need (see the module docstring), sorted."""
    files = [a for a in sources if a.path.endswith(".py")]
    own = {PurePosixPath(a.path).parts[0].removesuffix(".py") for a in files}
    tops: set[str] = set()
    for artifact in files:
        try:
            tree = ast.parse(artifact.content, filename=artifact.path)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops.add(node.module.partition(".")[0])
    tops -= own | set(sys.stdlib_module_names) | {"skaal", "__future__"}
    if not tops:
        return ()  # no third-party import: skip the (slow) scan of installed distributions
    providers = metadata.packages_distributions()
    found = set()
    for top in tops:
        names = {_normalise(d) for d in providers.get(top, ())}
        if len(names) == 1:
            found |= names
    return tuple(sorted(found - {"skaal"}))


def requirements_artifact(
    context: BuildContext, *, extra: Iterable[str] = (), path: str = "requirements.txt"
) -> Artifact:
    """``requirements.txt`` for ``context``: Skaal, the plan's and the app's packages, ``extra``.

    The app's own imports are pinned through ``context.versions``, falling
    back to the installed version (the app was imported to build it, so its
    imports are installed here).
    """
    imported = imported_distributions(context.app_sources)

    def versions(name: str) -> str | None:
        found = context.versions(name)
        return found if found is not None or name not in imported else installed_version(name)

    pins = requirements_for(
        context.plan,
        skaal_version=context.skaal_version,
        extra=(*extra, *imported),
        versions=versions,
    )
    header = (
        f"Pinned dependencies of the Skaal app {context.plan.app} ({context.target} target).\n"
        "Generated by skaal build; do not edit."
    )
    return Artifact(path, requirements_txt(pins, header=header))
