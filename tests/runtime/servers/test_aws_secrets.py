"""The ``secrets-manager`` backend against moto, and its naming agreement with the build.

Needs SKAAL_TEST_AWS_ENDPOINT_URL for the server tests (``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import boto3
import pytest

from skaal.plan.model import Binding
from skaal.plan.wiring import binding_name
from skaal.runtime.backends import create_provider
from skaal.runtime.backends.secrets_manager import SecretsManagerProvider, SecretsManagerSecrets
from skaal.runtime.ports import BackendSettings


def _env() -> dict[str, str]:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    return {
        "SKAAL_AWS_ENDPOINT_URL": endpoint,
        "SKAAL_AWS_NAME_PREFIX": f"t{uuid.uuid4().hex[:12]}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def _settings(env: dict[str, str], tmp_path: Path) -> BackendSettings:
    return BackendSettings(
        app="shop",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env=env,
        clock=time.time,
        region="us-east-1",
    )


def test_the_runtime_reads_the_secret_the_build_names(tmp_path: Path) -> None:
    provider = SecretsManagerProvider(_settings({"SKAAL_AWS_NAME_PREFIX": "stage"}, tmp_path))
    binding = Binding(
        resource="STRIPE_KEY",
        kind="secret",
        backend="secrets-manager",
        implementation="secrets-manager",
        region="us-east-1",
        monthly_cost=0.4,
        reason="only feasible backend",
    )
    expected = binding_name("shop", binding, prefix="stage")
    assert provider.secrets().secret_id("STRIPE_KEY") == expected == "stage-shop-stripe-key"


@pytest.mark.asyncio
async def test_a_stored_secret_is_read_and_a_missing_or_empty_one_is_none(
    tmp_path: Path,
) -> None:
    env = _env()
    provider = create_provider("secrets-manager", _settings(env, tmp_path))
    await provider.open()
    try:
        secrets = provider.secrets()
        assert isinstance(secrets, SecretsManagerSecrets)
        client = boto3.client(
            "secretsmanager",
            endpoint_url=env["SKAAL_AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_secret(Name=secrets.secret_id("API_KEY"), SecretString="s3cr3t ✓")
        client.create_secret(Name=secrets.secret_id("EMPTY"))
        assert await secrets.get("API_KEY") == "s3cr3t ✓"
        assert await secrets.get("EMPTY") is None
        assert await secrets.get("NEVER_CREATED") is None
        client.put_secret_value(SecretId=secrets.secret_id("API_KEY"), SecretString="rotated")
        assert await secrets.get("API_KEY") == "s3cr3t ✓", "values are read once per runtime"
    finally:
        await provider.close()
