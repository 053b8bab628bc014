"""Crash the PostgreSQL server mid-test: the client recovers, no committed write is lost.

The test makes its own cluster with the binaries .ci/services/20-postgres.sh
prepares (``SKAAL_TEST_POSTGRES_BIN``, run as ``SKAAL_TEST_POSTGRES_USER``
because initdb refuses root), with ``fsync=on``, the durability the catalog
promises.  The crash is an immediate shutdown (SIGQUIT): no checkpoint, the
server recovers from its WAL on restart, as after a power cut.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skaal.runtime.backends.postgres import PostgresProvider
from skaal.runtime.ports import BackendSettings
from tests.runtime.servers._failover import WriteLoad
from tests.runtime.servers._private import PrivatePostgres, postgres_binaries

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir, user = postgres_binaries()
    home = Path(tempfile.mkdtemp(prefix="skaal-pg-test-"))
    try:
        server = PrivatePostgres(bin_dir, user, home)
        server.start()
        yield server
        server.crash()
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def test_client_recovers_and_loses_no_committed_write(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    settings = BackendSettings(
        app="failover",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"SKAAL_POSTGRES_DSN": private_postgres.dsn},
        clock=time.time,
    )
    provider = PostgresProvider(settings)
    await provider.open()
    load = WriteLoad(provider)
    await load.start()
    await load.until(30)
    await asyncio.to_thread(private_postgres.crash)
    at_crash = len(load.acked)
    private_postgres.start()
    await load.until(at_crash + 30)
    await load.stop(timeout=30)  # the writer never saw an error
    await load.assert_nothing_lost()
    await provider.close()
