"""``skaal destroy`` logic: protected data needs --delete-data."""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.deploy.destroy import DELETE_DATA_CONFIG, Destroyer
from skaal.deploy.request import DeployRequest, deploy_request
from skaal.deploy.state import DeploymentStore
from skaal.errors import DeployError
from tests.deploy.fakes import FakeEngine, built_project
from tests.deploy.test_executor import Answer, _request


def _deployed(tmp_path: Path) -> tuple[FakeEngine, DeployRequest]:
    engine = FakeEngine()
    request = _request(tmp_path)
    engine.up(request.ref, config={}, on_output=lambda line: None)
    engine.calls.clear()
    return engine, request


def _destroyer(tmp_path: Path, engine: FakeEngine, answer: bool = True) -> Destroyer:
    return Destroyer(
        engine=engine,
        confirmer=Answer(answer),
        store=DeploymentStore(tmp_path),
        echo=lambda s: None,
    )


def test_refuses_to_delete_protected_data_without_the_flag(tmp_path: Path) -> None:
    engine, request = _deployed(tmp_path)
    with pytest.raises(DeployError, match=r"catalog\.Images") as info:
        _destroyer(tmp_path, engine).run(request, delete_data=False)
    assert "--delete-data" in (info.value.command or "")
    assert engine.ops() == ["resources"]
    assert engine.state  # nothing was destroyed


def test_delete_data_lifts_protection_then_destroys(tmp_path: Path) -> None:
    engine, request = _deployed(tmp_path)
    DeploymentStore(tmp_path).folder.mkdir(parents=True)
    DeploymentStore(tmp_path).path("gcp", "dev").write_text("{}")
    outcome = _destroyer(tmp_path, engine).run(request, delete_data=True)
    assert engine.ops() == ["resources", "up", "destroy"]
    assert engine.calls[1][2] == {DELETE_DATA_CONFIG: "true"}
    assert outcome.destroyed == 2
    assert outcome.data_deleted == ("catalog.Images (gcp:storage/bucket:Bucket)",)
    assert engine.state == []
    assert not DeploymentStore(tmp_path).path("gcp", "dev").exists()


def test_declining_destroys_nothing(tmp_path: Path) -> None:
    engine, request = _deployed(tmp_path)
    outcome = _destroyer(tmp_path, engine, answer=False).run(request, delete_data=True)
    assert outcome.cancelled
    assert engine.ops() == ["resources"]


def test_an_empty_stack_has_nothing_to_destroy(tmp_path: Path) -> None:
    engine = FakeEngine()
    request = deploy_request(
        built_project(tmp_path),
        target="gcp",
        stack="dev",
        backend=None,
        environ={"PULUMI_CONFIG_PASSPHRASE": "x"},
        lock_plan_hash=None,
    )
    assert _destroyer(tmp_path, engine).run(request, delete_data=False).destroyed == 0
    assert engine.ops() == ["resources"]


ADOPTED = (
    "urn:pulumi:dev::p::gcp:storage/bucket:Bucket::catalog.Legacy",
    "gcp:storage/bucket:Bucket",
)


def test_an_adopted_resource_is_never_in_the_destroy(tmp_path: Path) -> None:
    engine = FakeEngine(adopted=(ADOPTED,))
    request = _request(tmp_path)
    engine.up(request.ref, config={}, on_output=lambda line: None)
    said: list[str] = []
    destroyer = Destroyer(
        engine=engine, confirmer=Answer(True), store=DeploymentStore(tmp_path), echo=said.append
    )
    with pytest.raises(DeployError) as refused:  # the managed bucket holds data: refused...
        destroyer.run(request, delete_data=False)
    assert "catalog.Legacy" not in refused.value.what  # ...naming it, never the adopted one
    outcome = destroyer.run(request, delete_data=True)
    assert outcome.left == ("catalog.Legacy (gcp:storage/bucket:Bucket)",)
    assert outcome.data_deleted == ("catalog.Images (gcp:storage/bucket:Bucket)",)
    assert outcome.destroyed == 2
    assert ADOPTED[0] not in engine.deleted
    assert "left in place (adopted with existing=, never deleted): catalog.Legacy" in said[0]
