"""Console blocks in the docs are real: their output is what the tool prints.

A fenced block tagged ``console`` holds shell commands (lines starting with
``$ ``) each followed by the output it prints::

    ```console
    $ skaal plan examples/hello/app.py:app --target local
    Plan for hello on local (local, local)
    ...
    ```

All the console blocks of one page form one *session*, run in document order
in a fresh temporary directory holding a copy of ``examples/``, so a page can
plan, then run, then build.  A fenced block of any language preceded by
``<!-- file: PATH -->`` is also written to ``PATH`` in that directory before
the session starts (the getting-started page writes its ``app.py`` this way,
the catalogs page its example catalog).

Commands run through ``bash`` with the output of stdout and stderr merged, a
fixed terminal width (``COLUMNS``), no colour, and none of the ``SKAAL_*`` or
``PULUMI_*`` variables of the calling environment (CI sets some).  A command ending in ``&``
is started in the background (``skaal run``): the session waits until its
``/openapi.json`` answers, does not record its output, and stops it with
Ctrl+C (SIGINT) when the page ends.  The port in ``:8000`` (``curl
localhost:8000/...``) is replaced by a free port, and a background command
without ``--port`` gets ``--port`` with it, so the docs show the default and
the tests never collide with a server already running.

Only what cannot be stable is normalised: the session directory is shown as
``.``, the repository's directory (where the bundled catalogs live in a
checkout) is dropped from paths, ``:<free port>`` is shown as ``:8000``, and
trailing spaces are dropped.  Both directories change the width of a table
that contains them, so a table row holding one is an error (``skaal catalog
list`` prints such a table; ``skaal catalog show NAME`` prints its path
outside the table).

Regenerate every block from real runs with ``python docs/_gen/console.py``;
``tests/docs/test_doc_console.py`` checks that the committed blocks equal fresh output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COLUMNS = "100"
DOC_PORT = "8000"
BLOCK = re.compile(r"^```console\n(?P<body>.*?)^```\n", re.DOTALL | re.MULTILINE)
FILE_BLOCK = re.compile(
    r"^<!-- file: (?P<path>\S+) -->\n```\w+\n(?P<code>.*?)^```\n", re.DOTALL | re.MULTILINE
)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class Step:
    """One ``$ command`` of a block and the output shown under it."""

    command: str
    output: str


@dataclass(frozen=True)
class Block:
    """One console block: where its body sits in the page, and its steps."""

    start: int
    end: int
    steps: tuple[Step, ...]

    def render(self, outputs: list[str]) -> str:
        parts = []
        for step, output in zip(self.steps, outputs, strict=True):
            parts.append(f"$ {step.command}\n")
            if output:
                parts.append(output + "\n")
        return "".join(parts)


def parse_blocks(text: str) -> list[Block]:
    """Every console block of a page, in order."""
    blocks = []
    for match in BLOCK.finditer(text):
        steps: list[Step] = []
        command: str | None = None
        lines: list[str] = []
        for line in match["body"].splitlines():
            if line.startswith("$ "):
                if command is not None:
                    steps.append(Step(command, "\n".join(lines).rstrip("\n")))
                command, lines = line[2:], []
            elif command is None:
                raise ValueError(f"console block at offset {match.start()}: text before a command")
            else:
                lines.append(line)
        if command is not None:
            steps.append(Step(command, "\n".join(lines).rstrip("\n")))
        blocks.append(Block(match.start("body"), match.end("body"), tuple(steps)))
    return blocks


def page_files(text: str) -> dict[str, str]:
    """The ``<!-- file: PATH -->`` python blocks of a page: path -> content."""
    return {match["path"]: match["code"] for match in FILE_BLOCK.finditer(text)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Session:
    """A directory and the background servers of one page's console blocks."""

    def __init__(self, directory: Path, files: dict[str, str]) -> None:
        self.directory = directory
        self.port = str(_free_port())
        self.servers: list[subprocess.Popen[bytes]] = []
        shutil.copytree(ROOT / "examples", directory / "examples")
        for relative, content in files.items():
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "COLUMNS": COLUMNS,
            "NO_COLOR": "1",
            "TERM": "dumb",
            "PYTHONUNBUFFERED": "1",
        }
        for name in list(self.env):
            if name in ("FORCE_COLOR", "CLICOLOR_FORCE") or name.startswith(("SKAAL_", "PULUMI_")):
                del self.env[name]

    def run(self, command: str) -> str:
        """Run one command; its normalised output (nothing for a background one)."""
        real = command.replace(f":{DOC_PORT}", f":{self.port}")
        if real.endswith("&"):
            server = real.removesuffix("&").strip()
            if "--port" not in server:
                server += f" --port {self.port}"
            self._start(server)
            return ""
        result = subprocess.run(
            ["bash", "-c", real],
            cwd=self.directory,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        return self.normalise(result.stdout)

    def normalise(self, output: str) -> str:
        for line in output.splitlines():
            if any(c in line for c in "│┃") and (str(ROOT) in line or str(self.directory) in line):
                raise ValueError(
                    f"a table row holds a machine-specific path, so its width is not stable: {line}"
                )
        text = output.replace(str(self.directory) + os.sep, "").replace(str(self.directory), ".")
        text = text.replace(str(ROOT) + os.sep, "")
        text = text.replace(f":{self.port}", f":{DOC_PORT}")
        return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")

    def _start(self, command: str) -> None:
        with (self.directory / f".server-{len(self.servers)}.log").open("wb") as log:
            server = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.directory,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.servers.append(server)
        url = f"http://127.0.0.1:{self.port}/openapi.json"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"{command!r} exited early: {self._log(len(self.servers) - 1)}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{command!r} did not answer on {url}: {self._log(-1)}")

    def _log(self, index: int) -> str:
        logs = sorted(self.directory.glob(".server-*.log"))
        return logs[index].read_text(encoding="utf-8", errors="replace") if logs else ""

    def close(self) -> None:
        for server in self.servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
        for server in self.servers:
            try:
                server.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def session(text: str) -> Iterator[Session]:
    with tempfile.TemporaryDirectory(prefix="skaal-docs-") as directory:
        current = Session(Path(directory).resolve(), page_files(text))
        try:
            yield current
        finally:
            current.close()


def run_page(page: Path) -> tuple[list[Block], list[list[str]]]:
    """Run every console block of a page; its blocks and their real outputs."""
    text = page.read_text(encoding="utf-8")
    blocks = parse_blocks(text)
    outputs: list[list[str]] = []
    if blocks:
        with session(text) as current:
            outputs = [[current.run(step.command) for step in block.steps] for block in blocks]
    return blocks, outputs


def regenerate(page: Path) -> bool:
    """Rewrite a page's console blocks from real runs; whether it changed."""
    text = page.read_text(encoding="utf-8")
    blocks, outputs = run_page(page)
    new = text
    for block, output in reversed(list(zip(blocks, outputs, strict=True))):
        new = new[: block.start] + block.render(output) + new[block.end :]
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    pages = [Path(arg).resolve() for arg in argv] or PAGES
    for page in pages:
        if BLOCK.search(page.read_text(encoding="utf-8")):
            changed = regenerate(page)
            print(f"{'rewrote' if changed else 'unchanged'} {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
