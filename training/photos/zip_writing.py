"""Writing ZIPs: the training set for Replicate, and the download of an order's headshots.

`write_training_zip` packs a cleaned photo set into one stored object (never overwriting, never
leaving half a file). `stream_zip` sends stored files to the browser as the ZIP is written, never
whole in memory: zipfile can write to a stream it cannot seek, putting each entry's sizes in a
data descriptor after it. Images are stored, not deflated (they are compressed already).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import Storage, default_storage

from lib.storage import delete_quietly, save_whole
from training.photos.problems import MB, ZIP_TOO_BIG, PhotoSetRefused, TrainingSetNotStored, refusal

if TYPE_CHECKING:
    from training.photos.photo_sets import PhotoSet

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024


class _Pipe:
    """A write-only file object whose bytes are taken away after every write."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def stream_zip(
    entries: Iterable[tuple[str, str | Callable[[], bytes]]], *, storage: Storage
) -> Iterator[bytes]:
    """Yield a ZIP of `(archive name, stored name)` entries, a chunk at a time; an entry may
    give, instead of a stored name, a function that makes its bytes (made when its turn comes)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for archive_name, source in entries:
            with _opened(source, storage) as reader, archive.open(archive_name, "w") as target:
                while chunk := reader.read(CHUNK):
                    target.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()


def _opened(source: str | Callable[[], bytes], storage: Storage) -> IO[bytes]:
    return storage.open(source, "rb") if isinstance(source, str) else io.BytesIO(source())


def write_training_zip(
    photo_set: PhotoSet, *, storage: Storage = default_storage, name: str
) -> int:
    """Pack the photos as image_1.jpg … image_N.jpg into `name` on `storage`; return its size.

    The ZIP is written to the set's temporary folder one photo at a time (stored, not
    deflated: JPEGs do not shrink), so no more than a buffer of it is ever in memory.
    Raises PhotoSetRefused if it exceeds MAX_ZIP_MB, TrainingSetNotStored if the storage fails.
    """
    path = photo_set.directory / "training-set.zip"
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
            for number, photo in enumerate(photo_set.photos, start=1):
                archive.write(photo.path, f"image_{number}.jpg")
        size = path.stat().st_size
        if size > settings.MAX_ZIP_MB * MB:
            raise PhotoSetRefused([refusal(None, ZIP_TOO_BIG, mb=settings.MAX_ZIP_MB)])
        _store(path, storage=storage, name=name)
        return size
    finally:
        path.unlink(missing_ok=True)


def _store(path: Path, *, storage: Storage, name: str) -> None:
    """Save the file under exactly `name`; on any failure make sure no object is left there."""
    try:
        if storage.exists(name):  # never overwrite, nor later delete, someone else's object
            raise TrainingSetNotStored(f"{name} already exists in the storage")
        with path.open("rb") as stream:
            saved = save_whole(storage, name, stream)  # a full disk leaves no partial ZIP
    except TrainingSetNotStored:
        raise
    except Exception as error:  # any storage backend, any failure: clean up, then say so
        delete_quietly(name, storage)
        raise TrainingSetNotStored(f"Could not store {name}: {error}") from error
    if saved != name:  # the storage renamed it: the order would point at nothing
        delete_quietly(saved, storage)
        raise TrainingSetNotStored(f"The storage saved {name} as {saved}")
