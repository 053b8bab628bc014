"""Shared pytest configuration: tests mirror the pipeline stages, one folder each.

Server-backed tests skip without their server, naming the ``.ci/services/``
script that starts it; with ``SKAAL_REQUIRE_SERVICES=1`` (set by ``.ci/run``)
those skips fail instead (:mod:`tests._require_services`).
"""

from tests._require_services import (  # noqa: F401 - hooks, registered by being here
    pytest_make_collect_report,
    pytest_runtest_makereport,
)
