"""Whether a generated headshot looks like the person who ordered it.

A LoRA sometimes drifts: a face that is someone else, two faces, none. Each stored headshot is
scored in the worker (never in a request) against the person's reference descriptor, the medoid
of the descriptors taken from their photos at upload (`Order.face_embeddings`, kept after the
photos are deleted). One face within `LIKENESS_THRESHOLD` of the reference is shown; anything
else is hidden from the person, kept with its score for staff, and does not count toward the
promised number (`training/topups.py` orders more when a style falls short).

With `FACE_ANALYSIS_ENABLED` off nothing is scored and nothing hidden; an order placed with it
off has no descriptors, so its headshots are checked only for having exactly one face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from PIL import Image

from lib import faces

if TYPE_CHECKING:
    from collections.abc import Sequence

    from training.models import Order


@dataclass(frozen=True)
class Likeness:
    """What the check found in one headshot: the fields it sets on `Headshot`."""

    face_count: int | None = None
    likeness: float | None = None
    face_box: tuple[int, int, int, int] | None = None
    hidden: bool = False

    def as_fields(self) -> dict[str, object]:
        return {
            "face_count": self.face_count,
            "likeness": self.likeness,
            "face_box": list(self.face_box) if self.face_box else [],
            "hidden": self.hidden,
        }


def reference_descriptor(order: Order) -> Sequence[float] | None:
    """The person's face: the medoid of their photos' descriptors, or None when none were kept."""
    embeddings = order.face_embeddings or []
    if not embeddings:
        return None
    return embeddings[faces.medoid(embeddings)]


def assess(image: Image.Image, reference: Sequence[float] | None) -> Likeness:
    """Find the faces in a headshot and measure the one face against the person."""
    if not settings.FACE_ANALYSIS_ENABLED:
        return Likeness()
    found = faces.find_faces(image, describe=reference is not None)
    if not found:
        return Likeness(face_count=0, hidden=True)
    box = found[0].box
    if len(found) > 1:
        return Likeness(face_count=len(found), face_box=box, hidden=True)
    descriptor = found[0].descriptor
    if reference is None or descriptor is None:
        return Likeness(face_count=1, face_box=box)
    distance = round(faces.distance(descriptor, reference), 4)
    return Likeness(
        face_count=1,
        likeness=distance,
        face_box=box,
        hidden=distance > settings.LIKENESS_THRESHOLD,
    )
