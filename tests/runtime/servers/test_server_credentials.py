"""Server credentials from Secrets Manager (the RDS-managed master secret), against moto.

The aws target gives a function the PostgreSQL URL without a password and
the ARN of the secret holding it; the runtime reads the password from the
secret each time a connection opens.  Needs SKAAL_TEST_AWS_ENDPOINT_URL
(``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import boto3
import pytest

from skaal.plan.wiring import credentials_env
from skaal.runtime.backends.credentials import CredentialsError, SecretPassword, secret_password
from skaal.runtime.backends.postgres_support import PostgresConnection
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio


def _endpoint() -> str:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    return endpoint


def _secret(endpoint: str, value: str) -> str:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    created = client.create_secret(Name=f"rds!db-{uuid.uuid4().hex[:12]}", SecretString=value)
    arn: str = created["ARN"]
    return arn


def _settings(tmp_path: Path, env: dict[str, str]) -> BackendSettings:
    return BackendSettings(
        app="shop",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **env},
        clock=time.time,
        region="eu-west-1",  # the secret's own region (in its ARN) wins
    )


async def test_the_password_is_read_from_the_rds_managed_secret(tmp_path: Path) -> None:
    endpoint = _endpoint()
    arn = _secret(endpoint, json.dumps({"username": "skaal", "password": "s3cr3t/pw"}))
    variable = credentials_env("SKAAL_POSTGRES_DSN")
    settings = _settings(tmp_path, {"SKAAL_AWS_ENDPOINT_URL": endpoint, variable: arn})
    reader = secret_password(settings, "SKAAL_POSTGRES_DSN")
    assert isinstance(reader, SecretPassword)
    assert await reader() == "s3cr3t/pw"
    # the pool the PostgreSQL provider opens asks this reader, not the URL, for its password
    connection = PostgresConnection(settings)
    assert connection._password is not None
    assert await connection._password() == "s3cr3t/pw"


async def test_a_rotated_password_is_read_again(tmp_path: Path) -> None:
    endpoint = _endpoint()
    arn = _secret(endpoint, json.dumps({"username": "skaal", "password": "first"}))
    variable = credentials_env("SKAAL_POSTGRES_DSN")
    settings = _settings(tmp_path, {"SKAAL_AWS_ENDPOINT_URL": endpoint, variable: arn})
    reader = secret_password(settings, "SKAAL_POSTGRES_DSN")
    assert reader is not None
    assert await reader() == "first"
    boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).put_secret_value(SecretId=arn, SecretString=json.dumps({"password": "second"}))
    assert await reader() == "second"


async def test_a_secret_without_a_password_is_a_clear_error(tmp_path: Path) -> None:
    endpoint = _endpoint()
    arn = _secret(endpoint, "not json")
    variable = credentials_env("SKAAL_POSTGRES_DSN")
    settings = _settings(tmp_path, {"SKAAL_AWS_ENDPOINT_URL": endpoint, variable: arn})
    reader = secret_password(settings, "SKAAL_POSTGRES_DSN")
    assert reader is not None
    with pytest.raises(CredentialsError, match="no JSON object with a 'password'") as info:
        await reader()
    assert info.value.where == variable


async def test_without_the_variable_the_url_is_used_as_it_is(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"SKAAL_POSTGRES_POOL_SIZE": "7"})
    assert secret_password(settings, "SKAAL_POSTGRES_DSN") is None
    connection = PostgresConnection(settings)
    assert connection._password is None
    assert connection.pool_size == 7
