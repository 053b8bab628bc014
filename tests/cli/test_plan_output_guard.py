"""The bytes ``skaal plan`` writes for a 1,000-resource app do not move.

Making the plan command faster (start-up, declarations, the Blueprint, the
lock, the hashes, the ``--json`` document) must not change a byte of what it
writes: a build records the plan hash it came from, and a changed lock reads
as a changed plan in review.  So the lock text and the ``--json`` document of
the ``profiles`` draw of 1,000 maps (:mod:`solver.draws`, seed 2026) planned
against the bundled aws catalog are pinned here by their SHA-256.

When the plan is *meant* to change (the catalog's prices or the solver's
choices changed), check the new plan, then refresh the three hashes: run this
file, and copy the hashes the failures print.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli
from skaal.plan.model import Plan
from solver.draws import write_app

ROOT = Path(__file__).resolve().parents[2]
CATALOG = str(ROOT / "catalogs" / "aws.toml")

LOCK_SHA256 = "619dac72a0f7f36490141777c870cdc292c54f2d95f8ae2225554e0900bdc7a9"
JSON_SHA256 = "ab823a608eb8d23d7177be6e63978c0d766a07a630c008b48cef74546fc3995c"
PLAN_HASH = "711900539b0433af2af92e872d55045010149dd05029768cd6e7669f1413d9c3"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("draw")
    write_app(folder / "draw1000.py", "profiles", 1000)
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_lock_of_a_1000_map_draw_is_unchanged(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["plan", "draw1000.py:app", "--catalog", CATALOG])
    assert result.exit_code == 0, result.output
    assert _sha256((project / "skaal.lock").read_bytes()) == LOCK_SHA256


def test_the_json_document_of_a_1000_map_draw_is_unchanged(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    args = ["plan", "draw1000.py:app", "--catalog", CATALOG, "--no-write", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["plan_hash"] == PLAN_HASH
    assert _sha256(result.output.encode()) == JSON_SHA256


def test_the_json_document_dumps_the_plan_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan hash is taken of the dump ``--json`` writes, not of a second dump."""
    dumped: list[int] = []
    dump = Plan.model_dump

    def counted(self: Plan, **kwargs: Any) -> dict[str, Any]:
        dumped.append(id(self))
        return dump(self, **kwargs)

    monkeypatch.setattr(Plan, "model_dump", counted)
    monkeypatch.chdir(project)
    args = ["plan", "draw1000.py:app", "--catalog", CATALOG, "--no-write", "--json"]
    # a lock of its own that does not exist: no stored plan is read (and hashed)
    result = CliRunner().invoke(cli, [*args, "--lock", "unwritten.lock"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["plan_hash"] == PLAN_HASH
    assert len(dumped) == 1
