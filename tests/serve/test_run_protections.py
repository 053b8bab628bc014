"""``skaal run`` serves with the protections on, and its options configure them."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli
from skaal.cli.run import check_allowed, max_body_bytes
from skaal.errors import UsageError
from skaal.serve.server import RunSettings
from tests._server import copy_example, skaal_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: A page of another origin that tries every request a page can send without
#: asking: no-cors fetches (text/plain), a fetch that needs a preflight, a form.
EVIL_PAGE = """<!doctype html>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="TARGET" enctype="text/plain" target="sink">
  <input name='{"name": "csrf", "pad": "' value='"}'>
</form>
<script>
const body = JSON.stringify({name: "csrf"});
fetch("TARGET", {method: "POST", mode: "no-cors", body}).catch(() => {});
fetch("TARGET", {method: "POST", mode: "no-cors", headers: {"content-type": "text/plain"}, body})
  .catch(() => {});
fetch("TARGET", {method: "POST", headers: {"content-type": "application/json"}, body})
  .catch(() => {});
document.getElementById("f").submit();
</script>
"""


@pytest.mark.parametrize(
    ("text", "size"),
    [("1MiB", 1024 * 1024), ("500KB", 500_000), ("123", 123), (" 2 KiB ", 2048), ("1GiB", 1024**3)],
)
def test_max_body_sizes(text: str, size: int) -> None:
    assert max_body_bytes(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "0KB", "2GiB", "1e400GB", "lots", "12 parsecs", ""])
def test_bad_max_body_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--max-body"):
        max_body_bytes(text)


@pytest.mark.parametrize(
    ("hosts", "origins"),
    [(("http://laptop.lan",), ()), (("",), ()), ((), ("localhost:5173",)), ((), ("ftp://x",))],
)
def test_allowed_hosts_and_origins_are_checked(
    hosts: tuple[str, ...], origins: tuple[str, ...]
) -> None:
    with pytest.raises(UsageError, match="--allow-"):
        check_allowed(hosts, origins)
    check_allowed(("laptop.lan", "*", "[::1]:8000"), ("http://localhost:5173", "https://a.b/"))


def test_bad_max_body_exits_2_before_loading_the_app(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "missing.py", "--max-body", "lots"])
    assert result.exit_code == 2, result.output
    assert "--max-body" in result.output
    assert "Traceback" not in result.output


def test_settings_survive_the_reload_round_trip() -> None:
    settings = RunSettings(
        app_ref="app.py",
        cwd="/tmp",
        host="0.0.0.0",
        allowed_hosts=("dev.example",),
        allowed_origins=("http://localhost:5173",),
    )
    policy = settings.host_policy()
    assert policy.hosts == {"localhost", "127.0.0.1", "::1", "dev.example"}
    assert policy.origins == {"http://localhost:5173"}
    assert json.loads(json.dumps(settings.max_body)) == 1024 * 1024


@pytest.mark.slow
def test_skaal_run_refuses_hostile_requests(tmp_path: Path) -> None:
    project = copy_example("counter", tmp_path)
    args = ["--max-body", "200", "--allow-host", "dev.example"]
    with skaal_run(project, "app.py", args=args) as client:
        call = {"name": "visits"}
        assert client.post("/fn/increment", json=call).json() == 1
        evil_host = client.post("/fn/increment", json=call, headers={"host": "evil.example"})
        assert evil_host.status_code == 421
        assert evil_host.json()["error"] == "misdirected_request"
        allowed = client.post("/fn/increment", json=call, headers={"host": "dev.example:80"})
        assert allowed.json() == 2
        cross_site = client.post(
            "/fn/increment",
            content=json.dumps(call),
            headers={"origin": "http://evil.example", "content-type": "text/plain"},
        )
        assert cross_site.status_code == 403
        plain = client.post(
            "/fn/increment", content=json.dumps(call), headers={"content-type": "text/plain"}
        )
        assert plain.status_code == 415
        big = client.post("/fn/increment", json={"name": "x" * 300})
        assert big.status_code == 413
        assert big.json() == {
            "error": "content_too_large",
            "detail": "the body is larger than 200 bytes, the limit of a function call",
            "limit": 200,
        }
        nan = client.post(
            "/fn/increment",
            content=b'{"name": "a", "by": NaN}',
            headers={"content-type": "application/json"},
        )
        assert nan.status_code == 400
        assert nan.json()["error"] == "non_finite_number"
        assert client.post("/fn/read", json=call).json() == 2


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="headless chromium is not installed (see .ci/services/05-chromium.sh)"
)
@contextlib.contextmanager
def _static_site(folder: Path) -> Iterator[int]:
    """Serve ``folder`` on a free loopback port from a thread (the evil page's origin)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            del format, args

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_page_of_another_origin_cannot_call_functions_in_a_browser(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    project = copy_example("counter", tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    with skaal_run(project, "app.py") as client:
        target = str(client.base_url.join("/fn/increment"))
        (site / "index.html").write_text(EVIL_PAGE.replace("TARGET", target))
        with _static_site(site) as port:
            subprocess.run(
                [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                 "--virtual-time-budget=5000", "--dump-dom", f"http://127.0.0.1:{port}/"],
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
        assert client.post("/fn/read", json={"name": "csrf"}).json() == 0
        assert client.post("/fn/increment", json={"name": "csrf"}).json() == 1
