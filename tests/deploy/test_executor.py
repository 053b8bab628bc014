"""Executors, confirmation and state records, with the fake engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skaal.deploy.confirm import AskUser, AssumeYes, Confirmer, choose_confirmer
from skaal.deploy.engine import Applied, Preview
from skaal.deploy.executor import ApplyChanges, PreviewOnly, select_executor
from skaal.deploy.request import DeployRequest, deploy_request
from skaal.deploy.state import DeploymentRecord, DeploymentStore
from skaal.errors import DeployError
from tests.deploy.fakes import PLAN_HASH, FakeEngine, built_project

NOW = "2026-11-22T20:00:00+00:00"


def _request(root: Path) -> DeployRequest:
    return deploy_request(
        built_project(root),
        target="gcp",
        stack="dev",
        backend=None,
        environ={"PULUMI_CONFIG_PASSPHRASE": "x"},
        lock_plan_hash=PLAN_HASH,
    )


class Answer:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def confirm(self, question: str) -> bool:
        self.asked.append(question)
        return self.answer


def _apply(
    tmp_path: Path, engine: FakeEngine, confirmer: Confirmer, lines: list[str]
) -> ApplyChanges:
    return ApplyChanges(
        engine=engine,
        confirmer=confirmer,
        store=DeploymentStore(tmp_path),
        clock=lambda: NOW,
        echo=lines.append,
    )


def test_dry_run_selects_the_preview_executor_without_asking(tmp_path: Path) -> None:
    engine, lines = FakeEngine(), []

    def no_confirmer() -> Confirmer:
        raise AssertionError("a dry run must not need a confirmation")

    executor = select_executor(
        dry_run=True,
        engine=engine,
        confirmer=no_confirmer,
        store=DeploymentStore(tmp_path),
        clock=lambda: NOW,
        echo=lines.append,
    )
    assert isinstance(executor, PreviewOnly)
    outcome = executor.run(_request(tmp_path))
    assert engine.ops() == ["preview"]
    assert not outcome.changed
    assert "preview: 2 to create" in lines
    assert "dry run: nothing was changed" in lines
    assert not (tmp_path / ".skaal" / "deployments").exists()


def test_apply_is_selected_otherwise(tmp_path: Path) -> None:
    executor = select_executor(
        dry_run=False,
        engine=FakeEngine(),
        confirmer=AssumeYes,
        store=DeploymentStore(tmp_path),
        clock=lambda: NOW,
        echo=print,
    )
    assert isinstance(executor, ApplyChanges)
    assert isinstance(executor.confirmer, AssumeYes)


def test_apply_previews_confirms_updates_prints_outputs_and_records(tmp_path: Path) -> None:
    engine, lines, answer = FakeEngine(), [], Answer(True)
    outcome = _apply(tmp_path, engine, answer, lines).run(_request(tmp_path))
    assert engine.ops() == ["preview", "up"]
    assert answer.asked == ["Deploy 2 to create to stack 'dev' (gcp)?"]
    assert "  web_url  https://web.run.app" in lines
    record_path = tmp_path / ".skaal" / "deployments" / "gcp-dev.json"
    assert outcome.record == record_path
    data = json.loads(record_path.read_text())
    assert data["outputs"] == {"web_url": "https://web.run.app"}
    assert (data["plan_hash"], data["deployed_at"], data["app"]) == (PLAN_HASH, NOW, "shop")


def test_a_no_changes_nothing(tmp_path: Path) -> None:
    engine, lines = FakeEngine(), []
    outcome = _apply(tmp_path, engine, Answer(False), lines).run(_request(tmp_path))
    assert engine.ops() == ["preview"]
    assert not outcome.changed
    assert "cancelled: nothing was changed" in lines
    assert DeploymentStore(tmp_path).read("gcp", "dev") is None


def test_choose_confirmer() -> None:
    assert isinstance(
        choose_confirmer(yes=True, interactive=False, ask=bool, command="c"), AssumeYes
    )
    asked = choose_confirmer(yes=False, interactive=True, ask=lambda q: q == "ok?", command="c")
    assert isinstance(asked, AskUser)
    assert asked.confirm("ok?")
    assert not asked.confirm("other?")
    with pytest.raises(DeployError, match="no terminal") as info:
        choose_confirmer(yes=False, interactive=False, ask=bool, command="skaal deploy")
    assert "skaal deploy --yes" in (info.value.fix or "")


def test_state_records_round_trip_and_are_written_atomically(tmp_path: Path) -> None:
    store = DeploymentStore(tmp_path)
    record = DeploymentRecord(
        target="gcp",
        stack="dev",
        app="shop",
        plan_hash=PLAN_HASH,
        skaal_version="1",
        backend_url="file:///s",
        deployed_at=NOW,
        outputs={"b": "2", "a": "1"},
    )
    path = store.write(record)
    assert store.read("gcp", "dev") == record
    assert sorted(p.name for p in path.parent.iterdir()) == ["gcp-dev.json"]  # no temp file left
    assert list(json.loads(path.read_text())["outputs"]) == ["a", "b"]
    assert store.remove("gcp", "dev")
    assert not store.remove("gcp", "dev")


def test_a_record_is_written_as_this_json() -> None:
    record = DeploymentRecord(
        target="gcp",
        stack="dev",
        app="shop",
        plan_hash="p",
        skaal_version="1",
        backend_url="file:///s",
        deployed_at=NOW,
        outputs={"b": "2", "a": "1"},
    )
    assert record.to_json() == (
        "{\n"
        '  "app": "shop",\n'
        '  "backend_url": "file:///s",\n'
        f'  "deployed_at": "{NOW}",\n'
        '  "outputs": {\n'
        '    "a": "1",\n'
        '    "b": "2"\n'
        "  },\n"
        '  "plan_hash": "p",\n'
        '  "schema_version": 1,\n'
        '  "skaal_version": "1",\n'
        '  "stack": "dev",\n'
        '  "target": "gcp"\n'
        "}\n"
    )


def test_engine_records_keep_a_sorted_read_only_copy_of_their_maps() -> None:
    given = {"update": 2, "create": 1}
    preview = Preview(changes=given)
    applied = Applied(changes=given, outputs={"url": "u", "bucket": "b"})
    given["delete"] = 3
    assert list(preview.changes.items()) == [("create", 1), ("update", 2)]
    assert list(applied.changes) == ["create", "update"]
    assert list(applied.outputs) == ["bucket", "url"]
    with pytest.raises(TypeError):
        preview.changes["delete"] = 3  # type: ignore[index]
    with pytest.raises(AttributeError):
        preview.changes = {}  # type: ignore[misc]


def test_a_corrupt_record_is_a_deploy_error(tmp_path: Path) -> None:
    store = DeploymentStore(tmp_path)
    store.folder.mkdir(parents=True)
    store.path("gcp", "dev").write_text("{not json")
    with pytest.raises(DeployError, match="not valid"):
        store.read("gcp", "dev")
    store.path("gcp", "dev").write_text('{"target": "gcp", "stack": "dev", "tail": 1}')
    with pytest.raises(DeployError, match="not valid"):
        store.read("gcp", "dev")
