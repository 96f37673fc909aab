"""Real ZIPs for the tests of validate_zip_file and of the train-model API: good ones, and one of
each kind the checks must refuse."""

from __future__ import annotations

import io
import random
import stat
import struct
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


# --- Directories that cost more to read than they hold ------------------------------------------

LOCAL_HEADER = struct.Struct("<4s5H3L2H")
CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
END_RECORD = struct.Struct("<4s4H2LH")
ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
ZIP64_LOCATOR = struct.Struct("<4sLQL")


def huge_directory_zip(
    path: Path,
    count: int,
    *,
    name: str = "../a.jpg",
    zip64: bool = False,
    claimed: int | None = None,
) -> Path:
    """One empty entry, listed `count` times in the central directory (the attack: a few MB
    that make zipfile build `count` entries). `claimed` is the count the end record admits to;
    with `zip64` the real numbers are in the ZIP64 end record, as in a ZIP of 65,535+ files."""
    encoded = name.encode()
    local = LOCAL_HEADER.pack(b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, len(encoded), 0)
    central = CENTRAL_HEADER.pack(
        b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0, len(encoded), 0, 0, 0, 0, 0, 0
    )
    directory = (central + encoded) * count
    offset, size = len(local) + len(encoded), len(directory)
    entries = count if claimed is None else claimed
    with path.open("wb") as out:
        out.write(local + encoded)
        out.write(directory)
        if zip64:
            zip64_at = offset + size
            out.write(ZIP64_END_RECORD.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries,
                                            size, offset))  # fmt: skip
            out.write(ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, zip64_at, 1))
            out.write(END_RECORD.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                                      0xFFFFFFFF, 0))  # fmt: skip
        else:
            small = min(entries, 0xFFFF)
            out.write(END_RECORD.pack(b"PK\x05\x06", 0, 0, small, small, size, offset, 0))
    return path


def long_names_zip(path: Path, count: int = 30, length: int = 1500) -> Path:
    """`count` entries with very long names that climb out of the folder: one problem each."""
    return make_zip(path, {f"../{'x' * length}{n}.jpg": b"" for n in range(count)})


# --- Entries that cannot be read ----------------------------------------------------------------


def _entry_data(data: bytes, name: str) -> tuple[int, int]:
    """Where an entry's (compressed) bytes start in the file, and how many there are."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    start = info.header_offset
    name_length, extra_length = struct.unpack("<2H", data[start + 26 : start + 30])
    return start + 30 + name_length + extra_length, info.compress_size


def broken_entry_zip(path: Path, method: int, *, name: str = "broken.jpg") -> Path:
    """Four good photos and one more compressed with `method`, its bytes then scrambled."""
    with zipfile.ZipFile(path, "w") as archive:
        for entry, content in faces(4).items():
            archive.writestr(entry, content)
        archive.writestr(name, face_jpeg(4), compress_type=method)
    data = bytearray(path.read_bytes())
    start, length = _entry_data(bytes(data), name)
    keep = 16 if method == zipfile.ZIP_LZMA else 4  # LZMA: keep its properties, break the stream
    noise = random.Random(method).randbytes(length - keep)  # noqa: S311 - reproducible noise
    data[start + keep : start + length] = noise
    path.write_bytes(bytes(data))
    return path


def garbage_deflate_zip(path: Path) -> Path:
    return broken_entry_zip(path, zipfile.ZIP_DEFLATED)


def broken_lzma_zip(path: Path) -> Path:
    return broken_entry_zip(path, zipfile.ZIP_LZMA)


def broken_bzip2_zip(path: Path) -> Path:
    return broken_entry_zip(path, zipfile.ZIP_BZIP2)


def bad_crc_zip(path: Path, *, name: str = "broken.jpg") -> Path:
    """Five stored photos, one byte of the last one changed: its CRC-32 no longer matches."""
    make_zip(path, {**faces(4), name: face_jpeg(4)})
    data = bytearray(path.read_bytes())
    start, length = _entry_data(bytes(data), name)
    data[start + length // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _headers(data: bytes, name: str) -> tuple[int, int]:
    """The offsets of an entry's local header and of its central directory header."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    return local, data.rfind(name.encode()) - CENTRAL_HEADER.size


def unknown_method_zip(path: Path, method: int = 93, *, name: str = "broken.jpg") -> Path:
    """Five stored photos, the last one said to be compressed with `method` (93 is Zstandard,
    which Python 3.13's zipfile cannot read)."""
    make_zip(path, {**faces(4), name: face_jpeg(4)})
    data = bytearray(path.read_bytes())
    local, central = _headers(bytes(data), name)
    struct.pack_into("<H", data, local + 8, method)
    struct.pack_into("<H", data, central + 10, method)
    path.write_bytes(bytes(data))
    return path


def truncated_entry_zip(path: Path, *, name: str = "broken.jpg") -> Path:
    """Five deflated photos, the last one's compressed size halved in both of its headers:
    its deflate stream ends before its end marker, as in a ZIP cut short and patched up."""
    make_zip(path, {**faces(4), name: face_jpeg(4)}, deflate=True)
    data = bytearray(path.read_bytes())
    local, central = _headers(bytes(data), name)
    half = struct.unpack_from("<L", data, local + 18)[0] // 2
    struct.pack_into("<L", data, local + 18, half)
    struct.pack_into("<L", data, central + 20, half)
    path.write_bytes(bytes(data))
    return path


def truncated_zip(path: Path) -> Path:
    """A good ZIP cut at two thirds, as an interrupted upload leaves it: no directory at all."""
    data = make_zip(path, faces(4)).read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path
