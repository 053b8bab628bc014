"""The AWS plumbing shared by every AWS backend: names, sessions, error mapping."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.errors import SkaalRuntimeError
from skaal.plan.naming import MAX_LENGTH, physical_name
from skaal.runtime.backends import create_provider
from skaal.runtime.backends.aws_client import AwsSession
from skaal.runtime.backends.aws_errors import (
    AwsAccessError,
    AwsNotFoundError,
    AwsRequestError,
    AwsThrottledError,
    AwsUnavailableError,
    translate,
)
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Safety


def settings(env: dict[str, str], tmp_path: Path, region: str | None = None) -> BackendSettings:
    return BackendSettings(
        app="aws-tests",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env=env,
        clock=time.time,
        region=region,
    )


def spec(name: str, kind: Any = "map") -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("app", "resource", "kwargs", "expected"),
    [
        ("shop", "Carts", {}, "shop-carts"),
        ("shop", "billing.Invoices", {}, "shop-billing-invoices"),
        ("My App!", "Jobs", {"suffix": "dlq"}, "my-app-jobs-dlq"),
        ("shop", "Carts", {"prefix": "staging"}, "staging-shop-carts"),
        ("", "a", {}, "a-0"),
    ],
)
def test_physical_names(app: str, resource: str, kwargs: Any, expected: str) -> None:
    assert physical_name(app, resource, service="dynamodb", **kwargs) == expected


def test_long_names_are_cut_with_a_stable_hash() -> None:
    long = "x" * 100
    s3 = physical_name("app", long, service="s3")
    assert len(s3) == MAX_LENGTH["s3"]
    assert s3 == physical_name("app", long, service="s3")
    assert s3 != physical_name("app", long + "y", service="s3")
    assert len(physical_name("app", long, service="sqs")) <= MAX_LENGTH["sqs"] - len(".fifo")


def test_session_takes_the_region_from_the_binding_then_the_environment(tmp_path: Path) -> None:
    env = {"AWS_DEFAULT_REGION": "us-west-2", "SKAAL_AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    assert AwsSession(settings(env, tmp_path, region="eu-west-1")).region == "eu-west-1"
    assert AwsSession(settings(env, tmp_path)).region == "us-west-2"
    assert AwsSession(settings({}, tmp_path)).region == "us-east-1"
    session = AwsSession(settings(env, tmp_path, region="eu-west-1"))
    client = session.client("dynamodb")
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert session.client("dynamodb") is client


def test_bad_numbers_in_the_environment_are_named(tmp_path: Path) -> None:
    with pytest.raises(SkaalRuntimeError, match="SKAAL_AWS_MAX_ATTEMPTS='many'"):
        AwsSession(settings({"SKAAL_AWS_MAX_ATTEMPTS": "many"}, tmp_path))
    with pytest.raises(SkaalRuntimeError, match="positive"):
        AwsSession(settings({"SKAAL_AWS_MAX_CONCURRENCY": "0"}, tmp_path))
    assert AwsSession(settings({"SKAAL_AWS_MAX_ATTEMPTS": "2"}, tmp_path)).max_attempts == 2


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "msg"}}, "Op")


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (_client_error("ResourceNotFoundException"), AwsNotFoundError, "SKAAL_AWS_CREATE_TABLES"),
        (_client_error("NoSuchBucket"), AwsNotFoundError, "does not exist"),
        (_client_error("AccessDeniedException"), AwsAccessError, "IAM"),
        (_client_error("ProvisionedThroughputExceededException"), AwsThrottledError, "retries"),
        (_client_error("ValidationException"), AwsRequestError, "ValidationException: msg"),
        (NoCredentialsError(), AwsAccessError, "AWS_ACCESS_KEY_ID"),
        (EndpointConnectionError(endpoint_url="http://x"), AwsUnavailableError, "cannot reach"),
    ],
)
def test_botocore_errors_become_skaal_errors(exc: Exception, kind: type, text: str) -> None:
    error = translate(exc, what="GetItem on T", where="Carts", endpoint="http://x")
    assert isinstance(error, kind)
    assert isinstance(error, SkaalRuntimeError)
    assert text in str(error)
    assert "Carts" in str(error)


@pytest.mark.asyncio
async def test_wrong_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        "SKAAL_AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
        "SKAAL_AWS_MAX_ATTEMPTS": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    provider = create_provider("dynamodb", settings(env, tmp_path))
    await provider.open()
    store = provider.key_value(spec("Carts"))
    with pytest.raises(AwsUnavailableError, match=r"cannot reach http://127\.0\.0\.1") as err:
        await store.open()
    assert err.value.where == "Carts"
    assert err.value.fix is not None
    assert "SKAAL_AWS_ENDPOINT_URL" in err.value.fix
    await provider.close()


@pytest.mark.asyncio
async def test_calls_run_off_the_event_loop(tmp_path: Path) -> None:
    """A blocking call waits for a coroutine on the loop: it would deadlock on the loop."""
    session = AwsSession(settings({"SKAAL_AWS_MAX_CONCURRENCY": "2"}, tmp_path))
    released = threading.Event()

    async def release() -> None:
        await asyncio.sleep(0)
        released.set()

    results = await asyncio.gather(
        session.call(lambda: released.wait(10), what="waiting", where="test", safety=Safety.READ),
        release(),
    )
    assert results[0] is True
    await session.close()
