"""What the Google Cloud backends share: names, configuration, threads, errors.

The Google clients (``google-cloud-firestore``, ``google-cloud-storage``,
``google-cloud-pubsub``) are synchronous.  Every call goes through
:class:`Offload`, a bounded thread pool owned by one provider, so the event
loop never waits on the network and at most ``workers`` calls are in flight
per provider.

Retries and deadlines follow the shared policy (:mod:`skaal.runtime.retry`):
each call names its :class:`~skaal.runtime.retry.Safety` and has one
deadline (``SKAAL_CALL_DEADLINE``, default 10 s), and :func:`classify` reads
Google's failures -- a refused connection or a quota rejection was not
applied (``NOT_SENT``); a gRPC ``DEADLINE_EXCEEDED``, an ``UNAVAILABLE``
after the connection was made, an HTTP read timeout or a 5xx may have been
(``UNKNOWN``).  The clients' own retries are turned off: they re-send
``UNAVAILABLE`` commits (a Firestore ``Increment`` applied twice) and wait up
to two minutes.  A call's code passes :func:`rpc` (``retry=None`` and the
time left as ``timeout``) to each client method, so a worker thread stops
at the caller's deadline too, however many requests the call makes.  What
still fails is turned into a :class:`GcpBackendError` naming the resource
and the operation.

Configuration comes from the provider's environment (``BackendSettings.env``):

* ``GOOGLE_CLOUD_PROJECT`` -- the project (required outside an emulator);
* ``FIRESTORE_EMULATOR_HOST`` / ``STORAGE_EMULATOR_HOST`` -- talk to a local
  emulator with anonymous credentials instead of Google;
* ``SKAAL_GCP_NAME_PREFIX`` -- prepended to every physical name, to keep
  several deployments (a stage, a test run) of one app apart.

Physical names come from :func:`gcp_name`, one rule satisfying the
strictest of the services: lowercase letters, digits and hyphens, 3 to 63
characters (GCS buckets), starting with a letter and not with ``goog``
(Pub/Sub topics, GCS buckets) -- otherwise ``s-`` is put in front.  It follows the
same rule as :func:`skaal.plan.naming.physical_name`, whose service list
covers AWS only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from skaal.errors import SkaalRuntimeError
from skaal.runtime import retry
from skaal.runtime.retry import Failure, RetryPolicy, Safety

if TYPE_CHECKING:
    from skaal.blueprint.model import Kind
    from skaal.declare.native import Native

__all__ = [
    "EMULATOR_PROJECT",
    "GcpBackendError",
    "Offload",
    "classify",
    "ensure_pubsub_topic",
    "gcp_name",
    "gcp_native",
    "gcp_project",
    "rpc",
]

T = TypeVar("T")

EMULATOR_PROJECT = "skaal-local"
"""The project used against an emulator when none is configured."""

_UNSAFE = re.compile(r"[^a-z0-9]+")
_MAX_NAME = 63


class GcpBackendError(SkaalRuntimeError):
    """A Google Cloud call failed after the client's own retries."""


def gcp_name(app: str, resource: str, *, prefix: str = "") -> str:
    """The physical name of ``resource`` of ``app`` (a bucket or a collection id)."""
    parts = [p for p in (prefix, app, resource) if p]
    name = _UNSAFE.sub("-", "-".join(parts).lower()).strip("-") or "skaal"
    if not name[0].isalpha() or name.startswith("goog"):
        name = "s-" + name
    while len(name) < 3:
        name += "-0"
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: _MAX_NAME - 9].rstrip('-')}-{digest}"
    return name


def gcp_native(
    client: Any, implementation: str, kind: Kind, resource: str, **names: str
) -> Native[Any]:
    """What ``native(...)`` returns for a Google store: its client, ``names`` by role."""
    from skaal.declare.native import Native

    name = next(iter(names.values()))
    return Native(
        client, backend=implementation, resource=resource, kind=kind, name=name, names=names
    )


def gcp_project(env: Mapping[str, str], *, emulator: bool, service: str) -> str:
    """The project to use; a clear error when there is none and no emulator."""
    project = env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCLOUD_PROJECT")
    if project:
        return project
    if emulator:
        return EMULATOR_PROJECT
    raise GcpBackendError(
        f"{service} needs a Google Cloud project and none is configured",
        fix="set GOOGLE_CLOUD_PROJECT (or point "
        f"{'FIRESTORE' if service == 'Firestore' else 'STORAGE'}_EMULATOR_HOST at an emulator)",
    )


def ensure_pubsub_topic(
    publisher: Any, path: str, *, resource: str, create: bool, adopted: bool = False
) -> None:
    """Check that the Pub/Sub topic ``path`` of ``resource`` exists; create it if ``create``.

    Blocking (call it through an :class:`Offload`).  Topics are created only
    against an emulator; in the cloud the deploy stage creates them.
    ``adopted``: ``resource`` names an existing topic (``existing=``), which
    is never created.
    """
    from google.api_core import exceptions as gexc

    try:
        publisher.get_topic(request={"topic": path}, **rpc())
    except gexc.NotFound:
        if adopted:
            raise GcpBackendError(
                f"Pub/Sub topic {path!r} does not exist, and {resource} adopts it "
                "(existing=): Skaal never creates it",
                where=resource,
                fix="name a topic this project has in existing=, or remove existing= to have "
                "the deployment create one",
            ) from None
        if not create:
            raise GcpBackendError(
                f"Pub/Sub topic {path!r} of {resource} does not exist",
                where=resource,
                fix="deploy the app first: the deploy stage creates its topics",
                command="skaal deploy",
            ) from None
        with contextlib.suppress(gexc.AlreadyExists):
            publisher.create_topic(request={"name": path}, **rpc())


_local = threading.local()
_NOT_CONNECTED = ("failed to connect", "connection refused", "name resolution")


def rpc() -> dict[str, Any]:
    """``retry=None`` and the time left of the current call, for one client method.

    Called on a worker thread running an :meth:`Offload.run` function; raises
    ``DeadlineExceeded`` (an ``UNKNOWN`` failure) once that call's deadline
    has passed, so a function making many requests stops at the deadline.
    """
    from google.api_core import exceptions as gexc

    end: float | None = getattr(_local, "end", None)
    if end is None:
        return {"retry": None}
    left = end - time.monotonic()
    if left <= 0:
        raise gexc.DeadlineExceeded("the call's deadline passed")  # type: ignore[no-untyped-call]
    return {"retry": None, "timeout": left}


def left() -> float | None:
    """Seconds left of the current call's deadline (``None`` outside :meth:`Offload.run`)."""
    end: float | None = getattr(_local, "end", None)
    return None if end is None else max(0.0, end - time.monotonic())


def classify(exc: BaseException) -> Failure | None:
    """What a Google client failure says about its request (see the module docstring)."""
    import requests
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        return classify(exc.cause)
    if isinstance(exc, gexc.TooManyRequests | gexc.ResourceExhausted | gexc.Aborted):
        return Failure.NOT_SENT  # rejected (quota, contention) without being applied
    if isinstance(exc, gexc.ServiceUnavailable):
        text = str(exc).lower()
        return Failure.NOT_SENT if any(t in text for t in _NOT_CONNECTED) else Failure.UNKNOWN
    if isinstance(exc, gexc.DeadlineExceeded | gexc.ServerError | gexc.Unknown):
        return Failure.UNKNOWN
    if isinstance(exc, requests.exceptions.ConnectTimeout | ConnectionRefusedError):
        return Failure.NOT_SENT
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        return Failure.NOT_SENT if any(t in text for t in _NOT_CONNECTED) else Failure.UNKNOWN
    if isinstance(exc, requests.exceptions.Timeout | ConnectionError | TimeoutError):
        return Failure.UNKNOWN  # TimeoutError: a publish future that did not resolve in time
    if type(exc).__name__ == "PublishToPausedOrderingKeyException":
        return Failure.NOT_SENT  # refused by the client after an earlier failure (now resumed)
    return None


def _never(exc: BaseException) -> Failure | None:
    return None


class Offload:
    """A bounded thread pool for blocking client calls, with retries, a deadline, error mapping."""

    def __init__(self, name: str, *, workers: int = 8, policy: RetryPolicy | None = None) -> None:
        self._name = name
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self.policy = policy or RetryPolicy()

    def open(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def run(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        where: str,
        safety: Safety,
        wait: float = 0.0,
        retried: bool = True,
    ) -> T:
        """``fn()`` on a worker thread under the retry policy; Google errors mapped.

        ``safety`` says what may be retried; ``wait`` is how long the call
        may wait on purpose (a pull), added to the deadline; ``retried=False``
        gives the deadline only (a step of an upload stream).  ``fn`` passes
        :func:`rpc` to its client methods.
        """
        pool = self._pool
        if pool is None:
            raise GcpBackendError(
                f"{where} was used after its {self._name} provider was closed",
                where=where,
                fix="open the runtime (async with Runtime(...)) before using the resource",
            )
        from google.api_core import exceptions as gexc

        policy = self.policy
        if wait:
            policy = msgspec.structs.replace(policy, deadline=policy.deadline + wait)
        end = time.monotonic() + policy.deadline
        loop = asyncio.get_running_loop()

        def bounded() -> T:
            _local.end = end
            try:
                return fn()
            finally:
                _local.end = None

        try:
            return await retry.call(
                lambda: loop.run_in_executor(pool, bounded),
                resource=where,
                operation=f"{self._name}: {what}",
                safety=safety,
                classify=classify if retried else _never,
                policy=policy,
            )
        except SkaalRuntimeError:
            raise
        except gexc.GoogleAPICallError as exc:
            raise GcpBackendError(
                f"{self._name} failed to {what} for {where}: {exc.message or exc}",
                where=where,
                fix=_fix(exc),
            ) from exc
        except gexc.RetryError as exc:
            raise GcpBackendError(
                f"{self._name} did not answer in time to {what} for {where}: {exc}",
                where=where,
                fix="check that the service (or its emulator) is reachable and retry",
            ) from exc
        except OSError as exc:  # requests' connection errors and timeouts
            raise GcpBackendError(
                f"{self._name} could not be reached to {what} for {where}: {exc}",
                where=where,
                fix="check that the service (or its emulator) is reachable and retry",
            ) from exc


def _fix(exc: Exception) -> str:
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.PermissionDenied | gexc.Unauthenticated | gexc.Forbidden):
        return "grant the runtime's service account access, or check the credentials"
    if isinstance(exc, gexc.NotFound):
        return "deploy the app first (its storage must exist), or check the project and names"
    if isinstance(exc, gexc.InvalidArgument | gexc.BadRequest):
        return "the request was rejected as invalid; check the sizes and names involved"
    return "check that the service (or its emulator) is reachable and retry"
