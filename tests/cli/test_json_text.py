"""``--json`` text: :func:`dumps_indented` writes the data, indented, keys sorted."""

from __future__ import annotations

import contextlib
import enum
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from skaal.cli.json_text import dumps_indented, echo_json, echo_json_sections
from skaal.cli.main import cli
from solver.draws import write_app

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
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
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_the_data_comes_back_and_the_layout_is_json_dumps_layout(data: Any) -> None:
    text = dumps_indented(data)
    assert json.loads(text) == json.loads(json.dumps(data))
    # the same lines as the standard library's indented, sorted text, but for
    # how a float is spelled (1e16 against 1e+16): compare them parsed
    ours, theirs = text.splitlines(), _reference(data).splitlines()
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        indent = len(mine) - len(mine.lstrip(" "))
        assert indent == len(reference) - len(reference.lstrip(" "))


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_enums_keys_and_unicode() -> None:
    data = {"é": 'ünï\u2028"\\\n', Colour.RED: [Level.HIGH, -0.0, 1e-7], "a": {}, "b": ()}
    assert json.loads(dumps_indented(data)) == {
        "a": {},
        "b": [],
        "red": [3, -0.0, 1e-7],
        "é": 'ünï\u2028"\\\n',
    }
    assert "ünï" in dumps_indented(data)  # written as is, not escaped


def test_what_orjson_refuses_goes_to_json() -> None:
    assert json.loads(dumps_indented({"big": 2**70})) == {"big": 2**70}
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"a": [object()]})


def test_plan_json_of_a_thousand_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole ``skaal plan --json`` document of a drawn app: sorted, indented, complete."""
    write_app(tmp_path / "big.py", "profiles", 1000)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["plan", "big.py:app", "--catalog", "aws", "--no-write", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["plan"]["bindings"]) == 1000
    assert result.output == dumps_indented(data) + "\n"
    assert result.output.startswith('{\n  "diff": ')


def test_echo_json_writes_utf8_bytes_after_what_was_printed_whatever_the_stream_encoding() -> None:
    # the document goes out as orjson's bytes, never through the stream's text encoding
    script = (
        "from skaal.cli.json_text import echo_json\nprint('before')\necho_json({'é': ['ü', 1]})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b'before\n{\n  "\xc3\xa9": [\n    "\xc3\xbc",\n    1\n  ]\n}\n'


def test_echo_json_under_the_cli_runner_matches_the_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = {"b": [1, 2.5, None], "a": "é"}
    echo_json(data)
    assert capsys.readouterr().out == dumps_indented(data) + "\n"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), _VALUES, max_size=5))
def test_sections_write_the_bytes_of_the_whole_document(data: dict[str, Any]) -> None:
    whole, parts = io.BytesIO(), io.BytesIO()
    # each wrapper detached once written: a wrapper collected closes what it wraps
    with contextlib.redirect_stdout(io.TextIOWrapper(whole, encoding="utf-8")) as out:
        echo_json(data)
        out.flush()
    out.detach()
    with contextlib.redirect_stdout(io.TextIOWrapper(parts, encoding="utf-8")) as out:
        echo_json_sections({key: (lambda value=value: value) for key, value in data.items()})
        out.flush()
    out.detach()
    assert whole.getvalue().startswith(b"{")
    assert parts.getvalue() == whole.getvalue()


def test_a_section_orjson_refuses_is_written_by_json_as_the_whole_would_be(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = {"big": {"n": 2**70, "list": [1, {}]}, "a": [1.5, "é"]}
    echo_json_sections({"big": lambda: data["big"], "a": lambda: data["a"]})
    assert capsys.readouterr().out == _reference(data) + "\n"


def test_sections_are_made_one_at_a_time_in_key_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    made: list[str] = []

    def maker(key: str) -> Any:
        def make() -> Any:
            made.append(key)
            return {"key": key, "items": [1, {}, []]}

        return make

    echo_json_sections({key: maker(key) for key in ("plan", "diff", "graph")})
    assert made == ["diff", "graph", "plan"]
    expected = {key: {"key": key, "items": [1, {}, []]} for key in made}
    assert capsys.readouterr().out == dumps_indented(expected) + "\n"


def test_a_text_only_stdout_gets_the_same_text() -> None:
    data = {"b": [1, {}], "a": "é"}
    for write in (
        echo_json,
        lambda d: echo_json_sections({k: (lambda v=v: v) for k, v in d.items()}),
    ):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            write(data)
        assert out.getvalue() == dumps_indented(data) + "\n"
