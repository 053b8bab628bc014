"""The gcp artifact's security: one identity per service, scoped secrets, unguessable buckets.

* the ``web`` and ``worker`` Cloud Run services run as two service
  accounts; a secret declared by a function (``secrets=[...]``) is granted
  to and injected into the service of that function only, an app-wide
  secret into both;
* each identity gets the data roles of what its functions use, and its
  service's ``SKAAL_USED_RESOURCES`` names them (the runtime opens those);
* a bucket's name ends with a suffix Google's own account id gives (not
  known before the deploy), the services get the real name, and durable
  buckets are versioned.
"""

from __future__ import annotations

import re
import types

import pytest

from skaal import App, BlobStore, Cron, Secret
from skaal.build.targets.gcp_program import render_program
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.build._pulumi import Run
from tests.build.gcp_mocks import CONFIG, PROJECT, run_program

WEB = f"serviceAccount:till-run@{PROJECT}.iam.gserviceaccount.com"
WORKER = f"serviceAccount:till-work@{PROJECT}.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def till() -> Run:
    app = App("till")
    app.secret("SHARED")
    receipts = types.new_class("Receipts", (BlobStore,))
    app.blob(durability="persistent")(receipts)

    @app.function(secrets=[Secret("CARD_KEY")])
    async def pay(amount: int) -> None:
        await receipts.put(f"{amount}.txt", b"paid")  # type: ignore[attr-defined]

    @app.schedule(Cron("0 3 * * *"), secrets=[Secret("BANK_KEY")])
    async def settle() -> None: ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    config = {**CONFIG, "skaal:SHARED": "s", "skaal:CARD_KEY": "c", "skaal:BANK_KEY": "b"}
    return run_program(render_program(app.blueprint(), plan), config)


def _members(run: Run, secret: str) -> set[str]:
    return {
        r.inputs["member"]
        for r in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
        if r.name.startswith(f"{secret}-access")
    }


def _env(run: Run, service: str) -> dict[str, object]:
    (container,) = run.named(service).inputs["template"]["containers"]
    return {e["name"]: e.get("value", e.get("valueSource")) for e in container["envs"]}


def test_each_service_reads_the_secrets_of_its_functions_only(till: Run) -> None:
    assert _members(till, "CARD_KEY") == {WEB}
    assert _members(till, "BANK_KEY") == {WORKER}
    assert _members(till, "SHARED") == {WEB, WORKER}
    web, worker = _env(till, "web"), _env(till, "worker")
    assert "CARD_KEY" in web
    assert "BANK_KEY" not in web
    assert "BANK_KEY" in worker
    assert "CARD_KEY" not in worker
    assert web["SKAAL_READABLE_SECRETS"] == "CARD_KEY,SHARED"
    assert worker["SKAAL_READABLE_SECRETS"] == "BANK_KEY,SHARED"


def test_each_identity_reaches_the_data_its_functions_use(till: Run) -> None:
    grants = {
        r.inputs["member"]
        for r in till.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == "roles/storage.objectAdmin"
    }
    assert grants == {WEB}  # pay writes receipts; settle touches no data
    assert _env(till, "web")["SKAAL_USED_RESOURCES"] == "Receipts"
    assert _env(till, "worker")["SKAAL_USED_RESOURCES"] == ""


def test_a_web_service_with_mounted_apps_reaches_everything() -> None:
    app = App("till")
    app.blob(durability="persistent")(types.new_class("Receipts", (BlobStore,)))

    async def other(scope: object, receive: object, send: object) -> None: ...

    app.mount("/other", other)

    @app.schedule(Cron("0 3 * * *"))
    async def settle() -> None: ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    run = run_program(render_program(app.blueprint(), plan), CONFIG)
    grants = {
        r.inputs["member"]
        for r in run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == "roles/storage.objectAdmin"
    }
    assert grants == {WEB}  # what the mounted app reaches cannot be read
    assert "SKAAL_USED_RESOURCES" not in _env(run, "web")
    assert _env(run, "worker")["SKAAL_USED_RESOURCES"] == ""


def test_bucket_names_end_with_a_suffix_known_only_after_the_deploy(till: Run) -> None:
    bucket = till.named("Receipts").inputs
    assert re.fullmatch(r"till-receipts-[0-9a-f]{8}", bucket["name"]), bucket["name"]
    for service in ("web", "worker"):
        assert _env(till, service)["SKAAL_RECEIPTS_NAME"] == bucket["name"]
    assert bucket["versioning"] == {"enabled": True}
    assert {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30}} in bucket[
        "lifecycleRules"
    ]
