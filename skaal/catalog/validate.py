"""Turning a merged raw catalog into validated :class:`~skaal.catalog.model.Catalog` records.

Two passes, both collecting every problem before failing:

1. **Schema** – the frozen records in :mod:`skaal.catalog.model` check
   fields, types, ranges and allowed values (kinds, durability,
   consistency, provider), and that every number is finite
   (:mod:`skaal.catalog.schema_errors`).  Validation is strict (TOML already
   has types, so ``availability = "99.9"`` is an error, not a silent
   conversion).  Instance classes and capacity modes are TOML tables keyed
   by name; they are handed to the records as sequences in file order, and
   an error inside one is located by its name again.  Each mistake is
   rewritten as a :class:`~skaal.catalog.problems.Problem` naming file,
   line, table and key with a fix; no validator's text escapes unexplained.
2. **Meaning** – what the models cannot express (:mod:`skaal.catalog.checks`):
   price components, regions, capabilities, the rules of server backends and
   capacity modes.

A backend with modes and no ``[price]`` gets its first mode's price.  The
built catalog is schema 2 whatever the files' versions (schema-1 files were
converted when they were read, see :mod:`skaal.catalog.schema1`).

:func:`catalog_warnings` lists what is legal but suspicious, such as an
``implementation`` the registry does not know: the solver rejects such a
backend with a reason, so it is worth a warning, not a failure.  So is a
``requires = ["vpc"]`` that disagrees with the implementation's record
(:attr:`skaal.registry.Implementation.network`): the plan prices the VPC by
the catalog's word, the build creates it by the record's.
"""

from __future__ import annotations

import math
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from skaal.catalog.checks import meaning, shared_quotas
from skaal.catalog.merge import Merged
from skaal.catalog.model import (
    PRICE_COMPONENTS,
    Backend,
    Catalog,
    CountQuota,
    IndexFactor,
    InstanceClass,
    Limits,
    Mode,
    Performance,
    Price,
    PriceItem,
    ReadFactor,
    Server,
)
from skaal.catalog.positions import KeyPath
from skaal.catalog.problems import CatalogValidationError, Problem, format_table
from skaal.catalog.schema_errors import SchemaError, checked
from skaal.errors import did_you_mean
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["SCHEMA_VERSION", "build_catalog", "catalog_warnings"]

#: The schema version of every built catalog.
SCHEMA_VERSION = 2

_TABLE_MODELS: dict[str, type[Struct]] = {
    "performance": Performance,
    "limits": Limits,
    "server": Server,
    "price": Price,
}
#: Tables keyed by name, relative to a backend: handed to the models as sequences.
_NAMED: tuple[KeyPath, ...] = (("server", "classes"), ("modes",), ("counts",))
_TOP_LEVEL = ("schema_version", "name", "provider", "region", "description", "backends")
_EXAMPLES: dict[str, str] = {
    "description": '"what this backend is"',
    "kinds": '["map"]',
    "implementation": '"redis"',
    "regions": '["us-east-1"]',
    "durability": '"durable"',
    "availability": "99.9",
    "region": '"us-east-1"',
    "provider": '"aws"',
    "amount": "0.25",
    "factor": "0.5",
    "source": '"https://provider.example/pricing"',
    "as_of": '"2026-11-22"',
    "quota": "40",
    "quota_group": '"rds-db-instances"',
    "quota_units": "5",
    "quota_scope": '"account"',
    "per_kind": "{ map = 1 }",
    "price": '{ amount = 11.68, source = "https://provider.example/pricing", '
    'as_of = "2026-12-03" }',
}
_EXPECTED_TYPE: dict[str, str] = {
    "float_type": "a number",
    "int_type": "an integer",
    "string_type": "a quoted string",
    "tuple_type": "an array, e.g. [...]",
    "bool_type": "true or false",
}


def build_catalog(merged: Merged, *, command: str) -> Catalog:
    """Validate ``merged`` into a :class:`Catalog`; raise all problems at once."""
    data = merged.data
    problems: list[Problem] = []
    for key in data:
        if key not in _TOP_LEVEL:
            choices = (*_TOP_LEVEL, "extends", "remove_backends")
            problems.append(_unknown(merged, (key,), choices))
    top = {k: _tuplify(v) for k, v in data.items() if k in _TOP_LEVEL and k != "backends"}
    _, errors = checked(Catalog, {**top, "backends": ()})
    problems.extend(_convert(merged, (), errors))
    if not data.get("backends"):
        problems.append(
            merged.problem(
                ("backends",),
                "the catalog has no backends",
                "add at least one [backends.NAME] table",
            )
        )
    backends: list[Backend] = []
    for name, table in data.get("backends", {}).items():
        backend, found = _backend(merged, name, table)
        problems.extend(found)
        if backend is not None:
            backends.append(backend)
    if isinstance(data.get("backends"), dict):
        problems.extend(shared_quotas(merged, data["backends"]))
    if problems:
        problems.sort(key=lambda p: (p.file, p.line or 0))
        raise CatalogValidationError(problems, command=command)
    return Catalog.model_validate(
        {
            **top,
            "schema_version": SCHEMA_VERSION,
            "backends": tuple(backends),
            "sources": tuple(str(f.path) for f in merged.files),
        }
    )


def _backend(
    merged: Merged, name: str, table: dict[str, Any]
) -> tuple[Backend | None, list[Problem]]:
    """One backend table validated: the record, or ``None`` and its problems."""
    prefix: KeyPath = ("backends", name)
    problems: list[Problem] = []
    if "name" in table:
        problems.append(
            merged.problem(
                (*prefix, "name"),
                "a backend's name comes from its table key and cannot be set",
                f"delete name; rename the table [backends.NEW] to rename {name!r}",
            )
        )
    raw = {k: _tuplify(v) for k, v in table.items() if k != "name"}
    problems.extend(meaning(merged, prefix, raw))
    fields, names, skip = _shaped(raw)
    backend, errors = checked(Backend, {**fields, "name": name})
    if backend is None:
        problems.extend(_convert(merged, prefix, errors, names=names, skip=skip))
        return None, _unique(problems)
    return (backend if not problems else None), problems


def _shaped(
    raw: dict[str, Any],
) -> tuple[dict[str, Any], dict[KeyPath, tuple[str, ...]], tuple[KeyPath, ...]]:
    """``raw`` as the models take it: named tables become sequences in file order.

    Returns the fields, the names of each sequence (to locate errors again) and
    the error locations to skip (already reported by the meaning pass, or
    belonging to a price copied from the first mode).
    """
    fields = dict(raw)
    names: dict[KeyPath, tuple[str, ...]] = {}
    skip: list[KeyPath] = []
    for path in _NAMED:
        parent: Any = fields
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if path[-1] not in parent:
            if len(path) > 1:  # a server without classes: the meaning pass explains it
                skip.append(path)
            continue
        value = parent[path[-1]]
        if not isinstance(value, dict) or not value:
            skip.append(path)  # the meaning pass explains it
            value = {}
        names[path] = tuple(value)
        items = tuple({**v, "name": k} if isinstance(v, dict) else v for k, v in value.items())
        if len(path) == 1:
            fields[path[0]] = items
        else:
            fields[path[0]] = {**parent, path[-1]: items}
    modes = fields.get("modes")
    if "price" not in fields and "modes" in raw:
        skip.append(("price",))  # the modes' own problems say what is missing
        first = modes[0] if isinstance(modes, tuple) and modes else None
        if isinstance(first, dict) and "price" in first:
            fields["price"] = first["price"]
    return fields, names, tuple(skip)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, int | None, str, str, str]] = set()
    result = []
    for p in problems:
        key = (p.file, p.line, p.table, p.key, p.message)
        if key not in seen:
            seen.add(key)
            result.append(p)
    return result


def catalog_warnings(catalog: Catalog, merged: Merged) -> list[str]:
    """Legal but suspicious things in ``catalog``, each located, for ``catalog validate``."""
    warnings: list[str] = []
    for file in merged.files:
        if file.data.get("schema_version") == 1:
            warnings.append(
                f"{file.shown}: schema_version 1 is read as schema 2 ([shared] becomes one "
                "instance class 'standard' with the quota max_instances); write schema 2 "
                "to offer several classes (see docs/catalogs.md)"
            )
    for backend in catalog.backends:
        prefix: KeyPath = ("backends", backend.name)
        for kind in backend.kinds:
            reason = DEFAULT_REGISTRY.check(backend.implementation, kind, catalog.provider)
            if reason is not None:
                where = _where(merged, (*prefix, "implementation"))
                warnings.append(
                    f"{where}: {reason}; the planner will not choose {backend.name!r} for a {kind}"
                )
                break
        else:
            warnings.extend(_vpc_warning(catalog, backend, merged))
    return warnings


def _vpc_warning(catalog: Catalog, backend: Backend, merged: Merged) -> list[str]:
    """A warning when ``requires = ["vpc"]`` and the build's VPC disagree, else nothing."""
    built = DEFAULT_REGISTRY.network(backend.implementation, catalog.provider).vpc
    priced = "vpc" in backend.requires
    if built == priced:
        return []
    where = _where(merged, ("backends", backend.name, "requires" if priced else "implementation"))
    if built:
        return [
            f"{where}: the {catalog.provider} build reaches {backend.implementation!r} "
            f'through a VPC, but {backend.name!r} does not say requires = ["vpc"], so '
            "plans would not price the VPC; add it"
        ]
    return [
        f'{where}: {backend.name!r} says requires = ["vpc"], but the {catalog.provider} '
        f"build of {backend.implementation!r} creates no VPC, so plans would price one "
        "nobody builds; remove it"
    ]


def _unknown(merged: Merged, path: KeyPath, choices: tuple[str, ...]) -> Problem:
    name = path[-1]
    return merged.problem(
        path,
        f"unknown key {name}{did_you_mean(name, choices)}",
        f"rename or delete it; {format_table(path[:-1])} accepts: {', '.join(choices)}",
    )


def _where(merged: Merged, path: KeyPath) -> str:
    return merged.problem(path, "", "").where


def _convert(
    merged: Merged,
    prefix: KeyPath,
    errors: list[SchemaError],
    *,
    names: dict[KeyPath, tuple[str, ...]] | None = None,
    skip: tuple[KeyPath, ...] = (),
) -> list[Problem]:
    """Rewrite schema errors as located problems (``names`` turn indexes back to keys)."""
    problems: list[Problem] = []
    for error in errors:
        loc, index = _location(error.loc, names or {})
        if any(loc[: len(s)] == s for s in skip):
            continue
        path: KeyPath = (*prefix, *loc)
        if loc == ("backends",) or not path:
            continue
        if error.kind == "too_short" and loc == ("server", "classes"):
            continue  # an empty classes table is the meaning pass's; else a class failed
        key = path[-1] + (f"[{index}]" if index is not None else "")
        message, fix = _explain(error, merged.file_of(path).written(path), key)
        problem = merged.problem(path, message, fix)
        problems.append(replace(problem, key=key) if index is not None else problem)
    return problems


def _location(
    loc: tuple[str | int, ...], names: dict[KeyPath, tuple[str, ...]]
) -> tuple[KeyPath, int | None]:
    """A schema error's location as a key path: a named table's index becomes its name.

    Another index (an array entry) is returned apart, for ``kinds[1]``; a
    ``parameters`` value's union members (``str``, ``int``...) are dropped.
    """
    path: list[str] = []
    index: int | None = None
    for part in loc:
        if isinstance(part, int):
            known = names.get(tuple(path))
            if known is not None and part < len(known):
                path.append(known[part])
            else:
                index = part
            continue
        if len(path) >= 2 and path[-2] == "parameters":
            break  # inside a parameter's value
        path.append(part)
    return tuple(path), index


def _explain(error: SchemaError, path: KeyPath, key: str) -> tuple[str, str]:
    kind = error.kind
    given = error.given
    name = path[-1]
    table = format_table(path[:-1])
    in_class = len(path) >= 3 and path[-3] == "classes"
    if isinstance(given, float) and not math.isfinite(given):
        return (
            f"{key} = {given}: every number in a catalog must be finite",
            f"write a finite number for {key} in {table} (inf and nan are not accepted)",
        )
    if kind == "missing":
        if name == "price" and in_class:
            return "missing required key price", f"add price = {_EXAMPLES['price']} to {table}"
        if name in _TABLE_MODELS:
            return f"missing required table {name}", f"add a {format_table(path)} table"
        example = _EXAMPLES.get(name, "...")
        return f"missing required key {name}", f"add {name} = {example} to {table}"
    if kind == "extra_forbidden":
        choices = _fields_at(path[:-1])
        if name == "shared" and len(path) == 3:
            return (
                "unknown key shared: schema 2 describes a server backend by [server] with "
                "instance classes",
                f"write [{format_table(path[:-1]).strip('[]')}.server] with quota and one "
                "classes.NAME table per instance size (see docs/catalogs.md), or set "
                "schema_version = 1",
            )
        return (
            f"unknown key {name}{did_you_mean(name, choices)}",
            f"rename or delete it; {table} accepts: {', '.join(choices)}",
        )
    if kind == "literal_error":
        options = list(error.expected)
        return (
            f"{given!r} is not a valid {name}{did_you_mean(str(given), options)}",
            f"use one of: {', '.join(options)}",
        )
    if kind == "dict_type":
        fix = f"write a {format_table(path)} table"
        if name in PRICE_COMPONENTS or (name == "price" and in_class):
            fix = (
                f"write {name} = {{ amount = {given!r}, source = "
                '"https://...", as_of = "2026-11-22" } (every price names its source and date)'
            )
        elif name == "eventual_reads":
            fix = (
                f"write eventual_reads = {{ factor = {given!r}, source = "
                '"https://...", as_of = "2026-11-22" } (the share of a strong read\'s price '
                "an eventual read costs, with the page that says so)"
            )
        elif name == "index_copies":
            fix = (
                f"write index_copies = {{ factor = {given!r}, source = "
                '"https://...", as_of = "2026-11-22" } (the share of another copy of the '
                "table each secondary index is billed, with the page that says so)"
            )
        return f"{name} must be a table, not {_type_name(given)} {given!r}", fix
    if len(path) >= 2 and path[-2] == "parameters":
        return (
            f"parameter {name} must be a string or a number, not {_type_name(given)} {given!r}",
            f"write {name} in {table} as a quoted string or a number",
        )
    if kind == "string_pattern_mismatch" and name == "as_of":
        return f"as_of {given!r} is not a date", 'write as_of = "YYYY-MM-DD" (or "YYYY-MM")'
    if kind == "string_type" and name == "as_of":
        return (
            f"as_of must be a quoted string, not {_type_name(given)} {given}",
            f'quote the date: as_of = "{given}"',
        )
    if kind in _EXPECTED_TYPE:
        expected = _EXPECTED_TYPE[kind]
        return (
            f"{key} must be {expected}, not {_type_name(given)} {given!r}",
            f"write {key} as {expected}"
            + (f", e.g. {_EXAMPLES[name]}" if name in _EXAMPLES else ""),
        )
    message = error.message
    return (
        f"{key} = {given!r}: {message[:1].lower()}{message[1:]}",
        f"change {key} in {table} so that it is valid",
    )


def _fields_at(table: KeyPath) -> list[str]:
    """The keys a table accepts, for 'did you mean' and the fix text."""
    if not table:
        return [*_TOP_LEVEL, "extends", "remove_backends"]
    if table[0] != "backends" or len(table) < 2:
        return []
    model: type[Struct] | None = Backend
    parts = table[2:]
    position = 0
    while model is not None and position < len(parts):
        part = parts[position]
        if model is Server and part == "classes":
            model, position = InstanceClass, position + 2
        elif model is Backend and part == "modes":
            model, position = Mode, position + 2
        elif model is Backend and part == "counts":
            model, position = CountQuota, position + 2
        elif (model is Price and part in PRICE_COMPONENTS) or (
            model is InstanceClass and part == "price"
        ):
            model, position = PriceItem, position + 1
        elif model is Price and part == "eventual_reads":
            model, position = ReadFactor, position + 1
        elif model is Price and part == "index_copies":
            model, position = IndexFactor, position + 1
        elif part in _TABLE_MODELS and model in (Backend, Mode):
            model, position = _TABLE_MODELS[part], position + 1
        else:
            model = None
    if model is None or position > len(parts):
        return []
    extra = {"remove"} if model is Backend else set()
    return sorted({*model.__struct_fields__, *extra} - {"name"})


def _type_name(value: object) -> str:
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        tuple: "array",
        dict: "table",
    }
    return names.get(type(value), type(value).__name__)


def _tuplify(value: Any) -> Any:
    """Arrays become tuples (strict validation of tuple fields); tables recurse."""
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuplify(v) for k, v in value.items()}
    return value
