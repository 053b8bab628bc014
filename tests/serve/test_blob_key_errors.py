"""Blob keys and list prefixes the real store rejects answer 400, not 500.

Served by ``AppClient`` on the local plan (a filesystem blob store), so the
error comes from the runtime's own key checks, whatever they grow into.
"""

from __future__ import annotations

import pytest

from skaal import App, BlobStore
from skaal.testing import AppClient


def make_app() -> App:
    app = App("files")

    @app.blob(durability="persistent")
    class Files(BlobStore): ...

    @app.function()
    async def save(key: str, text: str) -> int:
        return (await Files.put(key, text.encode())).size

    @app.function()
    async def size(key: str) -> int:
        return len(await Files.get(key))

    @app.function()
    async def keys(prefix: str = "") -> list[str]:
        return [info.key for info in (await Files.list(prefix=prefix)).items]

    return app


@pytest.mark.asyncio
@pytest.mark.parametrize("key", ["/etc/passwd", "../outside", "a/../../b", "a//b", "", "dir/"])
async def test_rejected_keys_are_400(key: str) -> None:
    async with AppClient(make_app()) as client:
        response = await client.post("/fn/save", json={"key": key, "text": "x"})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_request"
        assert "blob key" in response.json()["detail"]


@pytest.mark.asyncio
@pytest.mark.parametrize("prefix", ["/", "../", "a/../"])
async def test_rejected_list_prefixes_are_400(prefix: str) -> None:
    async with AppClient(make_app()) as client:
        response = await client.post("/fn/keys", json={"prefix": prefix})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_request"


@pytest.mark.asyncio
async def test_good_keys_still_work_and_a_missing_blob_is_404() -> None:
    async with AppClient(make_app()) as client:
        assert (await client.post("/fn/save", json={"key": "a/b.txt", "text": "hi"})).json() == 2
        assert (await client.post("/fn/keys", json={"prefix": "a/"})).json() == ["a/b.txt"]
        missing = await client.post("/fn/size", json={"key": "a/none.txt"})
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"] == "not_found"
