"""Line numbers of TOML tables and keys, for error messages.

``tomllib`` returns plain dicts with no positions, so a message such as
``aws.toml:42 [backends.redis.price] per_gb_month`` needs a second look at the
raw text.  :func:`key_lines` scans it once and maps every key path it can see
to the line where it appears:

* table headers ``[backends.redis.price]`` (and ``[[array.of.tables]]``), with
  the implicit parent tables pointing at the first header that opened them;
* ``key = value`` lines, including dotted (``price.region = ...``) and quoted
  (``"my-cache" = ...``) keys;
* keys inside one-line inline tables (``per_gb_month = { amount = 0.25 }``).

The scanner skips comments, strings (basic, literal and multi-line) and the
continuation lines of multi-line arrays.  It is deliberately forgiving: it runs
only on files ``tomllib`` already accepted, and a key it cannot place simply
falls back to the nearest enclosing table in :func:`line_of`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["KeyPath", "dotted", "key_lines", "line_of", "split_dotted"]

KeyPath = tuple[str, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def split_dotted(text: str) -> KeyPath | None:
    """The parts of a TOML dotted key (``'server.classes."db.t4g.micro"'``); ``None`` if malformed.

    Parts are bare keys or quoted keys, so a name containing dots is quoted:
    ``split_dotted('a."b.c"') == ("a", "b.c")``.
    """
    if text.count('"') % 2 or text.count("'") % 2:
        return None  # an unterminated quoted key
    keys, pos = _read_key(text, 0)
    if not keys or any(not k for k in keys) or _skip_space(text, pos) != len(text):
        return None
    return tuple(keys)


def dotted(path: KeyPath) -> str:
    """``("server", "classes", "db.t4g.micro")`` → ``'server.classes."db.t4g.micro"'``."""
    return ".".join(p if p and all(c in _BARE for c in p) else f'"{p}"' for p in path)


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """Line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map every table and key path found in ``text`` to its 1-based line."""
    found: dict[KeyPath, int] = {}
    table: KeyPath = ()
    depth = 0  # open brackets/braces carried over from previous lines
    in_multiline: str | None = None  # the closing delimiter of an open multi-line string
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if in_multiline not in line:
                continue
            rest = line[line.index(in_multiline) + 3 :]
            depth, in_multiline = _scan_value(rest, 0, depth, (), number, found)
            continue
        if depth > 0:
            depth, in_multiline = _scan_value(line, 0, depth, (), number, found)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            inner = stripped.lstrip("[")
            keys, _ = _read_key(inner, 0)
            table = tuple(keys)
            for end in range(1, len(table) + 1):
                found.setdefault(table[:end], number)
            found[table] = number
            continue
        keys, pos = _read_key(line, 0)
        if not keys or pos >= len(line) or line[pos] != "=":
            continue
        path = table + tuple(keys)
        for end in range(len(table) + 1, len(path)):
            found.setdefault(path[:end], number)
        found[path] = number
        depth, in_multiline = _scan_value(line, pos + 1, 0, path, number, found)
    return found


def _read_key(text: str, pos: int) -> tuple[list[str], int]:
    """Read a (dotted, possibly quoted) key starting at ``pos``; return it and the next index."""
    keys: list[str] = []
    while True:
        pos = _skip_space(text, pos)
        if pos >= len(text):
            return keys, pos
        char = text[pos]
        if char in "\"'":
            end = text.find(char, pos + 1)
            if end < 0:
                return keys, len(text)
            keys.append(text[pos + 1 : end])
            pos = end + 1
        else:
            start = pos
            while pos < len(text) and text[pos] in _BARE:
                pos += 1
            if pos == start:
                return keys, pos
            keys.append(text[start:pos])
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return keys, pos


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _scan_value(  # noqa: PLR0917 - a private scanner step with its whole state
    text: str,
    pos: int,
    depth: int,
    path: KeyPath,
    number: int,
    found: dict[KeyPath, int],
) -> tuple[int, str | None]:
    """Scan a value: record inline-table keys, return open depth and open multi-line string."""
    stack: list[KeyPath | None] = [None] * depth  # None: an array or a table we cannot place
    expect_key = False
    while pos < len(text):
        char = text[pos]
        if expect_key and (char in _BARE or char in "\"'"):
            keys, pos = _read_key(text, pos)
            owner = stack[-1] if stack else None
            if owner is not None and keys and pos < len(text) and text[pos] == "=":
                key_path = owner + tuple(keys)
                found.setdefault(key_path, number)
                path = key_path
            expect_key = False
            continue
        if char == "#":
            break
        if text.startswith('"""', pos) or text.startswith("'''", pos):
            delimiter = text[pos : pos + 3]
            end = text.find(delimiter, pos + 3)
            if end < 0:
                return len(stack), delimiter
            pos = end + 3
            continue
        if char in "\"'":
            pos = _skip_string(text, pos)
            continue
        if char == "{":
            stack.append(path)
            expect_key = True
        elif char == "[":
            stack.append(None)
        elif char in "}]":
            if stack:
                stack.pop()
        elif char == ",":
            expect_key = bool(stack) and stack[-1] is not None
        pos += 1
    return len(stack), None


def _skip_string(text: str, pos: int) -> int:
    quote = text[pos]
    pos += 1
    while pos < len(text):
        if quote == '"' and text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == quote:
            return pos + 1
        pos += 1
    return pos
