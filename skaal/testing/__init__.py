"""Helpers for testing Skaal apps and Skaal itself.

* :class:`AppClient`: an in-process HTTP client for an app, with fresh
  isolated local backends (needs the ``serve`` extra);
* :func:`catalog` / :func:`backend` / :func:`instance_class` / :func:`mode`:
  in-memory catalogs built in code.
"""

from typing import TYPE_CHECKING, Any

from skaal.testing.catalogs import backend, catalog, instance_class, mode

if TYPE_CHECKING:
    from skaal.testing.app import AppClient

__all__ = ["AppClient", "backend", "catalog", "instance_class", "mode"]


def __getattr__(name: str) -> Any:
    # AppClient imports httpx and starlette: only when asked for.
    if name == "AppClient":
        from skaal.testing.app import AppClient  # noqa: PLC0415 - httpx and starlette load only for AppClient

        return AppClient
    raise AttributeError(f"module 'skaal.testing' has no attribute {name!r}")
