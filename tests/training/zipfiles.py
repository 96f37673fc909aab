"""Real ZIPs for the tests of validate_zip_file and of the train-model API: good ones, and one of
each kind the checks must refuse."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from tests.training.conftest import face_jpeg


def make_zip(path: Path, entries: dict[str, bytes], *, deflate: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path


def faces(count: int) -> dict[str, bytes]:
    """`count` distinct portraits named selfie1.jpg … (six distinct ones, then repeats)."""
    return {f"selfie{i + 1}.jpg": face_jpeg(i % 6, long_side=900) for i in range(count)}


def bomb_zip(path: Path) -> Path:
    """Four good photos and 15 MB of zeros deflated to a few KB, named like a photo."""
    return make_zip(path, {**faces(4), "zeros.jpg": bytes(15 * 1024 * 1024)}, deflate=True)


def symlink_zip(path: Path) -> Path:
    """Four good photos and an entry that is a symbolic link to /etc/passwd."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in faces(4).items():
            archive.writestr(name, content)
        link = zipfile.ZipInfo("passwd.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


def encrypted_zip(path: Path) -> Path:
    """Four photos whose first entry carries the "encrypted" flag, as a password ZIP does."""
    make_zip(path, faces(4))
    data = bytearray(path.read_bytes())
    data[6] |= 0x1  # the first local header's flags
    first_entry = data.find(b"PK\x01\x02")
    assert first_entry >= 0
    data[first_entry + 8] |= 0x1  # and the same entry in the central directory
    path.write_bytes(bytes(data))
    return path


def traversal_zip(path: Path) -> Path:
    return make_zip(path, {**faces(4), "../evil.jpg": face_jpeg(4)})


def nested_zip(path: Path) -> Path:
    """Four photos and a ZIP of one more photo inside."""
    inner = make_zip(path.with_suffix(".inner"), faces(1)).read_bytes()
    return make_zip(path, {**faces(4), "more.zip": inner})


def pdf_named_jpg_zip(path: Path) -> Path:
    return make_zip(path, {**faces(4), "invoice.jpg": b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"})


def too_many_entries_zip(path: Path, count: int = 21) -> Path:
    return make_zip(path, {f"p{i}.jpg": face_jpeg(i % 6, long_side=600) for i in range(count)})


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7 this is not a ZIP at all")
    return path
