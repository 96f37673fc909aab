"""validate_zip_file (the spec's validateZipFile): a ZIP of photos is checked from its directory
before anything is extracted, then every photo goes through the form's pipeline. Every refusal
is made with a real ZIP, and no temporary file survives."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from PIL import Image

from tests.training.conftest import face_jpeg, leftovers
from tests.training.zipfiles import (
    bad_crc_zip,
    bomb_zip,
    broken_bzip2_zip,
    broken_lzma_zip,
    encrypted_zip,
    faces,
    garbage_deflate_zip,
    huge_directory_zip,
    long_names_zip,
    make_zip,
    nested_zip,
    not_a_zip,
    symlink_zip,
    traversal_zip,
    truncated_entry_zip,
    truncated_zip,
    unknown_method_zip,
)
from training.photos.photo_sets import validate_zip_file
from training.photos.problems import ZIP_MESSAGES, PhotoProblem, PhotoSetRefused


def refused_problems(path: Path) -> list[PhotoProblem]:
    with pytest.raises(PhotoSetRefused) as refused, validate_zip_file(path):
        pass
    return refused.value.problems


def refusal(path: Path) -> list[str]:
    problems = refused_problems(path)
    with translation.override("en"):
        return [str(problem.message) for problem in problems]


def test_it_cleans_the_photos_of_a_good_zip_and_ignores_macos_litter(
    tmp_path: Path, photo_temp_dir: Path
) -> None:
    entries = {**faces(4), "__MACOSX/._selfie1.jpg": b"\x00\x05", "._selfie2.jpg": b"junk"}
    path = make_zip(tmp_path / "set.zip", entries)

    with validate_zip_file(path) as photo_set:
        names = [photo.source_name for photo in photo_set.photos]
        sizes = [Image.open(photo.path).size for photo in photo_set.photos]

    assert names == ["selfie1.jpg", "selfie2.jpg", "selfie3.jpg", "selfie4.jpg"]
    assert all(max(size) == 900 for size in sizes)
    assert leftovers(photo_temp_dir) == []


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({**faces(4), "../evil.jpg": face_jpeg(4)}, "../evil.jpg: a path that leaves"),
        ({**faces(4), "/etc/evil.jpg": face_jpeg(4)}, "/etc/evil.jpg: a path that leaves"),
        ({**faces(4), "inner.zip": b"PK\x03\x04rest"}, "inner.zip: archives inside the ZIP"),
        ({**faces(4), "sneaky.jpg": b"PK\x03\x04" + b"0" * 64},
         "sneaky.jpg: archives inside the ZIP"),
        ({**faces(4), "invoice.jpg": b"%PDF-1.7\n"}, "invoice.jpg: this file is not a photo"),
        ({f"p{i}.jpg": face_jpeg(i % 6, long_side=600) for i in range(21)},
         "The ZIP holds 21 files; an order takes at most 20 photos."),
    ],
    ids=["traversal", "absolute", "nested-by-name", "nested-by-content", "pdf", "too-many"],
)  # fmt: skip
def test_it_refuses_a_bad_entry(
    tmp_path: Path, photo_temp_dir: Path, entries: dict[str, bytes], expected: str
) -> None:
    messages = refusal(make_zip(tmp_path / "bad.zip", entries))

    assert any(message.startswith(expected) for message in messages), messages
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_a_zip_bomb_from_its_directory(tmp_path: Path, photo_temp_dir: Path) -> None:
    path = bomb_zip(tmp_path / "bomb.zip")

    assert any("zeros.jpg: this entry expands far more" in m for m in refusal(path))


def test_it_refuses_a_symlink_entry(tmp_path: Path, photo_temp_dir: Path) -> None:
    path = symlink_zip(tmp_path / "link.zip")

    assert any(m.startswith("passwd.jpg: links are not allowed") for m in refusal(path))


def test_it_refuses_an_encrypted_entry(tmp_path: Path, photo_temp_dir: Path) -> None:
    path = encrypted_zip(tmp_path / "locked.zip")

    assert any(m.startswith("selfie1.jpg: encrypted entries") for m in refusal(path))


def test_it_refuses_a_zip_over_the_size_limit(
    tmp_path: Path, photo_temp_dir: Path, settings: Any
) -> None:
    settings.MAX_ZIP_MB = 1
    path = make_zip(tmp_path / "big.zip", {**faces(4), "pad.jpg": b"\xff" * (1024 * 1024)})

    assert refusal(path) == ["The ZIP is larger than 1 MB."]


def test_it_refuses_something_that_is_not_a_zip(tmp_path: Path, photo_temp_dir: Path) -> None:
    path = tmp_path / "fake.zip"
    path.write_bytes(b"%PDF-1.7 not a zip at all")

    assert refusal(path) == ["This file is not a ZIP archive, or it is damaged."]
    assert leftovers(photo_temp_dir) == []


@pytest.mark.parametrize(
    ("count", "zip64"), [(60_000, False), (200_000, True)], ids=["end-record", "zip64-end-record"]
)
def test_it_refuses_a_huge_directory_from_its_end_record_without_reading_it(
    tmp_path: Path, photo_temp_dir: Path, count: int, zip64: bool
) -> None:
    path = huge_directory_zip(tmp_path / "huge.zip", count, zip64=zip64)

    tracemalloc.start()
    try:
        messages = refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert messages == [f"The ZIP holds {count} files; an order takes at most 20 photos."]
    assert peak < 5 * 1024 * 1024  # zipfile alone builds ~90 MB of entries for 200,000
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_a_directory_larger_than_its_end_record_admits(
    tmp_path: Path, photo_temp_dir: Path
) -> None:
    path = huge_directory_zip(tmp_path / "liar.zip", 200_000, claimed=4)

    tracemalloc.start()
    try:
        messages = refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert messages == [
        "The ZIP's list of files is larger than a ZIP of 20 photos needs; zip only the photos."
    ]
    assert peak < 5 * 1024 * 1024


def test_it_lists_the_first_twenty_problems_with_names_shortened(
    tmp_path: Path, photo_temp_dir: Path
) -> None:
    problems = refused_problems(long_names_zip(tmp_path / "names.zip", count=30, length=1500))

    with translation.override("en"):
        messages = [str(problem.message) for problem in problems]
    assert len(problems) == 21
    assert all(" a path that leaves the archive" in message for message in messages[:20])
    assert messages[20] == (  # 30 bad names, and "30 files" is one more problem
        "Some files cannot be used, and 11 more problems are not listed: "
        "fix these first, then try again."
    )
    assert all(len(problem.photo_name or "") <= 100 for problem in problems)
    assert all(len(message) < 250 for message in messages)


UNREADABLE = {
    "garbage-deflate": garbage_deflate_zip,
    "broken-lzma": broken_lzma_zip,
    "broken-bzip2": broken_bzip2_zip,
    "bad-crc": bad_crc_zip,
    "zstandard": unknown_method_zip,
    "truncated-entry": truncated_entry_zip,
}


@pytest.mark.parametrize("kind", UNREADABLE)
def test_it_refuses_an_entry_it_cannot_read_naming_it(
    tmp_path: Path, photo_temp_dir: Path, kind: str
) -> None:
    make: Callable[[Path], Path] = UNREADABLE[kind]
    problems = refused_problems(make(tmp_path / "broken.zip"))

    with translation.override("en"):
        messages = [str(problem.message) for problem in problems]
    assert [problem.photo_name for problem in problems] == ["broken.jpg"]
    assert messages[0].startswith("broken.jpg: this file in the ZIP cannot be read"), messages
    assert leftovers(photo_temp_dir) == []


def test_a_truncated_zip_is_not_a_zip(tmp_path: Path, photo_temp_dir: Path) -> None:
    path = truncated_zip(tmp_path / "cut.zip")

    assert refusal(path) == ["This file is not a ZIP archive, or it is damaged."]
    assert leftovers(photo_temp_dir) == []


# --- Every refusal quotes its own limit ------------------------------------------------------
# Unusual limits, all different from each other and from the defaults: a sentence that quotes
# the wrong setting shows a wrong number instead of passing by coincidence.
PHOTO_MB, TOTAL_MB, ZIP_MB, MOST_PHOTOS = 3, 7, 11, 13
MB = 1024 * 1024


@pytest.fixture
def unusual_limits(settings: Any, photo_temp_dir: Path) -> None:
    settings.PHOTO_MAX_MB, settings.PHOTOS_TOTAL_MAX_MB = PHOTO_MB, TOTAL_MB
    settings.MAX_ZIP_MB, settings.PHOTOS_MAX = ZIP_MB, MOST_PHOTOS


def sparse_file(path: Path) -> Path:
    """A file of ZIP_MB + 1 MB that takes no disk: only its size is ever looked at."""
    with path.open("wb") as out:
        out.truncate((ZIP_MB + 1) * MB)
    return path


def incompressible(megabytes: float) -> bytes:
    return os.urandom(int(megabytes * MB))


ZIP_REFUSALS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zip_too_big": (sparse_file, f"The ZIP is larger than {ZIP_MB} MB."),
    "not_a_zip": (not_a_zip, "This file is not a ZIP archive, or it is damaged."),
    "too_many_entries": (
        lambda path: make_zip(path, {f"p{i}.jpg": b"x" for i in range(MOST_PHOTOS + 1)}),
        f"The ZIP holds {MOST_PHOTOS + 1} files; an order takes at most {MOST_PHOTOS} photos.",
    ),
    "directory_too_big": (
        lambda path: huge_directory_zip(path, 20_000, claimed=4),
        f"The ZIP's list of files is larger than a ZIP of {MOST_PHOTOS} photos needs; "
        "zip only the photos.",
    ),
    "unreadable": (
        garbage_deflate_zip,
        "broken.jpg: this file in the ZIP cannot be read: it is damaged, or compressed in a way "
        "we do not support. Make the ZIP again with your computer's own “Compress” command.",
    ),
    "too_big_uncompressed": (
        lambda path: make_zip(
            path, {f"p{i}.jpg": incompressible(PHOTO_MB - 0.5) for i in range(3)}
        ),
        f"The photos in the ZIP add up to more than {TOTAL_MB} MB.",
    ),
    "unsafe_path": (
        traversal_zip,
        "../evil.jpg: a path that leaves the archive's folder is not allowed.",
    ),
    "symlink": (symlink_zip, "passwd.jpg: links are not allowed in the ZIP."),
    "encrypted": (encrypted_zip, "selfie1.jpg: encrypted entries are not allowed."),
    "nested_archive": (nested_zip, "more.zip: archives inside the ZIP are not allowed."),
    "entry_too_big": (
        lambda path: make_zip(path, {"big.jpg": incompressible(PHOTO_MB + 0.1)}),
        f"big.jpg: this file is larger than {PHOTO_MB} MB.",
    ),
    "bomb": (
        lambda path: make_zip(path, {"zeros.jpg": bytes(2 * MB)}, deflate=True),
        "zeros.jpg: this entry expands far more than a photo can (a ZIP bomb?).",
    ),
}


def test_it_has_a_refusal_case_for_every_zip_refusal_code() -> None:
    assert set(ZIP_REFUSALS) == set(ZIP_MESSAGES)


@pytest.mark.parametrize("code", ZIP_REFUSALS)
def test_it_quotes_each_zip_refusals_own_limit(
    tmp_path: Path, unusual_limits: None, photo_temp_dir: Path, code: str
) -> None:
    make, expected = ZIP_REFUSALS[code]

    messages = refusal(make(tmp_path / f"{code}.zip"))

    assert messages == [expected]
    assert leftovers(photo_temp_dir) == []


def test_it_quotes_the_photo_limits_when_the_photos_of_a_zip_are_refused(
    tmp_path: Path, photo_temp_dir: Path, settings: Any
) -> None:
    settings.PHOTOS_MIN, settings.PHOTO_MIN_SIDE = 7, 737
    path = make_zip(tmp_path / "few.zip", {"small.jpg": face_jpeg(0, long_side=700)})

    assert refusal(path) == [
        "Upload at least 7 photos (you sent 1).",
        "small.jpg: this photo is too small; it must be at least 737 x 737 pixels.",
    ]


def test_it_quotes_the_pixel_limits_when_a_zips_photos_are_too_large_together(
    tmp_path: Path, photo_temp_dir: Path, settings: Any
) -> None:
    settings.PHOTOS_TOTAL_MAX_MEGAPIXELS, settings.TRAINING_IMAGE_SIDE = 3, 737

    messages = refusal(make_zip(tmp_path / "many.zip", faces(6)))

    assert messages == [
        "Together, the photos are too large to process: more than 3 million pixels. "
        "Send fewer photos, or smaller ones: 737 pixels on the long side are enough."
    ]
