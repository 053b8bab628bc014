"""Environments: ``dev``, ``staging``, ``prod`` of one app, side by side.

:mod:`skaal.envs.config` reads them from ``pyproject.toml`` and picks the
one a command works on; :mod:`skaal.envs.compare` lists them, compares two
of them and promotes one's placements to another.
"""

from skaal.envs.config import Environment, Project, load_project, select_env

__all__ = ["Environment", "Project", "load_project", "select_env"]
