"""The likeness check of generated headshots (training/likeness.py), on real photos: the person
(skimage's astronaut), someone else (a face of skimage's LFW subset), nobody, and two people."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from freezegun import freeze_time
from PIL import Image
from skimage import data

from lib import faces
from training.likeness import Likeness, assess, reference_descriptor
from training.models import Order

from .conftest import VARIANTS, face_image, no_face_image, two_people_image

# LFW faces that dlib puts far from the astronaut (0.9 and more in a trial): someone else.
STRANGERS = (83, 71, 26)


@cache
def stranger(index: int = 0) -> Image.Image:
    """A face of skimage's LFW subset (25 px, grey), enlarged as a generated headshot would be."""
    grey = (data.lfw_subset()[STRANGERS[index]] * 255).astype("uint8")
    return Image.fromarray(grey).convert("RGB").resize((512, 512), Image.Resampling.LANCZOS)


@cache
def person_descriptors() -> list[list[float]]:
    """What the upload keeps: one descriptor per photo of the person."""
    found = [faces.find_faces(face_image(variant))[0] for variant in range(len(VARIANTS))]
    return [list(face.descriptor or ()) for face in found]


def reference() -> list[float]:
    return list(reference_descriptor(Order(face_embeddings=person_descriptors())) or ())


def test_it_shows_a_headshot_of_the_person_with_its_distance_and_face_box() -> None:
    headshot = face_image(2, long_side=1024)
    found = assess(headshot, reference())
    assert found.face_count == 1
    assert not found.hidden
    assert found.likeness is not None
    assert found.likeness < 0.35
    left, top, right, bottom = found.face_box or (0, 0, 0, 0)
    # The box is in the headshot's own pixels (the detector works on a smaller copy).
    assert 100 < right - left < 600
    assert 0 <= left < right <= 1024
    assert 0 <= top < bottom <= 1024


def test_it_hides_someone_elses_face() -> None:
    found = assess(stranger(), reference())
    assert found.face_count == 1
    assert found.hidden
    assert found.likeness is not None
    assert found.likeness > 0.6


@pytest.mark.parametrize(
    ("photo", "faces_found"), [(no_face_image, 0), (two_people_image, 2)], ids=["none", "two"]
)
def test_it_hides_a_headshot_with_no_face_or_several(photo: Any, faces_found: int) -> None:
    found = assess(photo(), reference())
    assert (found.face_count, found.likeness, found.hidden) == (faces_found, None, True)


def test_without_the_persons_descriptors_it_checks_only_for_one_face() -> None:
    assert reference_descriptor(Order(face_embeddings=[])) is None
    own, other = assess(face_image(0), None), assess(stranger(), None)
    assert (own.face_count, own.hidden, other.face_count, other.hidden) == (1, False, 1, False)
    assert assess(no_face_image(), None).hidden


def test_with_face_analysis_turned_off_it_scores_and_hides_nothing(settings: Any) -> None:
    settings.FACE_ANALYSIS_ENABLED = False
    assert assess(stranger(), reference()) == Likeness()


def test_the_reference_is_the_persons_photos_medoid_not_an_odd_one() -> None:
    odd = list(faces.find_faces(stranger())[0].descriptor or ())
    descriptors = [*person_descriptors(), odd]
    centre = reference_descriptor(Order(face_embeddings=descriptors))
    assert centre is not None
    assert centre != odd
    assert faces.distance(centre, person_descriptors()[0]) < 0.35


@pytest.fixture
def networks_run(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every descriptor network run from now on (the real one, counted); nothing remembered."""
    runs: list[object] = []
    real_run = faces.face_process.run

    def counted_run(function: Any, *args: object) -> Any:
        runs.append(function)
        return real_run(function, *args)

    monkeypatch.setattr(faces.face_process, "run", counted_run)
    faces.forget_answers()  # nothing seen before the test
    return runs


def test_it_describes_a_photo_seen_before_at_once_and_tells_photos_apart(
    networks_run: list[object],
) -> None:
    photo = face_image(1, long_side=900)
    first = faces.find_faces(photo)[0]
    assert len(networks_run) == 1
    other = faces.find_faces(stranger(1))[0]

    again = faces.find_faces(photo.copy())[0]  # the same pixels, another image object

    assert again == first
    assert len(networks_run) == 2  # the stranger's; the photo seen before was not described again
    assert other.descriptor != first.descriptor
    assert faces.distance(other.descriptor or (), first.descriptor or ()) > faces.SAME_PERSON


def test_it_forgets_a_face_after_an_hour(networks_run: list[object]) -> None:
    photo = face_image(1, long_side=900)
    with freeze_time("2026-06-15 12:00:00") as clock:
        faces.find_faces(photo)
        clock.tick(faces.REMEMBERED_SECONDS - 1)
        faces.find_faces(photo)
        runs_within_the_hour = len(networks_run)
        clock.tick(2)
        faces.find_faces(photo)

    assert runs_within_the_hour == 1
    assert len(networks_run) == 2  # a descriptor is face data: not kept longer
