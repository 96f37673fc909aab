"""The one-person check: every photo of a set shows the same face.

A LoRA trained on two people makes headshots of neither. Each accepted photo's face was
described by `quality.assess` (dlib's 128 numbers, `lib.faces`); here the set's medoid, the
photo closest in total to all the others, stands for the person, and a photo whose face lies
further from it than LIKENESS_THRESHOLD is refused by name. The medoid is used rather than the
average because one odd photo drags an average towards itself, never a medoid.

Refusing by name needs a clear majority: when fewer than two thirds of the photos are close to
the medoid (two and two, three and two, ...), we cannot tell which face is the person's, and
the set is refused as a whole. The calibration of the threshold is in docs/operations.md
("Face analysis").
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from lib import faces
from training.photos.cleaning import CleanedPhoto
from training.photos.problems import DIFFERENT_PEOPLE, OTHER_PERSON, PhotoProblem, refusal

# The share of a set that must be one face before the others are called someone else's.
CLEAR_MAJORITY = 2 / 3


def refuse_other_people(photos: Sequence[CleanedPhoto]) -> list[PhotoProblem]:
    """Refuse the photos of someone else than the set's person, or the whole set when the
    photos do not agree on who that is. Photos without a descriptor are not judged."""
    described = [photo for photo in photos if photo.quality.descriptor is not None]
    if len(described) < 2:
        return []
    descriptors = [photo.quality.descriptor for photo in described if photo.quality.descriptor]
    centre = descriptors[faces.medoid(descriptors)]
    threshold = settings.LIKENESS_THRESHOLD
    others = [
        photo
        for photo, descriptor in zip(described, descriptors, strict=True)
        if faces.distance(descriptor, centre) > threshold
    ]
    if not others:
        return []
    if len(described) - len(others) < CLEAR_MAJORITY * len(described):
        return [refusal(None, DIFFERENT_PEOPLE)]
    return [refusal(photo.source_name, OTHER_PERSON) for photo in others]


def face_embeddings(photos: Sequence[CleanedPhoto]) -> list[list[float]]:
    """The descriptors to keep on the order, one per photo that has one, in upload order."""
    return [list(photo.quality.descriptor) for photo in photos if photo.quality.descriptor]
