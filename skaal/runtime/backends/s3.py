"""The ``s3`` backend: ``BlobStore`` on Amazon S3, one bucket per resource.

The bucket is named by :mod:`skaal.runtime.naming`; object keys are the
client-validated blob keys, unchanged, and checked against S3's own limit
(1,024 bytes of UTF-8, :mod:`~skaal.runtime.backends.blob_object_keys`)
before any request: ``put`` of a longer key is a ``BlobKeyError``, reads of
one find nothing.  ``put`` buffers the incoming chunks:
up to ``MULTIPART_THRESHOLD`` (8 MiB) it is one ``PutObject`` (atomic, like
every S3 write); beyond that it becomes a multipart upload of 8 MiB parts,
aborted if anything fails, so memory stays bounded by one part whatever the
object's size.  ``open_read`` streams ``GetObject``'s body in ``chunk_size``
reads, each on the AWS thread pool.  ``list`` is ``ListObjectsV2`` with
``StartAfter`` = the position, which S3 orders by UTF-8 bytes -- code-point
order, as the port requires; S3 listings carry no content type or metadata,
so ``list`` reports them empty (``stat`` has them).  ETags are reported
without their quotes.

User metadata travels as ``x-amz-meta-*`` headers: names are lowercased by
S3 and values must be ASCII.  :meth:`S3Blobs.presigned_url` signs a GET or
PUT URL for direct browser transfers (the ``SignsBlobUrls`` capability).

Retries (:mod:`skaal.runtime.backends.aws_client`): reads, ``PutObject`` (the
whole object again), ``UploadPart`` (the same part number again) and
``DeleteObject`` are repeated after a timeout; ``CompleteMultipartUpload`` is
not (a repeat of one that was applied fails with ``NoSuchUpload``), nor is a
read from an open body stream, which only has the deadline.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.aws_client import AwsProvider, AwsSession
from skaal.runtime.backends.aws_errors import AwsError, missing
from skaal.runtime.backends.blob_listing import blob_chunk
from skaal.runtime.backends.blob_object_keys import S3_OBJECT_KEYS
from skaal.runtime.errors import DeadlineExceededError, OutcomeUnknownError
from skaal.runtime.ports import (
    BlobInfo,
    BlobStream,
    Chunk,
)
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from skaal.native import Native

__all__ = ["MULTIPART_THRESHOLD", "S3Blobs", "S3Provider"]

MULTIPART_THRESHOLD = 8 << 20
"""Objects larger than this are uploaded in parts of this size (S3's minimum part is 5 MiB)."""

_MISSING = ("404", "NoSuchKey", "NotFound")


def _info(key: str, head: Mapping[str, Any]) -> BlobInfo:
    return BlobInfo(
        key=key,
        size=int(head["ContentLength"]),
        content_type=str(head.get("ContentType", "application/octet-stream")),
        etag=str(head.get("ETag", "")).strip('"'),
        modified=float(head["LastModified"].timestamp()),
        metadata=dict(head.get("Metadata", {})),
    )


class S3Blobs:
    """A ``BlobBackend`` on one S3 bucket."""

    def __init__(self, aws: AwsSession, resource: str, *, bucket: str | None = None) -> None:
        self._aws = aws
        self._s3 = aws.client("s3")
        self._resource = resource
        self.bucket = bucket or aws.name(resource, service="s3")

    async def native(self) -> Native[S3Client]:
        """Blob ``key`` is the object ``key`` of the bucket, unchanged."""
        return self._aws.native(self._s3, "s3", "blob", self._resource, bucket=self.bucket)

    async def _call(self, fn: Any, what: str, safety: Safety, allow: tuple[str, ...] = ()) -> Any:
        return await self._aws.call(
            fn,
            what=f"{what} on S3 bucket {self.bucket!r}",
            where=self._resource,
            safety=safety,
            allow=allow,
        )

    async def open(self) -> None:
        s3, bucket = self._s3, self.bucket
        try:
            await self._call(
                lambda: s3.head_bucket(Bucket=bucket), "HeadBucket", Safety.READ, allow=_MISSING
            )
            return
        except ClientError as exc:
            adopted = self._resource in self._aws.adopted
            if adopted or not self._aws.create_missing:
                raise missing(
                    f"S3 bucket {bucket!r}", where=self._resource, adopted=adopted
                ) from exc
        request: dict[str, Any] = {"Bucket": bucket}
        if self._aws.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": self._aws.region}

        def create() -> None:
            try:
                s3.create_bucket(**request)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                    raise

        await self._call(create, "CreateBucket", Safety.IDEMPOTENT)  # owned already: fine

    async def close(self) -> None:
        return None

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> BlobInfo:
        S3_OBJECT_KEYS.check(key, self._resource)
        s3, bucket = self._s3, self.bucket
        extra = {"ContentType": content_type, "Metadata": dict(metadata)}
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                while len(buffer) > MULTIPART_THRESHOLD:
                    if upload_id is None:
                        started = await self._call(
                            lambda: s3.create_multipart_upload(Bucket=bucket, Key=key, **extra),
                            "CreateMultipartUpload",
                            Safety.IDEMPOTENT,  # a lost duplicate upload holds no parts
                        )
                        upload_id = str(started["UploadId"])
                    body = bytes(buffer[:MULTIPART_THRESHOLD])
                    del buffer[:MULTIPART_THRESHOLD]
                    parts.append(await self._part(key, upload_id, len(parts) + 1, body))
            if upload_id is None:
                data = bytes(buffer)
                await self._call(
                    lambda: s3.put_object(Bucket=bucket, Key=key, Body=data, **extra),
                    "PutObject",
                    Safety.IDEMPOTENT,
                )
            else:
                if buffer:
                    parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                done = {"Parts": parts}
                uid = upload_id
                await self._call(
                    lambda: s3.complete_multipart_upload(
                        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=done
                    ),
                    "CompleteMultipartUpload",
                    Safety.UNSAFE,
                )
        except BaseException:
            if upload_id is not None:
                uid = upload_id
                # best effort: the original error is the one to report (a completed
                # upload cannot be aborted; an orphan expires by the bucket's lifecycle)
                with contextlib.suppress(AwsError, DeadlineExceededError, OutcomeUnknownError):
                    await self._call(
                        lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid),
                        "AbortMultipartUpload",
                        Safety.IDEMPOTENT,
                    )
            raise
        info = await self.stat(key)
        assert info is not None, "an object just written is readable (S3 is read-after-write)"
        return info

    async def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        s3, bucket = self._s3, self.bucket
        response = await self._call(
            lambda: s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            ),
            f"UploadPart {number}",
            Safety.IDEMPOTENT,  # the same part number again replaces the part
        )
        return {"ETag": response["ETag"], "PartNumber": number}

    async def open_read(self, key: str, *, chunk_size: int) -> BlobStream | None:
        if not S3_OBJECT_KEYS.holds(key):
            return None
        s3, bucket = self._s3, self.bucket
        try:
            response = await self._call(
                lambda: s3.get_object(Bucket=bucket, Key=key),
                "GetObject",
                Safety.READ,
                allow=_MISSING,
            )
        except ClientError:
            return None
        body = response["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    data: bytes = await self._aws.read(
                        lambda: body.read(chunk_size),
                        what=f"reading {key!r} from S3 bucket {bucket!r}",
                        where=self._resource,
                    )
                    if not data:
                        return
                    yield data
            finally:
                body.close()

        return BlobStream(_info(key, response), chunks())

    async def stat(self, key: str) -> BlobInfo | None:
        if not S3_OBJECT_KEYS.holds(key):
            return None
        s3, bucket = self._s3, self.bucket
        try:
            head = await self._call(
                lambda: s3.head_object(Bucket=bucket, Key=key),
                "HeadObject",
                Safety.READ,
                allow=_MISSING,
            )
        except ClientError:
            return None
        return _info(key, head)

    async def delete(self, key: str) -> bool:
        if await self.stat(key) is None:  # a key S3 cannot hold included
            return False
        s3, bucket = self._s3, self.bucket
        await self._call(
            lambda: s3.delete_object(Bucket=bucket, Key=key), "DeleteObject", Safety.IDEMPOTENT
        )
        return True

    async def list(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[BlobInfo]:
        if not S3_OBJECT_KEYS.may_prefix(prefix):
            return blob_chunk([], limit)
        s3, bucket = self._s3, self.bucket
        request: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": prefix,
            "MaxKeys": min(limit + 1, 1000),
        }
        if after is not None:
            request["StartAfter"] = after
        out: list[BlobInfo] = []
        while True:
            page = await self._call(
                lambda r=dict(request): s3.list_objects_v2(**r), "ListObjects", Safety.READ
            )
            for obj in page.get("Contents", []):
                out.append(
                    BlobInfo(
                        key=str(obj["Key"]),
                        size=int(obj["Size"]),
                        content_type="",
                        etag=str(obj.get("ETag", "")).strip('"'),
                        modified=float(obj["LastModified"].timestamp()),
                    )
                )
            if not page.get("IsTruncated") or len(out) > limit:
                return blob_chunk(out, limit)
            request["ContinuationToken"] = page["NextContinuationToken"]
            request["MaxKeys"] = min(limit + 1 - len(out), 1000)

    async def presigned_url(
        self, key: str, *, expires: float = 3600.0, method: Literal["GET", "PUT"] = "GET"
    ) -> str:
        """A URL that lets its holder GET or PUT ``key`` for ``expires`` seconds."""
        S3_OBJECT_KEYS.check(key, self._resource)
        s3, bucket = self._s3, self.bucket
        operation = "get_object" if method == "GET" else "put_object"
        seconds = max(1, math.ceil(expires))
        url: str = await self._call(
            lambda: s3.generate_presigned_url(
                operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds
            ),
            "signing a URL",
            Safety.READ,  # local: no request is sent
        )
        return url


class S3Provider(AwsProvider):
    """The ``s3`` implementation: one ``AwsSession``, one bucket per resource."""

    implementation = "s3"

    def blobs(self, spec: ResourceSpec) -> S3Blobs:
        from skaal.build.wiring import resource_env  # the wiring imports the runtime

        # the aws target's buckets get a unique suffix: the program sets the real name
        return S3Blobs(self.aws, spec.name, bucket=self.settings.env.get(resource_env(spec.name)))
