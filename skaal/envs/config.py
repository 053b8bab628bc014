"""Environments declared in ``pyproject.toml``, and which one a command works on.

A project declares its environments under ``[tool.skaal]``::

    [tool.skaal]
    app = "shop.app:app"
    env = "dev"                      # the default environment (optional)

    [tool.skaal.envs.dev]            # plans against the bundled local catalog

    [tool.skaal.envs.staging]
    catalog = "catalogs/staging.toml"   # or a bundled name; or target = "aws"
    port = 8001                         # skaal run's default port
    dotenv = ".env.staging"             # skaal run's secrets [default: .env.<env>]
    config = { LOG_LEVEL = "debug" }    # variables of skaal run and of the deployed app

    [tool.skaal.envs.prod.existing]     # adopt prod's own table, in prod only
    Carts = "arn:aws:dynamodb:us-east-1:123456789012:table/legacy-carts"

``existing`` (:mod:`skaal.envs.existing`) binds resources to ones that
already exist, for that environment only, in the forms ``existing=``
accepts; ``[tool.skaal.existing]`` does the same for the project without
environments.

Each environment has its own lock (``skaal.<env>.lock``), build folder
(``artifacts/<env>/<target>/``), Pulumi stack (named after it), data
folder for ``skaal run`` (``.skaal/envs/<env>/data``) and physical names
(``<app>-<env>-...``, :mod:`skaal.plan.naming`).

Which environment a command works on (:func:`select_env`): ``--env NAME``,
else ``SKAAL_ENV``, else ``[tool.skaal] env``; none of them (and no
environment table) is the project without environments, exactly as before:
``skaal.lock``, ``artifacts/<target>/``, the target's own stack name.

Every mistake is a :class:`~skaal.errors.UsageError` naming the file, line
and key, with a fix: an unknown environment lists the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from msgspec import Struct, field

from skaal.declare.project import pyproject_line
from skaal.errors import UsageError, did_you_mean

__all__ = [
    "ENV_KEYS",
    "ENV_VARIABLE",
    "RESERVED_NAMES",
    "Environment",
    "Project",
    "load_project",
    "select_env",
]

ENV_VARIABLE = "SKAAL_ENV"
"""Selects the environment; the runtime reads the same variable
(:data:`skaal.plan.naming.ENV_VARIABLE`, kept equal by a test: importing it
from there would load the runtime into every planning command)."""

ENV_KEYS = ("catalog", "config", "dotenv", "existing", "port", "target")
"""The keys an ``[tool.skaal.envs.<name>]`` table may hold."""

RESERVED_NAMES = ("aws", "gcp", "local")
"""Target names, which cannot name an environment: ``artifacts/<env>/`` would be a target's."""

_TARGETS = ("local", "aws", "gcp")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


class Environment(Struct, frozen=True):
    """One declared environment and where everything of it lives."""

    name: str
    where: str
    """``pyproject.toml:LINE`` of its table, for messages."""
    catalog: str | None = None
    """A catalog file (relative to the project) or bundled name; ``None``: see :attr:`target`."""
    target: str | None = None
    """The bundled catalog of this target when :attr:`catalog` is not given (default local)."""
    port: int | None = None
    dotenv: str | None = None
    config: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    existing: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Resource -> the existing resource it adopts in this environment, as written."""
    existing_where: str = ""
    """``pyproject.toml:LINE`` of its ``existing`` table, for messages."""

    @property
    def lock(self) -> str:
        """Its lock file, relative to the project: ``skaal.<env>.lock``."""
        return f"skaal.{self.name}.lock"

    @property
    def artifacts(self) -> str:
        """The folder receiving ``<target>/`` on ``skaal build``: ``artifacts/<env>``."""
        return f"artifacts/{self.name}"

    @property
    def data_dir(self) -> str:
        """Where ``skaal run`` keeps the local backends' files: ``.skaal/envs/<env>/data``."""
        return f".skaal/envs/{self.name}/data"

    @property
    def stack(self) -> str:
        """Its Pulumi stack: the environment's name."""
        return self.name

    @property
    def secrets_file(self) -> str:
        """The ``.env``-style file ``skaal run`` reads secrets from: ``.env.<env>`` by default."""
        return self.dotenv or f".env.{self.name}"

    @property
    def catalog_ref(self) -> str:
        """The catalog it plans against: :attr:`catalog`, else the bundled one of its target."""
        return self.catalog or self.target or "local"


class Project(Struct, frozen=True):
    """The environments of the project whose ``pyproject.toml`` was read."""

    root: Path
    """The folder of ``pyproject.toml`` (the working directory when there is none)."""
    pyproject: Path | None
    default: str | None
    """``[tool.skaal] env``, ``None`` when not set."""
    envs: Mapping[str, Environment]
    existing: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """``[tool.skaal.existing]``: what the project adopts when no environment is selected."""
    existing_where: str = ""
    """``pyproject.toml:LINE`` of ``[tool.skaal.existing]``, for messages."""

    def get(self, name: str, *, where: str) -> Environment:
        """The environment ``name``; a ``UsageError`` listing the known ones otherwise."""
        found = self.envs.get(name)
        if found is not None:
            return found
        known = ", ".join(sorted(self.envs)) or "none"
        table = f"[tool.skaal.envs.{name}]"
        if self.pyproject is None:
            fix = f"declare it in pyproject.toml as {table} (see docs/environments.md)"
        else:
            fix = f"use one of: {known}; or add {table} to {self.pyproject}"
        raise UsageError(
            f"unknown environment {name!r}{did_you_mean(name, self.envs)}; known: {known}",
            where=where,
            fix=fix,
            command="skaal env list",
        )


def load_project(cwd: Path) -> Project:
    """The environments declared by the nearest ``pyproject.toml`` at or above ``cwd``."""
    for folder in (cwd.resolve(), *cwd.resolve().parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            return _parse(pyproject)
    return Project(root=cwd.resolve(), pyproject=None, default=None, envs=MappingProxyType({}))


def select_env(
    project: Project, flag: str | None, environ: Mapping[str, str]
) -> Environment | None:
    """The environment a command works on: ``--env``, else ``SKAAL_ENV``, else the default."""
    if flag is not None:
        return project.get(flag.strip(), where=f"--env {flag}")
    from_env = environ.get(ENV_VARIABLE, "").strip()
    if from_env:
        return project.get(from_env, where=f"environment variable {ENV_VARIABLE}={from_env}")
    if project.default is not None:
        return project.get(project.default, where=_where(project, "env"))
    return None


def _where(project: Project, key: str) -> str:
    assert project.pyproject is not None
    return f"{project.pyproject}:{pyproject_line(project.pyproject.read_text('utf-8'), key)} {key}"


def _parse(pyproject: Path) -> Project:
    import tomllib  # noqa: PLC0415 - only a pyproject.toml needs it (the catalog is read by rtoml)

    try:
        text = pyproject.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read {pyproject}: {exc}",
            where=str(pyproject),
            fix="fix the file so it is valid TOML",
        ) from None
    tool = data.get("tool", {})
    skaal = tool.get("skaal", {}) if isinstance(tool, dict) else {}
    if not isinstance(skaal, dict):
        skaal = {}
    tables = skaal.get("envs", {})
    at = f"{pyproject}:{pyproject_line(text, 'envs')}"
    if not isinstance(tables, dict):
        raise UsageError(
            "[tool.skaal] envs must be a table of environments",
            where=f"{at} tool.skaal.envs",
            fix="declare each environment as its own table: [tool.skaal.envs.staging]",
        )
    envs: dict[str, Environment] = {}
    for name, table in sorted(tables.items()):
        envs[name] = _environment(name, table, pyproject, text)
    default = skaal.get("env")
    if default is not None and (not isinstance(default, str) or not default.strip()):
        raise UsageError(
            f"[tool.skaal] env must be the name of an environment, got {default!r}",
            where=f"{pyproject}:{pyproject_line(text, 'env')} tool.skaal.env",
            fix='write env = "dev" with a [tool.skaal.envs.dev] table',
        )
    existing_at = f"{pyproject}:{pyproject_line(text, 'existing')}"
    project = Project(
        root=pyproject.parent,
        pyproject=pyproject,
        default=default.strip() if isinstance(default, str) else None,
        envs=MappingProxyType(envs),
        existing=_existing(skaal.get("existing", {}), "tool.skaal", existing_at),
        existing_where=existing_at,
    )
    if project.default is not None:
        project.get(
            project.default, where=f"{pyproject}:{pyproject_line(text, 'env')} tool.skaal.env"
        )
    return project


def _environment(name: str, table: object, pyproject: Path, text: str) -> Environment:
    key = f"tool.skaal.envs.{name}"
    where = f"{pyproject}:{pyproject_line(text, f'envs.{name}')}"
    if not _NAME.match(name) or name in RESERVED_NAMES:
        why = (
            "is a target's name (artifacts/<env>/ would clash with artifacts/<target>/)"
            if name in RESERVED_NAMES
            else "is not 1-20 lowercase letters, digits or '-' starting with a letter"
        )
        raise UsageError(
            f"environment name {name!r} {why}",
            where=f"{where} {key}",
            fix="rename it, e.g. [tool.skaal.envs.dev] or [tool.skaal.envs.staging]",
        )
    if not isinstance(table, dict):
        raise UsageError(
            f"{key} must be a table, got {type(table).__name__}",
            where=f"{where} {key}",
            fix=f"write [{key}] with its keys ({', '.join(ENV_KEYS)}) below it",
        )
    for item in table:
        if item not in ENV_KEYS:
            raise UsageError(
                f"{key} has an unknown key {item!r}{did_you_mean(item, ENV_KEYS)}",
                where=f"{where} {key}.{item}",
                fix=f"an environment may set: {', '.join(ENV_KEYS)}",
            )
    catalog = _text(table, "catalog", key, where)
    target = _text(table, "target", key, where)
    if target is not None and target not in _TARGETS:
        raise UsageError(
            f"{key}.target is {target!r}, not a target{did_you_mean(target, _TARGETS)}",
            where=f"{where} {key}.target",
            fix=f"use one of: {', '.join(_TARGETS)}",
        )
    if catalog is not None and target is not None:
        raise UsageError(
            f"{key} sets both catalog and target",
            where=f"{where} {key}",
            fix="keep one: target for a bundled catalog, catalog for a file or catalog name",
        )
    port = table.get("port")
    if port is not None and (
        not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535
    ):
        raise UsageError(
            f"{key}.port is {port!r}, not a port number",
            where=f"{where} {key}.port",
            fix="use 1-65535, e.g. port = 8001",
        )
    existing_at = f"{pyproject}:{pyproject_line(text, f'envs.{name}.existing')}"
    return Environment(
        name=name,
        where=where,
        catalog=catalog,
        target=target,
        port=port,
        dotenv=_text(table, "dotenv", key, where),
        config=_config(table.get("config", {}), key, where),
        existing=_existing(table.get("existing", {}), key, existing_at),
        existing_where=existing_at,
    )


def _text(table: dict[str, object], item: str, key: str, where: str) -> str | None:
    value = table.get(item)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise UsageError(
            f"{key}.{item} must be a non-empty string, got {value!r}",
            where=f"{where} {key}.{item}",
            fix=f'write {item} = "..."',
        )
    return value.strip()


def _config(value: object, key: str, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise UsageError(
            f"{key}.config must be a table of variables, got {type(value).__name__}",
            where=f"{where} {key}.config",
            fix='write config = { LOG_LEVEL = "debug" }',
        )
    out: dict[str, str] = {}
    for name, item in sorted(value.items()):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise UsageError(
                f"{key}.config has {name!r}, which is not an environment variable name",
                where=f"{where} {key}.config.{name}",
                fix="use letters, digits and '_', starting with a letter or '_'",
            )
        if isinstance(item, bool):
            out[name] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            out[name] = str(item)
        else:
            raise UsageError(
                f"{key}.config.{name} is a {type(item).__name__}, not a string or number",
                where=f"{where} {key}.config.{name}",
                fix=f'write {name} = "value"',
            )
    return MappingProxyType(out)


def _existing(value: object, key: str, where: str) -> Mapping[str, str]:
    """An ``existing`` table: resource name -> what it adopts (checked against the app later)."""
    if not isinstance(value, dict):
        raise UsageError(
            f"{key}.existing must be a table of resources, got {type(value).__name__}",
            where=f"{where} {key}.existing",
            fix=f'write [{key}.existing] with lines such as Carts = "legacy-carts"',
        )
    out: dict[str, str] = {}
    for name, item in sorted(value.items()):
        if not isinstance(item, str) or not item.strip() or "\0" in item:
            raise UsageError(
                f"{key}.existing.{name} must be a non-empty string naming an existing "
                f"resource, got {type(item).__name__}",
                where=f"{where} {key}.existing.{name}",
                fix=f'write {name} = "arn:..." or {name} = "table-or-bucket-name" '
                "(see docs/adopt.md)",
            )
        out[name] = item.strip()
    return MappingProxyType(out)
