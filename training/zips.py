"""Inspect an uploaded ZIP from its central directory before extracting anything.

The spec's validateZipFile: a ZIP is refused for its size, its entry count, its total
uncompressed size or compression ratio (a ZIP bomb), a path that climbs out (`../`, absolute
names), a symlink, an encrypted entry, or a nested archive; macOS's `__MACOSX/` folder and `._*`
files are ignored, as the trainer ignores them. Only then are the entries extracted, one at a
time and with their size capped, for the photo pipeline to check their content.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")
MAX_RATIO = 20  # photos barely compress; a higher ratio means padding made to explode
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    max_zip_bytes: int
    max_entries: int
    max_entry_bytes: int
    max_total_bytes: int


@dataclass(frozen=True)
class ZipProblem:
    """What is wrong, as a code the caller turns into a sentence, and which entry (if any)."""

    code: str
    entry: str | None = None


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


def ignored(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._"))


def photo_entries(path: Path, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The ZIP's photo entries, or ZipRefused with every problem found in its directory."""
    if path.stat().st_size > limits.max_zip_bytes:
        raise ZipRefused([ZipProblem("zip_too_big")])
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir() and not ignored(i.filename)]
    except (zipfile.BadZipFile, OSError):
        raise ZipRefused([ZipProblem("not_a_zip")]) from None
    problems = [problem for info in infos for problem in entry_problems(info, limits)]
    if len(infos) > limits.max_entries:
        problems.append(ZipProblem("too_many_entries"))
    if sum(info.file_size for info in infos) > limits.max_total_bytes:
        problems.append(ZipProblem("too_big_uncompressed"))
    if problems:
        raise ZipRefused(problems)
    return infos


def entry_problems(info: zipfile.ZipInfo, limits: ZipLimits) -> list[ZipProblem]:
    """What is wrong with one entry, judged from the central directory alone."""
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    problems = []
    if path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
        problems.append(ZipProblem("unsafe_path", name))
    if stat.S_ISLNK(info.external_attr >> 16):
        problems.append(ZipProblem("symlink", name))
    if info.flag_bits & 0x1:
        problems.append(ZipProblem("encrypted", name))
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        problems.append(ZipProblem("nested_archive", name))
    if info.file_size > limits.max_entry_bytes:
        problems.append(ZipProblem("entry_too_big", name))
    elif info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        problems.append(ZipProblem("bomb", name))
    return problems


def extract(
    path: Path, infos: list[zipfile.ZipInfo], folder: Path, limit: int
) -> list[ExtractedPhoto]:
    """Write each entry to its own file under `folder`, never trusting the declared sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    extracted = []
    with zipfile.ZipFile(path) as archive:
        for number, info in enumerate(infos, start=1):
            target = folder / f"entry-{number}"
            size = copy_capped(archive, info, target, limit)
            extracted.append(ExtractedPhoto(PurePosixPath(info.filename).name, target, size))
    return extracted


def copy_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int) -> int:
    written = 0
    with archive.open(info) as source, target.open("wb") as sink:
        head = source.read(8)
        if head.startswith(ARCHIVE_MAGIC):
            raise ZipRefused([ZipProblem("nested_archive", info.filename)])
        sink.write(head)
        written = len(head)
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise ZipRefused([ZipProblem("entry_too_big", info.filename)])
            sink.write(chunk)
    return written
