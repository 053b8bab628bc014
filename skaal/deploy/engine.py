"""The deploy engine protocol: what Skaal asks of Pulumi, as plain records.

Everything in :mod:`skaal.deploy` talks to the engine only through
:class:`Engine`, so the steps around it (confirmation, executor choice,
state records, the destroy guard) are tested with an in-repo fake, and the
real implementation (:mod:`skaal.deploy.pulumi_engine`, the Automation API)
is the one thin module that needs the pulumi CLI.

A :class:`StackRef` names one stack of one built program: the artifact
folder (the Pulumi project), the stack name and the state backend URL.
``config`` passed to :meth:`Engine.preview` / :meth:`Engine.up` is set on
the stack before the program runs (e.g. ``skaal:deleteData``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from msgspec import Struct, field
from msgspec.structs import force_setattr

__all__ = [
    "Applied",
    "Engine",
    "OnOutput",
    "Preview",
    "StackRef",
    "StackResource",
]

OnOutput = Callable[[str], None]
"""Receives the engine's progress lines as they are produced."""


def _frozen_map(data: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(sorted(data.items())))


class StackRef(Struct, frozen=True):
    """One stack of one built Pulumi program."""

    target: str
    stack: str
    work_dir: Path
    backend_url: str


class Preview(Struct, frozen=True):
    """What an update would do: operation name (create, update, delete, ...) -> count."""

    changes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        force_setattr(self, "changes", _frozen_map(self.changes))

    def summary(self) -> str:
        """``"2 to create, 1 to update"``; ``"no changes"`` if nothing changes."""
        moving = [f"{n} to {op}" for op, n in self.changes.items() if op != "same" and n]
        return ", ".join(moving) if moving else "no changes"


class Applied(Struct, frozen=True):
    """The result of an update: what changed and the stack outputs (URLs, names)."""

    changes: Mapping[str, int] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        force_setattr(self, "changes", _frozen_map(self.changes))
        force_setattr(self, "outputs", _frozen_map(self.outputs))


class StackResource(Struct, frozen=True):
    """One resource the stack's state holds, with its protection flags."""

    urn: str
    type: str
    protected: bool = False
    retained: bool = False
    external: bool = False
    """Read into the stack from an existing resource (an adopted table or bucket,
    ``Resource.get``): the stack references it and a destroy never deletes it."""

    @property
    def keeps_data(self) -> bool:
        """Protected or retained: destroying it (or not) is a decision about data."""
        return self.protected or self.retained


class Engine(Protocol):
    """The operations Skaal needs from a deploy engine."""

    def preview(self, ref: StackRef, *, config: Mapping[str, str], on_output: OnOutput) -> Preview:
        """Run the program without changing anything; what an update would do."""
        ...

    def up(self, ref: StackRef, *, config: Mapping[str, str], on_output: OnOutput) -> Applied:
        """Create or update the stack's resources."""
        ...

    def resources(self, ref: StackRef) -> tuple[StackResource, ...]:
        """The resources recorded in the stack's state (empty for a new stack)."""
        ...

    def destroy(self, ref: StackRef, *, on_output: OnOutput) -> Mapping[str, int]:
        """Delete every resource of the stack; the counts per operation."""
        ...
