"""Each resource is stored in its planned region, checked against moto (which keeps regions apart).

Needs SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh`` starts moto).
Carts declares ``residency="eu"`` and lands in eu-west-1, Orders in the
catalog's default us-east-1; the runtime creates and writes each table
through a client of its own region, so boto3 finds Carts only in eu-west-1
and Orders only in us-east-1.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import boto3
import pytest

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.runtime.clients import MapClient
from skaal.solver import solve
from tests.runtime.servers.test_aws_moto import table_names

pytestmark = pytest.mark.asyncio

app = App("regions")


@app.storage(residency="eu", backend="dynamodb")
class Carts(Map[str, int]):
    """In the eu."""


@app.storage(backend="dynamodb")
class Orders(Map[str, int]):
    """Anywhere: the catalog's default region."""


def _tables(endpoint: str, region: str) -> list[str]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return table_names(client)


async def test_each_table_lives_in_its_planned_region(tmp_path: Path) -> None:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    prefix = f"t{uuid.uuid4().hex[:12]}"
    env = {
        "SKAAL_AWS_ENDPOINT_URL": endpoint,
        "SKAAL_AWS_NAME_PREFIX": prefix,
        "SKAAL_AWS_CREATE_TABLES": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("Carts").region == "eu-west-1"
    assert plan.binding("Orders").region == "us-east-1"
    async with Runtime.open(app, plan, env=env, data_dir=tmp_path) as runtime:
        for name, value in (("Carts", 1), ("Orders", 2)):
            client = runtime.client_named(name)
            assert isinstance(client, MapClient)
            await client.set("k", value)
            assert await client.get("k") == value
    eu = [t for t in _tables(endpoint, "eu-west-1") if t.startswith(prefix)]
    us = [t for t in _tables(endpoint, "us-east-1") if t.startswith(prefix)]
    assert len(eu) == 1
    assert "carts" in eu[0].lower()
    assert len(us) == 1
    assert "orders" in us[0].lower()
