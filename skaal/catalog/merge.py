"""Reading catalog files and resolving ``extends`` into one raw table.

:func:`resolve_chain` reads a catalog file and, recursively, the catalog it
``extends``, then layers them base first:

1. ``remove_backends`` drops whole inherited backends;
2. in each backend table, ``remove`` drops inherited fields by dotted path
   (``"limits.max_size_gb"``, ``"price.per_gb_month"``, ``"modes.provisioned"``),
   written as a TOML dotted key, so a name containing dots is quoted:
   ``'server.classes."db.t4g.micro"'`` drops one instance class;
3. everything else deep-merges: a table merges key by key into the inherited
   table, any other value (numbers, strings, arrays) replaces the inherited one.
   Instance classes and capacity modes are tables keyed by name, so an
   extending file changes one class's price, or adds a class, key by key.

A schema-1 file is first rewritten in the schema-2 shape
(:mod:`skaal.catalog.schema1`), so files of both versions layer on each other.

A file is parsed by ``rtoml`` (compiled: about 1 ms for the bundled aws
catalog, where ``tomllib`` takes about twenty times as long); a file
``rtoml`` refuses is read again by ``tomllib``, whose error message and line
are the ones reported.

Removal happens before merging, so ``remove = ["price"]`` together with a new
``[backends.x.price]`` table replaces the inherited price wholesale instead of
merging into it.  Backends keep the parent's order; new ones follow in file
order (the solver breaks ties by this order).

Alongside the merged data it keeps ``origins``: for every key path, the file
that last set it (for a table, the file that created it).  Validation uses it
to blame the right file and line, and ``skaal catalog explain`` to say which
file defined each figure.  Errors here (cycles, missing targets, removing
what does not exist) are :class:`~skaal.errors.CatalogError`.
"""

from __future__ import annotations

import copy
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import rtoml
from msgspec import Struct, field

from skaal.catalog.locate import resolve_ref
from skaal.catalog.positions import KeyPath, dotted, key_lines, line_of, split_dotted
from skaal.catalog.problems import CatalogValidationError, Problem, display_path, format_table
from skaal.errors import CatalogError, did_you_mean

__all__ = ["SUPPORTED_SCHEMA_VERSIONS", "CatalogFile", "Merged", "read_file", "resolve_chain"]

#: Catalog format versions this loader understands.
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)

_COMMAND = "skaal catalog validate {file}"


class CatalogFile(Struct, frozen=True, dict=True):
    """One parsed catalog file; the line of each key is found when a problem asks.

    Scanning the text for key lines costs as much as parsing it, and a valid
    catalog never needs them, so :attr:`lines` is computed on first use (kept
    in the instance ``__dict__``, hence ``dict=True``).  The repr leaves out
    :attr:`text` and :attr:`aliases`: a whole file's text is no help there.
    """

    path: Path
    data: dict[str, Any]
    text: str
    #: key path in ``data`` -> key path as written (a schema-1 file read as schema 2)
    aliases: dict[KeyPath, KeyPath] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"CatalogFile(path={self.path!r}, data={self.data!r})"

    @cached_property
    def lines(self) -> dict[KeyPath, int]:
        return key_lines(self.text)

    @property
    def shown(self) -> str:
        return display_path(self.path)

    def problem(self, path: KeyPath, message: str, fix: str) -> Problem:
        """A problem at key ``path`` (table + key) of this file."""
        path = self.written(path)
        table, key = (path[:-1], path[-1]) if path else ((), "")
        return Problem(
            file=self.shown,
            line=line_of(self.lines, path),
            table=format_table(table),
            key=key,
            message=message,
            fix=fix,
        )

    def written(self, path: KeyPath) -> KeyPath:
        """``path`` as the file spells it (differs only for a converted schema-1 key)."""
        for end in range(len(path), 0, -1):
            alias = self.aliases.get(path[:end])
            if alias is not None:
                return alias + path[end:]
        return path


class Merged(Struct):
    """The raw, merged catalog table and where each key came from."""

    data: dict[str, Any]
    files: list[CatalogFile]
    origins: dict[KeyPath, str] = field(default_factory=dict)

    def file_of(self, path: KeyPath) -> CatalogFile:
        """The file responsible for ``path`` (its nearest recorded ancestor's file)."""
        by_path = {str(f.path): f for f in self.files}
        for end in range(len(path), 0, -1):
            origin = self.origins.get(path[:end])
            if origin is not None:
                return by_path[origin]
        return self.files[-1]

    def problem(self, path: KeyPath, message: str, fix: str) -> Problem:
        return self.file_of(path).problem(path, message, fix)


def read_file(path: Path) -> CatalogFile:
    """Parse one TOML file; syntax errors become a located ``CatalogError``."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(
            f"cannot read catalog file: {exc}", where=shown, fix="check the file exists"
        ) from None
    try:
        data = rtoml.loads(text)
    except rtoml.TomlParsingError:
        data = _strict_loads(text, shown)
    return CatalogFile(path=path, data=data, text=text)


def _strict_loads(text: str, shown: str) -> dict[str, Any]:
    """``tomllib``'s reading of a file ``rtoml`` refused, or its located error."""
    import tomllib  # noqa: PLC0415 - only a file rtoml refused needs it

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{shown}:{match.group(1)}" if match else shown
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        column = f" (column {match.group(2)})" if match else ""
        raise CatalogError(
            f"TOML syntax error: {message}{column}",
            where=where,
            fix="correct the TOML syntax (https://toml.io/en/v1.0.0)",
            command=_COMMAND.format(file=shown),
        ) from None


def resolve_chain(ref: str | os.PathLike[str]) -> Merged:
    """Read ``ref`` and everything it extends; return the merged raw catalog."""
    return _resolve(resolve_ref(ref), stack=())


def _resolve(path: Path, stack: tuple[Path, ...]) -> Merged:
    if path in stack:
        chain = " -> ".join(display_path(p) for p in (*stack, path))
        raise CatalogError(
            f"catalogs extend each other in a cycle: {chain}",
            where=display_path(stack[-1]),
            fix="remove one 'extends' so the chain ends at a catalog without one",
        )
    file = read_file(path)
    _check_header(file)
    extends = file.data.get("extends")
    if extends is None:
        merged = Merged(data={}, files=[])
    else:
        referrer = file.problem(("extends",), "", "").where
        parent_path = resolve_ref(extends, base=path.parent, referrer=referrer)
        merged = _resolve(parent_path, stack=(*stack, path))
    _layer(merged, file, inherits=extends is not None)
    return merged


def _check_header(file: CatalogFile) -> None:
    """Checks that must pass before a file can be layered at all."""
    data = file.data
    problems: list[Problem] = []
    version = data.get("schema_version")
    if version is None:
        problems.append(
            file.problem(
                ("schema_version",),
                "missing required key schema_version",
                "add 'schema_version = 2' at the top of the file",
            )
        )
    elif isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(map(str, SUPPORTED_SCHEMA_VERSIONS))
        problems.append(
            file.problem(
                ("schema_version",),
                f"unsupported schema_version {version!r} (this Skaal reads {supported})",
                f"set schema_version = {SUPPORTED_SCHEMA_VERSIONS[-1]}, or upgrade Skaal",
            )
        )
    if "name" not in data:
        problems.append(
            file.problem(("name",), "missing required key name", 'add name = "my-catalog"')
        )
    if "extends" in data and not isinstance(data["extends"], str):
        problems.append(
            file.problem(
                ("extends",),
                f"extends must be a string, not {data['extends']!r}",
                'write extends = "aws" (a bundled name) or a path like "base.toml"',
            )
        )
    removes = data.get("remove_backends", [])
    if not isinstance(removes, list) or not all(isinstance(n, str) for n in removes):
        problems.append(
            file.problem(
                ("remove_backends",),
                "remove_backends must be a list of backend names",
                'write remove_backends = ["name", ...]',
            )
        )
    backends = data.get("backends", {})
    if not isinstance(backends, dict):
        problems.append(
            file.problem(
                ("backends",), "backends must be a table", "write one [backends.NAME] per backend"
            )
        )
        backends = {}
    for name, table in backends.items():
        if not isinstance(table, dict):
            problems.append(
                file.problem(
                    ("backends", name),
                    "a backend must be a table",
                    f"write a [backends.{name}] table with the backend's fields",
                )
            )
            continue
        remove = table.get("remove", [])
        if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
            problems.append(
                file.problem(
                    ("backends", name, "remove"),
                    "remove must be a list of dotted field paths",
                    'write remove = ["limits.max_size_gb", \'server.classes."db.t4g.micro"\']',
                )
            )
    if problems:
        raise CatalogValidationError(problems, command=_COMMAND.format(file=file.shown))


def _layer(merged: Merged, file: CatalogFile, *, inherits: bool) -> None:
    """Apply ``file`` on top of ``merged`` (removals first, then the deep merge)."""
    origin = str(file.path)
    problems: list[Problem] = []
    if file.data.get("schema_version") == 1:
        file = _upgraded(file, merged.data.get("backends", {}))
    data = copy.deepcopy(file.data)
    data.pop("extends", None)
    remove_backends: list[str] = data.pop("remove_backends", [])
    backends: dict[str, Any] = data.pop("backends", {})
    inherited: dict[str, Any] = merged.data.setdefault("backends", {})
    merged.origins.setdefault(("backends",), origin)
    if remove_backends and not inherits:
        problems.append(
            file.problem(
                ("remove_backends",),
                "remove_backends only applies to a catalog that extends another",
                "delete remove_backends, or add extends = ... naming the base catalog",
            )
        )
    for name in remove_backends if inherits else ():
        if name not in inherited:
            problems.append(
                file.problem(
                    ("remove_backends",),
                    f"cannot remove backend {name!r}: the base catalog has no such backend"
                    f"{did_you_mean(name, inherited)}",
                    f"remove {name!r} from remove_backends",
                )
            )
            continue
        del inherited[name]
        _drop(merged.origins, ("backends", name))
    for name, table in backends.items():
        prefix: KeyPath = ("backends", name)
        for removal in table.pop("remove", []):
            problem = _remove_field(merged, file, name, removal, inherits=inherits)
            if problem is not None:
                problems.append(problem)
        if name not in inherited:
            inherited[name] = {}
            merged.origins[prefix] = origin
        _merge_into(inherited[name], table, prefix, origin, merged.origins)
    _merge_into(merged.data, data, (), origin, merged.origins)
    merged.files.append(file)
    if problems:
        raise CatalogValidationError(problems, command=_COMMAND.format(file=file.shown))


def _upgraded(file: CatalogFile, inherited: dict[str, Any]) -> CatalogFile:
    """A schema-1 file read in the schema-2 shape; what cannot be converted is a problem."""
    from skaal.catalog.schema1 import upgrade  # noqa: PLC0415 - only a schema-1 file needs it: not at start-up

    converted = upgrade(file.data, inherited)
    file = CatalogFile(file.path, converted.data, file.text, converted.aliases)
    if converted.problems:
        raise CatalogValidationError(
            [file.problem(path, message, fix) for path, message, fix in converted.problems],
            command=_COMMAND.format(file=file.shown),
        )
    return file


def _remove_field(
    merged: Merged, file: CatalogFile, backend: str, path: str, *, inherits: bool
) -> Problem | None:
    """Delete ``path`` (a dotted key) from an inherited backend, or say why it cannot be."""
    where: KeyPath = ("backends", backend, "remove")
    inherited = merged.data["backends"]
    if not inherits:
        return file.problem(
            where,
            "remove only applies to a catalog that extends another",
            "delete the remove key, or add extends = ... naming the base catalog",
        )
    if backend not in inherited:
        return file.problem(
            where,
            f"cannot remove fields of {backend!r}: the base catalog has no such backend"
            f"{did_you_mean(backend, inherited)}",
            "remove applies to inherited backends only; delete it here",
        )
    node: Any = inherited[backend]
    parts = split_dotted(path)
    if parts is None:
        return file.problem(
            where,
            f"cannot remove {path!r}: it is not a dotted key",
            "write names joined by dots, quoting a name that contains dots: "
            "'server.classes.\"db.t4g.micro\"'",
        )
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            choices = node if isinstance(node, dict) else {}
            inside = dotted(parts[:depth]) or f"backend {backend!r}"
            return file.problem(
                where,
                f"cannot remove {path!r}: {inside} has no field {part!r} in the base "
                f"catalog{did_you_mean(part, choices)}",
                f"remove {path!r} from the list, or correct the path"
                + _quote_hint(parts, depth, choices),
            )
        if depth == len(parts) - 1:
            del node[part]
        else:
            node = node[part]
    _drop(merged.origins, ("backends", backend, *parts))
    return None


def _quote_hint(parts: KeyPath, depth: int, choices: Any) -> str:
    """Advice when ``parts[depth:]`` joined by dots is a name in ``choices``."""
    for end in range(len(parts), depth + 1, -1):
        name = ".".join(parts[depth:end])
        if name in choices:
            quoted = dotted((*parts[:depth], name, *parts[end:]))
            return f"; a name containing dots is quoted: {quoted!r}"
    return ""


def _merge_into(
    dst: dict[str, Any],
    src: dict[str, Any],
    prefix: KeyPath,
    origin: str,
    origins: dict[KeyPath, str],
) -> None:
    for key, value in src.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            if not isinstance(dst.get(key), dict):
                if key in dst:  # a value replaced by a table; a new key has no origins below
                    _drop(origins, path)
                dst[key] = {}
                origins[path] = origin
            _merge_into(dst[key], value, path, origin, origins)
        else:
            if isinstance(dst.get(key), dict):
                _drop(origins, path)
            dst[key] = value
            origins[path] = origin


def _drop(origins: dict[KeyPath, str], prefix: KeyPath) -> None:
    for path in [p for p in origins if p[: len(prefix)] == prefix]:
        del origins[path]
