"""How one declaration names another once an app's modules are composed.

A function's ``consumes=``/``subscribes=`` name a queue or a topic, and a
data resource's ``collocate_with=`` names another data resource, by class
reference or by name; :meth:`skaal.declare.app.App.blueprint` resolves each
to the other's qualified name here, or says which declaration names nothing.
"""

from __future__ import annotations

from msgspec import Struct

from skaal.blueprint.model import Kind
from skaal.declare.declaration import Declaration
from skaal.declare.introspect import object_ref
from skaal.errors import DeclarationError, did_you_mean

__all__ = ["DATA_KINDS", "TRIGGERS", "Peers", "resolve_peer", "resolve_source"]

#: A function's trigger fields: the kind of declaration each one names.
TRIGGERS: tuple[tuple[str, Kind], ...] = (("consumes", "queue"), ("subscribes", "topic"))
DATA_KINDS: frozenset[Kind] = frozenset({"map", "collection", "blob"})


class Peers(Struct, frozen=True):
    """What ``collocate_with=`` may name: data resources by class reference and by name."""

    by_ref: dict[str, str]
    names: set[str]

    @classmethod
    def of(cls, scoped: list[tuple[str, Declaration, str]]) -> Peers:
        data = [(name, d) for name, d, _ in scoped if d.kind in DATA_KINDS]
        return cls({object_ref(d.target): name for name, d in data}, {name for name, _ in data})


def resolve_source(
    ref: str, kind: Kind, messaging: dict[tuple[str, Kind], str], declared: Declaration
) -> str:
    """The qualified name of the queue/topic a consumer/subscriber reads from."""
    name = messaging.get((ref, kind))
    if name is None:
        shown = ref.rsplit(":", maxsplit=1)[-1]
        raise DeclarationError(
            f"{declared.decorator} on {declared.name}: {shown} is not a {kind} this app declares",
            where=str(declared.location),
            fix=f"declare it with @app.{kind}(...) on the app or a module it uses",
        )
    return name


def resolve_peer(
    peer: str,
    name: str,
    prefix: str,
    declared: Declaration,
    *,
    by_ref: dict[str, str],
    names: set[str],
) -> str:
    """The qualified name of a co-location peer: a class, a local name or a full name."""
    if peer in by_ref:
        resolved = by_ref[peer]
    elif prefix + peer in names:
        resolved = prefix + peer
    else:
        resolved = peer
    if resolved == name:
        raise DeclarationError(
            f"{name} is co-located with itself",
            where=str(declared.location),
            fix="name another resource in collocate_with=",
        )
    if resolved not in names:
        shown = peer.rsplit(":", maxsplit=1)[-1]
        raise DeclarationError(
            f"{name} is co-located with {shown!r}, which is not a Map, Collection or "
            f"BlobStore this app declares{did_you_mean(shown, names)}",
            where=str(declared.location),
            fix="declare that resource on the app or a module it uses, or pass the class itself"
            f"; declared: {', '.join(sorted(names)) or 'none'}",
        )
    return resolved
