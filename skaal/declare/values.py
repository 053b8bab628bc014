"""The values a declared resource's methods hand back: pages, blob info, dead letters.

``await Carts.items()`` returns a :class:`Page`, ``await Photos.stat(key)`` a
:class:`BlobInfo`; they are plain frozen records, defined here with the
declarations so the classes that return them import no runtime.  The runtime
(:mod:`skaal.runtime.ports`) builds them.

They stay dataclasses, not ``msgspec`` structs like Skaal's internal records:
user code returns them from HTTP functions (``-> Page[Cart]``) and puts them
in its own models, and pydantic, which validates and serialises those,
understands dataclasses, not structs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

__all__ = ["BlobInfo", "BlobStream", "DeadLetter", "Page", "TopicSubscription"]

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Page(Generic[T_co]):
    """One page as a client returns it; pass ``cursor`` back to get the next page.

    ``cursor`` is ``None`` on the last page.  Cursors are opaque strings.
    """

    items: tuple[T_co, ...]
    cursor: str | None = None

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What is known about a stored blob without reading it."""

    key: str
    size: int
    content_type: str
    etag: str
    modified: float
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BlobStream:
    """An open blob: its info and its content, read in chunks."""

    info: BlobInfo
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class DeadLetter(Generic[T_co]):
    """A message that failed ``max_attempts`` times, with the last error."""

    id: str
    body: T_co
    attempts: int
    error: str


class TopicSubscription(Protocol[T_co]):
    """A typed named subscription: ``await sub.get(timeout=1)`` or ``async for m in sub``."""

    @property
    def name(self) -> str:
        """The subscription's name."""
        ...

    async def get(self, *, timeout: float | None = None) -> T_co | None:
        """The next message, or ``None`` after ``timeout`` seconds (``None``: wait)."""
        ...

    def __aiter__(self) -> AsyncIterator[T_co]:
        """Every message, as it arrives."""
        ...

    async def close(self) -> None:
        """Stop receiving."""
        ...
