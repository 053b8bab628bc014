"""How the AWS and Google backends read failures and what they send again (no servers).

The fault tests (``tests/runtime/faults/test_aws_faults.py``,
``test_gcp_faults.py``) check the behaviour against frozen and killed
emulators; these check the decisions underneath, failure by failure.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from google.api_core import exceptions as gexc

from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends import create_provider
from skaal.runtime.backends.aws_client import LONG_POLL, AwsSession
from skaal.runtime.backends.aws_errors import classify as classify_aws
from skaal.runtime.backends.gcp_common import Offload, rpc
from skaal.runtime.backends.gcp_common import classify as classify_google
from skaal.runtime.errors import OutcomeUnknownError
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Failure, Safety


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (EndpointConnectionError(endpoint_url="http://x"), Failure.NOT_SENT),
        (ConnectTimeoutError(endpoint_url="http://x"), Failure.NOT_SENT),
        (_client_error("ProvisionedThroughputExceededException", 400), Failure.NOT_SENT),
        (_client_error("SlowDown", 503), Failure.NOT_SENT),
        (ReadTimeoutError(endpoint_url="http://x"), Failure.UNKNOWN),
        (ConnectionClosedError(endpoint_url="http://x"), Failure.UNKNOWN),
        (_client_error("InternalServerError", 500), Failure.UNKNOWN),
        (_client_error("ServiceUnavailable", 503), Failure.UNKNOWN),
        (_client_error("ConditionalCheckFailedException", 400), None),
        (_client_error("ValidationException", 400), None),
    ],
)
def test_aws_failures_are_read_by_whether_the_request_may_have_been_applied(
    error: Exception, failure: Failure | None
) -> None:
    assert classify_aws(error) is failure


def _session(tmp_path: Path, **env: str) -> AwsSession:
    return AwsSession(
        BackendSettings(
            app="retries",
            data_dir=tmp_path,
            project_dir=tmp_path,
            env={"SKAAL_AWS_ENDPOINT_URL": "http://127.0.0.1:9", **env},
            clock=time.time,
        )
    )


def test_botocore_sends_each_request_once_and_waits_no_longer_than_the_deadline(
    tmp_path: Path,
) -> None:
    session = _session(tmp_path, SKAAL_CALL_DEADLINE="4", SKAAL_AWS_MAX_ATTEMPTS="3")
    config = session.client("dynamodb").meta.config
    assert config.retries["total_max_attempts"] == 1  # the shared policy retries, not botocore
    assert config.read_timeout == 4
    assert config.connect_timeout == 4
    assert session.client("sqs", long_poll=True).meta.config.read_timeout == 4 + LONG_POLL
    assert (session.policy.deadline, session.policy.attempts) == (4.0, 3)


class _Flaky:
    """A blocking call failing with ``error`` ``times`` times, then answering ``"ok"``."""

    def __init__(self, error: Exception, times: int) -> None:
        self.error, self.times, self.calls = error, times, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return "ok"


@pytest.mark.asyncio
async def test_an_unsafe_aws_call_is_never_sent_again_after_a_read_timeout(
    tmp_path: Path,
) -> None:
    session = _session(tmp_path)
    add = _Flaky(ReadTimeoutError(endpoint_url="http://x"), times=1)
    with pytest.raises(OutcomeUnknownError, match="UpdateItem ADD") as err:
        await session.call(add, what="UpdateItem ADD", where="Counters", safety=Safety.UNSAFE)
    assert add.calls == 1
    assert "Counters" in str(err.value)
    read = _Flaky(ReadTimeoutError(endpoint_url="http://x"), times=1)
    assert await session.call(read, what="GetItem", where="Counters", safety=Safety.READ) == "ok"
    assert read.calls == 2
    refused = _Flaky(EndpointConnectionError(endpoint_url="http://x"), times=1)
    result = await session.call(refused, what="UpdateItem ADD", where="C", safety=Safety.UNSAFE)
    assert (result, refused.calls) == ("ok", 2)  # never reached AWS: safe to send
    await session.close()


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (gexc.ServiceUnavailable("failed to connect to all addresses"), Failure.NOT_SENT),
        (gexc.TooManyRequests("quota"), Failure.NOT_SENT),
        (gexc.ResourceExhausted("quota"), Failure.NOT_SENT),
        (gexc.Aborted("contention"), Failure.NOT_SENT),
        (requests.exceptions.ConnectionError("Connection refused"), Failure.NOT_SENT),
        (requests.exceptions.ConnectTimeout("slow"), Failure.NOT_SENT),
        (gexc.ServiceUnavailable("Socket closed"), Failure.UNKNOWN),
        (gexc.DeadlineExceeded("late"), Failure.UNKNOWN),
        (gexc.InternalServerError("oops"), Failure.UNKNOWN),
        (requests.exceptions.ReadTimeout("late"), Failure.UNKNOWN),
        (requests.exceptions.ConnectionError("Connection aborted"), Failure.UNKNOWN),
        (TimeoutError(), Failure.UNKNOWN),
        (gexc.NotFound("gone"), None),
        (gexc.FailedPrecondition("changed"), None),
    ],
)
def test_google_failures_are_read_by_whether_the_request_may_have_been_applied(
    error: Exception, failure: Failure | None
) -> None:
    assert classify_google(error) is failure


@pytest.mark.asyncio
async def test_google_calls_turn_the_client_retries_off_and_pass_the_time_left() -> None:
    assert rpc() == {"retry": None}  # outside a call: no deadline to pass on
    offload = Offload("firestore")
    offload.open()
    seen: dict[str, Any] = await offload.run(rpc, what="read", where="Carts", safety=Safety.READ)
    assert seen["retry"] is None
    assert 0 < seen["timeout"] <= offload.policy.deadline
    increments = _Flaky(gexc.DeadlineExceeded("late"), times=1)
    with pytest.raises(OutcomeUnknownError):
        await offload.run(increments, what="increment", where="Carts", safety=Safety.UNSAFE)
    assert increments.calls == 1
    offload.close()


@pytest.mark.parametrize("implementation", ["dynamodb", "s3", "sqs", "firestore", "gcs", "pubsub"])
def test_a_bad_deadline_is_named_when_the_provider_is_made(
    implementation: str, tmp_path: Path
) -> None:
    settings = BackendSettings(
        app="retries",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"SKAAL_CALL_DEADLINE": "soon"},
        clock=time.time,
    )
    with pytest.raises(SkaalRuntimeError, match="SKAAL_CALL_DEADLINE='soon'") as err:
        create_provider(implementation, settings)
    assert err.value.fix is not None
