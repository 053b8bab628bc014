"""One asynchronous door to boto3, shared by the DynamoDB, S3, SQS and SNS backends.

boto3 is synchronous.  Every call goes through :meth:`AwsSession.call`, which
runs it on a private thread pool (``SKAAL_AWS_MAX_CONCURRENCY`` threads,
default 32), so the event loop never blocks and no more than that many calls
are in flight; botocore's connection pool is sized to match.

Configuration comes from the backend settings (the plan's binding region) and
the environment, read once:

- ``SKAAL_AWS_ENDPOINT_URL``: one endpoint for every service (an emulator such
  as ``moto_server``); unset means the real AWS endpoints;
- the region: the plan binding's, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``,
  else ``us-east-1``;
- credentials: the usual boto3 chain (``AWS_ACCESS_KEY_ID``..., profiles, roles),
  taken from the settings' environment when present there;
- ``SKAAL_CALL_DEADLINE`` (seconds, default 10): one deadline for each
  call, retries included (:mod:`skaal.runtime.retry`); past it the call
  raises :class:`~skaal.runtime.errors.DeadlineExceededError` naming the
  resource, the operation and the deadline.  botocore's read timeout is
  the deadline too, so a worker thread never waits on a frozen server
  much longer than its caller does;
- ``SKAAL_AWS_MAX_ATTEMPTS`` (default 5): at most that many attempts per call;
- ``SKAAL_AWS_CREATE_TABLES=1``: backends create missing tables, buckets and
  queues themselves.  For tests and emulators only -- in the cloud the
  deployment creates them, and a missing one is an error naming the fix;
- ``SKAAL_AWS_NAME_PREFIX``: see :mod:`skaal.plan.naming` (a resource
  adopting an existing table or bucket keeps that one's name).

Retries: botocore's own are off (its *standard* mode re-sends a request
after a read timeout or a 5xx, which applies an ``UpdateItem ADD`` twice).
Every call names its :class:`~skaal.runtime.retry.Safety` instead -- a read,
an idempotent write (a whole-item put, a delete by receipt handle, a send
carrying a deduplication id), or an unsafe one (an atomic counter, a
conditional write or a delete whose answer would change, a topic publish)
-- and the shared
policy retries with jittered back-off only what that allows, reading
failures with :func:`~skaal.runtime.backends.aws_errors.classify`.  An unsafe
call that failed after it may have reached AWS raises
:class:`~skaal.runtime.errors.OutcomeUnknownError` rather than going again.

Errors leave as :mod:`~skaal.runtime.backends.aws_errors` exceptions, except
the error codes a caller names in ``allow``, which it handles itself.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from skaal.errors import SkaalRuntimeError
from skaal.plan.naming import Service, physical_name
from skaal.runtime import retry
from skaal.runtime.backends.aws_errors import classify, error_code, translate
from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Failure, RetryPolicy, Safety

if TYPE_CHECKING:
    from skaal.blueprint.model import Kind
    from skaal.declare.native import Native

__all__ = ["LONG_POLL", "AwsProvider", "AwsSession"]

T = TypeVar("T")

LONG_POLL = 20
"""SQS's longest long poll, in seconds."""

_CREDENTIAL_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SkaalRuntimeError(
            f"{name}={text!r} is not a positive whole number",
            where=name,
            fix=f"unset {name} (default {default}) or set it to e.g. {default}",
        )
    return value


class AwsSession:
    """boto3 clients for one runtime, and the thread pool their calls run on."""

    def __init__(self, settings: BackendSettings) -> None:
        env = settings.env
        self.app = settings.name_base
        self.endpoint_url = env.get("SKAAL_AWS_ENDPOINT_URL") or None
        self.region = (
            settings.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        )
        self.create_missing = env.get("SKAAL_AWS_CREATE_TABLES") == "1"
        self.name_prefix = env.get("SKAAL_AWS_NAME_PREFIX", "")
        self.adopted = dict(settings.adopted)
        self.max_attempts = _positive(env, "SKAAL_AWS_MAX_ATTEMPTS", 5)
        self.policy = msgspec.structs.replace(RetryPolicy.from_env(env), attempts=self.max_attempts)
        self.concurrency = _positive(env, "SKAAL_AWS_MAX_CONCURRENCY", 32)
        self._credentials = {k: env[k] for k in _CREDENTIAL_KEYS if env.get(k)}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def name(self, resource: str, *, service: Service, suffix: str = "") -> str:
        """The physical name of ``resource`` (see :func:`skaal.plan.naming.physical_name`).

        A resource adopting an existing table or bucket has that one's name.
        """
        adopted = self.adopted.get(resource)
        if adopted is not None and not suffix:
            return adopted
        return physical_name(
            self.app, resource, service=service, suffix=suffix, prefix=self.name_prefix
        )

    def client(self, service: str, *, long_poll: bool = False) -> Any:
        """The boto3 client of ``service`` (created once, thread-safe).

        ``long_poll``: a client whose read timeout also covers SQS's longest
        long poll (20 s), for calls that wait on purpose.
        """
        name = f"{service}+poll" if long_poll else service
        with self._lock:
            found = self._clients.get(name)
            if found is None:
                found = self._clients[name] = self._make(service, long_poll=long_poll)
            return found

    def native(
        self, client: Any, implementation: str, kind: Kind, resource: str, **names: str
    ) -> Native[Any]:
        """What ``native(...)`` returns for a store: its boto3 ``client``, ``names`` by role."""
        from skaal.declare.native import Native

        name = next(iter(names.values()))
        return Native(
            client, backend=implementation, resource=resource, kind=kind, name=name, names=names
        )

    def _make(self, service: str, *, long_poll: bool) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=self._credentials.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self._credentials.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=self._credentials.get("AWS_SESSION_TOKEN"),
            profile_name=self._credentials.get("AWS_PROFILE"),
            region_name=self.region,
        )
        deadline = self.policy.deadline
        config = Config(
            # no retries in botocore: the shared policy decides, per call (module docstring)
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=self.concurrency,
            connect_timeout=min(5.0, deadline),
            read_timeout=max(1, math.ceil(deadline)) + (LONG_POLL if long_poll else 0),
            s3={"addressing_style": "path"} if self.endpoint_url else None,
        )
        return session.client(service, endpoint_url=self.endpoint_url, config=config)

    async def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        where: str,
        safety: Safety,
        allow: Collection[str] = (),
        wait: float = 0.0,
    ) -> T:
        """Run the blocking boto3 call ``fn`` off the loop, under the retry policy.

        ``what`` describes the operation and ``where`` the resource, for the
        message; ``safety`` says what may be retried (module docstring).
        ``wait`` is how long the call may legitimately wait on the server (a
        long poll, a table being created): it is added to the deadline.  A
        ``ClientError`` whose code is in ``allow`` is re-raised as is; other
        botocore errors are translated.
        """
        return await self._run(fn, what=what, where=where, safety=safety, allow=allow, wait=wait)

    async def read(self, fn: Callable[[], T], *, what: str, where: str) -> T:
        """``fn`` under the deadline only, never retried (a read from an open stream)."""
        return await self._run(fn, what=what, where=where, safety=Safety.READ, retried=False)

    async def _run(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        where: str,
        safety: Safety,
        allow: Collection[str] = (),
        retried: bool = True,
        wait: float = 0.0,
    ) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="skaal-aws")
        pool = self._pool
        loop = asyncio.get_running_loop()

        def reading(exc: BaseException) -> Failure | None:
            return classify(exc) if retried else None

        try:
            return await retry.call(
                lambda: loop.run_in_executor(pool, fn),
                resource=where,
                operation=what,
                safety=safety,
                classify=reading,
                policy=self.policy
                if not wait
                else msgspec.structs.replace(self.policy, deadline=self.policy.deadline + wait),
            )
        except ClientError as exc:
            if error_code(exc) in allow:
                raise
            raise translate(exc, what=what, where=where, endpoint=self.endpoint_url) from exc
        except BotoCoreError as exc:
            raise translate(exc, what=what, where=where, endpoint=self.endpoint_url) from exc

    async def close(self) -> None:
        """Stop the thread pool and close the HTTP connections."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


class AwsProvider(UnsupportedKinds):
    """A provider of an AWS implementation: one :class:`AwsSession`, closed with the runtime.

    Subclasses name their ``implementation`` and define the kinds they serve,
    building each store on ``self.aws``.
    """

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.aws = AwsSession(settings)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        await self.aws.close()
