"""The gcp artifact's security: one identity per service, scoped secrets, unguessable buckets.

* the ``web`` and ``worker`` Cloud Run services run as two service
  accounts; a secret declared by a function (``secrets=[...]``) is granted
  to and injected into the service of that function only, an app-wide
  secret into both;
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
    app.blob(durability="persistent")(types.new_class("Receipts", (BlobStore,)))

    @app.function(secrets=[Secret("CARD_KEY")])
    async def pay(amount: int) -> None: ...

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


def test_both_identities_reach_the_data(till: Run) -> None:
    grants = {
        r.inputs["member"]
        for r in till.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == "roles/storage.objectAdmin"
    }
    assert grants == {WEB, WORKER}


def test_bucket_names_end_with_a_suffix_known_only_after_the_deploy(till: Run) -> None:
    bucket = till.named("Receipts").inputs
    assert re.fullmatch(r"till-receipts-[0-9a-f]{8}", bucket["name"]), bucket["name"]
    for service in ("web", "worker"):
        assert _env(till, service)["SKAAL_RECEIPTS_NAME"] == bucket["name"]
    assert bucket["versioning"] == {"enabled": True}
    assert {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30}} in bucket[
        "lifecycleRules"
    ]
