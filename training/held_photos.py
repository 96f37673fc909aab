"""A refused order's good photos, held a little while so the person can go on without the others.

When the server refuses some photos of a set but enough remain, choosing and uploading the rest
again is harsh (and slow on a phone). The uploads that were not refused are stored under
`held-photos/<person>/<token>/` in the shared storage (any web process may get the next
request), and "continue without the refused photos" sends only the token. A held set goes when it
is used (order made or refused again), when the person holds a newer one, after HOLD_MINUTES,
and at the latest with `cleanup_temp_files`. They are the uploads as sent: every check runs again.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import UploadedFile

from lib.storage import delete_quietly, save_whole
from lib.uploads import upload_temp_folder

HELD_PHOTOS = "held-photos"
HOLD_MINUTES = 60
TOKEN = re.compile(r"^[0-9a-f]{32}$")
NAMES_FILE = "names.json"


@dataclass(frozen=True)
class HeldSet:
    """What the form needs to offer "continue": the token and how many photos it keeps."""

    token: str
    count: int


class HeldPhotosGone(Exception):
    """The token names no held set of this person (used, replaced, expired or made up)."""


class HeldUpload(UploadedFile):
    """A held photo, copied back to a local file like one Django streamed to disk."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__(path.open("rb"), name, "application/octet-stream", path.stat().st_size)
        self.path = path

    def temporary_file_path(self) -> str:
        return str(self.path)


def _folder(user_id: int, token: str) -> str:
    return f"{HELD_PHOTOS}/{user_id}/{token}"


def photos_release_all(*, user_id: int, storage: Storage = default_storage) -> None:
    """Forget every set held for this person."""
    try:
        tokens, _files = storage.listdir(f"{HELD_PHOTOS}/{user_id}")
    except FileNotFoundError:
        return
    for token in tokens:
        _delete_set(storage, _folder(user_id, token))


def _delete_set(storage: Storage, folder: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        for name in storage.listdir(folder)[1]:
            delete_quietly(f"{folder}/{name}", storage)


def photos_hold(
    *, user_id: int, uploads: Sequence[UploadedFile], problems: Sequence[tuple[str | None, object]]
) -> HeldSet | None:
    """Hold the uploads no problem names, when every problem names a photo and enough remain."""
    refused = {name for name, _message in problems}
    kept = [upload for upload in uploads if upload.name not in refused]
    if None in refused or not refused or len(kept) < settings.PHOTOS_MIN:
        return None
    photos_release_all(user_id=user_id)
    token = secrets.token_hex(16)
    folder = _folder(user_id, token)
    for index, upload in enumerate(kept):
        upload.seek(0)
        save_whole(default_storage, f"{folder}/{index:02d}", upload)
    names = json.dumps([upload.name for upload in kept]).encode()
    save_whole(default_storage, f"{folder}/{NAMES_FILE}", io.BytesIO(names))  # written last
    return HeldSet(token=token, count=len(kept))


def _names(storage: Storage, folder: str) -> list[str]:
    """The held set's photo names, or HeldPhotosGone when it is missing or too old."""
    index = f"{folder}/{NAMES_FILE}"
    try:
        modified = storage.get_modified_time(index)
        with storage.open(index) as stream:
            names: list[str] = json.loads(stream.read())
    except (FileNotFoundError, OSError, ValueError):
        raise HeldPhotosGone from None
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    if datetime.now(UTC) - modified > timedelta(minutes=HOLD_MINUTES):
        _delete_set(storage, folder)
        raise HeldPhotosGone
    return names


@contextlib.contextmanager
def held_photos(*, user_id: int, token: str) -> Iterator[list[UploadedFile]]:
    """The person's held photos as local uploads; the set is gone afterwards, whatever happened."""
    if not TOKEN.match(token):
        raise HeldPhotosGone
    folder = _folder(user_id, token)
    names = _names(default_storage, folder)
    local = Path(tempfile.mkdtemp(prefix="held-", dir=upload_temp_folder()))
    photos: list[UploadedFile] = []
    try:
        for index, name in enumerate(names):
            path = local / f"{index:02d}"
            with default_storage.open(f"{folder}/{index:02d}") as stored, path.open("wb") as copy:
                shutil.copyfileobj(stored, copy)
            photos.append(HeldUpload(path, name))
        yield photos
    finally:
        for photo in photos:
            photo.close()
        shutil.rmtree(local, ignore_errors=True)
        _delete_set(default_storage, folder)
