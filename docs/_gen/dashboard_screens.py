"""Screenshots of the dashboard for ``docs/dashboard.md``, taken from a real run.

Runs ``skaal run shop/app.py:app`` on a copy of ``examples/`` (a free port,
its data in a temporary directory), makes a few calls so every view has
something to show, then opens each view in headless Chromium and writes
``docs/img/dashboard-<view>.png``::

    python docs/_gen/dashboard_screens.py

Needs ``chromium`` (``.ci/services/05-chromium.sh``) and the ``dev`` extra
(``websocket-client``).  Review the pictures like any other change.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests._browser import Browser  # noqa: E402
from tests._server import skaal_run  # noqa: E402

OUT = ROOT / "docs" / "img"
CONFIRM = {"x-skaal-confirm": "yes"}
PRODUCTS = [
    {"sku": "mug", "name": "Mug", "category": "kitchen", "price_cents": 1200},
    {"sku": "tea", "name": "Green tea", "category": "food", "price_cents": 650},
    {"sku": "pot", "name": "Tea pot", "category": "kitchen", "price_cents": 3400},
]
VIEWS = {
    "plan": ("#plan", "document.getElementById('graph-other').naturalWidth > 0"),
    "data": (
        "#data/collection/catalog.Products",
        "document.querySelectorAll('#items tr').length > 1",
    ),
    "queue": ("#data/queue/billing.Payments", "document.getElementById('queue-stats')"),
    "schedules": ("#schedules", "document.querySelector('.last-run')"),
    "requests": ("#requests", "document.querySelector('tr.request')"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "examples"
        shutil.copytree(ROOT / "examples", project)
        with skaal_run(project, "shop/app.py:app", env={"STRIPE_KEY": "dev"}) as client:
            for product in PRODUCTS:
                client.put(
                    "/_skaal/api/collections/catalog.Products",
                    json={"document": product},
                    headers=CONFIRM,
                ).raise_for_status()
            for owner, skus in (("ada", ["mug", "tea"]), ("grace", ["pot"])):
                for sku in skus:
                    client.post("/fn/cart.add_item", json={"owner": owner, "sku": sku})
            client.post("/fn/billing.checkout", json={"owner": "ada"}).raise_for_status()
            client.post(
                "/_skaal/api/schedules/billing.nightly_report/run", headers=CONFIRM
            ).raise_for_status()
            base = str(client.base_url)
            with Browser.start(Path(tmp), width=1500, height=900) as browser:
                for name, (fragment, ready) in VIEWS.items():
                    view = fragment[1:].split("/")[0]
                    browser.goto(f"{base}/_skaal/{fragment}")
                    browser.wait_for(f"document.body.dataset.ready === '{view}'")
                    if name == "plan":
                        browser.evaluate(
                            "(() => { const s = document.getElementById('compare');"
                            " s.value = 'aws'; s.dispatchEvent(new Event('change')); })()"
                        )
                    browser.wait_for(ready)
                    if name == "requests":
                        browser.click("tr.request[data-function='billing.checkout']")
                    (OUT / f"dashboard-{name}.png").write_bytes(browser.screenshot())
                    print(f"wrote docs/img/dashboard-{name}.png")
                if browser.errors:
                    raise SystemExit(f"the page reported errors: {browser.errors}")


if __name__ == "__main__":
    main()
