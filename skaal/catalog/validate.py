"""Turning a merged raw catalog into validated :class:`~skaal.catalog.model.Catalog` records.

Two passes, both collecting every problem before failing:

1. **Schema** – the frozen pydantic models in :mod:`skaal.catalog.model`
   check fields, types, ranges and allowed values (kinds, durability,
   consistency, provider).  Validation is strict (TOML already has types, so
   ``availability = "99.9"`` is an error, not a silent conversion).  Each
   pydantic error is rewritten as a :class:`~skaal.catalog.problems.Problem`
   naming file, line, table and key with a fix; no pydantic text escapes
   unexplained.
2. **Meaning** – what the models cannot express: a backend needs at least one
   price component, capabilities must be known (:data:`CAPABILITIES`), the
   price's region must be one of the backend's regions, kinds and regions
   must not be empty.

:func:`catalog_warnings` lists what is legal but suspicious, such as an
``implementation`` the registry does not know: the solver rejects such a
backend with a reason, so it is worth a warning, not a failure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from skaal.catalog.merge import Merged
from skaal.catalog.model import (
    CAPABILITIES,
    PRICE_COMPONENTS,
    Backend,
    Capacity,
    Catalog,
    Limits,
    Performance,
    Price,
    PriceItem,
)
from skaal.catalog.positions import KeyPath
from skaal.catalog.problems import CatalogValidationError, Problem, format_table
from skaal.errors import did_you_mean

__all__ = ["build_catalog", "catalog_warnings"]

_TABLE_MODELS: dict[str, type[BaseModel]] = {
    "performance": Performance,
    "limits": Limits,
    "shared": Capacity,
    "price": Price,
}
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
    "source": '"https://provider.example/pricing"',
    "as_of": '"2026-11-22"',
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
    try:
        Catalog.model_validate({**top, "backends": ()}, strict=True)
    except ValidationError as exc:
        problems.extend(_convert(merged, (), exc))
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
        prefix: KeyPath = ("backends", name)
        if "name" in table:
            problems.append(
                merged.problem(
                    (*prefix, "name"),
                    "a backend's name comes from its table key and cannot be set",
                    f"delete name; rename the table [backends.NEW] to rename {name!r}",
                )
            )
        fields = {k: _tuplify(v) for k, v in table.items() if k != "name"}
        problems.extend(_meaning(merged, prefix, fields))
        try:
            backends.append(Backend.model_validate({**fields, "name": name}, strict=True))
        except ValidationError as exc:
            problems.extend(_convert(merged, prefix, exc))
    if problems:
        problems.sort(key=lambda p: (p.file, p.line or 0))
        raise CatalogValidationError(problems, command=command)
    return Catalog.model_validate(
        {**top, "backends": tuple(backends), "sources": tuple(str(f.path) for f in merged.files)},
        strict=True,
    )


def catalog_warnings(catalog: Catalog, merged: Merged) -> list[str]:
    """Legal but suspicious things in ``catalog``, each located, for ``catalog validate``."""
    from skaal.registry import DEFAULT_REGISTRY

    warnings: list[str] = []
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
        if backend.shared is not None and backend.price.fixed_monthly is None:
            where = _where(merged, (*prefix, "price"))
            warnings.append(
                f"{where}: shared backend {backend.name!r} has no fixed_monthly price, "
                "so its instances cost nothing"
            )
    return warnings


def _unknown(merged: Merged, path: KeyPath, choices: tuple[str, ...]) -> Problem:
    name = path[-1]
    return merged.problem(
        path,
        f"unknown key {name}{did_you_mean(name, choices)}",
        f"rename or delete it; {format_table(path[:-1])} accepts: {', '.join(choices)}",
    )


def _where(merged: Merged, path: KeyPath) -> str:
    return merged.problem(path, "", "").where


def _strings(value: object) -> tuple[str, ...]:
    """The strings of an array value (other entries are the schema pass's business)."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, tuple) else ()


def _meaning(merged: Merged, prefix: KeyPath, table: dict[str, Any]) -> list[Problem]:
    """Checks the models cannot express, on the raw table (so they run even if it has
    schema errors too)."""
    problems: list[Problem] = []
    if table.get("kinds") == ():
        problems.append(
            merged.problem(
                (*prefix, "kinds"),
                "kinds is empty, so the backend serves nothing",
                'list what it serves, e.g. kinds = ["map"]',
            )
        )
    regions = _strings(table.get("regions"))
    if table.get("regions") == ():
        problems.append(
            merged.problem(
                (*prefix, "regions"),
                "regions is empty",
                'list the regions it runs in, e.g. regions = ["us-east-1"]',
            )
        )
    for index, capability in enumerate(_strings(table.get("capabilities"))):
        if capability not in CAPABILITIES:
            problems.append(
                replace(
                    merged.problem(
                        (*prefix, "capabilities"),
                        f"unknown capability {capability!r}"
                        f"{did_you_mean(capability, CAPABILITIES)}",
                        f"use one of: {', '.join(CAPABILITIES)}",
                    ),
                    key=f"capabilities[{index}]",
                )
            )
    price = table.get("price")
    if not isinstance(price, dict):
        return problems
    if not any(name in price for name in PRICE_COMPONENTS):
        problems.append(
            merged.problem(
                (*prefix, "price"),
                "the price has no component, so the backend's cost is unknown",
                f"add at least one of {', '.join(PRICE_COMPONENTS)}, e.g. fixed_monthly = "
                '{ amount = 0.0, source = "https://...", as_of = "2026-11-22" } '
                "(a free backend states amount = 0.0)",
            )
        )
    region = price.get("region")
    if regions and isinstance(region, str) and region not in regions:
        problems.append(
            merged.problem(
                (*prefix, "price", "region"),
                f"price region {region!r} is not one of the backend's regions "
                f"({', '.join(regions)})",
                "quote prices for a region the backend runs in, or add it to regions",
            )
        )
    return problems


def _convert(merged: Merged, prefix: KeyPath, exc: ValidationError) -> list[Problem]:
    """Rewrite pydantic's errors as located problems."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if not isinstance(p, int)]
        path: KeyPath = (*prefix, *loc)
        if loc == ["backends"] or not path:
            continue
        index = next((p for p in error["loc"] if isinstance(p, int)), None)
        key = path[-1] + (f"[{index}]" if index is not None else "")
        message, fix = _explain(error, path, key)
        problem = merged.problem(path, message, fix)
        problems.append(replace(problem, key=key) if index is not None else problem)
    return problems


def _explain(error: Any, path: KeyPath, key: str) -> tuple[str, str]:
    kind: str = error["type"]
    given: object = error.get("input")
    name = path[-1]
    table = format_table(path[:-1])
    if kind == "missing":
        if name in _TABLE_MODELS:
            return f"missing required table {name}", f"add a {format_table(path)} table"
        example = _EXAMPLES.get(name, "...")
        return f"missing required key {name}", f"add {name} = {example} to {table}"
    if kind == "extra_forbidden":
        choices = _fields_at(path[:-1])
        return (
            f"unknown key {name}{did_you_mean(name, choices)}",
            f"rename or delete it; {table} accepts: {', '.join(choices)}",
        )
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
        return (
            f"{given!r} is not a valid {name}{did_you_mean(str(given), options)}",
            f"use one of: {', '.join(options)}",
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        fix = f"write a {format_table(path)} table"
        if name in PRICE_COMPONENTS:
            fix = (
                f"write {name} = {{ amount = {given!r}, source = "
                '"https://...", as_of = "2026-11-22" } (every price names its source and date)'
            )
        return f"{name} must be a table, not {_type_name(given)} {given!r}", fix
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
    message = str(error.get("msg", "invalid value"))
    return (
        f"{key} = {given!r}: {message[:1].lower()}{message[1:]}",
        f"change {key} in {table} so that it is valid",
    )


def _fields_at(table: KeyPath) -> list[str]:
    """The keys a table accepts, for 'did you mean' and the fix text."""
    if not table:
        return [*_TOP_LEVEL, "extends", "remove_backends"]
    if len(table) == 2 and table[0] == "backends":
        return sorted({*Backend.model_fields, "remove"} - {"name"})
    if len(table) == 3 and table[2] in _TABLE_MODELS:
        return list(_TABLE_MODELS[table[2]].model_fields)
    if len(table) == 4 and table[2] == "price":
        return list(PriceItem.model_fields)
    return []


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
