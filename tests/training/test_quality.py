"""Quality checks: exactly one face, warnings for small faces and blur, near-duplicates refused."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import UploadedFile
from django.utils import translation
from PIL import Image

from tests.training.conftest import (
    VARIANTS,
    astronaut,
    blurred,
    encode,
    face_image,
    face_jpeg,
    leftovers,
    messages,
    no_face_image,
    small_face_image,
    two_people_image,
)
from training.photos import quality
from training.photos.photo_sets import prepare_photo_set
from training.photos.problems import PhotoSetRefused

Upload = Callable[..., UploadedFile]


def with_good_photos(extra: UploadedFile, upload: Upload) -> list[UploadedFile]:
    return [extra] + [upload(f"selfie{n}.jpg", face_jpeg(n)) for n in (1, 2, 3)]


def test_it_finds_one_sharp_large_face_in_the_astronaut() -> None:
    measured = quality.assess(astronaut())

    assert measured.faces == 1
    assert not measured.small_face
    assert not measured.blurred


def test_it_sees_the_test_portraits_as_distinct_acceptable_photos() -> None:
    measured = [quality.assess(face_image(n)) for n in range(len(VARIANTS))]

    assert [m.faces for m in measured] == [1] * len(VARIANTS)
    assert not any(m.small_face or m.blurred for m in measured)
    for first, second in combinations(measured, 2):
        assert quality.distance(first.fingerprint, second.fingerprint) >= 2 * 10


def test_it_measures_the_same_when_photos_are_checked_at_the_same_time() -> None:
    photos = [face_image(n) for n in range(len(VARIANTS))] + [two_people_image()]
    one_by_one = [quality.assess(photo) for photo in photos]

    # Each thread must borrow a classifier of its own: a shared one fails an assertion.
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(quality.assess, photos * 3))

    assert together == one_by_one * 3


def test_it_calibrates_the_blur_threshold_on_sharp_and_blurred_photos() -> None:
    photos = [astronaut(), *(face_image(n, long_side=1536) for n in range(len(VARIANTS)))]
    sharp = [quality.assess(photo).sharpness for photo in photos]
    soft = [quality.assess(blurred(photo, 2)).sharpness for photo in photos]

    # The threshold sits between the two groups with a margin on both sides.
    assert min(sharp) > 1.5 * quality.BLUR_THRESHOLD
    assert max(soft) < quality.BLUR_THRESHOLD / 1.5


def test_it_warns_about_a_blurred_photo(photo_temp_dir: Path, upload: Upload) -> None:
    soft = upload("soft.jpg", encode(blurred(face_image(0), 2)))

    with prepare_photo_set(with_good_photos(soft, upload)) as photo_set, translation.override("en"):
        warnings = [[str(w) for w in photo.warnings] for photo in photo_set.photos]
    assert (
        warnings
        == [["soft.jpg: this photo looks blurred; a sharper photo trains better."]] + [[]] * 3
    )


def test_it_warns_about_a_small_face(photo_temp_dir: Path, upload: Upload) -> None:
    far = upload("far.jpg", encode(small_face_image()))

    with prepare_photo_set(with_good_photos(far, upload)) as photo_set, translation.override("en"):
        first = [str(w) for w in photo_set.photos[0].warnings]
    assert first == ["far.jpg: your face is small in this photo; a closer photo trains better."]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (two_people_image, "more than one person in this photo; use photos of you alone."),
        (no_face_image, "no face found; use a photo where your face is clearly visible."),
    ],
)
def test_it_refuses_a_photo_without_exactly_one_face(
    photo_temp_dir: Path, upload: Upload, make: Callable[[], Image.Image], expected: str
) -> None:
    files = with_good_photos(upload("odd.jpg", encode(make())), upload)
    with pytest.raises(PhotoSetRefused) as refused, prepare_photo_set(files):
        pytest.fail("accepted")

    assert messages(refused.value.problems) == [f"odd.jpg: {expected}"]
    assert leftovers(photo_temp_dir) == []


def recompressed_and_tinted(data: bytes) -> bytes:
    """The same photo shared again: smaller, recompressed, with a warmer filter."""
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((700, 700))
    pixels = np.asarray(image, dtype=np.int16) + np.array([25, 5, -20])
    return encode(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), quality=60)


def test_it_refuses_a_near_duplicate_and_names_the_earlier_photo(
    photo_temp_dir: Path, upload: Upload
) -> None:
    original = face_jpeg(0)
    files = [upload(f"selfie{n}.jpg", face_jpeg(n)) for n in range(4)]
    files.append(upload("again.jpg", recompressed_and_tinted(original)))

    with pytest.raises(PhotoSetRefused) as refused, prepare_photo_set(files):
        pytest.fail("accepted")

    assert messages(refused.value.problems) == [
        "again.jpg: this photo is nearly the same as selfie0.jpg; use different photos."
    ]
    assert leftovers(photo_temp_dir) == []
