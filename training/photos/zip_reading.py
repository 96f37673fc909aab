"""Inspect an uploaded ZIP from its central directory before extracting anything.

The spec's validateZipFile: a ZIP is refused for its size, its entry count, its total
uncompressed size or compression ratio (a ZIP bomb), a path that climbs out (`../`, absolute
names), a symlink, an encrypted entry, or a nested archive; macOS's `__MACOSX/` folder and `._*`
files are ignored, as the trainer ignores them. Only then are the entries extracted, one at a
time and with their size capped, for the photo pipeline to check their content.

zipfile reads and parses the whole central directory as soon as a ZipFile is opened (500,000
entries took 37 s and 1.1 GB), so the directory's entry count and size are first read from
the end records (`directory_extent`), found exactly where zipfile will find them. An entry
that cannot be read (a broken deflate, bzip2 or LZMA stream, a bad CRC, an unknown method, a
lying header) is refused by name, never left to crash the request.
"""

from __future__ import annotations

import logging
import lzma
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")
MAX_RATIO = 20  # photos barely compress; a higher ratio means padding made to explode
CHUNK = 1024 * 1024
# Stored, deflated, bzip2 and LZMA: what zipfile reads. Anything else is refused by name.
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# What zipfile and its decompressors raise on bytes that are not what their headers say.
READ_ERRORS = (
    zipfile.BadZipFile,
    OSError,  # bz2's "Invalid data stream", a seek before the start
    EOFError,
    ValueError,  # UnicodeDecodeError of a name flagged UTF-8, a negative seek
    NotImplementedError,  # an unknown method, "compressed patched data", a newer version
    RuntimeError,  # an entry encrypted in its local header only
    struct.error,
    zlib.error,
    lzma.LZMAError,
)
SHOWN_NAME_LENGTH = 100  # a name may be 65,535 bytes long; a refusal quotes at most this

END = struct.Struct("<4s4H2LH")
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_END = struct.Struct("<4sQ2H2L4Q")
MAX_COMMENT = 0xFFFF


@dataclass(frozen=True)
class ZipLimits:
    max_zip_bytes: int
    max_entries: int
    max_entry_bytes: int
    max_total_bytes: int
    # Directory entries (photos, folders, macOS litter) and directory bytes, from the end record.
    max_directory_entries: int
    max_directory_bytes: int


@dataclass(frozen=True)
class ZipProblem:
    """What is wrong, as a code the caller turns into a sentence, which entry (if any), and
    the count the sentence names (if any)."""

    code: str
    entry: str | None = None
    count: int | None = None


@dataclass(frozen=True)
class DirectoryExtent:
    """The central directory as the end records declare it, before anything parses it."""

    entries: int
    size: int


class ZipRefused(Exception):
    def __init__(self, problems: list[ZipProblem]) -> None:
        super().__init__(", ".join(problem.code for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class ExtractedPhoto:
    """An extracted entry, shaped like Django's temporary upload for the photo pipeline."""

    name: str
    path: Path
    size: int

    def temporary_file_path(self) -> str:
        return str(self.path)


def shown(name: str) -> str:
    """The entry's name, shortened in the middle if it is too long to quote in a refusal."""
    if len(name) <= SHOWN_NAME_LENGTH:
        return name
    half = SHOWN_NAME_LENGTH // 2
    return f"{name[: half - 1]}…{name[-half:]}"


def ignored(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._"))


def photo_entries(path: Path, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The ZIP's photo entries, or ZipRefused with every problem found in its directory."""
    if path.stat().st_size > limits.max_zip_bytes:
        raise ZipRefused([ZipProblem("zip_too_big")])
    refuse_large_directory(path, limits)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir() and not ignored(i.filename)]
    except READ_ERRORS as error:
        logger.info("Refused a ZIP whose directory cannot be read: %s", error)
        raise ZipRefused([ZipProblem("not_a_zip")]) from None
    problems = [problem for info in infos for problem in entry_problems(info, limits)]
    if len(infos) > limits.max_entries:
        problems.append(ZipProblem("too_many_entries", count=len(infos)))
    if sum(info.file_size for info in infos) > limits.max_total_bytes:
        problems.append(ZipProblem("too_big_uncompressed"))
    if problems:
        raise ZipRefused(problems)
    return infos


def refuse_large_directory(path: Path, limits: ZipLimits) -> None:
    """Refuse, from the end records alone, a directory bigger than a ZIP of photos needs."""
    with path.open("rb") as stream:
        extent = directory_extent(stream)
    if extent is None:
        raise ZipRefused([ZipProblem("not_a_zip")])
    if extent.entries > limits.max_directory_entries:
        raise ZipRefused([ZipProblem("too_many_entries", count=extent.entries)])
    if extent.size > limits.max_directory_bytes:
        raise ZipRefused([ZipProblem("directory_too_big")])


def directory_extent(stream: IO[bytes]) -> DirectoryExtent | None:
    """The entry count and byte size of the central directory, read from the end records the
    way zipfile's `_EndRecData` finds them (so that the size checked is the size zipfile will
    read): an end record at the very end, else the last one in the final 64 KiB; then a ZIP64
    end record just before its locator. None when there is no end record: not a ZIP."""
    file_size = stream.seek(0, 2)
    if file_size < END.size:
        return None
    stream.seek(file_size - END.size)
    record = stream.read(END.size)
    location = file_size - END.size
    if not (record.startswith(b"PK\x05\x06") and record.endswith(b"\0\0")):
        search_from = max(file_size - MAX_COMMENT - END.size, 0)
        stream.seek(search_from)
        tail = stream.read()
        found = tail.rfind(b"PK\x05\x06")
        if found < 0 or len(tail) - found < END.size:
            return None
        record, location = tail[found : found + END.size], search_from + found
    fields = END.unpack(record)
    return zip64_extent(stream, location) or DirectoryExtent(entries=fields[4], size=fields[5])


def zip64_extent(stream: IO[bytes], end_location: int) -> DirectoryExtent | None:
    """The ZIP64 end record's count and size, when a locator precedes the end record."""
    start = end_location - ZIP64_LOCATOR.size - ZIP64_END.size
    if start < 0:
        return None
    stream.seek(start)
    record = stream.read(ZIP64_END.size)
    locator = stream.read(ZIP64_LOCATOR.size)
    if not locator.startswith(b"PK\x06\x07") or not record.startswith(b"PK\x06\x06"):
        return None
    fields = ZIP64_END.unpack(record)
    return DirectoryExtent(entries=fields[7], size=fields[8])


def entry_problems(info: zipfile.ZipInfo, limits: ZipLimits) -> list[ZipProblem]:
    """What is wrong with one entry, judged from the central directory alone."""
    name = shown(info.filename)
    path = PurePosixPath(info.filename.replace("\\", "/"))
    problems = []
    if not path.parts or path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
        problems.append(ZipProblem("unsafe_path", name))
    if stat.S_ISLNK(info.external_attr >> 16):
        problems.append(ZipProblem("symlink", name))
    if info.flag_bits & 0x1:
        problems.append(ZipProblem("encrypted", name))
    elif info.compress_type not in READABLE_METHODS:
        problems.append(ZipProblem("unreadable", name))
    if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
        problems.append(ZipProblem("nested_archive", name))
    if info.file_size > limits.max_entry_bytes:
        problems.append(ZipProblem("entry_too_big", name))
    elif info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        problems.append(ZipProblem("bomb", name))
    return problems


def extract(
    path: Path, infos: list[zipfile.ZipInfo], folder: Path, limit: int
) -> list[ExtractedPhoto]:
    """Write each entry to its own file under `folder`, never trusting the declared sizes.

    Stops at the first entry that cannot be read, with ZipRefused naming it."""
    folder.mkdir(parents=True, exist_ok=True)
    extracted = []
    with zipfile.ZipFile(path) as archive:
        for number, info in enumerate(infos, start=1):
            target = folder / f"entry-{number}"
            size = copy_capped(archive, info, target, limit)
            name = shown(PurePosixPath(info.filename).name)
            extracted.append(ExtractedPhoto(name, target, size))
    return extracted


def copy_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int) -> int:
    """Copy one entry, refusing a nested archive, a size over `limit` and unreadable bytes."""
    name = shown(info.filename)
    written = 0
    with _entry(archive, info, name) as source, target.open("wb") as sink:
        while chunk := _read(source, name):
            if written == 0 and chunk.startswith(ARCHIVE_MAGIC):
                raise ZipRefused([ZipProblem("nested_archive", name)])
            written += len(chunk)
            if written > limit:
                raise ZipRefused([ZipProblem("entry_too_big", name)])
            sink.write(chunk)
    return written


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> IO[bytes]:
    """The entry opened for reading (its local header checked), or ZipRefused naming it."""
    try:
        return archive.open(info)
    except READ_ERRORS as error:
        raise _unreadable(name, error) from None


def _read(source: IO[bytes], name: str) -> bytes:
    """The next chunk of the entry; decompression and CRC errors refuse it by name."""
    try:
        return source.read(CHUNK)
    except READ_ERRORS as error:
        raise _unreadable(name, error) from None


def _unreadable(name: str, error: Exception) -> ZipRefused:
    logger.info("Refused the ZIP entry %r that cannot be read: %r", name, error)
    return ZipRefused([ZipProblem("unreadable", name)])
