"""``skaal run`` as a user runs it: a subprocess on a free port, spoken to over HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli
from skaal.errors import UsageError
from skaal.serve.bridge import RETRY_DELAY_ENV, retry_delay_from_env
from tests._server import EXAMPLES, copy_example, skaal_run

SERVED = ("counter", "todo_api", "file_upload", "jobs")


@pytest.mark.slow
def test_counter_survives_a_restart(tmp_path: Path) -> None:
    project = copy_example("counter", tmp_path)
    with skaal_run(project, "app.py") as client:
        assert client.post("/fn/increment", json={"name": "visits"}).json() == 1
        assert client.post("/fn/increment", json={"name": "visits", "by": 2}).json() == 3
        bad = client.post("/fn/increment", json={"name": 5})
        assert bad.status_code == 422
        assert client.get("/missing").status_code == 404
        assert "increment" in client.get("/docs").text or client.get("/docs").status_code == 200
    assert (project / "skaal.lock").is_file()
    assert list((project / ".skaal" / "data").iterdir())
    with skaal_run(project, "app.py") as client:
        assert client.post("/fn/read", json={"name": "visits"}).json() == 3


def test_port_in_use_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_example("counter", tmp_path)
    monkeypatch.chdir(project)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["run", "app.py", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"port {port} on 127.0.0.1 is already in use" in result.output
    assert "--port 8001" in result.output
    assert "Traceback" not in result.output


def test_run_is_listed_in_help() -> None:
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--reload", "--data-dir"):
        assert option in result.output


@pytest.mark.parametrize("target", ["local", "aws", "gcp"])
@pytest.mark.parametrize("example", SERVED)
def test_examples_plan_on_every_target(example: str, target: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["plan", str(EXAMPLES / example / "app.py"), "--target", target, "--no-write", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert '"plan"' in result.output


def test_retry_delay_setting_is_read_from_the_environment() -> None:
    assert retry_delay_from_env({}) is None
    assert retry_delay_from_env({RETRY_DELAY_ENV: "0.05"}) == 0.05
    for bad in ("soon", "-1", "nan", "inf"):
        with pytest.raises(UsageError, match=RETRY_DELAY_ENV):
            retry_delay_from_env({RETRY_DELAY_ENV: bad})
