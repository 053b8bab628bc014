"""Project switches read from ``pyproject.toml``: ``[tool.skaal] traces``.

``traces = true`` makes the cloud builds export every function's spans to
the provider's trace service (:mod:`skaal.builder.traces`) and ``skaal
plan`` price them (:mod:`skaal.solver.traces`).  The switch is the
project's, not the app's declarations': it is read from the
``pyproject.toml`` of the folder the app is imported from (the project
root of its reference, :func:`~skaal.declare.app_ref.parse_ref`), by the
plan and by the build alike, and the build refuses a lock planned with the
switch the other way.
"""

from __future__ import annotations

import re
from pathlib import Path

from skaal.declare.app_ref import parse_ref, ref_from_pyproject
from skaal.errors import UsageError

__all__ = ["project_traces", "pyproject_line", "traces_setting"]


def pyproject_line(text: str, key: str) -> int:
    """The line of ``text`` declaring ``tool.skaal.key`` (a table header or a ``key =``
    line, ``key`` dotted below ``tool.skaal``), or 1 when it is not found."""
    last = key.rsplit(".", 1)[-1]
    patterns = (
        rf"^[ \t]*\[[ \t]*tool\.skaal\.{re.escape(key)}[ \t]*\]",
        rf"^[ \t]*{re.escape(key)}[ \t]*=",
        rf"^[ \t]*{re.escape(last)}[ \t]*=",
    )
    for pattern in patterns:
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return 1


def traces_setting(root: Path) -> bool:
    """``[tool.skaal] traces`` of ``root/pyproject.toml``; ``False`` when unset or absent."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return False
    import tomllib  # noqa: PLC0415 - only a pyproject.toml needs it (the catalog is read by rtoml)

    try:
        text = pyproject.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {pyproject}: {exc}", where=str(pyproject)) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{pyproject} is not valid TOML: {exc}",
            where=str(pyproject),
            fix="correct the TOML syntax at the line named",
        ) from None
    value = data.get("tool", {}).get("skaal", {}).get("traces", False)
    if not isinstance(value, bool):
        raise UsageError(
            f"[tool.skaal] traces must be true or false, got {value!r}",
            where=f"{pyproject}:{pyproject_line(text, 'traces')} tool.skaal.traces",
            fix="write traces = true to export traces from the built functions (and price "
            "them in the plan), or remove the line",
        )
    return value


def project_traces(app_ref: str | None, *, cwd: Path) -> bool:
    """:func:`traces_setting` of the project holding the app ``app_ref`` names (the one
    ``pyproject.toml`` names when ``None``): what ``skaal plan`` prices and the build
    checks against the plan."""
    text, base = (app_ref, cwd) if app_ref is not None else ref_from_pyproject(cwd)
    return traces_setting(parse_ref(text, base=base).root)
