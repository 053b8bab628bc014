"""From decorator keyword arguments to a validated :class:`Requirements`.

One table says, for every constraint a user may write, how its value parses
and which resource kinds accept it.  Anything else (an unknown name, a value
that does not parse, a constraint that means nothing for the kind, an explicit
``None``) becomes a :class:`DeclarationError` naming the class, the decorator's
file:line, the bad value, what is accepted and the closest valid spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final, Never

from msgspec import Struct

from skaal.blueprint.model import Kind, Requirements, SourceLocation
from skaal.errors import DeclarationError, did_you_mean
from skaal.model import grammar

__all__ = ["CONSTRAINTS", "UNSET", "Unset", "build_requirements", "declared_requirements"]


class Unset:
    """The "not declared" sentinel: distinct from every value a user can pass."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset()

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _backend_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise grammar.GrammarError(
            f"{value!r} is not a backend name", accepted="a catalog backend name such as 'dynamodb'"
        )
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise grammar.GrammarError(f"{value!r} is not a boolean", accepted="True | False")
    return value


def _attempts(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise grammar.GrammarError(
            f"{value!r} is not a number of attempts", accepted="an integer from 1 to 1000"
        )
    return value


def _collocate(value: object) -> str:
    # A class is resolved to its qualified name later, when modules are composed.
    if isinstance(value, type):
        return f"{value.__module__}:{value.__qualname__}"
    if isinstance(value, str) and _NAME.match(value):
        return value
    raise grammar.GrammarError(
        f"{value!r} is not a resource", accepted="a declared resource class or its name"
    )


class Constraint(Struct, frozen=True):
    """How one keyword parses, which field it fills and which kinds accept it."""

    field: str
    parse: Callable[[object], object]
    kinds: frozenset[Kind]
    meaning: str


_STATE: Final = frozenset[Kind]({"map", "collection"})
_DATA: Final = frozenset[Kind]({"map", "collection", "blob"})
_MESSAGING: Final = frozenset[Kind]({"queue", "topic"})
_COMPUTE: Final = frozenset[Kind]({"function"})
_ALL: Final = _DATA | _MESSAGING | _COMPUTE

#: Every constraint keyword, by the name users write.
CONSTRAINTS: Final[Mapping[str, Constraint]] = {
    "read_latency": Constraint("read_latency", grammar.parse_latency, _DATA, "latency bound"),
    "write_latency": Constraint("write_latency", grammar.parse_latency, _DATA, "latency bound"),
    "durability": Constraint(
        "durability", grammar.parse_durability, _DATA | _MESSAGING, "durability level"
    ),
    "size": Constraint("size_gb", grammar.parse_size, _DATA, "stored size"),
    "reads": Constraint("reads_per_s", grammar.parse_rate, _DATA, "read rate"),
    "writes": Constraint("writes_per_s", grammar.parse_rate, _DATA, "write rate"),
    "messages": Constraint("writes_per_s", grammar.parse_rate, _MESSAGING, "message rate"),
    "invocations": Constraint("reads_per_s", grammar.parse_rate, _COMPUTE, "invocation rate"),
    "consistency": Constraint("consistency", grammar.parse_consistency, _STATE, "consistency"),
    "availability": Constraint(
        "availability", grammar.parse_percent, _ALL, "availability percentage"
    ),
    "residency": Constraint("residency", grammar.parse_residency, _ALL, "region or family"),
    "ttl": Constraint("ttl_s", grammar.parse_duration, _DATA, "item expiry"),
    "retention": Constraint("retention_s", grammar.parse_duration, _MESSAGING, "retention"),
    "access": Constraint("access", grammar.parse_access, _STATE, "access pattern"),
    "ordered": Constraint("ordered", _bool, frozenset({"queue"}), "FIFO ordering"),
    "max_attempts": Constraint("max_attempts", _attempts, frozenset({"queue"}), "attempts"),
    "memory": Constraint("memory_gb", grammar.parse_size, _COMPUTE, "memory"),
    "timeout": Constraint("timeout_s", grammar.parse_duration, _COMPUTE, "timeout"),
    "backend": Constraint("backend", _backend_name, _ALL, "backend pin"),
    "collocate_with": Constraint("collocate_with", _collocate, _DATA, "co-location"),
}


def build_requirements(
    values: Mapping[str, object],
    *,
    kind: Kind,
    subject: str,
    decorator: str,
    location: SourceLocation,
) -> Requirements:
    """Validate decorator keywords for a resource of ``kind`` into ``Requirements``.

    ``subject`` names what is declared (``class Carts``); ``decorator`` names
    the call (``@app.storage``) so messages point at what the user wrote.
    This runs once per declaration, so the message parts are only put
    together when a value is refused.
    """
    fields: dict[str, object] = {}
    for name, raw in values.items():
        if raw is UNSET:
            continue
        constraint = CONSTRAINTS.get(name)
        if constraint is None or kind not in constraint.kinds or raw is None:
            where = f"{location} ({decorator} on {subject})"
            _refuse(name, raw, constraint, kind=kind, where=where, decorator=decorator)
        try:
            fields[constraint.field] = _parse(constraint, raw)
        except grammar.GrammarError as exc:
            raise DeclarationError(
                f"bad {constraint.meaning} for {name}: {exc.message}",
                where=f"{location} ({decorator} on {subject})",
                fix=f"accepted: {exc.accepted}",
            ) from None
    return Requirements.model_validate(fields)


#: (kind, names..., values...) -> the Requirements those keywords make.
#: An app of n declarations writes a few combinations again and again
#: (``read_latency="< 20ms", durability="durable"``); Requirements are frozen,
#: so every declaration that writes the same keywords shares one record.
#: Declaring 10,000 Maps in nine such combinations, a kept record takes
#: 0.9 us to find where building it takes 3.5 us (both without garbage
#: collection, which the validated record's allocations also trigger), and
#: saves 740 bytes per declaration.  The key is every keyword the decorator
#: has, declared or ``UNSET``, so it is built without a loop in Python.  Only
#: keywords whose values are all exactly ``str`` (or ``UNSET``) are kept:
#: ``True == 1`` but ``max_attempts=True`` is refused and ``1`` accepted, so
#: other values always take the full path.  Refused keywords are never kept:
#: each raises afresh, at its own location.
_REQUIREMENTS: dict[tuple[object, ...], Requirements] = {}
_REQUIREMENTS_MAX: Final = 4096
_TEXT_OR_UNSET: Final = frozenset({str, Unset})


def declared_requirements(
    values: Mapping[str, object],
    *,
    kind: Kind,
    subject: str,
    decorator: str,
    location: SourceLocation,
) -> Requirements:
    """:func:`build_requirements`, once per combination of keywords and kind."""
    if not _TEXT_OR_UNSET.issuperset(map(type, values.values())):
        return build_requirements(
            values, kind=kind, subject=subject, decorator=decorator, location=location
        )
    key = (kind, *values, *values.values())
    found = _REQUIREMENTS.get(key)
    if found is None:
        found = build_requirements(
            values, kind=kind, subject=subject, decorator=decorator, location=location
        )
        if len(_REQUIREMENTS) >= _REQUIREMENTS_MAX:
            _REQUIREMENTS.clear()
        _REQUIREMENTS[key] = found
    return found


def _refuse(
    name: str,
    raw: object,
    constraint: Constraint | None,
    *,
    kind: Kind,
    where: str,
    decorator: str,
) -> Never:
    """The error for a keyword ``kind`` does not take, or an explicit ``None``."""
    accepted = sorted(n for n, c in CONSTRAINTS.items() if kind in c.kinds)
    if constraint is None:
        raise DeclarationError(
            f"unknown constraint {name}={raw!r}{did_you_mean(name, accepted)}",
            where=where,
            fix=f"{decorator} accepts: {', '.join(accepted)}",
        )
    if kind not in constraint.kinds:
        raise DeclarationError(
            f"constraint {name!r} does not apply to a {kind}",
            where=where,
            fix=f"remove it; a {kind} accepts: {', '.join(accepted)}",
        )
    raise DeclarationError(
        f"{name}=None is not a value",
        where=where,
        fix=f"omit {name} to leave the {constraint.meaning} undeclared",
    )


#: (parser, text) -> parsed value.  Apps spell the same few values again and
#: again ("< 10ms", "durable"), and every parsed value is immutable, so one
#: parse per spelling serves every declaration that writes it.
_PARSED: dict[tuple[Callable[[object], object], str], object] = {}
_PARSED_MAX: Final = 4096


def _parse(constraint: Constraint, raw: object) -> object:
    if type(raw) is not str:
        return constraint.parse(raw)
    key = (constraint.parse, raw)
    parsed = _PARSED.get(key, UNSET)
    if parsed is UNSET:
        parsed = constraint.parse(raw)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = parsed
    return parsed
