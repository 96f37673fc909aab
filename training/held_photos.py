"""A refused order's good photos, held a little while so the person can go on without the others.

When the server refuses some photos of a set but enough remain, choosing and uploading the rest
again is harsh (and slow on a phone). The uploads that were not refused are copied into a folder
of their own under FILE_UPLOAD_TEMP_DIR, named for the person and a random token, and "continue
without the refused photos" sends only the token. The folder goes when it is used (order made or
refused again), when the person holds a newer set, after HOLD_MINUTES, and at the latest with
`cleanup_temp_files`. These are the uploads as sent: they go through every check again.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from lib.uploads import upload_temp_folder

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
    """A held photo, read from its file like one Django streamed to disk."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__(path.open("rb"), name, "application/octet-stream", path.stat().st_size)
        self.path = path

    def temporary_file_path(self) -> str:
        return str(self.path)


def _folder(user_id: int, token: str) -> Path:
    return upload_temp_folder() / f"held-{user_id}-{token}"


def photos_release_all(*, user_id: int) -> None:
    """Forget every set held for this person."""
    for folder in upload_temp_folder().glob(f"held-{user_id}-*"):
        shutil.rmtree(folder, ignore_errors=True)


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
    folder.mkdir()
    for index, upload in enumerate(kept):
        upload.seek(0)
        with (folder / f"{index:02d}").open("wb") as copy:
            for chunk in upload.chunks():
                copy.write(chunk)
    (folder / NAMES_FILE).write_text(json.dumps([upload.name for upload in kept]))
    return HeldSet(token=token, count=len(kept))


@contextlib.contextmanager
def held_photos(*, user_id: int, token: str) -> Iterator[list[UploadedFile]]:
    """The person's held photos as uploads; the set is gone afterwards, whatever happened."""
    folder = _folder(user_id, token) if TOKEN.match(token) else None
    if folder is None or not (folder / NAMES_FILE).is_file():
        raise HeldPhotosGone
    if time.time() - folder.stat().st_mtime > HOLD_MINUTES * 60:
        shutil.rmtree(folder, ignore_errors=True)
        raise HeldPhotosGone
    names = json.loads((folder / NAMES_FILE).read_text())
    photos: list[UploadedFile] = [
        HeldUpload(folder / f"{index:02d}", name) for index, name in enumerate(names)
    ]
    try:
        yield photos
    finally:
        for photo in photos:
            photo.close()
        shutil.rmtree(folder, ignore_errors=True)
