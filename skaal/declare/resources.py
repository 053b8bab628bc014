"""The resource base classes a user subclasses, and ``Index`` / ``Secret``.

A user writes ``class Carts(Map[str, Cart]): ...`` and decorates it with
``@app.storage(...)``.  These bases carry the *kind* and the type
parameters, and a typed async facade: ``await Carts.get("k")`` is a
classmethod typed with a self-type (``cls: type[Map[K, V]]``), so a type
checker infers ``Cart | None``.  Each facade method delegates to the client
the *active runtime* bound to the class (:mod:`skaal.declare.active`);
with no runtime active it raises a ``SkaalRuntimeError`` saying how to start
one.  ``await Carts.native(REDIS)`` (every resource class) is the escape
hatch: the backend's own client, typed by the marker (:mod:`skaal.native`).
Declaring and reading a declaration never performs I/O; the
``consumer`` / ``subscriber`` decorators only record.
"""

from __future__ import annotations

import builtins
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar, overload

from msgspec import Struct

from skaal.blueprint.model import Kind, SourceLocation
from skaal.declare.active import active_runtime, client_for
from skaal.declare.location import user_location
from skaal.errors import DeclarationError

__all__ = [
    "BlobStore",
    "Collection",
    "Index",
    "Map",
    "Queue",
    "Resource",
    "Secret",
    "Topic",
    "type_arguments",
    "type_name",
]

if TYPE_CHECKING:
    from typing import BinaryIO

    from skaal.declare.native import Backend, Native
    from skaal.declare.values import BlobInfo, BlobStream, DeadLetter, Page, TopicSubscription

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C")
R = TypeVar("R", bound="Resource")


#: The typed client of a declared class, from the active runtime (the port).
_client: Callable[[type], Any] = client_for


def _record(cls: type, attribute: str, fn: Callable[..., Any], decorator: str) -> None:
    """Append ``(fn, location)`` to the class's own list of consumers/subscribers."""
    if not callable(fn):
        raise DeclarationError(
            f"@{cls.__qualname__}.{decorator} decorates {fn!r}, which is not a function",
            where=str(user_location()),
            fix=f"put @{cls.__qualname__}.{decorator} directly above a def or async def",
        )
    records: list[tuple[Callable[..., Any], SourceLocation]] = list(cls.__dict__.get(attribute, ()))
    records.append((fn, user_location()))
    setattr(cls, attribute, tuple(records))


class Resource:
    """Base of every declarable resource class."""

    __skaal_kind__: ClassVar[Kind]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Skip ``Generic``'s hook where its answer is known: no type parameters.

        ``class Carts(Map[str, Cart])`` runs ``Generic.__init_subclass__``,
        which collects the type variables of the class's bases into
        ``__parameters__`` (with pydantic loaded, through ``typing_extensions``'
        pure-Python collector and a frame inspection).  When the only base
        is an alias of a resource class with no type variables left, that
        hook finds none and only sets ``__parameters__ = ()``, so this does
        that directly: creating such a class takes 13.5 us instead of 18 us
        (best of five, no garbage collection, 20,000 classes).  Any other
        shape (several bases, ``Map[str, T]``, plain ``Generic``) goes
        through the hook as usual.
        """
        bases: object = cls.__dict__.get("__orig_bases__")
        if type(bases) is tuple and len(bases) == 1 and _closed_resource_alias(bases[0]):
            super(Generic, cls).__init_subclass__(**kwargs)  # type: ignore[misc]
            setattr(cls, "__parameters__", ())  # noqa: B010 -- not declared on Resource
            return
        super().__init_subclass__(**kwargs)

    @overload
    @classmethod
    async def native(cls) -> Native[object]: ...
    @overload
    @classmethod
    async def native(cls: type[R], backend: Backend[C, R]) -> Native[C]: ...
    @classmethod
    async def native(cls, backend: Backend[Any, Any] | None = None) -> Native[Any]:
        """The client behind this resource and its physical names: see :mod:`skaal.native`.

        ``await Carts.native(REDIS)`` is typed ``Native[redis.asyncio.Redis]``
        and raises ``WrongBackendError`` if the plan bound ``Carts`` elsewhere.
        """
        runtime = active_runtime()
        return await (runtime.native(cls) if backend is None else runtime.native(cls, backend))


class Map(Resource, Generic[K, V]):
    """A key-value map: ``class Carts(Map[str, Cart]): ...``.

    ``ttl`` arguments are seconds; a declared ``ttl`` is the default.
    """

    __skaal_kind__: ClassVar[Kind] = "map"

    @classmethod
    async def get(cls: type[Map[K, V]], key: K) -> V | None:
        """The value at ``key``, or ``None``."""
        return await _client(cls).get(key)  # type: ignore[no-any-return]

    @classmethod
    async def set(cls: type[Map[K, V]], key: K, value: V, *, ttl: float | None = None) -> None:
        """Store ``value`` at ``key`` (expiring after ``ttl`` seconds if given)."""
        await _client(cls).set(key, value, ttl=ttl)

    @classmethod
    async def delete(cls: type[Map[K, V]], key: K) -> bool:
        """Remove ``key``; whether it was present."""
        return await _client(cls).delete(key)  # type: ignore[no-any-return]

    @classmethod
    async def contains(cls: type[Map[K, V]], key: K) -> bool:
        return await _client(cls).contains(key)  # type: ignore[no-any-return]

    @classmethod
    async def get_many(cls: type[Map[K, V]], keys: Iterable[K]) -> dict[K, V]:
        """The present keys among ``keys`` with their values."""
        return await _client(cls).get_many(keys)  # type: ignore[no-any-return]

    @classmethod
    async def set_many(
        cls: type[Map[K, V]], items: Mapping[K, V], *, ttl: float | None = None
    ) -> None:
        await _client(cls).set_many(items, ttl=ttl)

    @classmethod
    async def items(
        cls: type[Map[K, V]], *, prefix: str = "", limit: int = 100, cursor: str | None = None
    ) -> Page[tuple[K, V]]:
        """Entries in key order, ``limit`` per page; pass ``page.cursor`` for the next."""
        return await _client(cls).items(  # type: ignore[no-any-return]
            prefix=prefix, limit=limit, cursor=cursor
        )

    @classmethod
    async def increment(
        cls: type[Map[K, int]], key: K, by: int = 1, *, ttl: float | None = None
    ) -> int:
        """Atomically add ``by`` to an ``int`` value (absent counts as 0); the new value."""
        return await _client(cls).increment(key, by, ttl=ttl)  # type: ignore[no-any-return]

    @classmethod
    async def update(
        cls: type[Map[K, V]],
        key: K,
        fn: Callable[[V | None], V],
        *,
        ttl: float | None = None,
    ) -> V:
        """Atomically replace the value with ``fn(current)``; ``fn`` must be pure."""
        return await _client(cls).update(key, fn, ttl=ttl)  # type: ignore[no-any-return]


class Collection(Resource, Generic[T]):
    """Documents of a pydantic model, keyed by one field, queryable by ``Index``es.

    ``key`` names the key field (default: ``id`` when the model has one)::

        class Todos(Collection[Todo]):
            key = "id"
            by_owner = Index("owner")
    """

    __skaal_kind__: ClassVar[Kind] = "collection"
    key: ClassVar[str | None] = None

    @classmethod
    async def put(cls: type[Collection[T]], document: T, *, ttl: float | None = None) -> None:
        """Insert or replace ``document`` (by its key field); ``ttl`` overrides the declared one."""
        await _client(cls).put(document, ttl=ttl)

    @classmethod
    async def get(cls: type[Collection[T]], key: object) -> T | None:
        return await _client(cls).get(key)  # type: ignore[no-any-return]

    @classmethod
    async def delete(cls: type[Collection[T]], key: object) -> bool:
        return await _client(cls).delete(key)  # type: ignore[no-any-return]

    @classmethod
    async def find(
        cls: type[Collection[T]],
        *,
        limit: int = 100,
        cursor: str | None = None,
        where: Mapping[str, object] | None = None,
        **filters: object,
    ) -> Page[T]:
        """Documents whose indexed fields equal ``filters``, in key order, paginated."""
        return await _client(cls).find(  # type: ignore[no-any-return]
            limit=limit, cursor=cursor, where=where, **filters
        )


class BlobStore(Resource):
    """Binary objects by key, with content types: ``class Uploads(BlobStore): ...``."""

    __skaal_kind__: ClassVar[Kind] = "blob"

    @classmethod
    async def put(
        cls,
        key: str,
        data: bytes | BinaryIO | Any,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> BlobInfo:
        """Store bytes, a binary file or an async iterable of bytes at ``key``, atomically."""
        return await _client(cls).put(  # type: ignore[no-any-return]
            key, data, content_type=content_type, metadata=metadata
        )

    @classmethod
    async def get(cls, key: str) -> bytes:
        """The whole blob (``BlobNotFoundError`` if absent)."""
        return await _client(cls).get(key)  # type: ignore[no-any-return]

    @classmethod
    async def open(cls, key: str, *, chunk_size: int = 1 << 16) -> BlobStream:
        """The blob's info and an async iterator over its chunks."""
        return await _client(cls).open(key, chunk_size=chunk_size)  # type: ignore[no-any-return]

    @classmethod
    async def stat(cls, key: str) -> BlobInfo | None:
        return await _client(cls).stat(key)  # type: ignore[no-any-return]

    @classmethod
    async def exists(cls, key: str) -> bool:
        return await _client(cls).exists(key)  # type: ignore[no-any-return]

    @classmethod
    async def delete(cls, key: str) -> bool:
        return await _client(cls).delete(key)  # type: ignore[no-any-return]

    @classmethod
    async def list(
        cls, *, prefix: str = "", limit: int = 100, cursor: str | None = None
    ) -> Page[BlobInfo]:
        """Blob infos in key order, ``limit`` per page."""
        return await _client(cls).list(  # type: ignore[no-any-return]
            prefix=prefix, limit=limit, cursor=cursor
        )


class Queue(Resource, Generic[T]):
    """Messages of type ``T`` delivered at least once to one consumer.

    Declare the consumer with ``@Emails.consumer`` (or ``@app.consumer(Emails)``).
    """

    __skaal_kind__: ClassVar[Kind] = "queue"
    __skaal_consumers__: ClassVar[tuple[tuple[Callable[..., Any], SourceLocation], ...]] = ()

    @classmethod
    async def send(cls: type[Queue[T]], message: T, *, delay: float = 0.0) -> str:
        """Enqueue ``message``; its id."""
        return await _client(cls).send(message, delay=delay)  # type: ignore[no-any-return]

    @classmethod
    async def dead_letters(
        cls: type[Queue[T]], *, limit: int = 100
    ) -> builtins.list[DeadLetter[T]]:
        """Messages that failed every attempt, with their last error."""
        return await _client(cls).dead_letters(limit=limit)  # type: ignore[no-any-return]

    @classmethod
    def consumer(cls, fn: F) -> F:
        """Record ``fn`` as this queue's consumer (``@Emails.consumer``); returns it unchanged."""
        _record(cls, "__skaal_consumers__", fn, "consumer")
        return fn


class Topic(Resource, Generic[T]):
    """Messages of type ``T`` fanned out to every subscriber (``@Events.subscriber``)."""

    __skaal_kind__: ClassVar[Kind] = "topic"
    __skaal_subscribers__: ClassVar[tuple[tuple[Callable[..., Any], SourceLocation], ...]] = ()

    @classmethod
    async def publish(cls: type[Topic[T]], message: T) -> int:
        """Deliver ``message`` to every subscription; how many received it."""
        return await _client(cls).publish(message)  # type: ignore[no-any-return]

    @classmethod
    async def subscribe(cls: type[Topic[T]], name: str) -> TopicSubscription[T]:
        """The named subscription (created if new); it sees messages published from now."""
        return await _client(cls).subscribe(name)  # type: ignore[no-any-return]

    @classmethod
    def subscriber(cls, fn: F) -> F:
        """Record ``fn`` as a subscriber of this topic; returns it unchanged."""
        _record(cls, "__skaal_subscribers__", fn, "subscriber")
        return fn


#: The type of ``Map[str, int]``: a parameterised user-defined generic class.
_ALIAS: Final = type(Map[str, int])

#: id of an alias -> (the alias, whether it is a resource class with no type
#: variable left).  ``typing`` hands out one alias per spelling, so an app of
#: 10,000 classes over ``Map[str, str]`` asks about one alias 10,000 times;
#: the entry keeps its alias alive, so the id is not reused while it is a key.
_CLOSED: dict[int, tuple[object, bool]] = {}
_CLOSED_MAX: Final = 1024


def _closed_resource_alias(base: object) -> bool:
    """Whether ``base`` is an alias of a resource class with every type variable given."""
    entry = _CLOSED.get(id(base))
    if entry is not None and entry[0] is base:
        return entry[1]
    origin = typing.get_origin(base)
    closed = (
        type(base) is _ALIAS
        and getattr(base, "__parameters__", None) == ()
        and isinstance(origin, type)
        and issubclass(origin, Resource)
    )
    if len(_CLOSED) >= _CLOSED_MAX:
        _CLOSED.clear()
    _CLOSED[id(base)] = (base, closed)
    return closed


class Index(Struct, frozen=True):
    """A secondary index on a field of a ``Collection``'s model."""

    field: str


_SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Secret(Struct, frozen=True):
    """A named secret, read from the environment locally and a vault in the cloud.

    ``Secret("STRIPE_KEY")``; the name is an environment-variable style name.
    """

    name: str
    required: bool = True
    description: str = ""

    def value(self) -> str | None:
        """The secret's value in the active runtime (``None`` if optional and unset)."""
        return active_runtime().secret(self.name)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _SECRET_NAME.match(self.name):
            raise DeclarationError(
                f"Secret name {self.name!r} is not an environment-variable name",
                where=str(user_location()),
                fix="use upper-case letters, digits and underscores, e.g. Secret('STRIPE_KEY')",
            )


def type_arguments(cls: type, base: type) -> tuple[Any, ...]:
    """The type arguments ``cls`` gave ``base`` (``Map[str, Cart]`` → ``(str, Cart)``).

    Through a generic subclass too: with ``class Keyed(Map[str, T])`` and
    ``class Carts(Keyed[Cart])``, ``Carts`` gives ``(str, Cart)``.  A type
    variable left open stays in the answer (the caller says so).
    """
    for parent in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(parent) is base:
            return typing.get_args(parent)
    for parent in getattr(cls, "__orig_bases__", ()):
        origin = typing.get_origin(parent)
        if isinstance(origin, type) and origin is not base and issubclass(origin, base):
            found = type_arguments(origin, base)
            params = getattr(origin, "__parameters__", ())
            args = typing.get_args(parent)
            given = dict(zip(params, args, strict=False)) if len(params) == len(args) else {}
            if found:
                return tuple(given.get(arg, arg) for arg in found)
    for parent in cls.__mro__[1:]:
        if parent is not base and issubclass(parent, base):
            found = type_arguments(parent, base)
            if found:
                return found
    return ()


def type_name(tp: object) -> str:
    """A readable, stable name for a type argument."""
    if isinstance(tp, type):
        if tp.__module__ == "builtins":
            return tp.__qualname__
        return f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")
