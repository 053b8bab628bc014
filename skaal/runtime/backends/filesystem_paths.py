"""Where the ``filesystem`` backend keeps a blob, and whether the disk can hold its name.

A key's segments become directories and a file under the store's root.
Every name is escaped (``%`` → ``%25``) and suffixed -- directories ``%d``,
content files ``%f``, metadata sidecars ``%m`` -- so the keys ``a`` and
``a/b`` coexist and no key names anything outside the store.

The filesystem bounds each name (``NAME_MAX``, 255 bytes on most) and each
path (``PATH_MAX``, 4096 bytes on Linux, counting the final NUL).
:meth:`Layout.problem` checks a key against the real limits of the root's
filesystem (``os.pathconf``), after escaping and suffixing and in the bytes
the filesystem stores, so a key that cannot be stored is refused before any
of its content is written: a 254-character segment, or 100 ``%`` that
escaping triples, would otherwise fail at the final rename.

Writes go through temporary files named ``.tmp-<32 hex digits>`` (no ``%``
suffix, so never mistaken for a blob).  :func:`sweep_stale_temps` deletes the
ones a crashed process left behind -- only names of exactly that pattern,
only when untouched for :data:`STALE_TEMP_AGE` seconds -- and the directories
that end up empty.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from pathlib import Path

from msgspec import Struct

__all__ = [
    "STALE_TEMP_AGE",
    "Layout",
    "escape",
    "remove_empty_parents",
    "sweep_stale_temps",
    "temp_name",
    "unescape",
    "unlink",
]

#: A temporary file untouched this long (seconds) belongs to no live write.
STALE_TEMP_AGE = 3600.0

_TEMP_PREFIX = ".tmp-"
_TEMP_NAME = re.compile(r"^\.tmp-[0-9a-f]{32}$")
_TEMP_LENGTH = len(_TEMP_PREFIX) + 32
#: Every stored name ends with one of these 2-character suffixes.
_SUFFIX_LENGTH = 2


def escape(segment: str) -> str:
    return segment.replace("%", "%25")


def unescape(name: str) -> str:
    return name.replace("%25", "%")


def temp_name() -> str:
    """A fresh temporary file name: ``.tmp-`` and 32 hex digits."""
    return _TEMP_PREFIX + uuid.uuid4().hex


def unlink(path: Path) -> bool:
    """Remove ``path``; ``False`` if it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def remove_empty_parents(path: Path, root: Path) -> None:
    """Remove ``path``'s parent directories, up to ``root`` (kept), while they are empty."""
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def _limit(root: Path, name: str, default: int) -> int:
    try:
        value = os.pathconf(root, name)
    except (OSError, ValueError):
        return default
    return value if value > 0 else default


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


class Layout(Struct, frozen=True):
    """A store's root and the name and path limits of the filesystem it lives on."""

    root: Path
    name_max: int
    path_max: int

    @classmethod
    def of(cls, root: Path) -> Layout:
        """The layout of an existing ``root``, with its filesystem's limits."""
        return cls(root, _limit(root, "PC_NAME_MAX", 255), _limit(root, "PC_PATH_MAX", 4096))

    def files(self, key: str) -> tuple[Path, Path]:
        """The content file and the metadata sidecar of ``key``."""
        *dirs, name = key.split("/")
        parent = self.root.joinpath(*(escape(d) + "%d" for d in dirs))
        base = escape(name)
        return parent / (base + "%f"), parent / (base + "%m")

    def problem(self, key: str) -> str | None:
        """Why ``key`` cannot be stored here, or ``None`` if it can."""
        segments = key.split("/")
        for segment in segments:
            try:
                stored = len(os.fsencode(escape(segment))) + _SUFFIX_LENGTH
            except UnicodeEncodeError:
                return f"its segment {_shown(segment)} cannot be a file name on this system"
            if stored > self.name_max:
                return (
                    f"its segment {_shown(segment)} takes {stored} bytes as a file name "
                    f"('%' is stored as '%25', plus a 2-character suffix); this filesystem "
                    f"allows {self.name_max}"
                )
        content, _ = self.files(key)
        folder = len(os.fsencode(content.parent))
        longest = folder + 1 + max(len(os.fsencode(content.name)), _TEMP_LENGTH)
        if longest >= self.path_max:
            return (
                f"its file path takes {longest} bytes; this filesystem allows {self.path_max - 1}"
            )
        return None


def sweep_stale_temps(root: Path, *, max_age: float = STALE_TEMP_AGE) -> list[Path]:
    """Delete temporary files under ``root`` older than ``max_age`` seconds; return them.

    Only names matching ``.tmp-<32 hex digits>`` are touched.  Directories
    left empty (by this sweep or an earlier crash) are removed; ``root`` is
    kept.
    """
    cutoff = time.time() - max_age
    removed: list[Path] = []
    for dirpath, _dirs, names in os.walk(root, topdown=False):
        folder = Path(dirpath)
        for name in names:
            if not _TEMP_NAME.match(name):
                continue
            path = folder / name
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff and unlink(path):
                    removed.append(path)
        if folder != root:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty
    return removed
