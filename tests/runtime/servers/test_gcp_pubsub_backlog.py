"""A Pub/Sub queue's depth: Cloud Monitoring's backlog, read through an injected session."""

from __future__ import annotations

from typing import Any

import pytest

from skaal.runtime.backends.gcp_common import GcpBackendError
from skaal.runtime.backends.pubsub_backlog import METRIC, MonitoringBacklog, NoBacklog


class Answer:
    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self._body = body
        self.text = str(body)

    def json(self) -> dict[str, Any]:
        return self._body


class Session:
    """Answers ``get`` with the queued answers, recording each request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, str]]] = []

    def get(self, url: str, *, params: dict[str, str], timeout: float) -> Answer:
        self.requests.append((url, dict(params)))
        return self.answers.pop(0)


def series(subscription: str, *values: int) -> dict[str, Any]:
    return {
        "resource": {"labels": {"subscription_id": subscription}},
        "points": [{"value": {"int64Value": str(v)}} for v in values],
    }


def test_the_newest_point_of_each_subscription_is_summed_across_pages() -> None:
    session = Session(
        Answer(200, {"timeSeries": [series("jobs", 7, 9)], "nextPageToken": "p2"}),
        Answer(200, {"timeSeries": [series("jobs-delayed", 3), {"points": []}]}),
    )
    backlog = MonitoringBacklog("acme", session=lambda: session, clock=lambda: 1_800_000_000.0)
    assert backlog(["jobs", "jobs-delayed"]) == 10
    (url, first), (_, second) = session.requests
    assert url == "https://monitoring.googleapis.com/v3/projects/acme/timeSeries"
    assert first["filter"] == (
        f'metric.type = "{METRIC}" AND '
        'resource.labels.subscription_id = one_of("jobs", "jobs-delayed")'
    )
    assert (first["interval.startTime"], first["interval.endTime"]) == (
        "2027-01-15T07:50:00Z",
        "2027-01-15T08:00:00Z",
    )
    assert "pageToken" not in first
    assert second["pageToken"] == "p2"


def test_no_samples_yet_is_zero() -> None:
    backlog = MonitoringBacklog("acme", session=lambda: Session(Answer(200, {})))
    assert backlog(["jobs"]) == 0


def test_a_refused_read_says_which_role_is_missing() -> None:
    session = Session(Answer(403, {"error": "denied"}))
    backlog = MonitoringBacklog("acme", session=lambda: session)
    with pytest.raises(GcpBackendError, match="answered 403") as err:
        backlog(["jobs"])
    assert "roles/monitoring.viewer" in (err.value.fix or "")


def test_the_emulator_has_no_estimate() -> None:
    with pytest.raises(GcpBackendError, match="emulator cannot count the messages of jobs"):
        NoBacklog()(["jobs"])
