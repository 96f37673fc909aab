"""Refusing what is not a usable photo set, with every reason, and leaving nothing behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import UploadedFile
from PIL import Image

from tests.training.conftest import encode, face_image, face_jpeg, leftovers, messages, png_bomb
from training.photos.photo_sets import prepare_photo_set
from training.photos.problems import PhotoSetRefused

Upload = Callable[..., UploadedFile]

PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""
HTML = b"<!DOCTYPE html><html><body><script>fetch('/account').then(r=>r.text())</script></body>"
# Valid GIF header and valid JavaScript at once: the classic image/script polyglot.
GIF_JS = b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert(document.cookie);//\x00;"


def refuse(files: list[UploadedFile]) -> PhotoSetRefused:
    with pytest.raises(PhotoSetRefused) as refused, prepare_photo_set(files):
        pytest.fail("the set was accepted")
    return refused.value


def with_good_photos(bad: list[UploadedFile], upload: Upload, count: int = 4) -> list[UploadedFile]:
    return bad + [upload(f"selfie{n + 1}.jpg", face_jpeg(n)) for n in range(count)]


@pytest.mark.parametrize(
    ("name", "content"),
    [("document.jpg", PDF), ("page.jpg", HTML), ("polyglot.gif.jpg", GIF_JS)],
)
def test_it_refuses_what_is_not_a_photo_whatever_its_name(
    photo_temp_dir: Path, upload: Upload, name: str, content: bytes
) -> None:
    refused = refuse(with_good_photos([upload(name, content)], upload))

    assert messages(refused.problems) == [
        f"{name}: this file is not a photo (JPEG, PNG, HEIC or WebP)."
    ]
    assert refused.problems[0].photo_name == name
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_a_truncated_jpeg(photo_temp_dir: Path, upload: Upload) -> None:
    whole = face_jpeg(5)
    refused = refuse(with_good_photos([upload("cut.jpg", whole[: len(whole) * 2 // 3])], upload))

    assert messages(refused.problems) == ["cut.jpg: this photo is damaged or incomplete."]
    assert leftovers(photo_temp_dir) == []


@pytest.mark.parametrize(("width", "height"), [(8_000, 8_000), (30_000, 30_000)])
def test_it_refuses_a_decompression_bomb_quickly(
    photo_temp_dir: Path, upload: Upload, width: int, height: int
) -> None:
    bomb = upload("bomb.png", png_bomb(width, height))
    assert (bomb.size or 0) < 200_000  # a few kilobytes that would decode to 64 or 900 megapixels

    started = time.monotonic()
    refused = refuse(with_good_photos([bomb], upload))

    assert time.monotonic() - started < 5
    assert messages(refused.problems) == [
        "bomb.png: this photo has more than 50 million pixels. Save a smaller copy "
        "(4000 pixels on the long side are plenty) and add that one instead."
    ]
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_a_photo_that_is_too_small(photo_temp_dir: Path, upload: Upload) -> None:
    tiny = upload("tiny.jpg", encode(face_image(0).resize((511, 700))))
    refused = refuse(with_good_photos([tiny], upload))

    assert messages(refused.problems) == [
        "tiny.jpg: this photo is too small; it must be at least 512 x 512 pixels."
    ]


def test_it_refuses_too_few_photos_and_says_what_else_is_wrong(
    photo_temp_dir: Path, upload: Upload
) -> None:
    files = [upload("a.jpg", face_jpeg(0)), upload("b.jpg", PDF), upload("c.jpg", face_jpeg(2))]
    refused = refuse(files)

    assert messages(refused.problems) == [
        "Upload at least 4 photos (you sent 3).",
        "b.jpg: this file is not a photo (JPEG, PNG, HEIC or WebP).",
    ]
    assert refused.problems[0].photo_name is None
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_too_many_photos_before_decoding_any(
    settings: Any, photo_temp_dir: Path, upload: Upload
) -> None:
    settings.PHOTOS_MAX = 5
    files = [upload(f"p{n}.jpg", b"not even looked at") for n in range(6)]
    refused = refuse(files)

    assert messages(refused.problems) == ["Upload at most 5 photos (you sent 6)."]
    assert leftovers(photo_temp_dir) == []


def noisy_photo(seed: int) -> bytes:
    """A real portrait with film grain: grain is what makes phone photos weigh megabytes."""
    image = np.asarray(face_image(seed % 6, long_side=1400), dtype=np.int16)
    grain = np.random.default_rng(seed).integers(-40, 40, image.shape)
    return encode(Image.fromarray(np.clip(image + grain, 0, 255).astype(np.uint8)), quality=97)


def test_it_refuses_a_file_over_the_size_cap(
    settings: Any, photo_temp_dir: Path, upload: Upload
) -> None:
    settings.PHOTO_MAX_MB = 1
    heavy = upload("heavy.jpg", noisy_photo(0))
    assert (heavy.size or 0) > 1024 * 1024

    refused = refuse(with_good_photos([heavy], upload))

    assert messages(refused.problems) == ["heavy.jpg: this file is larger than 1 MB."]
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_photos_over_the_total_cap(
    settings: Any, photo_temp_dir: Path, upload: Upload
) -> None:
    settings.PHOTOS_TOTAL_MAX_MB = 3
    files = [upload(f"grain{n}.jpg", noisy_photo(n)) for n in range(4)]
    assert sum(f.size or 0 for f in files) > 3 * 1024 * 1024

    refused = refuse(files)

    assert messages(refused.problems) == [
        "The photos add up to more than 3 MB; send fewer or smaller photos."
    ]
    assert leftovers(photo_temp_dir) == []


def test_it_reports_every_bad_photo_not_just_the_first(
    photo_temp_dir: Path, upload: Upload
) -> None:
    whole = face_jpeg(4)
    bad = [upload("doc.jpg", PDF), upload("half.jpg", whole[: len(whole) // 2])]
    refused = refuse(with_good_photos(bad, upload))

    assert [problem.photo_name for problem in refused.problems] == ["doc.jpg", "half.jpg"]
    assert leftovers(photo_temp_dir) == []


def test_it_refuses_an_order_over_the_pixel_budget_before_decoding_any_photo(
    photo_temp_dir: Path, upload: Upload
) -> None:
    bombs = [upload(f"big{n}.png", png_bomb(7_000, 7_000)) for n in range(20)]
    assert all((bomb.size or 0) < 20_000 for bomb in bombs)  # 49 megapixels each, in a few KB

    started = time.monotonic()
    refused = refuse(bombs)

    # Decoded, each would have been refused for its missing face: none was decoded.
    assert messages(refused.problems) == [
        "Together, the photos are too large to process: more than 400 million pixels. "
        "Send fewer photos, or smaller ones: 1536 pixels on the long side are enough."
    ]
    assert time.monotonic() - started < 10  # decoding them takes about 25 s
    assert leftovers(photo_temp_dir) == []


def test_the_pixel_budget_is_for_the_whole_order(
    settings: Any, photo_temp_dir: Path, upload: Upload
) -> None:
    settings.PHOTOS_TOTAL_MAX_MEGAPIXELS = 2  # each 800x800 photo is 0.64 megapixels
    three = [upload(f"selfie{n}.jpg", face_jpeg(n)) for n in range(3)]
    four = [*three, upload("selfie4.jpg", face_jpeg(4))]

    settings.PHOTOS_MIN = 3
    with prepare_photo_set(three) as photo_set:
        assert len(photo_set.photos) == 3
    refused = refuse(four)

    assert messages(refused.problems) == [
        "Together, the photos are too large to process: more than 2 million pixels. "
        "Send fewer photos, or smaller ones: 1536 pixels on the long side are enough."
    ]
    assert leftovers(photo_temp_dir) == []


def test_a_jpeg_counts_at_the_size_it_is_decoded_at(
    settings: Any, photo_temp_dir: Path, upload: Upload
) -> None:
    # 4 x 16 megapixels, but decoded at half scale (the most that still covers 1536 pixels).
    settings.PHOTOS_TOTAL_MAX_MEGAPIXELS = 20
    big = [encode(face_image(n).resize((4000, 4000))) for n in (0, 1, 2, 4)]
    files = [upload(f"selfie{n}.jpg", content) for n, content in enumerate(big)]

    with prepare_photo_set(files) as photo_set:
        assert [photo.width for photo in photo_set.photos] == [1536] * 4


def test_it_lists_at_most_twenty_problems_and_counts_the_rest(
    settings: Any, photo_temp_dir: Path, upload: Upload
) -> None:
    settings.PHOTOS_MAX = 30
    refused = refuse([upload(f"doc{n}.jpg", PDF) for n in range(25)])

    found = messages(refused.problems)
    assert found[:20] == [
        f"doc{n}.jpg: this file is not a photo (JPEG, PNG, HEIC or WebP)." for n in range(20)
    ]
    assert found[20:] == [
        "Some files cannot be used, and 5 more problems are not listed: "
        "fix these first, then try again."
    ]
    assert refused.problems[20].photo_name is None
