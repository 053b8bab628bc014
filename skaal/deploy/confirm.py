"""Who says "yes" before an update or a destroy changes the cloud.

An executor that changes resources asks a :class:`Confirmer`.  Which one is
chosen once, by :func:`choose_confirmer`: ``--yes`` means :class:`AssumeYes`;
otherwise the user is asked on the terminal (:class:`AskUser` wraps the
prompt function, ``click.confirm`` in the CLI); with no terminal and no
``--yes`` nothing can be asked, so the command refuses rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from msgspec import Struct

from skaal.errors import DeployError

__all__ = ["AskUser", "AssumeYes", "Confirmer", "choose_confirmer"]


class Confirmer(Protocol):
    def confirm(self, question: str) -> bool:
        """``True`` to go ahead."""
        ...


class AssumeYes(Struct, frozen=True):
    """``--yes``: every question is answered yes without asking."""

    def confirm(self, question: str) -> bool:
        return True


class AskUser(Struct, frozen=True):
    """Ask on the terminal through ``ask(question) -> bool``."""

    ask: Callable[[str], bool]

    def confirm(self, question: str) -> bool:
        return self.ask(question)


def choose_confirmer(
    *, yes: bool, interactive: bool, ask: Callable[[str], bool], command: str
) -> Confirmer:
    """The confirmer for this run; a :class:`DeployError` if nobody can answer."""
    if yes:
        return AssumeYes()
    if not interactive:
        raise DeployError(
            f"{command} changes cloud resources and needs a confirmation, "
            "but there is no terminal to ask on",
            where="standard input is not a TTY",
            fix=f"review the preview (skaal deploy --dry-run), then run {command} --yes",
        )
    return AskUser(ask)
