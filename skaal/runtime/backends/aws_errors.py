"""Errors of the AWS backends, and the one place botocore errors are translated.

::

    SkaalRuntimeError
    └── AwsError                  any AWS call that failed after its retries
        ├── AwsUnavailableError   the endpoint cannot be reached (network, wrong URL)
        ├── AwsAccessError        missing or rejected credentials, access denied
        ├── AwsNotFoundError      the table, bucket or queue does not exist
        ├── AwsThrottledError     still throttled after the bounded retries
        └── AwsRequestError       AWS rejected the request (validation, limits)

:func:`translate` turns a botocore exception into one of these, naming the
operation, the resource and the fix.  Codes a caller handles itself (a failed
DynamoDB condition, a missing S3 key) are passed through untouched by
:class:`~skaal.runtime.backends.aws_client.AwsSession.call`.

:func:`classify` reads a failure for the retry policy
(:mod:`skaal.runtime.retry`): a refused or timed-out *connection* and a
throttling answer mean the request was not applied (``NOT_SENT``); a read
timeout, a connection lost mid-request and a 5xx answer mean it may have
been (``UNKNOWN``) -- botocore's own retries would re-send those, which is
why they are turned off.
"""

from __future__ import annotations

from skaal.errors import SkaalRuntimeError
from skaal.runtime.retry import Failure

__all__ = [
    "AwsAccessError",
    "AwsError",
    "AwsNotFoundError",
    "AwsRequestError",
    "AwsThrottledError",
    "AwsUnavailableError",
    "classify",
    "error_code",
    "missing",
    "translate",
]


class AwsError(SkaalRuntimeError):
    """An AWS call failed after its bounded retries."""


class AwsUnavailableError(AwsError):
    """The AWS endpoint could not be reached."""


class AwsAccessError(AwsError):
    """Credentials are missing or were rejected."""


class AwsNotFoundError(AwsError):
    """The cloud resource (table, bucket, queue, topic) does not exist."""


class AwsThrottledError(AwsError):
    """AWS kept throttling the calls."""


class AwsRequestError(AwsError):
    """AWS rejected the request itself."""


_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchBucket",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "NotFoundException",
    }
)
_ACCESS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
    }
)


_UNCERTAIN = frozenset(
    {
        "InternalServerError",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)


_CREATE_FIX = (
    "deploy the app (skaal deploy) so its resources are created, or set "
    "SKAAL_AWS_CREATE_TABLES=1 to create them on first use (tests, local emulators)"
)


def missing(what: str, *, where: str, adopted: bool = False) -> AwsNotFoundError:
    """The error for a table, bucket or queue that does not exist.

    ``adopted``: the resource names an existing one (``existing=``), which
    Skaal never creates.
    """
    if adopted:
        return AwsNotFoundError(
            f"{what} does not exist, and {where} adopts it (existing=): Skaal never creates it",
            where=where,
            fix="name a table, bucket or topic this account and region have in existing=, or "
            "remove "
            "existing= to have the deployment create one",
        )
    return AwsNotFoundError(f"{what} does not exist", where=where, fix=_CREATE_FIX)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else ``None``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def classify(exc: BaseException) -> Failure | None:
    """What a botocore failure says about its request (see the module docstring)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return Failure.NOT_SENT  # no connection was made: nothing reached AWS
    if isinstance(exc, bx.HTTPClientError):
        return Failure.UNKNOWN  # read timeout, connection closed mid-request
    code = error_code(exc)
    if code is None:
        return None
    if code in _THROTTLED:
        return Failure.NOT_SENT  # rejected before it was applied
    response = getattr(exc, "response", None)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if response else None
    if code in _UNCERTAIN or (isinstance(status, int) and status >= 500):
        return Failure.UNKNOWN
    return None


def translate(exc: BaseException, *, what: str, where: str, endpoint: str | None) -> AwsError:
    """The Skaal error for a botocore exception raised while doing ``what``."""
    from botocore import exceptions as bx

    target = endpoint or "the AWS default endpoint"
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AwsAccessError(
            f"{what} failed: no AWS credentials were found",
            where=where,
            fix="set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE "
            "(any value works against an emulator)",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError | bx.ConnectTimeoutError):
        return AwsUnavailableError(
            f"{what} failed: cannot reach {target} ({exc})",
            where=where,
            fix="check the network, or SKAAL_AWS_ENDPOINT_URL if you use an emulator "
            "(e.g. moto_server -p 5000 and SKAAL_AWS_ENDPOINT_URL=http://127.0.0.1:5000)",
        )
    code = error_code(exc) or type(exc).__name__
    response = getattr(exc, "response", None)
    detail = response.get("Error", {}).get("Message") if isinstance(response, dict) else None
    message = str(detail or exc)
    if code in _NOT_FOUND:
        return AwsNotFoundError(
            f"{what} failed: the resource does not exist ({message})",
            where=where,
            fix=_CREATE_FIX,
        )
    if code in _ACCESS:
        return AwsAccessError(
            f"{what} failed: access denied ({message})",
            where=where,
            fix="check the credentials and the IAM policy of the role running the app",
        )
    if code in _THROTTLED:
        return AwsThrottledError(
            f"{what} failed: still throttled after retries ({message})",
            where=where,
            fix="lower the request rate or raise the capacity; SKAAL_AWS_MAX_ATTEMPTS "
            "sets how many times a call is tried, SKAAL_CALL_DEADLINE for how long",
        )
    return AwsRequestError(f"{what} failed: {code}: {message}", where=where)
