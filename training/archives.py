"""A ZIP of stored files, streamed to the browser as it is written (never whole in memory).

zipfile can write to a stream it cannot seek: it then puts each entry's sizes in a data
descriptor after the entry. Images are stored, not deflated (they are compressed already).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator

from django.core.files.storage import Storage

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


def stream_zip(entries: Iterable[tuple[str, str]], *, storage: Storage) -> Iterator[bytes]:
    """Yield a ZIP of `(archive name, stored name)` entries, a chunk at a time."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for archive_name, stored_name in entries:
            with (
                storage.open(stored_name, "rb") as source,
                archive.open(archive_name, "w") as target,
            ):
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()
