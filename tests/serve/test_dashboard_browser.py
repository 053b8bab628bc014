"""The dashboard in a real browser: headless Chromium against ``skaal run examples/jobs``.

Every view is loaded and clicked through; a dead letter is redriven, a
schedule is run now, a request shows its storage operations, and the page
logs no console error and throws no exception on the way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._browser import CHROMIUM, Browser
from tests._server import copy_example, eventually, skaal_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless chromium is not installed (see .ci/services/05-chromium.sh)",
    ),
]

ENV = {"WEBHOOK_TOKEN": "dev", "SKAAL_QUEUE_RETRY_DELAY": "0.05"}


def test_every_view_works_in_a_browser(tmp_path: Path) -> None:
    project = copy_example("jobs", tmp_path)
    with skaal_run(project, "app.py", env=ENV) as client:
        assert client.post("/fn/submit", json={"job": {"id": "j1", "payload": "ok"}}).is_success
        assert client.post("/fn/submit", json={"job": {"id": "j2", "payload": "fail"}}).is_success
        eventually(
            lambda: client.get("/_skaal/api/queues").json()[0]["dead_letters"] == 1,
            what="the failing job to be dead-lettered",
        )
        base = str(client.base_url)
        with Browser.start(tmp_path) as browser:
            browser.goto(f"{base}/_skaal/#plan")
            browser.wait_for("document.body.dataset.ready === 'plan'")
            assert browser.evaluate("document.getElementById('app-title').textContent") == "jobs"
            browser.wait_for("document.getElementById('graph-served').naturalWidth > 0")
            nodes = browser.evaluate(
                "[...document.querySelectorAll('#plan-nodes tr[data-node]')]"
                ".map(r => r.dataset.node)"
            )
            assert {"Work", "Results", "run_job", "hourly_report"} <= set(nodes)
            browser.evaluate(
                "(() => { const s = document.getElementById('compare'); s.value = 'aws';"
                " s.dispatchEvent(new Event('change')); })()"
            )
            browser.wait_for("!document.getElementById('plan-other').hidden")
            browser.wait_for("document.getElementById('graph-other').naturalWidth > 0")
            assert "aws: $" in browser.evaluate(
                "document.getElementById('plan-totals').textContent"
            )

            browser.click("nav a[data-view=data]")
            browser.wait_for("document.body.dataset.ready === 'data'")
            browser.click("#resources a[data-resource=Results]")
            browser.wait_for("document.querySelectorAll('#items tr').length > 1")
            assert "j1" in browser.evaluate("document.getElementById('items').textContent")

            browser.click("#resources a[data-resource=Work]")
            browser.wait_for("document.querySelector('#dead tr[data-dead] .redrive')")
            assert "asked to fail" in browser.evaluate(
                "document.getElementById('dead').textContent"
            )
            browser.click("#dead .redrive")
            browser.wait_for("!document.getElementById('confirm').hidden")
            browser.click("#confirm-yes")
            browser.wait_for("document.getElementById('toast').textContent.startsWith('redriven')")
            redriven = browser.evaluate("document.getElementById('toast').textContent")

            browser.click("nav a[data-view=schedules]")
            browser.wait_for("document.body.dataset.ready === 'schedules'")
            assert "hourly_report" in browser.evaluate(
                "document.getElementById('schedules').textContent"
            )
            browser.click("tr[data-schedule=hourly_report] .run-now")
            browser.click("#confirm-yes")
            browser.wait_for(
                "document.querySelector('tr[data-schedule=hourly_report] .last-run')"
                ".textContent.startsWith('ok')"
            )
            assert "run_job" in browser.evaluate("document.getElementById('consumers').textContent")

            browser.click("nav a[data-view=requests]")
            browser.wait_for("document.body.dataset.ready === 'requests'")
            browser.wait_for("document.querySelector('tr.request[data-function=submit]')")
            browser.click("tr.request[data-function=submit]")
            assert "send" in browser.evaluate("document.getElementById('requests').textContent")
            assert browser.errors == []

    # after the page's actions: the redriven message is a new message, the schedule ran
    assert redriven.startswith("redriven as ")


def test_a_failed_api_call_shows_a_message_not_a_console_error(tmp_path: Path) -> None:
    project = copy_example("jobs", tmp_path)
    with skaal_run(project, "app.py", env=ENV) as client:
        base = str(client.base_url)
        with Browser.start(tmp_path) as browser:
            browser.goto(f"{base}/_skaal/#data/map/Nothing")
            browser.wait_for("document.body.dataset.ready === 'data'")
            browser.wait_for("!document.getElementById('toast').hidden")
            assert "no map called 'Nothing'" in browser.evaluate(
                "document.getElementById('toast').textContent"
            )
            # the browser reports the 404 itself; the page adds nothing to it
            assert all("404" in e for e in browser.errors)
