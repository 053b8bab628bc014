"""What the Google Cloud backends share: names, configuration, threads, errors.

The Google clients (``google-cloud-firestore``, ``google-cloud-storage``)
are synchronous.  Every call goes through :class:`Offload`, a bounded thread
pool owned by one provider, so the event loop never waits on the network and
at most ``workers`` calls are in flight per provider.  The clients retry
transient failures (``UNAVAILABLE``, ``DEADLINE_EXCEEDED``, HTTP 5xx) with
bounded exponential back-off themselves; what still fails is turned into a
:class:`GcpBackendError` naming the resource and the operation.

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
same rule as :func:`skaal.runtime.naming.physical_name`, whose service list
covers AWS only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from skaal.errors import SkaalRuntimeError

__all__ = [
    "EMULATOR_PROJECT",
    "GcpBackendError",
    "Offload",
    "ensure_pubsub_topic",
    "gcp_name",
    "gcp_project",
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


def ensure_pubsub_topic(publisher: Any, path: str, *, resource: str, create: bool) -> None:
    """Check that the Pub/Sub topic ``path`` of ``resource`` exists; create it if ``create``.

    Blocking (call it through an :class:`Offload`).  Topics are created only
    against an emulator; in the cloud the deploy stage creates them.
    """
    from google.api_core import exceptions as gexc

    try:
        publisher.get_topic(request={"topic": path})
    except gexc.NotFound:
        if not create:
            raise GcpBackendError(
                f"Pub/Sub topic {path!r} of {resource} does not exist",
                where=resource,
                fix="deploy the app first: the deploy stage creates its topics",
                command="skaal deploy",
            ) from None
        with contextlib.suppress(gexc.AlreadyExists):
            publisher.create_topic(request={"name": path})


class Offload:
    """A bounded thread pool for blocking client calls, with error mapping."""

    def __init__(self, name: str, *, workers: int = 8) -> None:
        self._name = name
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None

    def open(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def run(self, fn: Callable[[], T], *, what: str, where: str) -> T:
        """``fn()`` on a worker thread; Google errors become :class:`GcpBackendError`."""
        if self._pool is None:
            raise GcpBackendError(
                f"{where} was used after its {self._name} provider was closed",
                where=where,
                fix="open the runtime (async with Runtime(...)) before using the resource",
            )
        from google.api_core import exceptions as gexc

        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
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


def _fix(exc: Exception) -> str:
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.PermissionDenied | gexc.Unauthenticated | gexc.Forbidden):
        return "grant the runtime's service account access, or check the credentials"
    if isinstance(exc, gexc.NotFound):
        return "deploy the app first (its storage must exist), or check the project and names"
    if isinstance(exc, gexc.InvalidArgument | gexc.BadRequest):
        return "the request was rejected as invalid; check the sizes and names involved"
    return "check that the service (or its emulator) is reachable and retry"
