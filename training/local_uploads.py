"""The local-storage stand-in for S3's presigned PUT: a signed URL of ours that takes one PUT.

Without S3 (the embedded defaults), `POST /api/uploads` hands out `PUT /api/uploads/<user>/<id>.zip
?t=<token>`; this checks the token and stores the body as the upload, streamed through a
temporary file and capped at MAX_ZIP_MB. Slots, claims and reading an upload back are
`zip_uploads.py`'s, whichever storage is in use.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage

from lib.storage import save_whole
from lib.uploads import upload_temp_folder
from training.zip_uploads import (
    CHUNK,
    SALT,
    StorageUnavailable,
    UploadTooLarge,
    max_zip_bytes,
    upload_delete,
    upload_used,
)

logger = logging.getLogger(__name__)


def local_upload_allowed(*, name: str, token: str) -> bool:
    """The signed local URL was made by us for exactly this name, less than the TTL ago."""
    try:
        signing.TimestampSigner(salt=SALT).unsign(
            f"{name}:{token}", max_age=settings.UPLOAD_URL_TTL_SECONDS
        )
    except signing.BadSignature:  # also SignatureExpired
        return False
    return True


class UploadExists(Exception):
    """A signed URL is good for one PUT: the object is already there."""


def local_upload_store(*, name: str, read: Callable[[int], bytes], length: int) -> int:
    """Store a PUT body under `name` (local storage only); return its size.

    The body is copied to a temporary file first, never held in memory, and never more than
    `length` bytes of it are read (Django's stream already stops at Content-Length).
    """
    if length > max_zip_bytes():
        raise UploadTooLarge
    if upload_used(name) or default_storage.exists(name):  # used: deleted, but not free again
        raise UploadExists
    folder = upload_temp_folder()
    with tempfile.NamedTemporaryFile(dir=folder, prefix="api-upload-", suffix=".zip") as copy:
        copied = 0
        while chunk := read(min(CHUNK, length - copied)):
            copied += len(chunk)
            copy.write(chunk)
            if copied >= length:
                break
        copy.flush()
        copy.seek(0)
        saved = save_quietly(name, copy)
    if saved != name:  # never expected (exists() was checked); never leave a stray copy
        upload_delete(saved)
        raise UploadExists
    return copied


def save_quietly(name: str, content: IO[bytes]) -> str:
    """Save under `name`; on any storage failure leave nothing there and say so."""
    try:
        return save_whole(default_storage, name, content)  # never a truncated ZIP under `name`
    except Exception as error:  # any backend, any failure
        logger.exception("could not store the upload %s", name)
        upload_delete(name)
        raise StorageUnavailable(str(error)) from error
