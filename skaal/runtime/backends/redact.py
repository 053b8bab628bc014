"""Connection URLs made safe for messages: the password is replaced by ``***``."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact"]


def redact(url: str) -> str:
    """``url`` without its password (``redis://:***@host:6379/0``), unchanged if it has none."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    netloc = f"{user}{host}{':' + str(parts.port) if parts.port else ''}"
    return urlunsplit(parts._replace(netloc=netloc))
