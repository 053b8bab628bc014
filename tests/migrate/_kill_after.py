"""Run ``skaal migrate``'s engine and SIGKILL this process after N batches (a crash mid-copy).

Usage: python _kill_after.py PROJECT LOCK BATCH N RESOURCE
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from skaal.declare.app_ref import load_app
from skaal.migrate import migrate
from skaal.migrate.journal import Progress


def main() -> None:
    project, lock, batch, after, resource = sys.argv[1:6]

    def on_batch(name: str, progress: Progress) -> None:
        if progress.batches >= int(after):
            os.kill(os.getpid(), signal.SIGKILL)

    blueprint = load_app("shop.py:app", cwd=Path(project)).blueprint()
    asyncio.run(
        migrate(
            blueprint,
            Path(lock),
            resources=(resource,),
            batch=int(batch),
            project_dir=Path(project),
            on_batch=on_batch,
        )
    )
    sys.exit("the copy finished before the kill")


if __name__ == "__main__":
    main()
