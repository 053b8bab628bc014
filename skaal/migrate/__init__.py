"""Moving a resource's data to the backend a new plan placed it on (``skaal migrate``).

:mod:`skaal.migrate.engine` copies, verifies and switches; the journal
(:mod:`skaal.migrate.journal`) makes a copy resumable; the sides
(:mod:`skaal.migrate.sides`) read and write each kind's encoded items.
"""

from skaal.migrate.engine import DEFAULT_BATCH, MoveResult, migrate, rollback
from skaal.migrate.verify import Comparison

__all__ = ["DEFAULT_BATCH", "Comparison", "MoveResult", "migrate", "rollback"]
