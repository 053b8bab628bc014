"""``CollectionClient[T]``: documents of a pydantic model, found by declared indexes.

The document is stored as JSON; the values of the declared ``Index`` fields
are extracted here (in JSON form) and handed to the backend, which keeps them
queryable (SQLite: expression indexes over a JSON column).  ``find`` accepts
only declared index fields, so a query never silently scans everything.

A declared ``ttl`` is the default expiry of every ``put``; ``put(doc, ttl=...)``
overrides it for one write.  Each write restarts the document's clock, and an
expired document is invisible to ``get``, ``delete`` and ``find``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from skaal.runtime.clients.map import check_limit
from skaal.runtime.codecs import KeyCodec, ValueCodec, validation_summary
from skaal.runtime.errors import UndeclaredIndexError, ValueTypeError
from skaal.runtime.ports import DocumentBackend, IndexValue, Page, decode_cursor, encode_cursor

__all__ = ["CollectionClient"]

T = TypeVar("T", bound=BaseModel)


def index_value(value: object) -> IndexValue:
    """A field value in the scalar form backends index (non-scalars as canonical JSON)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class CollectionClient(Generic[T]):
    """Typed access to one ``Collection`` resource."""

    def __init__(
        self,
        backend: DocumentBackend,
        *,
        resource: str,
        model: type[T],
        key_field: str,
        indexes: tuple[str, ...],
        default_ttl: float | None = None,
    ) -> None:
        self.backend = backend
        self.resource = resource
        self.model = model
        self.key_field = key_field
        self.indexes = indexes
        self._ttl = default_ttl
        self._values: ValueCodec[T] = ValueCodec(model, resource=resource)
        self._keys: KeyCodec[Any] = KeyCodec(_annotation(model, key_field), resource=resource)
        self._fields: dict[str, TypeAdapter[Any]] = {
            name: TypeAdapter(_annotation(model, name)) for name in indexes
        }

    def __repr__(self) -> str:
        return f"CollectionClient({self.resource!r})"

    @property
    def codecs(self) -> tuple[KeyCodec[Any], ValueCodec[T]]:
        """How this collection encodes keys and documents (for tools that read the stored form)."""
        return self._keys, self._values

    def key_of(self, document: T) -> object:
        """The key of ``document`` (its ``key_field``)."""
        return getattr(document, self.key_field)

    async def put(self, document: T, *, ttl: float | None = None) -> None:
        """Insert or replace the document with this key; ``ttl`` seconds overrides the default."""
        encoded = self._values.encode(document)
        key = self._keys.encode(getattr(document, self.key_field))
        dumped = document.model_dump(mode="json", include=set(self.indexes))
        fields = {name: index_value(dumped.get(name)) for name in self.indexes}
        await self.backend.put(key, encoded, fields, ttl=self._expiry(ttl))

    def entry(self, data: bytes) -> tuple[str, dict[str, IndexValue]]:
        """The encoded key and index fields of a stored document (``skaal migrate`` copies them)."""
        document = self._values.decode(data)
        key = self._keys.encode(getattr(document, self.key_field))
        dumped = document.model_dump(mode="json", include=set(self.indexes))
        return key, {name: index_value(dumped.get(name)) for name in self.indexes}

    def _expiry(self, ttl: float | None) -> float | None:
        ttl = self._ttl if ttl is None else ttl
        if ttl is not None and (isinstance(ttl, bool) or not ttl > 0):
            raise ValueTypeError(
                f"ttl={ttl!r} for {self.resource} is not a positive number of seconds",
                where=self.resource,
                fix="pass ttl=60 for one minute, or omit it",
            )
        return ttl

    async def get(self, key: object) -> T | None:
        data = await self.backend.get(self._keys.encode(key))
        return None if data is None else self._values.decode(data, key=key)

    async def delete(self, key: object) -> bool:
        return await self.backend.delete(self._keys.encode(key))

    async def find(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        where: Mapping[str, object] | None = None,
        **filters: object,
    ) -> Page[T]:
        """Documents whose indexed fields equal the filters, in key order, paginated.

        ``find(owner="ada")``; ``where={"limit": 3}`` for a field named like an option.
        """
        wanted = {**(where or {}), **filters}
        encoded = {name: self._filter_value(name, value) for name, value in wanted.items()}
        chunk = await self.backend.find(
            encoded,
            limit=check_limit(limit, self.resource),
            after=decode_cursor(cursor, resource=self.resource),
        )
        return Page(tuple(self._values.decode(d) for d in chunk.items), encode_cursor(chunk.next))

    def _filter_value(self, name: str, value: object) -> IndexValue:
        adapter = self._fields.get(name)
        if adapter is None:
            declared = ", ".join(self.indexes) or "none"
            plain = self.resource.rsplit(".", maxsplit=1)[-1]
            raise UndeclaredIndexError(
                f"{self.resource} cannot be queried by {name!r}: it has no Index on that "
                f"field (indexed fields: {declared})",
                where=self.resource,
                fix=f'add `by_{name} = Index("{name}")` to class {plain}, then re-plan',
                command="skaal plan",
            )
        try:
            checked = adapter.validate_python(value)
        except ValidationError as exc:
            raise ValueTypeError(
                f"find({name}={value!r}) on {self.resource}: {validation_summary(exc)}",
                where=self.resource,
                fix=f"pass a value of the type of {self.model.__name__}.{name}",
            ) from None
        return index_value(adapter.dump_python(checked, mode="json"))


def _annotation(model: type[BaseModel], field: str) -> Any:
    """The declared type of a model field (``Any`` when the field has no annotation)."""
    annotation = model.model_fields[field].annotation
    return Any if annotation is None else annotation
