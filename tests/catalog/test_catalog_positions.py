from __future__ import annotations

from skaal.catalog.positions import key_lines, line_of

TEXT = """\
# comment = not a key
schema_version = 1
tags = [
  "a = b",
  "c",
]
doc = \"\"\"
fake = 1
\"\"\"

[backends."my-cache"]
kinds = ["map"]
price.region = "x"
price.fixed_monthly = { amount = 1.0, source = "s", as_of = "2026-01" }

[backends."my-cache".performance]  # trailing comment
durability = "durable"
nested = { a = { b = 1 }, c = [1, 2], d = 2 }
"""


def test_headers_keys_and_inline_tables_get_their_lines() -> None:
    lines = key_lines(TEXT)
    assert lines[("schema_version",)] == 2
    assert lines[("tags",)] == 3
    assert lines[("backends",)] == 11
    assert lines[("backends", "my-cache")] == 11
    assert lines[("backends", "my-cache", "kinds")] == 12
    assert lines[("backends", "my-cache", "price")] == 13
    assert lines[("backends", "my-cache", "price", "fixed_monthly")] == 14
    assert lines[("backends", "my-cache", "price", "fixed_monthly", "as_of")] == 14
    assert lines[("backends", "my-cache", "performance")] == 16
    assert lines[("backends", "my-cache", "performance", "durability")] == 17
    assert lines[("backends", "my-cache", "performance", "nested", "a", "b")] == 18
    assert lines[("backends", "my-cache", "performance", "nested", "d")] == 18


def test_strings_comments_and_multiline_values_are_not_keys() -> None:
    lines = key_lines(TEXT)
    assert ("comment",) not in lines
    assert ("fake",) not in lines
    assert not any("a = b" in part for path in lines for part in path)


def test_line_of_falls_back_to_the_nearest_table() -> None:
    lines = key_lines(TEXT)
    missing = ("backends", "my-cache", "performance", "availability")
    assert line_of(lines, missing) == 16
    assert line_of(lines, ("nowhere",)) is None
