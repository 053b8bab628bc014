"""The aws target's dependencies layer: ``layer/python``, built before a deploy.

The aws program packages ``artifacts/aws/layer`` as the Lambda layer every
function runs with, and refuses to run while ``layer/python`` is missing.
:func:`prepare_layer` fills it before ``skaal deploy`` previews anything:

1. it hashes ``app/requirements.txt`` and the shipped wheels (``wheels/``,
   the Skaal that made the build); when ``layer/requirements.sha256`` holds
   the same hash, the layer is current and nothing runs;
2. otherwise it runs pip (:data:`PIP_ARGS`, the flags of the program's own
   message: Linux x86-64 wheels for the Lambda runtime's Python, binary only,
   ``--find-links`` on the shipped wheels so ``skaal==<version>`` resolves)
   into a fresh temporary folder next to ``layer/``, streaming its output;
3. it writes the stamp into that folder and renames it into place (the old
   layer renamed aside first and deleted after), so ``layer/`` is always a
   complete layer -- the previous one or the new one.

A failing pip leaves the previous layer as it was and raises a
:class:`~skaal.errors.DeployError` with the command to run by hand.  How the
command runs is a collaborator (:data:`CommandRunner`, in
:class:`~skaal.deploy.services.DeployServices`), so tests record the command
and fill the folder without a network.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from skaal.deploy.engine import OnOutput
from skaal.errors import DeployError

__all__ = [
    "LAYER_DIR",
    "PIP_ARGS",
    "STAMP_NAME",
    "CommandRunner",
    "layer_command",
    "layer_hash",
    "prepare_layer",
    "run_streaming",
]

LAYER_DIR = "layer"
STAMP_NAME = "requirements.sha256"
PIP_ARGS = (
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.11",
    "--only-binary=:all:",
)
"""Match the aws program's Lambda runtime (``python3.11`` on x86-64)."""

CommandRunner = Callable[[Sequence[str], Path, OnOutput], int]
"""Runs a command in a folder, passing each output line on; its exit status."""


def run_streaming(command: Sequence[str], cwd: Path, on_output: OnOutput) -> int:
    """Run ``command`` in ``cwd``, streaming its stdout and stderr line by line."""
    try:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        on_output(f"cannot run {command[0]}: {exc}")
        return 127
    with process:  # closes the pipe and waits
        for line in process.stdout or ():
            on_output(line.rstrip("\n"))
    return process.returncode


def layer_hash(folder: Path) -> str:
    """The sha256 of ``app/requirements.txt`` and of every shipped wheel (name and bytes)."""
    digest = hashlib.sha256((folder / "app" / "requirements.txt").read_bytes())
    wheels = folder / "wheels"
    for wheel in sorted(wheels.glob("*.whl")) if wheels.is_dir() else ():
        digest.update(b"\0" + wheel.name.encode() + b"\0" + wheel.read_bytes())
    return digest.hexdigest()


def layer_command(folder: Path, target: Path, *, python: str = sys.executable) -> tuple[str, ...]:
    """The pip command that installs ``folder``'s Lambda dependencies into ``target``."""
    return (
        python,
        "-m",
        "pip",
        "install",
        "-r",
        str(folder / "app" / "requirements.txt"),
        "--find-links",
        str(folder / "wheels"),
        "-t",
        str(target),
        *PIP_ARGS,
    )


def prepare_layer(
    folder: Path,
    *,
    run: CommandRunner = run_streaming,
    echo: OnOutput,
    python: str = sys.executable,
) -> bool:
    """Make ``folder/layer/python`` current (see the module docstring); whether pip ran."""
    requirements = folder / "app" / "requirements.txt"
    if not requirements.is_file():
        raise DeployError(
            "the aws artifacts have no app/requirements.txt: the build is incomplete",
            where=str(folder),
            fix="build the artifacts again",
            command="skaal build --target aws",
        )
    layer = folder / LAYER_DIR
    wanted = layer_hash(folder)
    stamp = layer / STAMP_NAME
    if (layer / "python").is_dir() and stamp.is_file() and stamp.read_text().strip() == wanted:
        echo("the Lambda layer is up to date with app/requirements.txt")
        return False
    echo("building the Lambda layer (layer/python) from app/requirements.txt")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{LAYER_DIR}.", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise _cannot_write(folder, exc) from None
    try:
        command = layer_command(folder, staging / "python", python=python)
        status = run(command, folder, echo)
        if status != 0:
            raise DeployError(
                f"pip failed (exit status {status}) while building the Lambda layer",
                where=str(requirements),
                fix="read pip's output above (a package without a manylinux2014_x86_64 "
                "wheel for Python 3.11, or no network); fix it, then deploy again, or "
                f"run it by hand in {folder}: "
                "python -m pip install -r app/requirements.txt --find-links wheels "
                f"-t layer/python {' '.join(PIP_ARGS)}",
                command="skaal deploy --target aws",
            )
        try:
            (staging / "python").mkdir(exist_ok=True)
            (staging / STAMP_NAME).write_text(wanted + "\n", encoding="utf-8")
            _swap(staging, layer)
        except OSError as exc:
            raise _cannot_write(layer, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    echo("the Lambda layer is ready")
    return True


def _swap(staging: Path, layer: Path) -> None:
    if not layer.exists():
        os.rename(staging, layer)
        return
    aside = layer.parent / f".{LAYER_DIR}.{secrets.token_hex(6)}.old"
    os.rename(layer, aside)
    try:
        os.rename(staging, layer)
    except OSError:
        os.rename(aside, layer)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _cannot_write(where: Path, exc: OSError) -> DeployError:
    return DeployError(
        f"cannot write the Lambda layer: {exc.strerror or exc}",
        where=str(exc.filename or where),
        fix="check the permissions and free space of the artifacts folder, then deploy again",
        command="skaal deploy --target aws",
    )
