"""The gcp artifact's security: one identity per function, scoped secrets, unguessable buckets.

* every declared function runs in a Cloud Run service of its own, as a
  service account of its own; ``web`` (the docs, the mounted apps) has
  another; a secret declared by a function (``secrets=[...]``) is granted
  to and injected into that function's service only, an app-wide secret
  into every service;
* each identity gets the data roles of what its function uses and no
  other, and its service's ``SKAAL_USED_RESOURCES`` names them (the
  runtime opens those);
* every service is private: the API Gateway's identity may invoke ``web``
  and the HTTP functions, the invoker identity the scheduled ones; nobody
  else, and never ``allUsers``;
* a bucket's name ends with a suffix Google's own account id gives (not
  known before the deploy), the services using it get the real name, and
  durable buckets are versioned.
"""

from __future__ import annotations

import re
import types

import pytest

from skaal import App, BlobStore, Cron, Map, Secret
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.builder._pulumi import Run
from tests.builder.gcp_mocks import CONFIG, PROJECT, run_stack


def _account(name: str) -> str:
    return f"serviceAccount:{name}@{PROJECT}.iam.gserviceaccount.com"


WEB = _account("till-run")
PAY = _account("till-fn-pay")
AUDIT = _account("till-fn-audit")
SETTLE = _account("till-fn-settle")
GATEWAY = _account("till-gateway")
INVOKER = _account("till-invoke")


@pytest.fixture(scope="module")
def till() -> Run:
    app = App("till")
    app.secret("SHARED")
    receipts = types.new_class("Receipts", (BlobStore,))
    app.blob(durability="persistent")(receipts)
    ledger = types.new_class("Ledger", (Map[str, int],))
    app.storage(durability="persistent")(ledger)

    @app.function(secrets=[Secret("CARD_KEY")])
    async def pay(amount: int) -> None:
        await receipts.put(f"{amount}.txt", b"paid")  # type: ignore[attr-defined]

    @app.function()
    async def audit(key: str) -> int | None:
        return await ledger.get(key)  # type: ignore[attr-defined,no-any-return]

    @app.schedule(Cron("0 3 * * *"), secrets=[Secret("BANK_KEY")])
    async def settle() -> None: ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    config = {**CONFIG, "skaal:SHARED": "s", "skaal:CARD_KEY": "c", "skaal:BANK_KEY": "b"}
    return run_stack(gcp_stack(app.blueprint(), plan), config)


def _members(run: Run, secret: str) -> set[str]:
    return {
        r.inputs["member"]
        for r in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
        if r.name.startswith(f"{secret}-access")
    }


def _env(run: Run, service: str) -> dict[str, object]:
    (container,) = run.named(service).inputs["template"]["containers"]
    return {e["name"]: e.get("value", e.get("valueSource")) for e in container["envs"]}


def test_each_function_runs_as_its_own_identity(till: Run) -> None:
    accounts = {
        _account(r.inputs["accountId"]) for r in till.of_type("gcp:serviceaccount/account:Account")
    }
    assert accounts == {WEB, PAY, AUDIT, SETTLE, GATEWAY, INVOKER}
    services = {
        r.name: f"serviceAccount:{r.inputs['template']['serviceAccount']}"
        for r in till.of_type("gcp:cloudrunv2/service:Service")
    }
    assert services == {"web": WEB, "fn_pay": PAY, "fn_audit": AUDIT, "fn_settle": SETTLE}
    assert _env(till, "fn_pay")["SKAAL_CLOUD_RUN_FUNCTION"] == "pay"
    assert _env(till, "fn_pay")["SKAAL_CLOUD_RUN_ROLE"] == "function"
    assert _env(till, "web")["SKAAL_CLOUD_RUN_ROLE"] == "web"
    assert "SKAAL_CLOUD_RUN_FUNCTION" not in _env(till, "web")


def test_every_service_is_private_behind_the_gateway_or_the_invoker(till: Run) -> None:
    invokers = {
        r.name: r.inputs["member"]
        for r in till.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
    }
    assert invokers == {
        "web-invoker": GATEWAY,
        "fn_pay-invoker": GATEWAY,
        "fn_audit-invoker": GATEWAY,
        "fn_settle-invoker": INVOKER,
    }
    members = {str(r.inputs.get("member")) for r in till.resources if "member" in r.inputs}
    assert "allUsers" not in members
    assert "allAuthenticatedUsers" not in members


def test_each_service_reads_the_secrets_of_its_function_only(till: Run) -> None:
    assert _members(till, "CARD_KEY") == {PAY}
    assert _members(till, "BANK_KEY") == {SETTLE}
    assert _members(till, "SHARED") == {WEB, PAY, AUDIT, SETTLE}
    pay, settle, audit = _env(till, "fn_pay"), _env(till, "fn_settle"), _env(till, "fn_audit")
    assert "CARD_KEY" in pay
    assert "BANK_KEY" not in pay
    assert "BANK_KEY" in settle
    assert "CARD_KEY" not in settle
    assert "CARD_KEY" not in audit
    assert "BANK_KEY" not in audit
    assert pay["SKAAL_READABLE_SECRETS"] == "CARD_KEY,SHARED"
    assert settle["SKAAL_READABLE_SECRETS"] == "BANK_KEY,SHARED"
    assert audit["SKAAL_READABLE_SECRETS"] == "SHARED"


def test_each_identity_reaches_the_data_its_function_uses(till: Run) -> None:
    buckets = {
        r.inputs["member"]
        for r in till.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == "roles/storage.objectAdmin"
    }
    assert buckets == {PAY}  # pay writes receipts; nobody else touches them
    firestore = {
        r.inputs["member"]
        for r in till.of_type("gcp:projects/iAMMember:IAMMember")
        if r.inputs["role"] == "roles/datastore.user"
    }
    assert firestore == {AUDIT}  # audit reads the ledger
    assert _env(till, "fn_pay")["SKAAL_USED_RESOURCES"] == "Receipts"
    assert _env(till, "fn_audit")["SKAAL_USED_RESOURCES"] == "Ledger"
    assert _env(till, "fn_settle")["SKAAL_USED_RESOURCES"] == ""
    assert _env(till, "web")["SKAAL_USED_RESOURCES"] == ""  # the docs open nothing
    # the bucket's name goes only where the bucket is used
    assert "SKAAL_RECEIPTS_NAME" in _env(till, "fn_pay")
    assert "SKAAL_RECEIPTS_NAME" not in _env(till, "fn_audit")


def test_a_web_service_with_mounted_apps_reaches_everything() -> None:
    app = App("till")
    app.blob(durability="persistent")(types.new_class("Receipts", (BlobStore,)))

    async def other(scope: object, receive: object, send: object) -> None: ...

    app.mount("/other", other)

    @app.schedule(Cron("0 3 * * *"))
    async def settle() -> None: ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    run = run_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    grants = {
        r.inputs["member"]
        for r in run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == "roles/storage.objectAdmin"
    }
    assert grants == {WEB}  # what the mounted app reaches cannot be read
    assert "SKAAL_USED_RESOURCES" not in _env(run, "web")
    assert _env(run, "fn_settle")["SKAAL_USED_RESOURCES"] == ""


def test_bucket_names_end_with_a_suffix_known_only_after_the_deploy(till: Run) -> None:
    bucket = till.named("Receipts").inputs
    assert re.fullmatch(r"till-receipts-[0-9a-f]{8}", bucket["name"]), bucket["name"]
    assert _env(till, "fn_pay")["SKAAL_RECEIPTS_NAME"] == bucket["name"]
    assert bucket["versioning"] == {"enabled": True}
    assert {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30}} in bucket[
        "lifecycleRules"
    ]
