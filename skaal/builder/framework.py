"""The wheel of the running Skaal, shipped with every build under ``wheels/``.

Every generated ``requirements.txt`` pins ``skaal==<version>``: the Skaal
that built the artifacts is the one they must run on.  A package index may
not hold that version (a development build, an unreleased fix), so each
target ships the framework itself as ``wheels/skaal-<version>-py3-none-any.whl``
and its install commands add ``--find-links wheels``: pip then resolves the
pin from the shipped file and takes only the other dependencies from the
index.

The wheel is made here from the files of the running package, with the
standard library only:

* every file under the ``skaal`` package folder except ``__pycache__``
  folders, compiled ``*.pyc`` and hidden files;
* the bundled catalogs under ``skaal/_bundled/catalogs/`` -- already inside
  an installed package, taken from the top-level ``catalogs/`` of a source
  checkout (:func:`skaal.catalog.locate.bundled_dir`), as the project's own
  wheel build does;
* ``skaal-<version>.dist-info/``: ``METADATA`` (name, version, summary,
  ``Requires-Python``, ``Requires-Dist`` with the extras' markers and
  ``Provides-Extra``, read from the installed distribution through
  :mod:`importlib.metadata`), ``WHEEL``, ``entry_points.txt`` (the ``skaal``
  console script) and ``RECORD`` (urlsafe-base64 sha256 without padding and
  the size of every other file).

It is deterministic: entries in sorted order (the ``.dist-info`` files last,
``RECORD`` at the very end), every timestamp 1980-01-01 00:00:00, every mode
``0644``, fixed compression.  The same tree gives the same bytes, so a build
hashes the same twice and the manifest only changes when Skaal does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from skaal._version import __version__
from skaal.builder.artifact import Artifact
from skaal.catalog.locate import bundled_dir

__all__ = [
    "CATALOGS_IN_WHEEL",
    "WHEEL_DIR",
    "framework_artifact",
    "framework_files",
    "framework_wheel",
    "wheel_name",
]

#: The installed ``skaal`` package (this module is ``skaal/builder/framework.py``).
_PACKAGE_DIR = Path(__file__).resolve().parents[1]

WHEEL_DIR = "wheels"
"""Where a target's artifacts carry the wheel (``--find-links wheels``)."""
CATALOGS_IN_WHEEL = "skaal/_bundled/catalogs"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODE = 0o100644 << 16
_DEFAULT_SCRIPTS = (("skaal", "skaal.cli.main:main"),)


def wheel_name(version: str = __version__) -> str:
    """``skaal-<version>-py3-none-any.whl``."""
    return f"skaal-{version}-py3-none-any.whl"


def _kept(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return (
        path.is_file()
        and "__pycache__" not in parts
        and path.suffix not in {".pyc", ".pyo"}
        and not any(p.startswith(".") for p in parts)
    )


def framework_files(
    package_dir: Path | None = None, catalogs_dir: Path | None = None
) -> dict[str, bytes]:
    """The package's files by their path in the wheel (``skaal/...``), sorted."""
    package = package_dir or _PACKAGE_DIR
    files = {
        "skaal/" + p.relative_to(package).as_posix(): p.read_bytes()
        for p in package.rglob("*")
        if _kept(p, package)
    }
    if not any(name.startswith(CATALOGS_IN_WHEEL + "/") for name in files):
        catalogs = catalogs_dir or bundled_dir()
        files.update(
            {
                f"{CATALOGS_IN_WHEEL}/{p.relative_to(catalogs).as_posix()}": p.read_bytes()
                for p in catalogs.rglob("*")
                if _kept(p, catalogs)
            }
        )
    return dict(sorted(files.items()))


def _field(meta: metadata.PackageMetadata, key: str) -> str:
    return str((meta.get_all(key) or [""])[0])


def _metadata_text(version: str, dist: metadata.Distribution | None) -> str:
    if dist is None:
        return f"Metadata-Version: 2.1\nName: skaal\nVersion: {version}\nRequires-Python: >=3.11\n"
    meta = dist.metadata
    lines = [f"Metadata-Version: {_field(meta, 'Metadata-Version') or '2.1'}", "Name: skaal"]
    lines.append(f"Version: {version}")
    for key in ("Summary", "License-Expression", "Requires-Python"):
        value = _field(meta, key)
        if value:
            lines.append(f"{key}: {value}")
    lines += [f"Requires-Dist: {r}" for r in sorted(dist.requires or ())]
    lines += [f"Provides-Extra: {e}" for e in sorted(meta.get_all("Provides-Extra") or ())]
    return "\n".join(lines) + "\n"


def _entry_points_text(dist: metadata.Distribution | None) -> str:
    scripts: Iterable[tuple[str, str]] = _DEFAULT_SCRIPTS
    if dist is not None:
        found = [(e.name, e.value) for e in dist.entry_points if e.group == "console_scripts"]
        scripts = sorted(found) or _DEFAULT_SCRIPTS
    return "[console_scripts]\n" + "".join(f"{name} = {value}\n" for name, value in scripts)


def _installed() -> metadata.Distribution | None:
    try:
        return metadata.distribution("skaal")
    except metadata.PackageNotFoundError:
        return None


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _dist_info(
    version: str, files: Mapping[str, bytes], dist: metadata.Distribution | None
) -> dict[str, bytes]:
    info = f"skaal-{version}.dist-info"
    wheel = (
        "Wheel-Version: 1.0\nGenerator: skaal.builder.framework\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    meta = {
        f"{info}/METADATA": _metadata_text(version, dist).encode(),
        f"{info}/WHEEL": wheel.encode(),
        f"{info}/entry_points.txt": _entry_points_text(dist).encode(),
    }
    rows = [f"{n},{_record_hash(d)},{len(d)}" for n, d in (*files.items(), *sorted(meta.items()))]
    rows.append(f"{info}/RECORD,,")
    return {**dict(sorted(meta.items())), f"{info}/RECORD": ("\n".join(rows) + "\n").encode()}


def framework_wheel(
    *,
    version: str = __version__,
    package_dir: Path | None = None,
    catalogs_dir: Path | None = None,
    dist: metadata.Distribution | None = None,
) -> bytes:
    """The bytes of the wheel of the package at ``package_dir`` (the running Skaal)."""
    files = framework_files(package_dir, catalogs_dir)
    entries = {**files, **_dist_info(version, files, dist or _installed())}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = _MODE
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def framework_artifact() -> Artifact:
    """``wheels/skaal-<version>-py3-none-any.whl`` of the running Skaal (made once per process)."""
    return Artifact(f"{WHEEL_DIR}/{wheel_name()}", framework_wheel())
