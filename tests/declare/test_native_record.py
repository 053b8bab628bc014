"""``Native``: the record of a resource's backend client keeps its names read-only."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from skaal.native import Native


def test_names_are_copied_into_a_read_only_mapping() -> None:
    given = {"table": "shop-carts"}
    native = Native(None, "dynamodb", "Carts", "map", "shop-carts", given)
    given["table"] = "changed"
    assert isinstance(native.names, MappingProxyType)
    assert dict(native.names) == {"table": "shop-carts"}
    with pytest.raises(TypeError):
        native.names["table"] = "other"  # type: ignore[index]


def test_the_record_stays_frozen() -> None:
    native = Native(None, "memory", "Carts", "map", "Carts")
    assert native.names == {}
    with pytest.raises(AttributeError):
        native.name = "other"  # type: ignore[misc]
