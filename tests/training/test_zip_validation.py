"""validate_zip_file (the spec's validateZipFile): a ZIP of photos is checked from its directory
before anything is extracted, then every photo goes through the form's pipeline. Every refusal
is made with a real ZIP, and no temporary file survives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from PIL import Image

from tests.training.conftest import face_jpeg, leftovers
from tests.training.zipfiles import bomb_zip, encrypted_zip, faces, make_zip, symlink_zip
from training.dataset import PhotoSetRefused, validate_zip_file


def refusal(path: Path) -> list[str]:
    with pytest.raises(PhotoSetRefused) as refused, validate_zip_file(path):
        pass
    with translation.override("en"):
        return [str(problem.message) for problem in refused.value.problems]


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
         "The ZIP holds more than 20 photos."),
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
