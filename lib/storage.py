"""Files saved whole: a full disk or a killed worker never leaves a truncated file under a real
name, where it would look like a finished headshot or ZIP until the cleanup a day later.
`save_whole` writes local files to a hidden temporary file beside the target, syncs it and renames
it into place (an S3 PUT is whole or nothing already). S3 itself is `lib/s3.py`'s.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage

logger = logging.getLogger(__name__)
COPY_CHUNK = 256 * 1024
PARTIAL_PREFIX = ".partial-"  # a hidden temporary name: never a gallery's, swept by the cleanup


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


def delete_quietly(name: str, storage: Storage | None = None) -> bool:
    """Delete one stored file, best effort; whether it is gone.

    A clean-up must never stop what follows it: the next stage's task (a commit hook that raised
    once dropped the generation enqueued after it), a rollback's e-mail, a refusal's message. A
    file left behind by a storage that is down is found by `cleanup_temp_files` (a ZIP still
    recorded on a finished order, an image or upload nothing points to).
    """
    try:
        (storage or default_storage).delete(name)
    except Exception:  # any backend, any failure: cleanup_temp_files tries again
        logger.exception("could not delete %s; cleanup_temp_files will", name)
        return False
    return True
