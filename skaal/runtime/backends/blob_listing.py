"""``blob_chunk``: one page of a blob listing, and whether there is another.

Every blob backend lists keys in order from a position (``after``) and must
say whether more keys follow.  Each asks its store for one entry beyond
``limit``: the page is the first ``limit`` entries, and the extra one, when
present, proves there is a next page, whose position is the last key
returned.  This keeps the rule in one place for ``gcs``, ``s3`` and
``filesystem``.
"""

from __future__ import annotations

from collections.abc import Sequence

from skaal.runtime.ports import BlobInfo, Chunk

__all__ = ["blob_chunk"]


def blob_chunk(infos: Sequence[BlobInfo], limit: int) -> Chunk[BlobInfo]:
    """The first ``limit`` of ``infos``; ``next`` is the last key when ``infos`` held more."""
    page = tuple(infos[:limit])
    more = len(infos) > limit and bool(page)
    return Chunk(page, page[-1].key if more else None)
