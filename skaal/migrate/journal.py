"""The migration journal: how far each pending move's copy got, kept beside the lock.

``skaal migrate`` copies a resource in batches, in key order, and after each
batch records the source position it reached (the position the source's
``scan``/``find``/``list`` returned after the batch).  A run killed at any
point resumes from the last recorded batch: the batch in flight is copied
again, which is harmless because every write to the target replaces the item
it names.

The journal is one JSON file, ``<lock>.migration.json`` (``skaal.lock`` →
``skaal.lock.migration.json``), written whole and atomically like the lock
(:func:`skaal.plan.lock.atomic_write_text`).  Each entry names the move it
belongs to (origin and destination placements): an entry for another move of
the resource (the plan changed since) is ignored and replaced.  An entry is
removed once its move is switched in the lock or abandoned (``--rollback``).

Once the copy is complete, a move verified by the migration function in
several calls (:mod:`skaal.migrate.remote`) also records its verification
(``verifying``): the :class:`~skaal.migrate.verify.Scan` of the pass under
way -- where each end was read to, the running counts and hashes -- so an
interrupted verification resumes where the last saved call stopped.  A
journal of version 1 (before verifications were recorded) still loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from msgspec import Struct
from msgspec.structs import asdict, replace

from skaal.errors import MigrationError
from skaal.migrate.verify import Scan
from skaal.plan.lock import atomic_write_text
from skaal.plan.model import Binding

__all__ = ["JOURNAL_SUFFIX", "Journal", "Progress", "journal_path", "placement"]

JOURNAL_SUFFIX = ".migration.json"
_VERSION = 2
_READS = (1, 2)


def journal_path(lock: Path) -> Path:
    """Where the journal of the lock at ``lock`` lives."""
    return lock.with_name(lock.name + JOURNAL_SUFFIX)


def placement(binding: Binding) -> str:
    """``postgres@local (postgres#1)``, ``postgres@us-east-1 (adopted legacy-shop)``: what
    identifies one end of a move."""
    label = f"{binding.implementation}@{binding.region}"
    held = binding.instance or (f"adopted {binding.adopted}" if binding.adopted else None)
    return label + (f" ({held})" if held else "")


class Progress(Struct, frozen=True):
    """One move's copy: its ends, the source position after the last batch, what was copied."""

    source: str
    target: str
    position: str | None = None
    copied: int = 0
    batches: int = 0
    complete: bool = False
    """Every batch is copied (catch-up, verification and the switch remain)."""
    verifying: Scan | None = None
    """The verification under way, as far as the last saved step took it."""

    def advanced(self, position: str | None, items: int) -> Progress:
        return replace(
            self,
            position=position,
            copied=self.copied + items,
            batches=self.batches + 1,
            complete=position is None,
        )

    def verified_to(self, scan: Scan | None) -> Progress:
        return replace(self, verifying=scan)

    def dumped(self) -> dict[str, Any]:
        out = asdict(self)
        out["verifying"] = None if self.verifying is None else self.verifying.dumped()
        return out

    @classmethod
    def loaded(cls, data: Any) -> Progress:
        """The progress saved as ``data`` (what :meth:`dumped` made)."""
        scan = data.get("verifying")
        return cls(**{**data, "verifying": None if scan is None else Scan.loaded(scan)})


class Journal(Struct, frozen=True):
    """Every move's progress, by resource; read with :meth:`load`, saved with :meth:`save`."""

    path: Path
    moves: dict[str, Progress]

    @classmethod
    def load(cls, path: Path) -> Journal:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, {})
        except OSError as exc:
            raise _bad(path, f"cannot be read ({exc.strerror})") from None
        try:
            data: Any = json.loads(raw)
            if data.get("version") not in _READS:
                raise _bad(path, f"has version {data.get('version')!r}, not {_VERSION}")
            moves = {name: Progress.loaded(entry) for name, entry in data["moves"].items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            raise _bad(path, "is not a migration journal") from None
        return cls(path, moves)

    def progress(self, resource: str, source: str, target: str) -> Progress:
        """The recorded progress of this move, or a fresh one (none, or another move's)."""
        known = self.moves.get(resource)
        if known is not None and (known.source, known.target) == (source, target):
            return known
        return Progress(source=source, target=target)

    def save(self, resource: str, progress: Progress | None) -> Journal:
        """Record ``progress`` (``None``: forget the move) and write the file atomically."""
        moves = dict(self.moves)
        if progress is None:
            moves.pop(resource, None)
        else:
            moves[resource] = progress
        if not moves:
            self.path.unlink(missing_ok=True)
        else:
            data = {
                "version": _VERSION,
                "moves": {name: p.dumped() for name, p in sorted(moves.items())},
            }
            atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return Journal(self.path, moves)


def _bad(path: Path, problem: str) -> MigrationError:
    return MigrationError(
        f"the migration journal {problem}",
        where=str(path),
        fix=f"delete {path.name}: the next `skaal migrate` copies from the start",
    )
