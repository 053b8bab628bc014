"""Find and import the user's :class:`~skaal.App` from an app reference.

An app reference names a module or a file and, optionally, an attribute::

    shop.main:app          module ``shop.main`` (importable from the project dir), attribute ``app``
    shop.main              the same; the attribute defaults to ``app``
    src/shop/main.py:app   a file; its package root goes on ``sys.path`` for the import
    src/shop/main.py       the same, attribute ``app``

With no reference, ``[tool.skaal] app = "..."`` is read from the nearest
``pyproject.toml`` in the working directory or its parents, and the reference
is resolved relative to that file's directory.

Importing runs the user's code, so every way it can fail becomes a
:class:`~skaal.errors.UsageError` that points at the user's own ``file:line``
(never at Skaal's or importlib's frames): the module does not exist, an import
*inside* it failed, it has a syntax error, it raised, or the attribute is
missing or is not an ``App``.  A :class:`~skaal.errors.SkaalError` raised
while importing (a bad declaration) is already precise and propagates as is.

``sys.path`` is restored after the import.  The target module is imported
afresh on every call (a stale copy in ``sys.modules`` is dropped), so a
long-lived process sees edits to the app file; modules it imports are cached
as usual.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType, TracebackType

from msgspec import Struct

from skaal.declare.app import App
from skaal.errors import SkaalError, UsageError, did_you_mean

__all__ = ["AppRef", "load_app", "parse_ref", "ref_from_pyproject"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_HINT = 'skaal plan shop.main:app  (or add [tool.skaal] app = "shop.main:app" to pyproject.toml)'


class AppRef(Struct, frozen=True):
    """A parsed app reference: import ``module`` with ``root`` on ``sys.path``."""

    text: str
    root: Path
    module: str
    attr: str
    file: Path | None = None
    """The file named by a path reference; ``None`` for a module reference."""


def load_app(ref: str | None, *, cwd: Path) -> App:
    """Import the app named by ``ref`` (or by ``pyproject.toml``) and return it."""
    if ref is None:
        ref, base = ref_from_pyproject(cwd)
    else:
        base = cwd
    parsed = parse_ref(ref, base=base)
    module = _import(parsed)
    return _attribute(module, parsed)


def parse_ref(ref: str, *, base: Path) -> AppRef:
    """Split ``ref`` into where to import from, which module and which attribute."""
    text = ref.strip()
    target, attr = text, "app"
    head, sep, tail = text.rpartition(":")
    if sep and head and _IDENT.match(tail):
        target, attr = head, tail
    if not target:
        raise UsageError(f"app reference {ref!r} names no module or file", fix=f"e.g. {_HINT}")
    folder = base / target
    if folder.is_dir() and not (folder / "__init__.py").is_file():
        raise _a_folder(folder.resolve())
    if target.endswith(".py") or "/" in target or "\\" in target or (base / target).is_file():
        return _file_ref(text, base / target, attr)
    if not _IDENT.match(target):
        raise UsageError(
            f"app reference {ref!r} is neither a module path nor a .py file",
            fix=f"write module.path:attribute or path/to/file.py:attribute, e.g. {_HINT}",
        )
    return AppRef(text=text, root=base.resolve(), module=target, attr=attr)


def _a_folder(path: Path) -> UsageError:
    """The error for an app reference naming a folder (not a package to import)."""
    inside = sorted(p.name for p in path.glob("*.py") if p.name in ("app.py", "main.py"))
    example = f"{path}/{inside[0]}" if inside else f"{path}/app.py"
    return UsageError(
        "the app path is a folder, not a Python file",
        where=str(path),
        fix=f"name the file that creates the App, e.g. {example}",
    )


def _file_ref(text: str, path: Path, attr: str) -> AppRef:
    path = path.resolve()
    if path.is_dir():
        raise _a_folder(path)
    if not path.is_file():
        nearby = [p.name for p in path.parent.glob("*.py")] if path.parent.is_dir() else []
        raise UsageError(
            f"app file {path} does not exist{did_you_mean(path.name, nearby)}",
            where=str(path.parent),
            fix="check the path, relative to the working directory",
        )
    if path.suffix != ".py":
        raise UsageError(f"app file {path} is not a .py file", fix=f"e.g. {_HINT}")
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file() and root.parent != root:
        parts.insert(0, root.name)
        root = root.parent
    if parts[-1] == "__init__":
        parts.pop()
    return AppRef(text=text, root=root, module=".".join(parts), attr=attr, file=path)


def ref_from_pyproject(cwd: Path) -> tuple[str, Path]:
    for folder in (cwd.resolve(), *cwd.resolve().parents):
        pyproject = folder / "pyproject.toml"
        if not pyproject.is_file():
            continue
        import tomllib  # noqa: PLC0415 - only a pyproject.toml needs it (the catalog is read by rtoml)

        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read {pyproject}: {exc}",
                where=str(pyproject),
                fix="fix the file, or pass the app reference on the command line",
            ) from None
        tool = data.get("tool", {})
        setting = tool.get("skaal", {}).get("app") if isinstance(tool, dict) else None
        if setting is None:
            break
        if not isinstance(setting, str) or not setting.strip():
            raise UsageError(
                f"[tool.skaal] app must be a non-empty string, got {setting!r}",
                where=str(pyproject),
                fix='write app = "shop.main:app"',
            )
        return setting, folder
    here = sorted(p.name for p in cwd.glob("*.py") if p.name in ("app.py", "main.py"))
    found = f"; {here[0]} is here: pass it as {here[0]}:app" if here else ""
    raise UsageError(
        "no app given, and no pyproject.toml here or above sets [tool.skaal] app",
        where=str(cwd),
        fix=f"pass the app reference, e.g. {_HINT}{found}",
    )


def _import(ref: AppRef) -> ModuleType:
    saved_path = list(sys.path)
    sys.path.insert(0, str(ref.root))
    try:
        _forget_stale(ref)
        importlib.invalidate_caches()
        return importlib.import_module(ref.module)
    except SkaalError:
        raise
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (ref.module == missing or ref.module.startswith(missing + ".")):
            raise UsageError(
                f"cannot find module {ref.module!r} (app reference {ref.text!r})",
                where=str(ref.root),
                fix="run from your project directory, check the spelling, "
                "or name the file instead: path/to/file.py:app",
            ) from None
        raise UsageError(
            f"importing {ref.module!r} failed: {exc}",
            where=_user_frame(exc.__traceback__, ref),
            fix=f"install the missing package (pip install {missing.partition('.')[0]}) "
            "or fix the import",
        ) from exc
    except SyntaxError as exc:
        raise UsageError(
            f"syntax error in your app: {exc.msg}{_show_line(exc)}",
            where=f"{exc.filename}:{exc.lineno}",
            fix="correct the line above, then run the command again",
        ) from None
    except Exception as exc:
        raise UsageError(
            f"importing {ref.module!r} raised {type(exc).__name__}: {exc}",
            where=_user_frame(exc.__traceback__, ref),
            fix="fix the error in your module; run with --debug for the full traceback",
        ) from exc
    finally:
        sys.path[:] = saved_path


def _forget_stale(ref: AppRef) -> None:
    """Drop a cached copy of the target (and of packages loaded from elsewhere)."""
    parts = ref.module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        cached = sys.modules.get(name)
        if cached is None:
            continue
        origin = getattr(cached, "__file__", None)
        elsewhere = origin is None or not Path(origin).resolve().is_relative_to(ref.root)
        if end == len(parts) or elsewhere:
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[loaded]


def _show_line(exc: SyntaxError) -> str:
    if not exc.text:
        return ""
    text = exc.text.rstrip("\n")
    stripped = text.lstrip()
    caret = ""
    if exc.offset:
        caret = "\n    " + " " * max(exc.offset - 1 - (len(text) - len(stripped)), 0) + "^"
    return f"\n    {stripped}{caret}"


def _user_frame(tb: TracebackType | None, ref: AppRef) -> str:
    """``file:line`` of the deepest frame outside importlib and this module."""
    import traceback  # noqa: PLC0415 - only an app that fails to import needs it: not at start-up

    here = Path(__file__).resolve()
    found = str(ref.file or ref.root)
    for frame in traceback.extract_tb(tb):
        name = frame.filename
        if name.startswith("<frozen") or Path(name).resolve() == here:
            continue
        found = f"{name}:{frame.lineno}"
    return found


def _attribute(module: ModuleType, ref: AppRef) -> App:
    value: object = module
    for part in ref.attr.split("."):
        if not hasattr(value, part):
            apps = sorted(k for k, v in vars(module).items() if isinstance(v, App))
            known = ", ".join(apps) if apps else "none"
            raise UsageError(
                f"module {ref.module!r} has no attribute {ref.attr!r}"
                f"{did_you_mean(ref.attr, apps)}",
                where=getattr(module, "__file__", None) or ref.module,
                fix=f"App instances in {ref.module}: {known}; name one as {ref.module}:<attribute>",
            )
        value = getattr(value, part)
    if not isinstance(value, App):
        raise UsageError(
            f"{ref.module}:{ref.attr} is a {type(value).__name__}, not a skaal.App",
            where=getattr(module, "__file__", None) or ref.module,
            fix='point at the object created with App("name")',
        )
    return value
