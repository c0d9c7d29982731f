"""The S3-compatible backend of the media store (AWS S3, SeaweedFS, MinIO, Garage...).

Kept apart from state/media.py so that boto3 is imported only when MEDIA_URL is s3://.
"""

from __future__ import annotations

import os
import threading
from datetime import timezone

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotoConnectionError

from state.media import (
    ChunkStream,
    MediaInfo,
    MediaNotFound,
    MediaStore,
    MediaStoreError,
    check_key,
    check_range,
    content_type_for,
)


# Short connect timeout and few retries: a stopped store must fail a request in seconds with a
# clear error (the task layer retries with backoff), not hang a web request or a worker.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 10  # seconds without a byte; a frozen server thus fails a call in ~20 s
TOTAL_ATTEMPTS = 2  # the first try plus one retry
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_REFUSED_CODES = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}

_session: boto3.session.Session | None = None
_session_lock = threading.Lock()  # boto3 sessions are not thread-safe; clients made from them are


def _make_client(**options):
    """A new S3 client from one shared session: loading the service model costs ~0.4 s per session."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **options)


class S3MediaStore(MediaStore):
    """Objects in one bucket under an optional prefix, via boto3 with path-style addressing.

    Credentials: the arguments, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (boto3's usual chain).
    ETag: the store's own strong ETag (an MD5 for single PUTs, `md5-N` for multipart), with quotes.
    Writes are atomic because S3 makes an object visible only once a PUT or multipart upload ends.
    Create one store per process (after a fork): boto3 clients are thread-safe but not fork-safe.
    """

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 region: str | None = None):
        self.bucket = bucket
        self.prefix = check_key(prefix.strip("/")) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        config = Config(
            s3={"addressing_style": "path"},  # S3-compatible servers rarely have per-bucket DNS names
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
            # Checksums only where S3 requires them: several S3-compatible servers refuse or
            # mishandle the CRC32 trailers botocore otherwise adds to every upload.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client = _make_client(
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key or os.environ.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=secret_key or os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            config=config,
        )
        self._transfer = TransferConfig(max_concurrency=4)  # a few parts at once; 2-core machines

    def __repr__(self) -> str:
        return f"S3MediaStore(s3://{self.bucket}/{self.prefix}, endpoint={self.endpoint_url!r})"

    def _full(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _where(self) -> str:
        return f"bucket {self.bucket!r} at {self.endpoint_url or 'the default AWS endpoint'}"

    def _store_error(self, exc: Exception, action: str) -> MediaStoreError:
        """One readable sentence for a boto3 failure, naming the bucket/endpoint and what to do."""
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
            exc = exc.__context__  # upload_file wraps the real answer in a plain message
        if isinstance(exc, NoCredentialsError):
            return MediaStoreError(f"Cannot {action}: no S3 credentials were found; "
                                   "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return MediaStoreError(f"Cannot {action}: the S3 store at {self.endpoint_url or 'AWS'} "
                                   "did not answer; start it or fix S3_ENDPOINT_URL.")
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            message = exc.response.get("Error", {}).get("Message", "") or code
            if code == "NoSuchBucket":
                return MediaStoreError(f"Cannot {action}: {self._where()} does not exist; "
                                       "create the bucket or fix MEDIA_URL.")
            if code in _REFUSED_CODES:
                return MediaStoreError(f"Cannot {action}: {self._where()} refused the credentials "
                                       f"({code}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
                                       "and the key's permissions.")
            return MediaStoreError(f"Cannot {action}: {self._where()} answered {code}: {message}.")
        return MediaStoreError(f"Cannot {action} in {self._where()}: {exc}.")

    def put_file(self, key, local_path, content_type=None):
        full = self._full(key)
        try:
            self.client.upload_file(
                os.fspath(local_path), self.bucket, full,
                ExtraArgs={"ContentType": content_type or content_type_for(key)},
                Config=self._transfer,
            )
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._store_error(exc, f"store {key}") from exc

    def put_bytes(self, key, data, content_type=None):
        full = self._full(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data,
                                   ContentType=content_type or content_type_for(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._store_error(exc, f"store {key}") from exc

    def _get_object(self, key: str, byte_range: str | None = None) -> dict | None:
        """GET an object (or a range of it); None when the range starts past the end."""
        extra = {"Range": byte_range} if byte_range else {}
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key), **extra)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND_CODES:
                raise MediaNotFound(f"No media stored under {key}.") from None
            if code == "InvalidRange":
                return None
            raise self._store_error(exc, f"read {key}") from exc
        except BotoCoreError as exc:
            raise self._store_error(exc, f"read {key}") from exc

    def get_bytes(self, key):
        response = self._get_object(key)
        try:
            with response["Body"] as body:
                return body.read()
        except (BotoCoreError, OSError) as exc:
            raise self._store_error(exc, f"read {key}") from exc

    def stat(self, key):
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES:
                return None
            raise self._store_error(exc, f"read {key}") from exc
        except BotoCoreError as exc:
            raise self._store_error(exc, f"read {key}") from exc
        etag = head["ETag"] if head["ETag"].startswith('"') else f'"{head["ETag"]}"'
        return MediaInfo(
            size=head["ContentLength"],
            etag=etag,
            modified=head["LastModified"].astimezone(timezone.utc),
            content_type=head.get("ContentType") or content_type_for(key),
        )

    def open_stream(self, key, start=0, end=None):
        check_range(start, end)
        wanted = f"bytes={start}-{'' if end is None else end}" if (start or end is not None) else None
        response = self._get_object(key, wanted)
        if response is None:  # the range starts at or past the end: nothing to send
            return ChunkStream(lambda n: b"", lambda: None, 0, lambda exc: self._store_error(exc, "read"))
        body = response["Body"]
        return ChunkStream(body.read, body.close, response["ContentLength"],
                           lambda exc: self._store_error(exc, f"read {key}"))

    def delete_prefix(self, prefix):
        folder = self._full(prefix.rstrip("/")) + "/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder)
            for page in pages:
                objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if not objects:
                    continue
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise MediaStoreError(f"Cannot delete {first['Key']} in {self._where()}: "
                                          f"{first.get('Code')} {first.get('Message', '')}.")
        except (BotoCoreError, ClientError) as exc:
            raise self._store_error(exc, f"delete {prefix}") from exc

    def check(self):
        probe = self._full(".narrator-check")
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES | {"NoSuchBucket"}:
                raise MediaStoreError(f"The media store's {self._where()} does not exist; "
                                      "create the bucket or fix MEDIA_URL.") from exc
            raise self._store_error(exc, "reach the media store") from exc
        except BotoCoreError as exc:
            raise self._store_error(exc, "reach the media store") from exc
        try:
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"narrator media store check\n")
            self.client.delete_object(Bucket=self.bucket, Key=probe)
        except (BotoCoreError, ClientError) as exc:
            raise self._store_error(exc, "write to the media store") from exc
