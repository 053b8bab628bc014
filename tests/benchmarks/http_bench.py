"""HTTP round trip: ``skaal run`` vs a plain Starlette endpoint, same work, same run.

Both servers run under uvicorn on loopback, in their own processes, and do
the same thing per request: one ``Map.get`` through the same Skaal runtime
(same plan, same backend).  The Skaal side is ``skaal run`` serving
``POST /fn/get_count``; the baseline is a Starlette route calling the Map
client directly.  The load generator keeps ``CONNECTIONS`` keep-alive
HTTP/1.1 connections busy with a minimal client (so the client is not the
bottleneck), alternates the two servers for ``ROUNDS`` rounds and reports
the best requests/second of each and their ratio (target: >= 0.8).
Both log at the same level (uvicorn access log on).

    python tests/benchmarks/http_bench.py [--requests 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 8

APP = """
from skaal import App, Map

app = App("bench")


@app.storage(durability="persistent")
class Counters(Map[str, int]): ...


@app.function()
async def get_count(name: str) -> int | None:
    return await Counters.get(name)
"""

BASELINE = """
import contextlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skaal.declare.app_ref import load_app
from skaal.runtime.runtime import Runtime
from skaal.serve.server import plan_local

here = Path(__file__).parent
app = load_app("app.py", cwd=here)
plan, _ = plan_local(app, cwd=here)
Counters = app.declared_objects()[("Counters", "map")]
client = None


@contextlib.asynccontextmanager
async def lifespan(_):
    global client
    async with Runtime.open(app, plan, project_dir=here) as runtime:
        client = runtime.client(Counters)
        await client.set("k", 42)
        yield


async def get_count(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse(await client.get(body["name"]))


asgi = Starlette(routes=[Route("/get", get_count, methods=["POST"])], lifespan=lifespan)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("server did not start")


async def one_connection(port: int, path: str, body: bytes, count: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    for _ in range(count):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"unexpected response: {head[:80]!r}")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
    writer.close()
    await writer.wait_closed()


async def load(port: int, path: str, requests: int) -> float:
    body = b'{"name": "k"}'
    per = requests // CONNECTIONS
    await one_connection(port, path, body, 50)  # warm up
    start = time.perf_counter()
    await asyncio.gather(*(one_connection(port, path, body, per) for _ in range(CONNECTIONS)))
    return per * CONNECTIONS / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "app.py").write_text(textwrap.dedent(APP))
        (project / "baseline.py").write_text(textwrap.dedent(BASELINE))
        skaal_port, plain_port = free_port(), free_port()
        skaal = subprocess.Popen(
            [sys.executable, "-c", "from skaal.cli.main import main; main()", "run", "app.py",
             "--port", str(skaal_port)],
            cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_ready(skaal_port, skaal)
            # the lock now exists; the baseline reuses the same plan and data
            plain = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "baseline:asgi", "--port", str(plain_port),
                 "--log-level", "info"],
                cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                wait_ready(plain_port, plain)
                best_skaal = best_plain = 0.0
                for round_ in range(1, args.rounds + 1):
                    plain_rps = asyncio.run(load(plain_port, "/get", args.requests))
                    skaal_rps = asyncio.run(load(skaal_port, "/fn/get_count", args.requests))
                    best_plain, best_skaal = max(best_plain, plain_rps), max(best_skaal, skaal_rps)
                    print(f"round {round_}: starlette {plain_rps:8.0f} req/s   "
                          f"skaal run {skaal_rps:8.0f} req/s")  # fmt: skip
                print(f"best: starlette {best_plain:.0f} req/s, skaal run {best_skaal:.0f} req/s")
                print(f"ratio skaal/starlette: {best_skaal / best_plain:.2f} (target >= 0.80)")
            finally:
                plain.terminate()
                plain.wait(timeout=10)
        finally:
            skaal.terminate()
            skaal.wait(timeout=10)


if __name__ == "__main__":
    main()
