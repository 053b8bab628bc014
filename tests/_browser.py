"""Drive headless Chromium over the DevTools protocol: load pages, click, read, screenshot.

Shared by the dashboard's browser test and ``docs/_gen/dashboard_screens.py``::

    with Browser.start(tmp_path) as browser:
        browser.goto("http://127.0.0.1:8000/_skaal/#plan")
        browser.wait_for("document.body.dataset.ready === 'plan'")
        browser.evaluate("document.querySelector('.run-now').click()")
        png = browser.screenshot()
        assert browser.errors == []     # console errors and uncaught exceptions

Chromium is started with ``--remote-debugging-port`` on a free loopback
port and stopped (by its own PID) on exit.  Every wait is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import websocket  # websocket-client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Browser:
    """One headless Chromium page, spoken to over its DevTools WebSocket."""

    def __init__(self, socket: Any, process: subprocess.Popen[bytes]) -> None:
        self._socket = socket
        self._process = process
        self._ids = 0
        self.errors: list[str] = []
        """Console errors, failed loads and uncaught exceptions seen so far."""

    @classmethod
    @contextlib.contextmanager
    def start(cls, profile: Path, *, width: int = 1400, height: int = 900) -> Iterator[Browser]:

        assert CHROMIUM is not None, "headless chromium is not installed"
        port = _free_port()
        process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             f"--remote-debugging-port={port}", "--remote-allow-origins=*",
             f"--user-data-dir={profile / 'chromium-profile'}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = cls._page_socket(port)
            socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
            browser = cls(socket, process)
            try:
                for domain in ("Page", "Runtime", "Log"):
                    browser.call(f"{domain}.enable")
                browser.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                yield browser
            finally:
                socket.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @staticmethod
    def _page_socket(port: int) -> str:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    url: str = pages[0]["webSocketDebuggerUrl"]
                    return url
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port within 30 s")
            time.sleep(0.1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events seen meanwhile are noted)."""
        self._ids += 1
        ident = self._ids
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._note(message)

    def _note(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            self.errors.append(
                "console: " + " ".join(str(a.get("value", a.get("description"))) for a in args)
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(
                "exception: "
                + str(details.get("exception", {}).get("description") or details.get("text"))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float = 15.0) -> None:
        """Poll ``expression`` until it is truthy in the page (an element found counts)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(RuntimeError):
                if self.evaluate(f"!!({expression})") is True:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up after {timeout:.0f} s waiting for {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """Click the first element matching ``selector`` (it must exist)."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.click(); return true; })()"
        )
        if not found:
            raise AssertionError(f"nothing matches {selector!r}")

    def screenshot(self) -> bytes:
        """A PNG of the whole page."""
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        return base64.b64decode(shot["data"])
