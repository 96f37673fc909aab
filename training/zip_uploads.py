"""Stage "upload" for the API: a short-lived place to put a ZIP, and reading it back safely.

`POST /api/uploads` hands out an upload slot: with S3, a presigned PUT straight to the bucket;
with local files, a signed URL of our own that accepts one PUT. Either way the object lands at
`uploads/<user id>/<upload id>.zip`, and the caller then names it by its `zip_url`
(`SITE_URL/api/uploads/<user id>/<upload id>.zip`).

`train-model` accepts nothing else: `upload_name_from_url` only *parses* the URL (scheme, host
and port must be SITE_URL's, the path exactly an upload's), so no URL a caller chooses is ever
fetched; the bytes are read from our own storage by key. Another person's upload is "not
found", like a missing one.

A person holds at most MAX_PENDING_UPLOADS places: upload URLs still alive and uploaded ZIPs no
order used. A place is counted and taken in one step under a lock on the person's row (the URLs
in the shared cache, the ZIPs in the storage), because an S3 PUT never passes through us: the
only moment to refuse it is when its URL is asked for. A used upload stays "used" (claimed in
the cache) for longer than its URL lives, so a second PUT to it is refused, and a copy PUT
straight to S3 after it was used is neither counted nor usable (cleanup_temp_files deletes it).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from lib.storage import delete_quietly
from lib.uploads import upload_temp_folder

logger = logging.getLogger(__name__)

MB = 1024 * 1024
PREFIX = "uploads"
CONTENT_TYPE = "application/zip"
SALT = "headshots.zip-upload"
CHUNK = 1024 * 1024
URL_PATH = re.compile(
    r"/api/uploads/(?P<user_id>[1-9][0-9]{0,17})/(?P<upload_id>[0-9a-f]{32})\.zip"
)
UPLOAD_FILE = re.compile(r"[0-9a-f]{32}\.zip")
MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
CLAIM_SECONDS = 24 * 3600  # longer than any upload URL lives (see claim_seconds)
# A slot keeps its place a little after its URL expires: a PUT started just before the end may
# still be arriving.
SLOT_GRACE_SECONDS = 10 * 60
# Uploaded ZIPs a person may hold without ordering from them: storage is not a free locker.
MAX_PENDING_UPLOADS = 5


@dataclass(frozen=True)
class UploadSlot:
    """Where to PUT the ZIP (and with which headers), and the URL that names it afterwards."""

    upload_url: str
    zip_url: str
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class UploadNotUsable(Exception):
    """A zipUrl that is not one of our upload URLs, or names no upload of this person."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "foreign_url" or "not_found"


class UploadTooLarge(Exception):
    """The uploaded object is larger than MAX_ZIP_MB."""


class TooManyPendingUploads(Exception):
    """The person already holds MAX_PENDING_UPLOADS places: live upload URLs and uploaded ZIPs
    that no order used."""


class StorageUnavailable(Exception):
    """The storage failed while an upload was written or read; nothing of it was kept."""


def max_zip_bytes() -> int:
    return int(settings.MAX_ZIP_MB * MB)


def upload_name(*, user_id: int, upload_id: str) -> str:
    return f"{PREFIX}/{user_id}/{upload_id}.zip"


def zip_url_for(name: str) -> str:
    return f"{settings.SITE_URL}/api/{name}"


def uses_s3() -> bool:
    return hasattr(default_storage, "bucket_name")


def upload_slot_create(*, user: User) -> UploadSlot:
    """A new slot for one ZIP, valid for UPLOAD_URL_TTL_SECONDS, if the person has a place."""
    ttl = settings.UPLOAD_URL_TTL_SECONDS
    upload_id = uuid.uuid4().hex
    upload_slot_reserve(user_id=user.pk, upload_id=upload_id)
    name = upload_name(user_id=user.pk, upload_id=upload_id)
    if uses_s3():
        from lib.s3 import presigned_put_url  # boto3 only where S3 is configured

        upload_url = presigned_put_url(
            default_storage,
            name,
            expire=ttl,
            content_type=CONTENT_TYPE,
        )
    else:
        token = signing.TimestampSigner(salt=SALT).sign(name).rsplit(":", 2)
        upload_url = f"{zip_url_for(name)}?t={token[1]}:{token[2]}"
    return UploadSlot(
        upload_url=upload_url,
        zip_url=zip_url_for(name),
        headers={"Content-Type": CONTENT_TYPE},
        expires_at=timezone.now() + timedelta(seconds=ttl),
        max_bytes=max_zip_bytes(),
    )


def upload_slot_reserve(*, user_id: int, upload_id: str) -> None:
    """Take a place for `upload_id`, or raise TooManyPendingUploads; count and take at once.

    The person's row lock makes simultaneous requests count one after the other.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user_id).first()
        slots = live_slots(user_id)
        if len(slots.keys() | unused_uploads(user_id)) >= MAX_PENDING_UPLOADS:
            raise TooManyPendingUploads
        keep = settings.UPLOAD_URL_TTL_SECONDS + SLOT_GRACE_SECONDS
        slots[upload_id] = time.time() + keep
        cache.set(slots_key(user_id), slots, timeout=keep)


def slots_key(user_id: int) -> str:
    return f"zip-upload-slots:{user_id}"


def claim_key(name: str) -> str:
    return f"zip-upload-claimed:{name}"


def claim_seconds() -> int:
    """A claim outlives the upload URL, so that a used URL never takes a second PUT."""
    return max(CLAIM_SECONDS, settings.UPLOAD_URL_TTL_SECONDS + SLOT_GRACE_SECONDS)


def live_slots(user_id: int) -> dict[str, float]:
    """The person's upload URLs that still hold a place: not expired, not used."""
    slots: dict[str, float] = cache.get(slots_key(user_id)) or {}
    now = time.time()
    alive = {upload_id: until for upload_id, until in slots.items() if until > now}
    used = claimed({upload_name(user_id=user_id, upload_id=upload_id) for upload_id in alive})
    return {
        upload_id: until
        for upload_id, until in alive.items()
        if upload_name(user_id=user_id, upload_id=upload_id) not in used
    }


def unused_uploads(user_id: int) -> set[str]:
    """The ids of the person's stored ZIPs that no order used. One being ordered from right
    now is not counted, nor one PUT straight to S3 after its URL was used: nothing can order
    from that one, and cleanup_temp_files deletes it."""
    try:
        _folders, files = default_storage.listdir(f"{PREFIX}/{user_id}")
    except FileNotFoundError:
        return set()
    except Exception as error:  # the storage is down: not the caller's fault
        raise StorageUnavailable(str(error)) from error
    names = {
        f"{PREFIX}/{user_id}/{file}": file.removesuffix(".zip")
        for file in files
        if UPLOAD_FILE.fullmatch(file)  # not what a PUT killed half-way left behind
    }
    used = claimed(set(names))
    return {upload_id for name, upload_id in names.items() if name not in used}


def claimed(names: set[str]) -> set[str]:
    """Which of these uploads an order has used (or is using)."""
    found = cache.get_many([claim_key(name) for name in names])
    return {name for name in names if claim_key(name) in found}


def upload_used(name: str) -> bool:
    return bool(claimed({name}))


def upload_name_from_url(zip_url: object, *, user: User) -> str:
    """The storage name a zipUrl names, if it is one of `user`'s uploads; else UploadNotUsable.

    Nothing is fetched: the URL is only compared with SITE_URL and the upload path.
    """
    if not isinstance(zip_url, str) or len(zip_url) > MAX_URL_LENGTH:
        raise UploadNotUsable("foreign_url")
    try:
        parts = urlsplit(zip_url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a malformed port or bracketed host
        raise UploadNotUsable("foreign_url") from None
    site = urlsplit(settings.SITE_URL)
    same_origin = (
        parts.scheme == site.scheme
        and parts.hostname == site.hostname
        and port == (site.port or DEFAULT_PORTS.get(site.scheme))
        and parts.username is None
        and parts.password is None
    )
    match = URL_PATH.fullmatch(parts.path)
    if not same_origin or match is None or parts.query or parts.fragment:
        raise UploadNotUsable("foreign_url")
    if int(match["user_id"]) != user.pk:
        raise UploadNotUsable("not_found")
    name = upload_name(user_id=user.pk, upload_id=match["upload_id"])
    try:
        found = default_storage.exists(name)
    except Exception as error:  # the storage is down: not the caller's fault
        raise StorageUnavailable(str(error)) from error
    if not found:
        raise UploadNotUsable("not_found")
    return name


@contextmanager
def upload_copied(name: str) -> Iterator[Path]:
    """A local copy of the upload, for the ZIP checks; the upload itself is deleted on exit,
    whatever happened, and so is the copy.

    The upload is claimed first in the shared cache (an atomic add), so that two simultaneous
    calls with the same zipUrl cannot both order from it: the second finds it "not found".
    """
    if not cache.add(claim_key(name), True, timeout=claim_seconds()):
        raise UploadNotUsable("not_found")
    folder = Path(tempfile.mkdtemp(prefix="api-zip-", dir=upload_temp_folder()))
    try:
        path = folder / "upload.zip"
        try:
            too_large = default_storage.size(name) > max_zip_bytes()
            if not too_large:
                with default_storage.open(name, "rb") as source, path.open("wb") as copy:
                    shutil.copyfileobj(source, copy, CHUNK)
        except FileNotFoundError:  # a simultaneous call with the same zipUrl took it first
            raise UploadNotUsable("not_found") from None
        except Exception as error:  # the storage is down: not the caller's fault
            raise StorageUnavailable(str(error)) from error
        if too_large:
            raise UploadTooLarge
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        upload_delete(name)


def upload_delete(name: str) -> None:
    """The upload is done with (used, refused or stray); best effort, as every clean-up."""
    delete_quietly(name)
