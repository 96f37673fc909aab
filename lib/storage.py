"""Files saved whole: a full disk or a killed worker never leaves a truncated file under a real
name, where it would look like a finished headshot or ZIP until the cleanup a day later.
`save_whole` writes local files to a hidden temporary file beside the target, syncs it and renames
it into place (an S3 PUT is whole or nothing already). S3 itself is `lib/s3.py`'s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage

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
