"""Codecs: declared Python types ⇄ the encoded form backends store.

Values go through one pydantic :class:`~pydantic.TypeAdapter` per declared
type and are stored as JSON bytes; a value of the wrong type raises
:class:`~skaal.runtime.errors.ValueTypeError` naming the resource and the
expected type, *before* anything is written.  Validation is strict (no
``"5"`` for an ``int``, no ``dict`` for a model), so what is read back is what
was written.  ``bytes`` values are stored raw (no JSON), and ``bytes`` inside
models are base64 in the JSON.

Keys are encoded canonically to ``str``:

* ``str`` -- as is (so prefix scans and key order are the user's);
* ``int`` -- its decimal text (``-3`` → ``"-3"``; ordering is textual);
* ``bytes`` -- URL-safe base64 without padding;
* anything else (UUID, dates, enums, tuples, models) -- its compact JSON as
  pydantic dumps it.

Prefix scans are only offered for ``str`` keys.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import is_dataclass
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from skaal.declare.resources import type_name
from skaal.runtime.errors import StoredValueError, ValueTypeError

__all__ = ["KeyCodec", "ValueCodec", "validation_summary"]

T = TypeVar("T")

_BYTES_AS_BASE64 = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")


def _adapter(tp: Any) -> TypeAdapter[Any]:
    if (isinstance(tp, type) and issubclass(tp, BaseModel)) or is_dataclass(tp):
        return TypeAdapter(tp)
    try:
        return TypeAdapter(tp, config=_BYTES_AS_BASE64)
    except Exception:  # types that carry their own config (TypedDict with config, ...)
        return TypeAdapter(tp)


def validation_summary(exc: ValidationError) -> str:
    """The first few problems of a validation error, on one line."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc + ': ' if loc else ''}{err['msg']}")
    return "; ".join(parts)


class ValueCodec(Generic[T]):
    """Encodes and decodes values of one declared type for one resource."""

    __slots__ = ("_adapter", "_exact", "_model", "_raw", "expected", "resource")

    def __init__(self, tp: Any, *, resource: str) -> None:
        self.resource = resource
        self.expected = type_name(tp)
        self._raw = tp is bytes
        self._adapter = _adapter(tp)
        self._exact: type | None = tp if isinstance(tp, type) else None
        self._model = isinstance(tp, type) and (issubclass(tp, BaseModel) or is_dataclass(tp))

    def encode(self, value: T) -> bytes:
        if self._raw:
            if type(value) is not bytes:
                raise self._wrong(value, "")
            return cast(bytes, value)
        if self._exact is None or type(value) is not self._exact:
            if self._model and not isinstance(value, self._exact):  # type: ignore[arg-type]
                raise self._wrong(value, "")
            try:
                value = self._adapter.validate_python(value, strict=True)
            except ValidationError as exc:
                raise self._wrong(value, validation_summary(exc)) from None
        return self._adapter.dump_json(value)

    def decode(self, data: bytes, *, key: object = None) -> T:
        if self._raw:
            return cast(T, data)
        try:
            return cast(T, self._adapter.validate_json(data))
        except ValidationError as exc:
            raise StoredValueError(
                f"the value stored at {key!r} in {self.resource} is not a valid "
                f"{self.expected}: {validation_summary(exc)}",
                where=self.resource,
                fix="the declared type changed since it was written: migrate or delete the entry",
            ) from None

    def check(self, value: object) -> T:
        """``value`` validated as the declared type (strict)."""
        try:
            return cast(T, self._adapter.validate_python(value, strict=True))
        except ValidationError as exc:
            raise self._wrong(value, validation_summary(exc)) from None

    def _wrong(self, value: object, detail: str) -> ValueTypeError:
        return ValueTypeError(
            f"{self.resource} holds {self.expected} values, got "
            f"{type(value).__name__} {_short(value)}" + (f" ({detail})" if detail else ""),
            where=self.resource,
            fix=f"pass a {self.expected}",
        )


class KeyCodec(Generic[T]):
    """Encodes keys of one declared type to canonical ``str`` and back."""

    __slots__ = ("_adapter", "expected", "kind", "resource")

    def __init__(self, tp: Any, *, resource: str) -> None:
        self.resource = resource
        self.expected = type_name(tp)
        self.kind = "str" if tp is str else "int" if tp is int else "bytes" if tp is bytes else ""
        self._adapter = _adapter(tp)

    @property
    def supports_prefix(self) -> bool:
        return self.kind == "str"

    def encode(self, key: T) -> str:
        kind = self.kind
        if kind == "str":
            if type(key) is str:
                return cast(str, key)
        elif kind == "int":
            if type(key) is int:
                return str(key)
        elif kind == "bytes":
            if type(key) is bytes:
                return base64.urlsafe_b64encode(cast(bytes, key)).decode().rstrip("=")
        else:
            try:
                checked = self._adapter.validate_python(key, strict=True)
            except ValidationError:
                pass
            else:
                return self._adapter.dump_json(checked).decode()
        raise ValueTypeError(
            f"{self.resource} has {self.expected} keys, got {type(key).__name__} {_short(key)}",
            where=self.resource,
            fix=f"pass a {self.expected} key",
        )

    def decode(self, text: str) -> T:
        kind = self.kind
        try:
            if kind == "str":
                return cast(T, text)
            if kind == "int":
                return cast(T, int(text))
            if kind == "bytes":
                return cast(T, base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cast(T, self._adapter.validate_json(text))
        except (ValueError, binascii.Error, ValidationError):
            raise StoredValueError(
                f"the stored key {text!r} in {self.resource} is not a valid {self.expected}",
                where=self.resource,
                fix="the declared key type changed since it was written: migrate the data",
            ) from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
