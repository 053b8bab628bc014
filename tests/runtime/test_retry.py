"""The retry and deadline policy of :mod:`skaal.runtime.retry`, with fake operations.

No server: each operation is a function that fails in a chosen way for its
first attempts, so the tests count exactly what was sent again.
"""

from __future__ import annotations

import asyncio

import pytest

from skaal.runtime.errors import (
    DeadlineExceededError,
    InvalidSettingError,
    OutcomeUnknownError,
)
from skaal.runtime.retry import Failure, RetryPolicy, Safety, call

FAST = RetryPolicy(deadline=5, attempts=4, initial_delay=0, max_delay=0)


class LostError(Exception):
    """The reply was lost: the request may have been applied."""


class RefusedError(Exception):
    """The connection was refused: nothing was sent."""


def classify(error: BaseException) -> Failure | None:
    if isinstance(error, LostError):
        return Failure.UNKNOWN
    if isinstance(error, RefusedError):
        return Failure.NOT_SENT
    return None


class Flaky:
    """Fails with ``errors`` in turn, then answers ``"ok"``; counts attempts."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def run(op: Flaky, safety: Safety, policy: RetryPolicy = FAST) -> str:
    return await call(
        op,
        resource="map 'M' on test",
        operation="op",
        safety=safety,
        classify=classify,
        policy=policy,
    )


@pytest.mark.parametrize("safety", [Safety.READ, Safety.IDEMPOTENT])
@pytest.mark.asyncio
async def test_safe_operations_are_retried_after_a_lost_reply(safety: Safety) -> None:
    op = Flaky(LostError(), LostError())
    assert await run(op, safety) == "ok"
    assert op.attempts == 3


@pytest.mark.asyncio
async def test_an_unsafe_write_is_not_sent_again_after_a_lost_reply() -> None:
    op = Flaky(LostError())
    with pytest.raises(OutcomeUnknownError, match="op on map 'M' on test failed after"):
        await run(op, Safety.UNSAFE)
    assert op.attempts == 1


@pytest.mark.asyncio
async def test_an_unsafe_write_is_retried_when_it_was_never_sent() -> None:
    op = Flaky(RefusedError(), RefusedError())
    assert await run(op, Safety.UNSAFE) == "ok"
    assert op.attempts == 3


@pytest.mark.asyncio
async def test_an_unsafe_write_lost_on_a_retry_is_not_sent_a_third_time() -> None:
    op = Flaky(RefusedError(), LostError())
    with pytest.raises(OutcomeUnknownError):
        await run(op, Safety.UNSAFE)
    assert op.attempts == 2


@pytest.mark.asyncio
async def test_other_errors_are_raised_at_once() -> None:
    op = Flaky(ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        await run(op, Safety.READ)
    assert op.attempts == 1


@pytest.mark.asyncio
async def test_attempts_are_bounded() -> None:
    op = Flaky(*[RefusedError() for _ in range(10)])
    with pytest.raises(RefusedError):
        await run(op, Safety.READ)
    assert op.attempts == FAST.attempts


@pytest.mark.asyncio
async def test_a_call_that_never_answers_ends_at_its_deadline() -> None:
    never = asyncio.Event()

    async def hang() -> str:
        await never.wait()
        return "never"

    policy = RetryPolicy(deadline=0.05)
    with pytest.raises(DeadlineExceededError) as caught:
        await call(
            hang,
            resource="map 'M' on test",
            operation="get",
            safety=Safety.READ,
            classify=classify,
            policy=policy,
        )
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert (error.resource, error.operation, error.deadline) == ("map 'M' on test", "get", 0.05)
    assert str(error).startswith("get on map 'M' on test timed out after 0.05 s (nothing was")
    assert error.fix is not None
    assert "SKAAL_CALL_DEADLINE" in error.fix


def test_the_deadline_is_a_setting() -> None:
    assert RetryPolicy.from_env({}).deadline == 10
    assert RetryPolicy.from_env({"SKAAL_CALL_DEADLINE": "2.5"}).deadline == 2.5
    assert RetryPolicy.from_env({"SKAAL_CALL_DEADLINE": "3s"}).deadline == 3


@pytest.mark.parametrize("bad", ["soon", "0", "-1", "inf", "nan"])
def test_a_bad_deadline_is_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidSettingError, match="SKAAL_CALL_DEADLINE") as caught:
        RetryPolicy.from_env({"SKAAL_CALL_DEADLINE": bad})
    assert caught.value.fix is not None
