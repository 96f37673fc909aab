"""S3 storage whose presigned links name an address the browser can reach; files saved whole.

Inside docker-compose the app reaches MinIO as http://minio:9000, a name only the containers
know. A presigned signature covers the host, so a link cannot be rewritten afterwards: it has to
be signed for the public address (AWS_S3_PUBLIC_ENDPOINT_URL) from the start. Uploads and
downloads by the app itself still go through the internal endpoint.

A full disk or a killed worker must never leave a truncated file under a real name, where it
would look like a finished headshot or ZIP until the cleanup a day later: `save_whole` writes
local files to a hidden temporary file beside the target, syncs it and renames it into place
(an S3 PUT is whole or nothing already).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

import boto3
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

COPY_CHUNK = 256 * 1024
PARTIAL_PREFIX = ".partial-"  # a hidden temporary name: never a gallery's, swept by the cleanup


class PublicLinkS3Storage(S3Storage):
    """django-storages' S3Storage, with links signed for `public_endpoint_url` when it is set."""

    def __init__(self, *, public_endpoint_url: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.public_endpoint_url = public_endpoint_url
        self._public_client: Any = None

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        if not self.public_endpoint_url:
            return str(super().url(name, parameters, expire, http_method))
        params = {
            **(parameters or {}),
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
        }
        return str(
            self.public_client().generate_presigned_url(
                "get_object",
                Params=params,
                ExpiresIn=expire or self.querystring_expire,
                HttpMethod=http_method,
            )
        )

    def public_client(self) -> Any:
        """A client for signing only: it never sends a request itself."""
        if self._public_client is None:
            self._public_client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.public_endpoint_url,
                region_name=self.region_name,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                config=self.client_config,
            )
        return self._public_client


def presigned_put_url(storage: S3Storage, name: str, *, expire: int, content_type: str) -> str:
    """A presigned PUT for exactly `name` (public address when the storage has one)."""
    public = isinstance(storage, PublicLinkS3Storage) and storage.public_endpoint_url
    client = storage.public_client() if public else storage.connection.meta.client
    params = {
        "Bucket": storage.bucket_name,
        "Key": storage._normalize_name(clean_name(name)),
        "ContentType": content_type,
    }
    return str(client.generate_presigned_url("put_object", Params=params, ExpiresIn=expire))


class _FinishedFile(File):
    """A complete temporary file: FileSystemStorage moves it into place with one rename."""

    def temporary_file_path(self) -> str:
        return str(self.name)


def save_whole(storage: Storage, name: str, content: IO[bytes]) -> str:
    """Save `content` under `name` (or the free name the storage picks) whole or not at all."""
    if not isinstance(storage, FileSystemStorage):
        return storage.save(name, File(content, name=name))
    folder = Path(storage.path(name)).parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=PARTIAL_PREFIX)
    try:
        with os.fdopen(handle, "wb") as target:
            shutil.copyfileobj(content, target, COPY_CHUNK)
            target.flush()
            os.fsync(target.fileno())  # on disk before it has a real name
        return storage.save(name, _FinishedFile(None, name=temporary))
    finally:
        Path(temporary).unlink(missing_ok=True)  # gone after the rename; else the partial copy
