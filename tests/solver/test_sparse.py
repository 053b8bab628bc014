"""The constraint matrix written column by column (:mod:`skaal.solver.sparse`)."""

from __future__ import annotations

import pytest
from highspy import _core

from skaal.solver.highs import highs_holding
from skaal.solver.sparse import Columns


def test_a_column_written_to_later_keeps_its_entries_in_the_order_written() -> None:
    columns = Columns()
    assert columns.new([0, 2], [1.0, 2.0]) == 0
    assert columns.new() == 1  # an instance column: its entries come later
    assert columns.new([1], [3.0]) == 2
    columns.add(1, 2, -4.0)
    columns.extend(0, [3], [5.0])
    columns.add(1, 0, -6.0)
    starts, rows, values = columns.compressed()
    assert starts.tolist() == [0, 3, 5, 6]
    assert rows.tolist() == [0, 2, 3, 2, 0, 1]
    assert values.tolist() == [1.0, 2.0, 5.0, -4.0, -6.0, 3.0]
    assert (len(columns), columns.entries) == (3, 6)


def test_columns_without_entries_compress_to_empty_arrays() -> None:
    columns = Columns()
    columns.new()
    columns.new()
    starts, rows, values = columns.compressed()
    assert starts.tolist() == [0, 0, 0]
    assert (rows.size, values.size) == (0, 0)


def test_rows_and_values_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 rows for 1 values"):
        Columns().new([0, 1], [1.0])


def test_highs_solves_the_matrix_and_the_columns_are_emptied() -> None:
    # min x + y + z with x + z >= 2 (row 0) and y + z >= 1 (row 1), z <= 1, z's
    # entries written after y's column: z = 1, x = 1, y = 0.
    columns = Columns()
    x = columns.new([0], [1.0])
    y = columns.new([1], [1.0])
    z = columns.new()
    columns.add(z, 0, 1.0)
    columns.add(z, 1, 1.0)
    highs = highs_holding(
        [1.0, 1.5, 1.0],
        [10.0, 10.0, 1.0],
        [2.0, 1.0],
        [float("inf"), float("inf")],
        columns,
        integer=False,
        max_nodes=10,
        abs_gap=1e-7,
    )
    assert (len(columns), columns.entries) == (0, 0)
    highs.run()
    assert highs.getModelStatus() == _core.HighsModelStatus.kOptimal
    assert [round(v, 6) for v in highs.getSolution().col_value] == [1.0, 0.0, 1.0]
    assert (x, y, z) == (0, 1, 2)
