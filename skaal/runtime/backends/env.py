"""The ``env`` backend: secrets from the environment, with ``.env`` as a fallback.

``.env`` in the project directory holds ``NAME=value`` lines (``export``
prefixes, ``#`` comments, blank lines and single or double quotes around the
value are accepted).  The environment wins over the file, so a value set in
the shell or by a process manager overrides the developer's file.
``SKAAL_DOTENV`` names another file (relative to the project directory):
``skaal run --env staging`` sets it to the environment's, ``.env.staging``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from skaal.runtime.backends.base import UnsupportedKinds
from skaal.runtime.ports import BackendSettings

__all__ = ["DOTENV_ENV", "EnvProvider", "EnvSecrets", "parse_dotenv"]

DOTENV_ENV = "SKAAL_DOTENV"
"""The variable naming the secrets file read instead of ``.env``."""


def parse_dotenv(text: str) -> dict[str, str]:
    """The ``NAME=value`` pairs of a ``.env`` file."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip()] = value
    return values


class EnvSecrets:
    """A ``SecretBackend`` over an environment mapping and a ``.env`` file."""

    def __init__(self, env: Mapping[str, str], dotenv: Path) -> None:
        self._env = env
        self._dotenv = dotenv
        self._file: dict[str, str] = {}

    async def open(self) -> None:
        if self._dotenv.is_file():
            self._file = parse_dotenv(self._dotenv.read_text(encoding="utf-8"))

    async def close(self) -> None:
        return None

    async def get(self, name: str) -> str | None:
        if name in self._env:
            return self._env[name]
        return self._file.get(name)


class EnvProvider(UnsupportedKinds):
    """The ``env`` implementation."""

    implementation = "env"

    def __init__(self, settings: BackendSettings) -> None:
        dotenv = settings.env.get(DOTENV_ENV, "").strip() or ".env"
        self._secrets = EnvSecrets(settings.env, settings.project_dir / dotenv)

    async def open(self) -> None:
        await self._secrets.open()

    async def close(self) -> None:
        return None

    def secrets(self) -> EnvSecrets:
        return self._secrets
