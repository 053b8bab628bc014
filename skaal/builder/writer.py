"""Putting an artifact set on disk: all of it or none of it.

The only module of :mod:`skaal.builder` that writes files.  :class:`FileWriter`
writes ``<out>/<target>/`` so that a reader (a deploy, a container build, a
person) only ever sees a complete folder, the previous one or the new one:

1. every file (and ``manifest.json``) goes into a fresh temporary folder next
   to the target (``<out>/.<target>.XXXX.tmp``, same filesystem), each one
   flushed and fsynced, then the folders themselves fsynced;
2. the old folder is renamed aside (``.<target>.XXXX.old``), the new one is
   renamed into place, the parent folder is fsynced and the old copy deleted.

A failure in step 1 deletes the temporary folder and leaves the previous
build untouched.  A crash between the two renames of step 2 leaves the
complete previous build under its ``.old`` name; the next write puts it back
before anything else, and removes leftover temporary folders.

"Only list what would be written" (``skaal build --dry-run``) is not a flag
passed down: the caller picks :class:`DryRunWriter`, which has the same
interface and touches nothing.  How one file is written is itself a
collaborator (``write_file``), so tests can make a write fail half-way.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from msgspec import Struct

from skaal.builder.model import Artifact, ArtifactSet
from skaal.errors import BuildError

__all__ = ["ArtifactWriter", "DryRunWriter", "FileWriter", "WriteResult", "write_file"]

FileStep = Callable[[Path, Artifact], None]


class WriteResult(Struct, frozen=True):
    """Where a set went (or would go) and which files it holds."""

    folder: Path
    files: tuple[str, ...]
    written: bool


class ArtifactWriter(Protocol):
    """Something that takes a whole artifact set (the real disk, or nothing)."""

    def write(self, artifacts: ArtifactSet) -> WriteResult: ...


def write_file(folder: Path, artifact: Artifact) -> None:
    """Write one artifact under ``folder``, flushed and fsynced, with its mode.

    Text is written as UTF-8 with ``\\n`` line ends, bytes as they are.
    """
    path = folder / artifact.path
    path.parent.mkdir(parents=True, exist_ok=True)
    content = artifact.content
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(0o755 if artifact.executable else 0o644)


class FileWriter(Struct, frozen=True):
    """Writes ``<out_dir>/<target>/`` atomically (see the module docstring)."""

    out_dir: Path
    write_file: FileStep = write_file

    def write(self, artifacts: ArtifactSet) -> WriteResult:
        target = self.out_dir / artifacts.target
        files = artifacts.with_manifest()
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if target.exists() and not target.is_dir():
                raise BuildError(
                    f"{target} exists and is not a folder",
                    where=str(target),
                    fix="move it away, or pass another --out",
                )
            _recover(target)
            staging = Path(
                tempfile.mkdtemp(prefix=f".{artifacts.target}.", suffix=".tmp", dir=self.out_dir)
            )
        except OSError as exc:
            raise _failed(target, exc) from None
        try:
            staging.chmod(0o755)
            for artifact in files:
                self.write_file(staging, artifact)
            _fsync_tree(staging)
            _swap(staging, target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise _failed(target, exc) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return WriteResult(folder=target, files=tuple(f.path for f in files), written=True)


class DryRunWriter(Struct, frozen=True):
    """Lists what :class:`FileWriter` would write, and writes nothing."""

    out_dir: Path

    def write(self, artifacts: ArtifactSet) -> WriteResult:
        files = tuple(f.path for f in artifacts.with_manifest())
        return WriteResult(folder=self.out_dir / artifacts.target, files=files, written=False)


def _recover(target: Path) -> None:
    """Undo what a crash left: restore an orphaned previous build, drop temporaries."""
    parent = target.parent
    olds = sorted(parent.glob(f".{target.name}.*.old"))
    if not target.exists() and olds:
        os.rename(olds[-1], target)
        olds = olds[:-1]
    for leftover in (*olds, *parent.glob(f".{target.name}.*.tmp")):
        shutil.rmtree(leftover, ignore_errors=True)


def _swap(staging: Path, target: Path) -> None:
    parent = target.parent
    if not target.exists():
        os.rename(staging, target)
        _fsync_dir(parent)
        return
    aside = parent / f".{target.name}.{secrets.token_hex(6)}.old"
    os.rename(target, aside)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(aside, target)
        raise
    _fsync_dir(parent)
    shutil.rmtree(aside, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for folder, _, _ in os.walk(root):
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _failed(target: Path, exc: OSError) -> BuildError:
    return BuildError(
        f"cannot write the artifacts: {exc.strerror or exc}",
        where=str(exc.filename or target),
        fix="check the permissions and free space of the output folder, then build again",
    )
