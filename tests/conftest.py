"""Shared pytest configuration: tests mirror the pipeline stages, one folder each.

Server-backed tests skip without their server, naming the ``.ci/services/``
script that starts it; with ``SKAAL_REQUIRE_SERVICES=1`` (set by ``.ci/run``)
those skips fail instead (:mod:`tests._require_services`).

Every test starts outside any environment: ``SKAAL_ENV`` (the environment the
commands and the runtime work in, :mod:`skaal.envs`) is removed from the
process's variables, whether the developer's shell set it or a test loading an
artifact exported it.
"""

from __future__ import annotations

import pytest

from tests._require_services import (  # noqa: F401 - hooks, registered by being here
    pytest_make_collect_report,
    pytest_runtest_makereport,
)


@pytest.fixture(autouse=True)
def _outside_any_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKAAL_ENV", raising=False)
