"""A pytest plugin: with ``SKAAL_REQUIRE_SERVICES=1``, a missing service fails, not skips.

Tests backed by a real server (Redis, PostgreSQL, moto, the GCP emulators,
headless Chromium) skip when the variable naming it is unset, so a
developer without the servers can still run the suite.  In CI those skips
would hide a broken service script (hundreds of silent skips), so
``.ci/run`` exports ``SKAAL_REQUIRE_SERVICES=1`` and this plugin turns every
*service skip* into a failure.

A service skip is one whose reason names the script that starts the
service, ``.ci/services/<script>.sh`` -- every such skip in the suite does
(``tests/test_require_services.py`` checks it).  Other skips (and xfails)
are left alone.  The plugin is loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

__all__ = [
    "REQUIRE_SERVICES",
    "SERVICE_SCRIPTS",
    "pytest_make_collect_report",
    "pytest_runtest_makereport",
]

REQUIRE_SERVICES = "SKAAL_REQUIRE_SERVICES"
#: The folder every service skip names.
SERVICE_SCRIPTS = ".ci/services/"


def _required() -> bool:
    return os.environ.get(REQUIRE_SERVICES, "").strip() not in ("", "0")


def _fail_service_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Turn ``report`` into a failure if it is a service skip and services are required."""
    if not report.skipped or hasattr(report, "wasxfail") or not _required():
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    if SERVICE_SCRIPTS not in reason:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"{reason}\n{REQUIRE_SERVICES}=1: a service these tests need is missing, so they fail "
        f"instead of skipping; check the script in {SERVICE_SCRIPTS} that starts it"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any]:
    outcome = yield
    _fail_service_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any]:
    outcome = yield
    _fail_service_skip(outcome.get_result())
