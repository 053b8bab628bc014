"""Where a built artifact keeps its parts: what the builders write and the hosts read.

The ``local`` and ``gcp`` artifacts ship the app's sources under
:data:`APP_DIR` and the lock as :data:`LOCK_NAME`; a local artifact keeps its
data under :data:`DEFAULT_DATA_DIR` unless told otherwise; Cloud Run probes
:data:`HEALTH_PATH`.  The hosts (:mod:`skaal.hosts`) sit above the builders
and import these names from here, so the two halves cannot disagree.
"""

from __future__ import annotations

__all__ = ["APP_DIR", "DEFAULT_DATA_DIR", "HEALTH_PATH", "LOCK_NAME"]

APP_DIR = "src"
"""The folder of the app's sources inside an artifact."""
LOCK_NAME = "skaal.lock"
"""The lock's file name inside an artifact."""
DEFAULT_DATA_DIR = "data"
"""A local artifact's data folder when no ``SKAAL_DATA_DIR`` names one."""
HEALTH_PATH = "/_skaal/health"
"""The path a Cloud Run service answers its health probes on."""
