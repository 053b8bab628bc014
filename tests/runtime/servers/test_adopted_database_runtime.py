"""A Map on an adopted PostgreSQL server, reached through the wiring the aws build gives it.

The app adopts an RDS instance (``existing=`` with its secret); the plan
wires the server its own connection variable, and the build sets it to the
server's URL without a password and ``<variable>_SECRET_ARN`` to the named
secret.  Here the variable holds the tests' PostgreSQL (its password, if
any, moved into a Secrets Manager secret on moto), and the runtime connects
with the password it reads from that secret, as a deployed function does.
Needs SKAAL_TEST_POSTGRES_DSN (``.ci/services/20-postgres.sh``) and
SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
import pytest

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.plan.wiring import credentials_env, servers
from skaal.runtime import Runtime
from skaal.solver import solve
from tests.runtime.servers.test_aws_moto import aws_env, raw

pytestmark = pytest.mark.asyncio

SERVER = "arn:aws:rds:us-east-1:123456789012:db:legacy-shop"


def _dsn() -> str:
    dsn = os.environ.get("SKAAL_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("SKAAL_TEST_POSTGRES_DSN not set: start it (see .ci/services/20-postgres.sh)")
    return dsn


def _without_password(dsn: str) -> tuple[str, str]:
    """The URL as the build writes it (no password), and the password it held."""
    parts = urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{parts.username}@{host}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password or "")


async def test_the_runtime_connects_with_the_adopted_servers_url_and_secret(
    tmp_path: Path,
) -> None:
    dsn, env = _dsn(), aws_env()
    url, password = _without_password(dsn)
    # A server that trusts loopback (CI's) has no password in its DSN: the secret still
    # holds one, and the runtime must read it to connect; a server with password
    # authentication checks it as well.
    password = password or f"pw-{uuid.uuid4().hex[:12]}"
    secret = raw("secretsmanager", env).create_secret(
        Name=f"legacy-shop-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": urlsplit(dsn).username, "password": password}),
    )["ARN"]
    app = App(f"adopt{uuid.uuid4().hex[:6]}")

    @app.storage(existing=f"{SERVER} secret={secret}")
    class Orders(Map[str, int]): ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    assert (plan.binding("Orders").adopted, plan.instances) == ("legacy-shop", ())
    (server,) = servers(plan)
    env |= {server.env: url, credentials_env(server.env): secret}
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
        orders: Map[str, int] = runtime.client(Orders)
        await orders.set("o-1", 7)
        assert await orders.get("o-1") == 7
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
            f"skaal_{app.name}",
        )
    finally:
        await connection.close()
    assert [row["table_name"] for row in rows] == ["map_Orders"]  # in the app's schema there


async def test_a_secret_that_does_not_exist_stops_the_connection(tmp_path: Path) -> None:
    dsn, env = _dsn(), aws_env()
    url, _ = _without_password(dsn)
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    app = App(f"adopt{uuid.uuid4().hex[:6]}")

    @app.storage(existing=f"{SERVER} secret={missing}")
    class Orders(Map[str, int]): ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    (server,) = servers(plan)
    env |= {server.env: url, credentials_env(server.env): missing}
    with pytest.raises(SkaalRuntimeError, match="database credentials"):
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
            await runtime.client(Orders).get("o-1")
