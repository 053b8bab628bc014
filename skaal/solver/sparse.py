"""A constraint matrix written column by column, as HiGHS takes it (:mod:`.highs`).

The pooled relaxation of 100,000 resources has 169,000 columns and 984,000
entries.  Held as a Python list of ``(row, value)`` tuples per column they
took 73 MiB (a tuple and its float about 80 bytes each), alive until HiGHS
had its own copy, at the moment the process was largest.  :class:`Columns`
keeps each entry as three machine numbers in flat arrays (its column, row
and value: 16 bytes), and hands HiGHS the compressed-column arrays it reads
(:meth:`Columns.compressed`), with each column's entries in the order they
were written, as the tuples were.

Entries may be added to a column written earlier (an instance column takes
an entry in every row of the units it holds, written after it): the arrays
are in the order of writing, sorted by column, stably, only when handed over.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Columns"]


class Columns:
    """The columns of a sparse matrix, each a list of (row, value) entries."""

    __slots__ = ("_cols", "_count", "_rows", "_values")

    def __init__(self) -> None:
        self._count = 0
        self._cols = array("i")
        self._rows = array("i")
        self._values = array("d")

    def __len__(self) -> int:
        """The number of columns."""
        return self._count

    @property
    def entries(self) -> int:
        """The number of entries, over every column."""
        return len(self._rows)

    def new(self, rows: Sequence[int] = (), values: Sequence[float] = ()) -> int:
        """A new column with an entry ``values[i]`` in row ``rows[i]`` for each ``i``: its index."""
        col = self._count
        self._count += 1
        self.extend(col, rows, values)
        return col

    def add(self, col: int, row: int, value: float) -> None:
        """Add the entry ``value`` in ``row`` to column ``col``."""
        self._cols.append(col)
        self._rows.append(row)
        self._values.append(value)

    def extend(self, col: int, rows: Sequence[int], values: Sequence[float]) -> None:
        """Add the entries ``values[i]`` in rows ``rows[i]`` to column ``col``."""
        if len(rows) != len(values):
            raise ValueError(f"{len(rows)} rows for {len(values)} values")
        self._cols.extend(itertools.repeat(col, len(rows)))
        self._rows.extend(rows)
        self._values.extend(values)

    def compressed(
        self,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """The matrix in compressed-column form: where each column's entries start (one
        more than the columns: the last is the number of entries), their rows and their
        values, the entries of a column in the order they were added."""
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS

        # the arrays hold C ints ("i"): numpy's intc, HiGHS's 32-bit indexes on every platform
        cols = np.frombuffer(self._cols, dtype=np.intc)
        order = np.argsort(cols, kind="stable")
        starts = np.zeros(self._count + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=self._count), out=starts[1:])
        rows = np.frombuffer(self._rows, dtype=np.intc)[order].astype(np.int32, copy=False)
        values = np.frombuffer(self._values, dtype=np.float64)[order]
        return starts, rows, values

    def clear(self) -> None:
        """Drop every entry and column (HiGHS keeps its own copy)."""
        self._count = 0
        self._cols = array("i")
        self._rows = array("i")
        self._values = array("d")
