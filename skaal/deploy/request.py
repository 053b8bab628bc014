"""Validate a deploy request before any engine runs.

:func:`deploy_request` turns the command line (target, stack, backend URL)
and the project folder into a :class:`DeployRequest`, or explains what is
wrong: the target was never built, the build is incomplete, the artifacts
were made from another plan than ``skaal.lock`` holds (run ``skaal build``
again), the stack name or backend URL is malformed, or a local state
backend has no passphrase for Pulumi's secrets.

The default state backend is a local folder, ``<project>/.skaal/pulumi``
(``file://`` URL); any URL Pulumi accepts (``s3://``, ``gs://``,
``azblob://``, ``https://api.pulumi.com``) can be given instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from msgspec import Struct

from skaal.deploy.engine import StackRef
from skaal.errors import DeployError, PlanError, UsageError
from skaal.plan.lock import read_lock

__all__ = [
    "BACKEND_SCHEMES",
    "DEFAULT_BACKEND_DIR",
    "TARGETS",
    "DeployRequest",
    "backend_url",
    "default_stack",
    "deploy_request",
    "locked_plan_hash",
    "prepare_backend",
    "pulumi_project_dir",
]

TARGETS = ("aws", "gcp", "local")
DEFAULT_BACKEND_DIR = ".skaal/pulumi"
BACKEND_SCHEMES = ("file", "s3", "gs", "azblob", "https")
_PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class DeployRequest(Struct, frozen=True):
    """A validated request: which stack, and what the artifacts were built from."""

    ref: StackRef
    app: str
    plan_hash: str
    skaal_version: str


def backend_url(project_dir: Path, given: str | None) -> str:
    """The state backend URL: ``given`` (relative ``file://`` paths resolved) or the default."""
    if given is None:
        return (project_dir / DEFAULT_BACKEND_DIR).resolve().as_uri()
    scheme, sep, rest = given.partition("://")
    if not sep or scheme not in BACKEND_SCHEMES or not rest:
        raise UsageError(
            f"--backend-url {given!r} is not a Pulumi state backend URL",
            where="--backend-url",
            fix=f"use one of {', '.join(s + '://...' for s in BACKEND_SCHEMES)}, "
            f"e.g. file://{DEFAULT_BACKEND_DIR}",
        )
    if scheme == "file" and not rest.startswith(("/", "~")):
        return (project_dir / rest).resolve().as_uri()
    return given


def deploy_request(
    project_dir: Path,
    *,
    target: str,
    stack: str,
    backend: str | None,
    environ: Mapping[str, str],
    lock_plan_hash: str | None = None,
    lock_path: Path | None = None,
    artifacts: str = "artifacts",
) -> DeployRequest:
    """Check the built artifacts and options; a :class:`DeployRequest` or an error.

    The artifacts are read from ``<artifacts>/<target>/`` (``artifacts/<env>``
    for an environment).  They must come from the plan on record: the lock at
    ``lock_path`` (read once the artifacts are known to exist, see
    :func:`locked_plan_hash`), or the plan hash ``lock_plan_hash`` given
    directly.  Neither: nothing to compare with.
    """
    if target not in TARGETS:
        raise UsageError(
            f"unknown target {target!r}",
            where="--target",
            fix=f"use one of {', '.join(TARGETS)}",
        )
    if not _STACK_NAME.match(stack):
        raise UsageError(
            f"stack name {stack!r} is not valid",
            where="--stack",
            fix="use letters, digits, '-', '_' or '.', starting with a letter or digit",
        )
    url = backend_url(project_dir, backend)
    folder = project_dir / artifacts / target
    manifest = _manifest(folder, target, project_dir)
    work_dir = pulumi_project_dir(folder)
    if work_dir is None:
        raise DeployError(
            f"{artifacts}/{target}/ has no Pulumi.yaml: the build is incomplete",
            where=str(folder),
            fix="build it again",
            command=f"skaal build --target {target}",
        )
    plan_hash = str(manifest.get("plan_hash", ""))
    lock_name = "skaal.lock" if lock_path is None else _shown(lock_path, project_dir)
    if lock_path is not None:
        lock_plan_hash = locked_plan_hash(lock_path, target)
    if lock_plan_hash is not None and plan_hash != lock_plan_hash:
        raise DeployError(
            f"{artifacts}/{target}/ was built from another plan than {lock_name} holds",
            where=str(folder / "manifest.json"),
            fix="rebuild the artifacts from the current plan before deploying",
            command=f"skaal build --target {target}",
        )
    return DeployRequest(
        ref=StackRef(target=target, stack=stack, work_dir=work_dir, backend_url=url),
        app=str(manifest.get("app", "")),
        plan_hash=plan_hash,
        skaal_version=str(manifest.get("skaal_version", "")),
    )


def require_passphrase(request: DeployRequest, environ: Mapping[str, str]) -> None:
    """A self-managed backend needs a passphrase for the stack's secrets; say how to give one.

    Checked after the artifacts and the pulumi CLI, so a newcomer is not asked
    for a passphrase before learning that nothing was built or installed.
    """
    url = request.ref.backend_url
    if not url.startswith("https://") and not any(environ.get(v) for v in _PASSPHRASE_VARS):
        raise DeployError(
            "Pulumi needs a passphrase to encrypt the stack's secrets in a self-managed backend",
            where=url,
            fix="export PULUMI_CONFIG_PASSPHRASE=... (or PULUMI_CONFIG_PASSPHRASE_FILE=path); "
            "keep it: the same passphrase is needed for every later deploy and destroy",
        )


def pulumi_project_dir(folder: Path) -> Path | None:
    """Where the built Pulumi project is: ``folder/infra/`` or ``folder/``; ``None`` if neither."""
    for candidate in (folder / "infra", folder):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return None


def default_stack(project_dir: Path, target: str, artifacts: str = "artifacts") -> str:
    """The stack the build configured (its only ``Pulumi.<stack>.yaml``), else ``"dev"``."""
    work_dir = pulumi_project_dir(project_dir / artifacts / target)
    stacks = (
        sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in work_dir.glob("Pulumi.*.yaml"))
        if work_dir
        else []
    )
    return stacks[0] if len(stacks) == 1 else "dev"


def prepare_backend(url: str) -> None:
    """Create the folder of a local ``file://`` state backend (Pulumi expects it to exist)."""
    if url.startswith("file://"):
        Path(url.removeprefix("file://")).expanduser().mkdir(parents=True, exist_ok=True)


def _manifest(work_dir: Path, target: str, project_dir: Path) -> dict[str, object]:
    path = work_dir / "manifest.json"
    if not path.is_file():
        raise DeployError(
            f"target {target!r} has not been built (no {_shown(path, project_dir)})",
            where=str(work_dir),
            fix="build the artifacts first",
            command=f"skaal plan --target {target} && skaal build --target {target}",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DeployError(
            f"the build manifest is not valid JSON: {exc}",
            where=str(path),
            fix="build the artifacts again",
            command=f"skaal build --target {target}",
        ) from None
    if not isinstance(data, dict) or data.get("target") != target:
        raise DeployError(
            f"the build manifest does not describe target {target!r}",
            where=str(path),
            fix="build the artifacts again",
            command=f"skaal build --target {target}",
        )
    return data


def locked_plan_hash(path: Path, target: str) -> str | None:
    """The hash of the plan in the lock at ``path``; ``None`` when there is no lock.

    A lock that cannot be read, or that holds a plan for another provider,
    is a :class:`DeployError`: the artifacts cannot be checked against it,
    and deploying them unchecked could ship another plan than the one on
    record.
    """
    try:
        plan = read_lock(path)
    except PlanError as exc:
        raise DeployError(
            f"{path.name} cannot be read, so artifacts/{target}/ cannot be checked against "
            f"the plan on record: {exc.what}",
            where=str(path),
            fix=f"re-plan for {target} and rebuild",
            command=f"skaal plan --target {target} && skaal build --target {target}",
        ) from exc
    if plan is None:
        return None
    if plan.provider != target:
        raise DeployError(
            f"{path.name} holds a plan for {plan.provider}, not {target}: artifacts/{target}/ "
            "were built from an earlier plan than the one on record",
            where=str(path),
            fix=f"re-plan for {target} and rebuild before deploying",
            command=f"skaal plan --target {target} && skaal build --target {target}",
        )
    return plan.content_hash()


def _shown(path: Path, project_dir: Path) -> str:
    """``path`` as the user gave it: relative to the project when inside it."""
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)
