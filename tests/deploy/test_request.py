"""Validating a deploy request: artifacts, stack, backend URL, passphrase, staleness."""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.deploy.request import (
    backend_url,
    default_stack,
    deploy_request,
    locked_plan_hash,
    require_passphrase,
)
from skaal.errors import DeployError, UsageError
from skaal.plan.lock import write_lock
from skaal.plan.model import Plan
from tests.deploy.fakes import PLAN_HASH, built_project

ENV = {"PULUMI_CONFIG_PASSPHRASE": "secret"}


def _request(root: Path, **overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "target": "gcp",
        "stack": "dev",
        "backend": None,
        "environ": ENV,
        "lock_plan_hash": None,
    }
    args.update(overrides)
    return deploy_request(root, **args)  # type: ignore[arg-type]


def test_a_built_project_gives_a_request_on_its_pulumi_project(tmp_path: Path) -> None:
    request = _request(built_project(tmp_path), lock_plan_hash=PLAN_HASH)
    assert request.ref.work_dir == tmp_path / "artifacts" / "gcp" / "infra"
    assert request.ref.backend_url == (tmp_path / ".skaal" / "pulumi").resolve().as_uri()
    assert (request.app, request.plan_hash, request.skaal_version) == ("shop", PLAN_HASH, "1.2.3")


def test_unbuilt_target_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="has not been built") as info:
        _request(tmp_path)
    assert info.value.command == "skaal plan --target gcp && skaal build --target gcp"


def test_incomplete_build_is_refused(tmp_path: Path) -> None:
    built_project(tmp_path)
    (tmp_path / "artifacts" / "gcp" / "infra" / "Pulumi.yaml").unlink()
    with pytest.raises(DeployError, match=r"no Pulumi\.yaml"):
        _request(tmp_path)


def test_artifacts_from_another_plan_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="another plan") as info:
        _request(built_project(tmp_path), lock_plan_hash="b" * 64)
    assert info.value.command == "skaal build --target gcp"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": "azure"}, "unknown target 'azure'"),
        ({"stack": "no spaces"}, "stack name 'no spaces' is not valid"),
        ({"backend": "ftp://x"}, "not a Pulumi state backend URL"),
        ({"backend": "file://"}, "not a Pulumi state backend URL"),
    ],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        _request(built_project(tmp_path), **overrides)


def test_self_managed_backend_needs_a_passphrase(tmp_path: Path) -> None:
    request = _request(built_project(tmp_path), environ={})  # checked later, apart
    with pytest.raises(DeployError, match="passphrase") as info:
        require_passphrase(request, {})
    assert "PULUMI_CONFIG_PASSPHRASE" in (info.value.fix or "")
    require_passphrase(request, ENV)
    require_passphrase(request, {"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/pulumi"})
    cloud = _request(tmp_path, environ={}, backend="https://api.pulumi.com")
    assert cloud.ref.backend_url == "https://api.pulumi.com"
    require_passphrase(cloud, {})  # Pulumi Cloud keeps the secrets itself


def test_backend_urls(tmp_path: Path) -> None:
    assert backend_url(tmp_path, "file://state") == (tmp_path / "state").resolve().as_uri()
    assert backend_url(tmp_path, "file:///abs/state") == "file:///abs/state"
    assert backend_url(tmp_path, "gs://bucket/skaal") == "gs://bucket/skaal"


def test_default_stack_is_the_one_the_build_configured(tmp_path: Path) -> None:
    assert default_stack(tmp_path, "gcp") == "dev"  # nothing built
    built_project(tmp_path)
    (tmp_path / "artifacts" / "gcp" / "infra" / "Pulumi.dev.yaml").rename(
        tmp_path / "artifacts" / "gcp" / "infra" / "Pulumi.prod.yaml"
    )
    assert default_stack(tmp_path, "gcp") == "prod"


def _plan(provider: str) -> Plan:
    return Plan(
        app="shop",
        catalog=provider,
        provider=provider,
        region="us-central1",
        blueprint_hash="b",
        catalog_hash="c",
        bindings=(),
        total_monthly_cost=0.0,
    )


def test_lock_hash_of_a_plan_of_that_target_or_a_clear_refusal(tmp_path: Path) -> None:
    plan = _plan("gcp")
    write_lock(plan, tmp_path / "skaal.lock")
    assert locked_plan_hash(tmp_path / "skaal.lock", "gcp") == plan.content_hash()
    assert locked_plan_hash(tmp_path / "missing.lock", "gcp") is None
    with pytest.raises(DeployError, match="holds a plan for gcp, not aws") as other:
        locked_plan_hash(tmp_path / "skaal.lock", "aws")
    assert other.value.command == "skaal plan --target aws && skaal build --target aws"
    (tmp_path / "broken.lock").write_text("schema_version = [\n")
    with pytest.raises(DeployError, match=r"broken\.lock cannot be read") as broken:
        locked_plan_hash(tmp_path / "broken.lock", "gcp")
    assert broken.value.where == str(tmp_path / "broken.lock")


def test_the_refusal_names_the_lock_it_compared_with(tmp_path: Path) -> None:
    root = built_project(tmp_path)
    lock = root / "locks" / "prod.lock"
    lock.parent.mkdir()
    write_lock(_plan("gcp"), lock)  # another plan than the one the artifacts were built from
    with pytest.raises(DeployError, match=r"than locks/prod\.lock holds"):
        _request(root, lock_path=lock)


def test_an_unbuilt_target_is_said_before_the_lock_is_read(tmp_path: Path) -> None:
    write_lock(_plan("aws"), tmp_path / "skaal.lock")
    with pytest.raises(DeployError, match="has not been built"):
        _request(tmp_path, lock_path=tmp_path / "skaal.lock")
