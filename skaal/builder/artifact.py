"""One generated file: the record every builder module and the framework wheel share.

It lives apart from :mod:`skaal.builder.model` so that modules the model
needs (:mod:`skaal.builder.framework`, which makes the wheel artifact) can
build artifacts without importing the model: the builder package has no
import cycle.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

from msgspec import Struct

from skaal.errors import BuildError

__all__ = ["Artifact", "sha256_text"]


def sha256_text(text: str | bytes) -> str:
    """The sha256 of ``text`` as written: UTF-8 for ``str``, the bytes themselves otherwise."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


class Artifact(Struct, frozen=True):
    """One generated file, relative to ``artifacts/<target>/``."""

    path: str
    content: str | bytes
    """Text (written as UTF-8) or bytes (written as they are)."""
    executable: bool = False

    def __post_init__(self) -> None:
        pure = PurePosixPath(self.path)
        if (
            not self.path
            or pure.is_absolute()
            or ".." in pure.parts
            or "\\" in self.path
            or str(pure) != self.path
        ):
            raise BuildError(
                f"artifact path {self.path!r} is not a clean relative posix path",
                where="skaal.builder",
                fix="use paths like 'app/main.py' relative to the target folder",
            )

    @property
    def sha256(self) -> str:
        return sha256_text(self.content)
