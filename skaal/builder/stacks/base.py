"""What every stack model shares: frozen, closed records, and reading them back."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from skaal.errors import BuildError

__all__ = ["STACK_FILE", "StackModel", "read_stack", "stack_text"]

STACK_FILE = "stack.json"
"""The file name of a stack model, beside the program in ``infra/``."""


class StackModel(BaseModel):
    """A record of a stack model: immutable, and no field it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Stack = TypeVar("Stack", bound=StackModel)


def stack_text(stack: StackModel) -> str:
    """``stack`` as the text of its ``stack.json``: stable key order, one trailing newline."""
    return stack.model_dump_json(indent=2) + "\n"


def read_stack(path: Path, model: type[Stack]) -> Stack:
    """The ``model`` written at ``path``; a missing or foreign file is a :class:`BuildError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(
            f"cannot read the stack model: {exc.strerror or exc}",
            where=str(path),
            fix="build the artifact again; the program reads the stack.json written beside it",
            command="skaal build --target TARGET",
        ) from exc
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise BuildError(
            f"the stack model is not one this version of skaal writes: {at}: {first['msg']}"
            f" ({exc.error_count()} error(s))",
            where=str(path),
            fix="build the artifact again with the skaal version that deploys it",
            command="skaal build --target TARGET",
        ) from exc
