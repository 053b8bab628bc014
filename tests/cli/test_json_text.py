"""``--json`` text: :func:`dumps_indented` writes ``json.dumps(indent=2, sort_keys=True)``."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from skaal.cli.json_text import dumps_indented
from skaal.cli.main import cli
from solver.draws import write_app

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=30,
)


def _reference(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_the_same_text_as_json_dumps(data: Any) -> None:
    assert dumps_indented(data) == _reference(data)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Ratio(float):
    pass


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        {"a": {}, "b": [], "c": ()},
        {"é": 'ünï\u2028"\\\n', "z": [1.0, -0.0, 1e16, 1e-7, float("nan"), float("-inf")]},
        [Colour.RED, Level.HIGH, Ratio(0.5), True, False, None],
        {Colour.RED: 1, "b": {Level.HIGH: [Ratio(2.0)]}},
        "text",
        7,
    ],
)
def test_edge_cases_and_subclasses(data: Any) -> None:
    assert dumps_indented(data) == _reference(data)


@pytest.mark.parametrize(
    "data", [{1: "a", 2: "b"}, {"x": {1.5: 3, 0.5: 1}}, {None: 1}, {True: 2, False: 1}]
)
def test_keys_that_are_not_strings_are_written_as_json_writes_them(data: Any) -> None:
    assert dumps_indented(data) == _reference(data)


def test_what_json_cannot_write_raises_what_json_raises() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"a": [object()]})
    with pytest.raises(TypeError):
        dumps_indented({"a": 1, 2: 3})  # keys json.dumps cannot sort either


def test_plan_json_of_a_thousand_resources_is_json_dumps_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole ``skaal plan --json`` document of a drawn app, byte for byte."""
    write_app(tmp_path / "big.py", "profiles", 1000)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["plan", "big.py:app", "--catalog", "aws", "--no-write", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == _reference(json.loads(result.output)) + "\n"
