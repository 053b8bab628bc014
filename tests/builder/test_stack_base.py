"""The base of the typed stack models: frozen, closed, and read back with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from skaal.builder.stacks.base import StackModel, read_stack, stack_text
from skaal.errors import BuildError


class _Table(StackModel):
    name: str
    read_units: int | None = None


class _Stack(StackModel):
    app: str
    tables: tuple[_Table, ...] = ()


def test_a_stack_round_trips_through_its_text(tmp_path: Path) -> None:
    stack = _Stack(app="shop", tables=(_Table(name="carts", read_units=5),))
    path = tmp_path / "stack.json"
    path.write_text(stack_text(stack), encoding="utf-8")
    assert read_stack(path, _Stack) == stack
    assert stack_text(stack).endswith("}\n")


def test_records_are_frozen_and_closed() -> None:
    table = _Table(name="carts")
    with pytest.raises(ValidationError):
        table.name = "orders"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        _Table.model_validate({"name": "carts", "billing": "on-demand"})


def test_a_foreign_stack_file_names_the_field_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text('{"app": "shop", "tables": [{"name": 3}]}', encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        read_stack(path, _Stack)
    assert "tables.0.name" in caught.value.what
    assert caught.value.where == str(path)
    assert caught.value.command == "skaal build --target TARGET"


def test_a_missing_stack_file_says_to_build_again(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="cannot read the stack model") as caught:
        read_stack(tmp_path / "stack.json", _Stack)
    assert caught.value.fix is not None
    assert "build the artifact again" in caught.value.fix
