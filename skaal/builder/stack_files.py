"""The files every image-and-Pulumi-stack target ships, written once.

The ``local`` and ``gcp`` targets produce the same folder shape: an
entrypoint, the lock, ``requirements.txt``, a ``Dockerfile`` with its
``.dockerignore``, the app's sources under ``src/`` and an ``infra/`` folder
holding a Pulumi project (``Pulumi.yaml``, ``Pulumi.<stack>.yaml``,
``__main__.py``, ``requirements.txt``).  :func:`stack_artifact` assembles that
folder from the parts that differ per target (entrypoint, Dockerfile, stack
configuration, program, Pulumi packages), so the layout, the project file and
the pinned infra requirements cannot drift between targets.  Both install
``skaal`` from the wheel shipped under ``wheels/``
(:mod:`skaal.builder.framework`): the Dockerfile with ``--find-links wheels``,
the Pulumi program's ``infra/requirements.txt`` with a ``--find-links
../wheels`` line (pip reads a relative link against the requirements file).
"""

from __future__ import annotations

import re

from msgspec import Struct

from skaal.builder.framework import WHEEL_DIR
from skaal.builder.layout import APP_DIR, LOCK_NAME
from skaal.builder.model import Artifact, ArtifactSet, BuildContext
from skaal.builder.requirements import (
    Requirement,
    mount_packages,
    pin,
    requirements_artifact,
    requirements_txt,
)
from skaal.builder.stacks.base import STACK_FILE
from skaal.builder.traces import trace_packages
from skaal.errors import BuildError
from skaal.overrides import OVERRIDES_FILE
from skaal.plan.lock import lock_text

__all__ = [
    "StackTarget",
    "program_source",
    "require_provider",
    "stack_artifact",
    "stack_project_name",
]

SERVE_PACKAGES = ("starlette", "uvicorn")


def program_source(doc: str, target: str) -> str:
    """The artifact's ``infra/__main__.py``: ``doc``, then the fixed program of ``target``
    (:mod:`skaal.programs`) run on the ``stack.json`` beside it.

    Pulumi runs it in the stack's own virtual environment (``infra/venv``), filled from
    ``infra/requirements.txt``: skaal from the shipped wheel, the Pulumi providers.  A
    Python lacking them would stop on an ``ImportError`` traceback; the program says
    instead what is missing and how to rebuild that environment.
    """
    return f'''"""{doc}"""

from pathlib import Path

try:
    from skaal.programs.{target} import run
except ImportError as missing:
    raise SystemExit(
        f"this Pulumi program needs skaal's {target} program in the Python that "
        f"Pulumi runs it with, and that Python lacks it ({{missing}}). Pulumi "
        "installs it into infra/venv from infra/requirements.txt (skaal from "
        "../wheels): delete infra/venv and run skaal deploy again, or run "
        "pulumi install in infra/"
    ) from None

run(Path(__file__).resolve().with_name("{STACK_FILE}"))
'''


def stack_project_name(app: str, target: str) -> str:
    """The Pulumi project name of ``app``'s stack for ``target``."""
    return "skaal-" + re.sub(r"[^a-z0-9]+", "-", app.lower()).strip("-") + f"-{target}"


class StackTarget(Struct, frozen=True):
    """What one target puts in the shared folder shape."""

    target: str
    title: str  # how Pulumi.yaml names the stack: "Local", "Google Cloud"
    stack: str
    pulumi_packages: tuple[str, ...]
    entry: Artifact
    dockerfile: str
    dockerignore: str
    stack_yaml: str
    program: str
    infra: tuple[Artifact, ...] = ()
    """More files of ``infra/`` beside the program (a stack model it reads)."""
    installs_overrides: bool = False
    """The program installs the project's hooks: ship them next to it (:mod:`skaal.overrides`)."""


def require_provider(context: BuildContext, target: str) -> None:
    """Refuse a plan made for another provider than ``target`` (before rendering anything)."""
    if context.plan.provider != target:
        raise BuildError(
            f"the plan is for {context.plan.provider!r}, not {target}",
            where=f"--target {target}",
            fix=f"plan for the {target} catalog first",
            command=f"skaal plan --target {target}",
        )


def stack_artifact(context: BuildContext, spec: StackTarget) -> ArtifactSet:
    """Every file of ``spec.target``'s artifact."""
    require_provider(context, spec.target)
    files = [
        spec.entry,
        Artifact(LOCK_NAME, lock_text(context.plan)),
        requirements_artifact(
            context,
            extra=(
                *SERVE_PACKAGES,
                *mount_packages(context.blueprint),
                *trace_packages(spec.target, context.traces),
            ),
        ),
        Artifact("Dockerfile", spec.dockerfile),
        Artifact(".dockerignore", spec.dockerignore),
        Artifact("infra/Pulumi.yaml", _pulumi_yaml(context, spec)),
        Artifact(f"infra/Pulumi.{spec.stack}.yaml", spec.stack_yaml),
        Artifact("infra/__main__.py", spec.program),
        *spec.infra,
        Artifact("infra/requirements.txt", _infra_requirements(context, spec)),
        context.framework(),
        *context.source_artifacts(prefix=f"{APP_DIR}/"),
    ]
    if spec.installs_overrides and context.overrides is not None:
        files.append(Artifact(f"infra/{OVERRIDES_FILE}", context.overrides.content))
    return ArtifactSet.from_context(context, files)


def _pulumi_yaml(context: BuildContext, spec: StackTarget) -> str:
    return (
        f"name: {stack_project_name(context.plan.app, spec.target)}\n"
        f"description: {spec.title} stack of the Skaal app {context.plan.app} "
        "(generated by skaal build; do not edit)\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        "    virtualenv: venv\n"
    )


def _infra_requirements(context: BuildContext, spec: StackTarget) -> str:
    where = f"the {spec.target} Pulumi program"
    pins = (
        *pin(spec.pulumi_packages, versions=context.versions, where=where),
        Requirement("skaal", context.skaal_version),
    )
    header = f"Dependencies of {where}.\nGenerated by skaal build; do not edit."
    return requirements_txt(pins, header=header, find_links=f"../{WHEEL_DIR}")
