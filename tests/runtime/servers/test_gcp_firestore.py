"""The firestore backend beyond the conformance suite: layout, parts, cross-client atomicity."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from google.api_core import exceptions as gexc

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.plan.wiring import FIRESTORE_DATABASES_ENV
from skaal.runtime.backends import create_provider
from skaal.runtime.backends.firestore import FirestoreKeyValue, FirestoreProvider
from skaal.runtime.backends.gcp_common import GcpBackendError, Offload, gcp_name
from skaal.runtime.backends.gcp_firestore_values import MAX_VALUE, PART, doc_id, layout
from skaal.runtime.errors import ValueTypeError
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Safety


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def emulator() -> str:
    host = os.environ.get("SKAAL_TEST_FIRESTORE_EMULATOR_HOST")
    if not host:
        pytest.skip(
            "SKAAL_TEST_FIRESTORE_EMULATOR_HOST not set: start the Firestore emulator "
            "(see .ci/services/40-gcp.sh)"
        )
    return host


def settings(env: dict[str, str], tmp_path: Path, clock: Any) -> BackendSettings:
    return BackendSettings(
        app="fs-tests", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=clock
    )


def spec(name: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind="map",
        requirements=Requirements(),
        location=SourceLocation(file="t.py", line=1),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def env() -> dict[str, str]:
    return {
        "FIRESTORE_EMULATOR_HOST": emulator(),
        "SKAAL_GCP_NAME_PREFIX": f"t{uuid.uuid4().hex[:10]}",
    }


@pytest_asyncio.fixture
async def provider(
    env: dict[str, str], tmp_path: Path, clock: Clock
) -> AsyncIterator[FirestoreProvider]:
    provider = FirestoreProvider(settings(env, tmp_path, clock))
    await provider.open()
    yield provider
    await provider.close()


def raw(store: FirestoreKeyValue) -> Any:
    """The store's collection, to look at the documents it wrote."""
    return store._col


# -- layout, no server -------------------------------------------------------------
def test_document_ids_are_valid_and_distinct() -> None:
    assert doc_id("a/b") == "ka%2Fb"
    assert doc_id("a%2Fb") == "ka%252Fb"
    assert doc_id("..") == "k.."
    assert doc_id("__x__") == "k__x__"
    long = doc_id("é" * 1000)
    assert long.startswith("h")
    assert len(long) == 65
    assert doc_id("é" * 1000) != doc_id("é" * 1001)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (b"0", "n"),
        (b"-42", "n"),
        (b"9223372036854775807", "n"),
        (b"9223372036854775808", "v"),  # past int64: kept as bytes
        (b"-0", "v"),
        (b"01", "v"),
        (b"1.0", "v"),
        (b'"1"', "v"),
    ],
)
def test_only_canonical_int64_values_become_counters(value: bytes, field: str) -> None:
    head = layout("k", value, None, resource="M").head
    assert field in head
    if field == "n":
        assert str(head["n"]).encode() == value


def test_large_values_split_into_parts_and_too_large_is_refused() -> None:
    docs = layout("k", b"x" * (2 * PART + 1), None, resource="M")
    assert docs.head["parts"] == 3
    assert len(docs.head["v"]) == PART
    assert [len(fields["v"]) for _, fields in docs.parts] == [PART, 1]
    assert all(fields["ver"] == docs.head["ver"] for _, fields in docs.parts)
    with pytest.raises(ValueTypeError, match="too large") as err:
        layout("k", b"x" * (MAX_VALUE + 1), None, resource="M")
    assert err.value.fix is not None
    assert "BlobStore" in err.value.fix


def test_physical_names_follow_bucket_rules() -> None:
    assert gcp_name("shop", "billing.Invoices") == "shop-billing-invoices"
    assert gcp_name("shop", "Carts", prefix="t1") == "t1-shop-carts"
    assert gcp_name("shop", "Carts", prefix="01") == "s-01-shop-carts"
    assert gcp_name("google", "x") == "s-google-x"
    long = gcp_name("a" * 50, "b" * 50)
    assert len(long) == 63
    assert long == gcp_name("a" * 50, "b" * 50)
    assert long != gcp_name("a" * 50, "b" * 51)


def test_missing_project_outside_an_emulator_names_the_fix(tmp_path: Path) -> None:
    provider = create_provider("firestore", settings({}, tmp_path, Clock()))
    with pytest.raises(GcpBackendError, match="needs a Google Cloud project") as err:
        asyncio.run(provider.open())
    assert err.value.fix is not None
    assert "GOOGLE_CLOUD_PROJECT" in err.value.fix


@pytest.mark.asyncio
async def test_google_errors_become_skaal_errors() -> None:
    offload = Offload("firestore")
    offload.open()

    def denied() -> None:
        raise gexc.PermissionDenied("no access to projects/p")

    with pytest.raises(GcpBackendError, match="failed to read a key for Carts") as err:
        await offload.run(denied, what="read a key", where="Carts", safety=Safety.READ)
    assert err.value.fix is not None
    assert "service account" in err.value.fix
    offload.close()
    with pytest.raises(GcpBackendError, match="after its firestore provider was closed"):
        await offload.run(lambda: None, what="read a key", where="Carts", safety=Safety.READ)


# -- against the emulator ------------------------------------------------------------
@pytest.mark.asyncio
async def test_counters_are_integers_and_expired_counters_restart(
    provider: FirestoreProvider, clock: Clock
) -> None:
    store = provider.key_value(spec("Counters"))
    assert await store.increment("hits", 5, ttl=10) == 5
    assert await store.increment("hits", 2, ttl=10) == 7
    snap = raw(store).document(doc_id("hits")).get()
    assert snap.get("n") == 7
    clock.now += 11
    assert await store.get("hits") is None
    assert await store.increment("hits", 1) == 1
    clock.now += 1000
    assert await store.get("hits") == b"1"


@pytest.mark.asyncio
async def test_large_values_replace_their_parts_and_delete_removes_them(
    provider: FirestoreProvider,
) -> None:
    store = provider.key_value(spec("Big"))
    first = bytes(range(256)) * (PART // 100)  # about 2.6 MB: three documents
    second = b"\x01" * (PART + 5)
    await store.set("k", first)
    assert await store.get("k") == first
    parts = raw(store).document(doc_id("k")).collection("p")
    assert len(list(parts.list_documents())) == 2
    await store.set("k", second)
    assert await store.get("k") == second
    assert len(list(parts.list_documents())) == 1  # the first value's parts are gone
    assert await store.compare_and_set("k", second, first) is True
    assert await store.get("k") == first
    assert await store.compare_and_set("k", second, b"x") is False
    assert await store.get_many(["k", "nope"]) == {"k": first}
    assert [k for k, _ in (await store.scan(limit=10)).items] == ["k"]
    assert await store.delete("k") is True
    assert list(parts.list_documents()) == []
    assert await store.get("k") is None


@pytest.mark.asyncio
async def test_compare_and_set_is_atomic_across_clients(
    env: dict[str, str], tmp_path: Path, clock: Clock
) -> None:
    """Two providers (two clients, as two processes would have) race on one key."""
    providers = [FirestoreProvider(settings(env, tmp_path, clock)) for _ in range(2)]
    for p in providers:
        await p.open()
    stores = [p.key_value(spec("Shared")) for p in providers]

    async def add_one(store: FirestoreKeyValue) -> None:
        while True:
            current = await store.get("n")
            new = str(int(current or b"0") + 1).encode()
            if await store.compare_and_set("n", current, new):
                return

    await asyncio.gather(*(add_one(stores[i % 2]) for i in range(40)))
    assert await stores[0].get("n") == b"40"
    assert await stores[1].compare_and_set("m", None, b"a") is True
    assert await stores[0].compare_and_set("m", None, b"b") is False
    for p in providers:
        await p.close()


@pytest.mark.asyncio
async def test_documents_carry_their_expiry_for_the_ttl_policy(
    provider: FirestoreProvider, clock: Clock
) -> None:
    todos = ResourceSpec(
        name="Todos",
        kind="collection",
        requirements=Requirements(),
        location=SourceLocation(file="t.py", line=1),
        key_field="id",
        indexes=("owner",),
    )
    store = provider.documents(todos)
    await store.put("a", b"{}", {"owner": "ada"}, ttl=60)
    col = store._col
    expiry = col.document(doc_id("a")).get().get("exp")
    assert expiry.timestamp() == clock.now + 60  # a timestamp: what a TTL policy deletes on
    await store.put("a", b"{}", {"owner": "ada"})  # rewritten without ttl: never expires
    assert "exp" not in (col.document(doc_id("a")).get().to_dict() or {})
    clock.now += 61
    assert await store.delete("a") is True
    await store.put("b", b"{}", {"owner": "ada"}, ttl=1)
    clock.now += 1
    assert await store.delete("b") is False  # expired: gone, but it was not there to delete
    assert not col.document(doc_id("b")).get().exists


@pytest.mark.asyncio
async def test_a_resource_of_another_location_opens_that_location_s_database(
    env: dict[str, str], tmp_path: Path, clock: Clock
) -> None:
    # the gcp stack names the database of each location beside the (default) one
    env = {**env, FIRESTORE_DATABASES_ENV: "europe-west1=shop-europe-west1"}
    located = msgspec.structs.replace(settings(env, tmp_path, clock), region="europe-west1")
    home = msgspec.structs.replace(settings(env, tmp_path, clock), region="us-central1")
    eu, us = FirestoreProvider(located), FirestoreProvider(home)
    await eu.open()
    await us.open()
    try:
        far = eu.key_value(spec("Carts"))
        near = us.key_value(spec("Carts"))
        await far.set("k", b"eu")
        assert raw(far)._client._database == "shop-europe-west1"
        assert raw(near)._client._database == "(default)"
        # same collection name, two databases: the (default) one does not see the write
        assert await near.get("k") is None
        await near.set("k", b"us")
        assert await far.get("k") == b"eu"
    finally:
        await eu.close()
        await us.close()
