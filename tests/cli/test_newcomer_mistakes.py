"""The mistakes a newcomer makes first, and the exact message each one gets.

One test per mistake: the message must say what is wrong, where (the user's
``file:line``, flag or catalog key, never Skaal's internals), how to fix it,
and the process must exit with the documented code (2 for usage and
declaration errors, 1 for failures such as an unsatisfiable plan).  Most go
through :class:`click.testing.CliRunner`; the ones where the process itself
matters (a traceback must not leak, a port is taken, a program is missing
from ``PATH``) run ``skaal`` as a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.testing import AppClient
from tests._server import ROOT

OK_APP = """
from skaal import App, Map

app = App("demo")


@app.storage(durability="persistent")
class Items(Map[str, int]): ...
"""


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def skaal(cwd: Path, *args: str) -> tuple[int, str]:
    """``skaal ARGS`` in ``cwd`` through CliRunner: (exit code, output)."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(old)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def skaal_process(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``skaal ARGS`` as a separate process: (exit code, stdout + stderr)."""
    result = subprocess.run(
        [sys.executable, "-c", "from skaal.cli.main import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def declaring(tmp_path: Path, line: str) -> Path:
    """An app whose only resource is declared with ``@app.storage(<line>)`` on line 3."""
    source = f'from skaal import App, Map\napp = App("demo")\n@app.storage({line})\n'
    source += "class Items(Map[str, int]): ...\n"
    path = tmp_path / "app.py"
    path.write_text(source)
    return path


def test_typo_in_a_constraint_name(tmp_path: Path) -> None:
    app = declaring(tmp_path, 'read_latncy="< 10ms"')
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app}:3 (@app.storage on class Items): unknown constraint "
        "read_latncy='< 10ms' (did you mean 'read_latency'?)\n"
        "  fix: @app.storage accepts: access, availability, backend, collocate_with, "
        "consistency, durability, read_latency, reads, residency, size, ttl, write_latency, "
        "writes\n"
    )


def test_typo_in_a_constraint_value(tmp_path: Path) -> None:
    app = declaring(tmp_path, 'durability="persistant"')
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app}:3 (@app.storage on class Items): bad durability level "
        "for durability: unknown durability 'persistant' (did you mean 'persistent'?)\n"
        "  fix: accepted: ephemeral | persistent | durable\n"
    )


def test_wrong_unit(tmp_path: Path) -> None:
    app = declaring(tmp_path, 'read_latency="< 10kg"')
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app}:3 (@app.storage on class Items): bad latency bound "
        "for read_latency: unknown latency unit 'kg'\n"
        "  fix: accepted: '< 10ms', '<= 2 ms', '< 1s', '500us' (units: us, ms, s)\n"
    )


def test_missing_unit(tmp_path: Path) -> None:
    app = declaring(tmp_path, 'size="20"')
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app}:3 (@app.storage on class Items): bad stored size "
        "for size: size '20' has no unit\n"
        "  fix: accepted: '20GB', '512MiB', '1.5TB' "
        "(units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB)\n"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'size="1e400GB"',
            "bad stored size for size: size '1e400GB' is more than the largest accepted, 1e9GB",
        ),
        (
            'reads="1e309/s"',
            "bad read rate for reads: rate '1e309/s' is more than the largest accepted, 1e9/s",
        ),
        (
            'ttl="1e400d"',
            "bad item expiry for ttl: duration '1e400d' is more than the largest accepted, "
            "36500 days",
        ),
    ],
)
def test_a_number_too_large_to_plan(tmp_path: Path, line: str, message: str) -> None:
    app = declaring(tmp_path, line)
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    first = output.splitlines()[0]
    assert first == f"error (DeclarationError) {app}:3 (@app.storage on class Items): {message}"
    assert "OverflowError" not in output


def test_impossible_combination_names_the_conflict_and_the_cheapest_relaxation(
    tmp_path: Path,
) -> None:
    app = declaring(tmp_path, 'read_latency="< 1ms", durability="durable"')
    code, output = skaal(tmp_path, "plan", "app.py", "--target", "aws", "--no-write")
    assert code == 1
    lines = output.splitlines()
    assert lines[0] == (
        f"error (UnsatisfiableError) {app}:3: no plan: 1 resource cannot be placed on any "
        "backend of catalog 'aws' (Items)"
    )
    assert lines[1] == f"Items ({app}:3): no backend meets every constraint"
    assert "  dynamodb: read_latency offers ≤ 10 ms, asked < 1 ms" in lines
    assert any(
        line.startswith("  elasticache-redis: ")
        and "durability offers ephemeral, asked durable" in line
        for line in lines
    )
    # DynamoDB at $1.39 and its point-in-time recovery, 1 GB x $0.20
    assert '  fix: Items: read_latency="<= 10ms" → dynamodb at $1.59/month' in lines
    assert lines[-1] == "  try: skaal plan --explain Items"


def test_invalid_app_name(tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", 'from skaal import App\napp = App("my_app")\n')
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app}:2: app name 'my_app' is not valid\n"
        "  fix: use 2-40 lower-case letters, digits and dashes, starting with a letter "
        "(it names cloud resources)\n"
    )


def test_missing_app_reference(tmp_path: Path) -> None:
    code, output = skaal(tmp_path, "plan", "--no-write")
    assert code == 2
    assert output == (
        f"error (UsageError) {tmp_path.resolve()}: no app given, and no pyproject.toml here "
        "or above sets [tool.skaal] app\n"
        "  fix: pass the app reference, e.g. skaal plan shop.main:app  "
        '(or add [tool.skaal] app = "shop.main:app" to pyproject.toml)\n'
    )


def test_missing_app_reference_points_at_the_app_file_in_the_folder(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "run")
    assert code == 2
    assert output.endswith("; app.py is here: pass it as app.py:app\n")


def test_app_path_that_does_not_exist(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "plan", "ap.py", "--no-write")
    assert code == 2
    folder = tmp_path.resolve()
    assert output == (
        f"error (UsageError) {folder}: app file {folder / 'ap.py'} does not exist "
        "(did you mean 'app.py'?)\n"
        "  fix: check the path, relative to the working directory\n"
    )


def test_app_module_that_does_not_exist(tmp_path: Path) -> None:
    code, output = skaal(tmp_path, "plan", "shop.main:app", "--no-write")
    assert code == 2
    assert output == (
        f"error (UsageError) {tmp_path.resolve()}: cannot find module 'shop.main' "
        "(app reference 'shop.main:app')\n"
        "  fix: run from your project directory, check the spelling, or name the file "
        "instead: path/to/file.py:app\n"
    )


def test_app_reference_to_a_file_that_is_not_python(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "hello")
    code, output = skaal(tmp_path, "plan", "notes.txt", "--no-write")
    assert code == 2
    assert output.startswith(f"error (UsageError) app file {tmp_path.resolve()}/notes.txt ")
    assert "is not a .py file\n" in output


def test_app_attribute_that_does_not_exist(tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "plan", "app.py:ap", "--no-write")
    assert code == 2
    assert output == (
        f"error (UsageError) {app.resolve()}: module 'app' has no attribute 'ap' "
        "(did you mean 'app'?)\n"
        "  fix: App instances in app: app; name one as app:<attribute>\n"
    )


def test_syntax_error_shows_the_users_line_and_no_traceback(tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", OK_APP + "\n\ndef broken(:\n    pass\n")
    code, output = skaal_process(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (UsageError) {app.resolve()}:10: syntax error in your app: invalid syntax\n"
        "    def broken(:\n"
        "               ^\n"
        "  fix: correct the line above, then run the command again\n"
    )


def test_syntax_error_in_a_module_the_app_imports(tmp_path: Path) -> None:
    write(tmp_path, "shop/__init__.py", "")
    helpers = write(tmp_path, "shop/helpers.py", "TAX = 0.2\nif TAX >\n    pass\n")
    write(tmp_path, "shop/main.py", "from shop.helpers import TAX\n" + OK_APP)
    code, output = skaal_process(tmp_path, "plan", "shop/main.py", "--no-write")
    assert code == 2
    assert output.startswith(f"error (UsageError) {helpers.resolve()}:2: syntax error in your app")
    assert "    if TAX >\n" in output
    assert "Traceback" not in output


def test_exception_at_import_points_at_the_users_line(tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", OK_APP + '\nSETTINGS = {}\nPORT = SETTINGS["port"]\n')
    code, output = skaal_process(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (UsageError) {app.resolve()}:10: importing 'app' raised KeyError: 'port'\n"
        "  fix: fix the error in your module; run with --debug for the full traceback\n"
    )


def test_typo_in_a_bundled_catalog_name(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "plan", "app.py", "--catalog", "aws.tml", "--no-write")
    assert code == 2
    assert output == (
        "error (CatalogError) no bundled catalog named 'aws.tml' (did you mean 'aws'?)\n"
        "  fix: use one of the bundled catalogs (aws, gcp, local, local-servers) "
        "or a path to a .toml file\n"
        "  try: skaal catalog list\n"
    )


def test_typo_in_a_catalog_key(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    write(
        tmp_path,
        "mine.toml",
        """
        schema_version = 2
        name = "mine"
        extends = "aws"

        [backends.dynamodb.performance]
        read_latncy_ms = 5.0
        """,
    )
    code, output = skaal(tmp_path, "plan", "app.py", "--catalog", "mine.toml", "--no-write")
    assert code == 2
    assert output == (
        "error (CatalogValidationError) mine.toml:6 [backends.dynamodb.performance] "
        "read_latncy_ms: unknown key read_latncy_ms (did you mean 'read_latency_ms'?)\n"
        "  fix: rename or delete it; [backends.dynamodb.performance] accepts: "
        "availability, consistency, durability, read_latency_ms, write_latency_ms\n"
        "  try: skaal catalog validate mine.toml\n"
    )


def test_typo_in_the_target(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "plan", "app.py", "--target", "awz")
    assert code == 2
    assert "Error: Invalid value for '--target': 'awz' is not one of 'local', 'aws', 'gcp'." in (
        output
    )


def test_unknown_backend_pinned_on_the_command_line(tmp_path: Path) -> None:
    app = write(tmp_path, "app.py", OK_APP)
    code, output = skaal(
        tmp_path, "plan", "app.py", "--target", "aws", "--pin", "Items=dynamo", "--no-write"
    )
    assert code == 1
    assert output == (
        f"error (PlanError) {app.resolve()}:6: Items is pinned (--pin) to backend 'dynamo', "
        "which catalog 'aws' does not have (did you mean 'dynamodb'?)\n"
        "  fix: pin a map backend of 'aws' (dynamodb, elasticache-redis, "
        "elasticache-redis-replicas, rds-postgres, rds-postgres-multi-az) or remove the pin\n"
    )


def test_unknown_backend_pinned_in_the_declaration(tmp_path: Path) -> None:
    app = declaring(tmp_path, 'durability="persistent", backend="dynamo"')
    code, output = skaal(tmp_path, "plan", "app.py", "--target", "aws", "--no-write")
    assert code == 1
    assert output.startswith(
        f"error (PlanError) {app.resolve()}:3: Items is pinned (backend=) to backend 'dynamo', "
        "which catalog 'aws' does not have (did you mean 'dynamodb'?)\n"
    )


def test_pin_of_a_resource_that_does_not_exist(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(
        tmp_path, "plan", "app.py", "--target", "aws", "--pin", "Itemz=dynamodb", "--no-write"
    )
    assert code == 2
    assert output == (
        "error (UsageError) --pin: --pin names 'Itemz', which demo does not declare "
        "(did you mean 'Items'?)\n"
        "  fix: resources: Items\n"
    )


def test_building_without_a_plan(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "build", "app.py", "--target", "aws")
    assert code == 1
    assert output == (
        "error (BuildError) skaal.lock: there is no lock file to build from "
        "(skaal.lock does not exist)\n"
        "  fix: run skaal plan --target aws first; skaal build uses its plan\n"
        "  try: skaal plan --target aws\n"
    )


def test_deploying_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)  # not asked for first
    code, output = skaal(tmp_path, "deploy", "--target", "aws", "--yes")
    assert code == 1
    artifacts = tmp_path.resolve() / "artifacts" / "aws"
    assert output == (
        f"error (DeployError) {artifacts}: target 'aws' has not been built "
        "(no artifacts/aws/manifest.json)\n"
        "  fix: build the artifacts first\n"
        "  try: skaal plan --target aws && skaal build --target aws\n"
    )


def test_deploying_without_the_pulumi_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    write(tmp_path, "app.py", OK_APP)
    assert skaal(tmp_path, "plan", "app.py", "--target", "aws")[0] == 0
    assert skaal(tmp_path, "build", "app.py", "--target", "aws")[0] == 0
    no_pulumi = {"PATH": str(Path(sys.executable).parent)}  # and no passphrase: not asked first
    code, output = skaal_process(tmp_path, "deploy", "--target", "aws", "--yes", env=no_pulumi)
    assert code == 1
    assert output == (
        "error (DeployError) the pulumi CLI is not installed (no `pulumi` on PATH); "
        "skaal deploy runs the built program through it\n"
        "  fix: install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh, or brew install "
        "pulumi, see https://www.pulumi.com/docs/install/) and make sure `pulumi` is on PATH\n"
        "  try: pulumi version\n"
    )


def test_run_with_a_port_out_of_range(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    code, output = skaal(tmp_path, "run", "app.py", "--port", "99999")
    assert code == 2
    assert output == (
        "error (UsageError) --port 99999 is not a port number\n  fix: use 1-65535, e.g. 8000\n"
    )


def test_run_on_a_port_already_in_use(tmp_path: Path) -> None:
    write(tmp_path, "app.py", OK_APP)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, output = skaal_process(tmp_path, "run", "app.py", "--port", str(port))
    assert code == 2
    assert output.endswith(
        f"error (UsageError) --host 127.0.0.1 --port {port}: port {port} on 127.0.0.1 "
        "is already in use\n"
        "  fix: stop the other server, or pick another port: skaal run --port 8001\n"
    )
    assert "Traceback" not in output


def test_function_decorator_without_parentheses(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        "app.py",
        """
        from skaal import App

        app = App("demo")


        @app.function
        async def hello() -> str:
            return "hi"
        """,
    )
    code, output = skaal(tmp_path, "plan", "app.py", "--no-write")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app.resolve()}:6: @app.function is used without "
        "parentheses on function hello\n"
        "  fix: write @app.function() (with parentheses, even without constraints)\n"
    )


UNDECLARED_APP = """
from skaal import App, Map

app = App("demo")


class Items(Map[str, int]): ...  # no @app.storage(...)


@app.function()
async def read(key: str) -> int | None:
    return await Items.get(key)
"""


@pytest.mark.parametrize("command", ["plan", "run"])
def test_using_a_resource_that_was_never_declared(tmp_path: Path, command: str) -> None:
    app = write(tmp_path, "undeclared.py", UNDECLARED_APP)
    code, output = skaal(tmp_path, command, "undeclared.py")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app.resolve()}:11: function read uses Items, a map that "
        "app 'demo' does not declare\n"
        f"  fix: put @app.storage(...) above class Items ({app.resolve()}:6) "
        "(or on a Module the app uses)\n"
    )
    assert not (tmp_path / "skaal.lock").exists()


UNANNOTATED_APP = """
from skaal import App

app = App("demo")


@app.function()
async def add(a, b: int) -> int:
    return a + b
"""


@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_function_parameter_without_a_type(tmp_path: Path, command: str) -> None:
    app = write(tmp_path, "app.py", UNANNOTATED_APP)
    code, output = skaal(tmp_path, command, "app.py")
    assert code == 2
    assert output == (
        f"error (DeclarationError) {app.resolve()}:7: parameter 'a' of function add has no "
        "type annotation\n"
        "  fix: annotate it, e.g. a: str; requests are validated against it "
        "(a: Any accepts any JSON value)\n"
    )
    assert not (tmp_path / "skaal.lock").exists()


def test_a_resource_that_was_never_declared_is_named_by_the_runtime_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Code that skips the plan-time check (an in-process client) still gets a clear error."""
    write(tmp_path, "undeclared.py", UNDECLARED_APP)
    app = load_app("undeclared.py", cwd=tmp_path)

    async def call() -> tuple[int, dict[str, str]]:
        async with AppClient(app) as client:
            response = await client.post("/fn/read", json={"key": "a"})
            return response.status_code, response.json()

    status, body = asyncio.run(call())
    assert status == 500
    assert body == {"error": "internal", "error_id": body["error_id"]}
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.getMessage() == (
        f"error_id={body['error_id']} POST /fn/read raised NotBoundError"
    )
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == (
        "Items is not a resource of app 'demo'\n"
        "  fix: declare it with @app.storage/blob/queue/topic, then re-plan\n"
        "  try: skaal plan"
    )
