"""S3 storage whose presigned links name an address the browser can reach.

Inside docker-compose the app reaches MinIO as http://minio:9000, a name only the containers
know. A presigned signature covers the host, so a link cannot be rewritten afterwards: it has to
be signed for the public address (AWS_S3_PUBLIC_ENDPOINT_URL) from the start. Uploads and
downloads by the app itself still go through the internal endpoint. A module of its own, so
that boto3 (a quarter second of imports) is loaded only where S3 is configured.
"""

from __future__ import annotations

from typing import Any

import boto3
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


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
