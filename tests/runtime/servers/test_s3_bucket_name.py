"""The S3 backend stores in the bucket the deployment names, against moto.

The aws target's buckets are named by S3 from a prefix plus a unique suffix
(so the name cannot be guessed and claimed first); the program hands each
function the real name in ``SKAAL_<RESOURCE>_NAME``, which the backend
reads before falling back to the computed name.  Needs
SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from skaal.plan.wiring import resource_env
from tests.runtime.servers.test_aws_moto import aws_env, open_provider, raw, spec

pytestmark = pytest.mark.asyncio


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_the_blobs_go_to_the_bucket_the_deployment_names(tmp_path: Path) -> None:
    env = aws_env(create=False)
    bucket = f"moto-files-{uuid.uuid4().hex[:20]}"  # as S3 completes a bucket_prefix
    raw("s3", env).create_bucket(Bucket=bucket)
    env[resource_env("Files")] = bucket
    provider = await open_provider("s3", env, tmp_path)
    try:
        store = provider.blobs(spec("Files", "blob"))
        assert store.bucket == bucket
        await store.open()
        await store.put("a.txt", _chunks(b"hello"), content_type="text/plain", metadata={})
        listed = raw("s3", env).list_objects_v2(Bucket=bucket)
        assert [o["Key"] for o in listed["Contents"]] == ["a.txt"]
    finally:
        await provider.close()


async def test_without_the_variable_the_computed_name_is_used(tmp_path: Path) -> None:
    env = aws_env(create=False)
    provider = await open_provider("s3", env, tmp_path)
    try:
        store = provider.blobs(spec("Files", "blob"))
        assert store.bucket == f"{env['SKAAL_AWS_NAME_PREFIX']}-moto-files"
    finally:
        await provider.close()
