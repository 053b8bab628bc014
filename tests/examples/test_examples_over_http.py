"""The examples not covered by ``tests/cli/test_run_e2e.py``, served by ``skaal run`` over HTTP.

Each test copies the example into a temporary project, runs it the way its
README says (a subprocess on a free port, :mod:`tests._server`), calls it
with the README's requests, and restarts it to check what its durability
promises: hello's counter survives, session_cache's sessions do not.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests._server import EXAMPLES, copy_example, eventually, skaal_run

pytestmark = pytest.mark.slow


def test_hello_counts_greetings_across_restarts(tmp_path: Path) -> None:
    project = copy_example("hello", tmp_path)
    with skaal_run(project, "app.py") as client:
        first = client.post("/fn/hello", json={"name": "ada"})
        assert first.status_code == 200, first.text
        assert first.json() == "Hello, ada! (greeting #1)"
        assert client.post("/fn/hello", json={"name": "ada"}).json() == "Hello, ada! (greeting #2)"
        assert client.post("/fn/hello", json={}).json() == "Hello, world! (greeting #1)"
    with skaal_run(project, "app.py") as client:
        assert client.post("/fn/hello", json={"name": "ada"}).json() == "Hello, ada! (greeting #3)"


def test_session_cache_sessions_expire_and_do_not_survive_a_restart(tmp_path: Path) -> None:
    project = copy_example("session_cache", tmp_path)
    with skaal_run(project, "app.py") as client:
        token = client.post("/fn/start_session", json={"user": "ada", "roles": ["admin"]}).json()
        assert isinstance(token, str)
        assert len(token) >= 16
        session = client.post("/fn/read_session", json={"token": token})
        assert session.json() == {"user": "ada", "roles": ["admin"]}
        assert client.post("/fn/end_session", json={"token": token}).json() is True
        assert client.post("/fn/end_session", json={"token": token}).json() is False
        assert client.post("/fn/read_session", json={"token": token}).json() is None

        short = client.post("/fn/start_session", json={"user": "bob", "ttl": 0.5}).json()
        started = time.monotonic()
        kept = client.post("/fn/start_session", json={"user": "eve"}).json()
        read = client.post("/fn/read_session", json={"token": short}).json()
        if time.monotonic() - started < 0.5:  # not yet expired, unless this machine stalled
            assert read == {"user": "bob", "roles": []}

        def expired() -> bool:
            return client.post("/fn/read_session", json={"token": short}).json() is None

        assert eventually(expired, what="the 0.5 s session to expire")
        assert client.post("/fn/read_session", json={"token": kept}).json()["user"] == "eve"
    with skaal_run(project, "app.py") as client:
        assert client.post("/fn/read_session", json={"token": kept}).json() is None


def test_shop_serves_its_three_modules(tmp_path: Path) -> None:
    # The shop is a package (``shop.app`` imports ``shop.cart``): copy it as one.
    shutil.copytree(EXAMPLES / "shop", tmp_path / "shop")
    env = {"STRIPE_KEY": "sk_test"}
    with skaal_run(tmp_path, "shop/app.py", env=env) as client:
        document = client.get("/openapi.json").json()
        assert set(document["paths"]) == {"/fn/billing.checkout", "/fn/cart.add_item"}
        cart = client.post("/fn/cart.add_item", json={"owner": "ada", "sku": "tea-1"})
        assert cart.status_code == 200, cart.text
        assert cart.json() == {"owner": "ada", "skus": ["tea-1"]}
        cart = client.post("/fn/cart.add_item", json={"owner": "ada", "sku": "cup-2"})
        assert cart.json() == {"owner": "ada", "skus": ["tea-1", "cup-2"]}
        assert client.post("/fn/billing.checkout", json={"owner": "bob"}).json() is None
    with skaal_run(tmp_path, "shop/app.py", env=env) as client:  # carts are persistent
        order = client.post("/fn/billing.checkout", json={"owner": "ada"}).json()
        assert order["id"].startswith("order-")
        assert order["owner"] == "ada"
        assert order["status"] == "new"
        assert client.post("/fn/billing.checkout", json={"owner": "ada"}).json() is None


def test_flask_legacy_serves_its_flask_views_and_keeps_their_counts(tmp_path: Path) -> None:
    project = copy_example("flask_legacy", tmp_path)
    with skaal_run(project, "app.py") as client:
        assert client.get("/legacy/pages/pricing").json() == {"page": "pricing", "visits": 1}
        imported = client.put("/legacy/pages/about", json={"visits": 41})
        assert imported.json() == {"page": "about", "visits": 41}
        assert client.get("/legacy/pages/about").json() == {"page": "about", "visits": 42}
        assert client.put("/legacy/pages/about", json={"visits": -1}).status_code == 400
        home = client.get("/legacy/")
        assert home.json() == {"visits": 1, "next": "/legacy/pages/about"}
        read = client.post("/fn/page_visits", json={"page": "about"})
        assert read.status_code == 200, read.text
        assert read.json() == 42
        assert client.get("/openapi.json").json()["x-skaal-mounts"] == ["/legacy"]
    with skaal_run(project, "app.py") as client:  # persistent, as declared
        assert client.get("/legacy/pages/about").json()["visits"] == 43
