"""File uploads streamed into a BlobStore, served by a small Starlette app at /files.

skaal run examples/file_upload/app.py
curl -X PUT --data-binary @photo.jpg -H 'content-type: image/jpeg' localhost:8000/files/photo.jpg
curl localhost:8000/files/photo.jpg -o copy.jpg
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skaal import App, BlobStore

app = App("file-upload")


@app.blob(durability="persistent")
class Uploads(BlobStore):
    """Uploaded files, stored as they arrive (never held whole in memory)."""


async def upload(request: Request) -> Response:
    key = request.path_params["key"]
    content_type = request.headers.get("content-type", "application/octet-stream")
    info = await Uploads.put(key, request.stream(), content_type=content_type)
    return JSONResponse({"key": info.key, "size": info.size, "etag": info.etag}, status_code=201)


async def download(request: Request) -> Response:
    key = request.path_params["key"]
    if not await Uploads.exists(key):
        return JSONResponse({"error": "not_found", "key": key}, status_code=404)
    blob = await Uploads.open(key)
    return StreamingResponse(blob.chunks, media_type=blob.info.content_type)


files = Starlette(
    routes=[
        Route("/{key:path}", upload, methods=["PUT"]),
        Route("/{key:path}", download, methods=["GET"]),
    ]
)
app.mount("/files", files)


@app.function()
async def list_files(prefix: str = "") -> list[str]:
    """Keys of the first 100 stored files starting with ``prefix``."""
    page = await Uploads.list(prefix=prefix, limit=100)
    return [info.key for info in page.items]
