"""How many messages a Pub/Sub queue holds: Cloud Monitoring's backlog estimate.

Pub/Sub has no API answering "how many messages are in this subscription".
The count it publishes is the Cloud Monitoring metric
``pubsub.googleapis.com/subscription/num_undelivered_messages``: the
messages not yet acknowledged (in flight or not), sampled every 60 seconds
and visible up to a few minutes later.  :class:`MonitoringBacklog` reads the
latest point of each subscription asked for (one ``timeSeries.list`` call
over the last ten minutes, the Monitoring REST API with the runtime's
default credentials, which need ``roles/monitoring.viewer``) and adds them
up.  It is an estimate, and the queue's ``depth`` says so in its docstring.

The emulator has no Monitoring: :class:`NoBacklog` answers every call with
a :class:`~skaal.runtime.backends.gcp_common.GcpBackendError` rather than a
number that would look real.

A backlog is a plain callable (subscription ids → count) so the queue is
tested with any of them; the HTTP session is injected the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from skaal.runtime.backends.gcp_common import GcpBackendError

__all__ = ["METRIC", "Backlog", "MonitoringBacklog", "NoBacklog", "latest_total"]

METRIC = "pubsub.googleapis.com/subscription/num_undelivered_messages"
_API = "https://monitoring.googleapis.com/v3/projects/{project}/timeSeries"
_WINDOW_S = 600
_SCOPE = "https://www.googleapis.com/auth/monitoring.read"


class Backlog(Protocol):
    def __call__(self, subscriptions: Sequence[str]) -> int:
        """Unacknowledged messages of these subscriptions (ids, not paths)."""
        ...


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def latest_total(response: dict[str, Any]) -> int:
    """The sum over a ``timeSeries.list`` answer of each series' newest point."""
    total = 0
    for series in response.get("timeSeries", []):
        points = series.get("points") or []
        if points:  # newest first, as the API returns them
            value = points[0].get("value", {})
            total += int(value.get("int64Value", value.get("doubleValue", 0)))
    return total


class MonitoringBacklog:
    """The backlog estimate of Cloud Monitoring for subscriptions of ``project``."""

    def __init__(
        self,
        project: str,
        *,
        session: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._project = project
        self._session_factory = session or _default_session
        self._session: Any = None
        self._clock = clock

    def __call__(self, subscriptions: Sequence[str]) -> int:
        if self._session is None:
            self._session = self._session_factory()
        ids = ", ".join(f'"{s}"' for s in subscriptions)
        end = self._clock()
        where = f"resource.labels.subscription_id = one_of({ids})"
        params = {
            "filter": f'metric.type = "{METRIC}" AND {where}',
            "interval.startTime": _rfc3339(end - _WINDOW_S),
            "interval.endTime": _rfc3339(end),
            "view": "FULL",
        }
        url = _API.format(project=self._project)
        total = 0
        while True:
            response = self._session.get(url, params=params, timeout=30)
            if response.status_code != 200:
                raise GcpBackendError(
                    f"Cloud Monitoring answered {response.status_code} for the backlog of "
                    f"{', '.join(subscriptions)}: {response.text[:300]}",
                    where=", ".join(subscriptions),
                    fix="grant the runtime's service account roles/monitoring.viewer",
                )
            body = response.json()
            total += latest_total(body)
            token = body.get("nextPageToken")
            if not token:
                return total
            params["pageToken"] = token


def _default_session() -> Any:
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=[_SCOPE])
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]


class NoBacklog:
    """The emulator's answer: there is no backlog metric to read."""

    def __call__(self, subscriptions: Sequence[str]) -> int:
        raise GcpBackendError(
            "the Pub/Sub emulator cannot count the messages of "
            f"{', '.join(subscriptions)}: a Pub/Sub queue's depth is Cloud Monitoring's "
            "backlog estimate, which the emulator does not have",
            where=", ".join(subscriptions),
            fix="read depth on Google Cloud, or count messages in the test itself",
        )
