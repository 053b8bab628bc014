"""Detecting the pulumi CLI: the engine refuses to start without it, saying how to install it."""

from __future__ import annotations

import shutil

import pytest

from skaal.deploy.pulumi_engine import INSTALL_HINT, PulumiEngine, require_pulumi_cli
from skaal.errors import DeployError


def test_missing_cli_on_path() -> None:
    with pytest.raises(DeployError, match="pulumi CLI is not installed") as info:
        require_pulumi_cli(which=lambda name: None)
    assert info.value.fix == INSTALL_HINT
    assert "https://www.pulumi.com/docs/install/" in str(info.value)
    assert info.value.exit_code == 1


def test_automation_api_probe_failure_is_wrapped() -> None:
    def probe() -> object:
        raise FileNotFoundError("[Errno 2] No such file or directory: 'pulumi'")

    with pytest.raises(DeployError, match="Automation API cannot use the pulumi CLI"):
        require_pulumi_cli(which=lambda name: "/usr/bin/pulumi", probe=probe)


def test_missing_sdk_is_wrapped() -> None:
    def probe() -> object:
        raise ImportError("pulumi")

    with pytest.raises(DeployError, match="Python SDK") as info:
        require_pulumi_cli(which=lambda name: "/usr/bin/pulumi", probe=probe)
    assert info.value.fix == "pip install 'skaal[deploy]'"


def test_a_working_cli_passes() -> None:
    require_pulumi_cli(which=lambda name: "/usr/bin/pulumi", probe=object)


@pytest.mark.skipif(shutil.which("pulumi") is not None, reason="the pulumi CLI is installed here")
def test_the_real_engine_refuses_to_start_on_this_machine() -> None:
    with pytest.raises(DeployError, match="pulumi CLI is not installed"):
        PulumiEngine()


def test_preview_operations_are_named_by_their_value() -> None:
    from pulumi.automation import OpType

    from skaal.deploy.pulumi_engine import _op

    assert _op(OpType.CREATE) == "create"
    assert _op("update") == "update"


def test_the_state_marks_a_read_resource_external() -> None:
    from skaal.deploy.pulumi_engine import stack_resources

    table = "urn:pulumi:prod::p::aws:dynamodb/table:Table::Carts"
    fresh = "urn:pulumi:prod::p::aws:dynamodb/table:Table::Orders"
    deployment = {
        "resources": [
            {
                "urn": "urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod",
                "type": "pulumi:pulumi:Stack",
            },
            {"urn": table, "type": "aws:dynamodb/table:Table", "external": True},
            {"urn": fresh, "type": "aws:dynamodb/table:Table", "protect": True},
        ]
    }
    found = stack_resources(deployment)
    assert [(r.urn, r.external, r.protected) for r in found] == [
        (table, True, False),
        (fresh, False, True),
    ]
