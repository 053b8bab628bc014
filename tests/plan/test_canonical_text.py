"""The canonical text of the content hashes is ``json.dumps``'s, byte for byte.

:func:`skaal.blueprint.canonical.canonical_text` writes it with orjson when
that gives the same text and with :mod:`json` otherwise; a hash recorded in a
lock or a build manifest must never change.  Checked on the values where the
two encoders differ, and on the Blueprint, Catalog and Plan of the
``profiles`` and ``users`` draws (:mod:`solver.draws`) on both bundled
catalogs, against the text the standard library writes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from skaal.blueprint import canonical
from skaal.blueprint import model as blueprint_model
from skaal.blueprint.canonical import canonical_pieces, canonical_text
from skaal.blueprint.model import Blueprint
from skaal.catalog import load_catalog
from skaal.catalog import model as catalog_model
from skaal.plan import model as plan_model
from skaal.solver import solve
from solver.draws import draw_blueprint, write_app


def _standard(data: Any, **_known: bool) -> str:
    """The standard library's text (what the caller knows of ``data`` changes nothing)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    "data",
    [
        {"b": 1, "a": [1.5, 0.1, 1e16, 1e22, -0.0, 2**63, 5e-324]},
        {"small": [1e-05, 2.5e-06, 0.0001]},
        {"tiny": [1e-07, -7.1850441006303285e-09, 2.5e-12]},
        {"inf": float("inf"), "minus": float("-inf")},
        {"nan": float("nan")},
        {"big": 2**64},
        {"text": "caf\u00e9 \u2028"},
        {"text": 'DEL \x7f \x00 \x1f \n \t " \\ /'},
        {"zero": "0.00001 in a string", "e": "v1e-3"},
        {10: "integer keys", 9: "sort as integers"},
        {"nested": {"z": None, "y": True, "x": [{"b": "B", "a": "A"}]}},
        [],
        "plain",
    ],
)
def test_the_text_is_json_dumps_text(data: Any) -> None:
    assert canonical_text(data) == _standard(data)


def test_random_floats_are_written_as_json_writes_them() -> None:
    values = [m * 10.0**e for e in range(-30, 30) for m in (1.0, 1.5, 2.5, 7.000000000000001)]
    data = {"values": values, "negated": [-v for v in values]}
    assert canonical_text(data) == _standard(data)


@pytest.mark.parametrize("key", ["a", "m", "z"])
@pytest.mark.parametrize(
    "chunks",
    [
        [],
        [[]],
        [[1, "two"], [], [{"b": 1e-07, "a": "caf\u00e9"}], [float("inf")]],
        [[{"k": [1.5, 2**64]}], [None, True, "DEL \x7f"], [0.00001]],
    ],
)
def test_the_pieces_are_the_text_of_the_whole(key: str, chunks: list[list[Any]]) -> None:
    head = {"m": {"y": 1, "x": [0.1, "0.00001"]}, "b": None, "y": "last"}
    head.pop(key, None)
    whole = {**head, key: [item for chunk in chunks for item in chunk]}
    assert b"".join(canonical_pieces(head, key, iter(chunks))) == _standard(whole).encode()


def _content(blueprint: Blueprint) -> str:
    """What the blueprint's hash covers, stated again: its dump without where things
    were written, how mounts are served, or a function's ``uses``; ``existing`` only
    when declared."""
    data = msgspec.to_builtins(blueprint)
    del data["location"]
    for mount in data["mounts"]:
        for name in ("location", "interface", "threads"):
            del mount[name]
    for resource in data["resources"]:
        del resource["location"], resource["uses"]
        if resource["existing"] is None:
            del resource["existing"]
    return _standard(data)


def test_the_blueprint_is_hashed_in_pieces_as_one_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blueprint_model, "_HASHED_RESOURCES", 7)  # several pieces, one short
    blueprint = _blueprint("users", 30, tmp_path)
    text = _content(blueprint)
    assert blueprint.canonical_json() == text
    assert blueprint.content_hash() == hashlib.sha256(text.encode()).hexdigest()


def _blueprint(draw: str, n: int, folder: Path) -> Blueprint:
    path = write_app(folder / f"{draw}{n}.py", draw, n)
    return draw_blueprint(path)


@pytest.mark.parametrize("catalog_name", ["aws", "gcp"])
@pytest.mark.parametrize(("draw", "n"), [("profiles", 10), ("profiles", 300), ("users", 10)])
def test_the_hashes_of_the_draws_are_the_standard_library_hashes(
    draw: str, n: int, catalog_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = _blueprint(draw, n, tmp_path)
    catalog = load_catalog(catalog_name)
    plan = solve(blueprint, catalog)
    records = (blueprint, catalog, plan)
    texts = [record.canonical_json() for record in records]
    hashes = [record.content_hash() for record in records]
    for module in (canonical, catalog_model, plan_model):  # the text as it was written
        monkeypatch.setattr(module, "canonical_text", _standard)
    for record, text, content_hash in zip(records, texts, hashes, strict=True):
        standard = record.canonical_json()
        assert text == standard
        assert content_hash == hashlib.sha256(standard.encode()).hexdigest()
