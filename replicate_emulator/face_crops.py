"""The faces emulated headshots show: the person's, cut from the training ZIP, or a stranger's.

A training keeps a few crops of the person (head and shoulders around the face dlib finds) for
the version it pushes, so its predictions can paint that person and the likeness gate downstream
has a real face to score. A configurable share of outputs shows someone else, from
scikit-image's `lfw_subset` (a development requirement only: without it, "someone else" becomes
"nobody"), or no face at all, so the gate has work to do. Crops are made once per training;
every output then only scales and pastes one.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import zipfile
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from lib.faces import find_faces

logger = logging.getLogger(__name__)

Kind = Literal["own", "other", "none"]
# Kept per trained version (about 0.7 MB each): two photos, each also shown mirrored, give four
# different outputs; each photo looked at costs a face detection inside a test's training.
MAX_CROPS = 2
MAX_PHOTOS_LOOKED_AT = 8
CROP_SIDE = 420  # the long side a crop is kept at; a 1 MP output shows it at about this size
PHOTO_SIDE = 1024  # photos are shrunk to this for cropping...
FIND_SIDE = 384  # ...and to this for finding the face: about half the detector's time at 512
# Indices into lfw_subset's 100 faces (25x25 grey, blown up to 320 px) that are clearly someone
# else. Chosen once with lib.faces against skimage's astronaut, the tests' person: of the 100,
# dlib found 82 on a grey canvas, 0.61 to 0.96 from her; the 32 farthest were then painted as
# emulated outputs on all 11 backdrops at 1 MP and 0.25 MP (1:1) and 1 MP 2:3, and these 12 were
# found every time, at 0.82 or more (her own face lands within 0.2).
STRANGERS = (0, 73, 36, 49, 6, 34, 51, 80, 25, 3, 41, 78)


@dataclass(frozen=True)
class FaceCrop:
    """A face with room around it, RGBA: the alpha fades the edges into the backdrop."""

    image: Image.Image

    @functools.cached_property
    def mirrored(self) -> FaceCrop:
        """The same face seen in a mirror: another output that still looks like the person."""
        return FaceCrop(ImageOps.mirror(self.image))


def crops_from_zip(blob: bytes) -> list[FaceCrop]:
    """Up to `MAX_CROPS` crops of the face in the ZIP's photos; none when no face is found."""
    crops: list[FaceCrop] = []
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = sorted(name for name in archive.namelist() if _is_photo(name))
        for name in names[:MAX_PHOTOS_LOOKED_AT]:
            crop = _crop_photo(archive.read(name))
            if crop is not None:
                crops.append(crop)
            if len(crops) == MAX_CROPS:
                break
    return crops


def _is_photo(name: str) -> bool:
    return name.lower().endswith((".jpg", ".jpeg", ".png", ".webp")) and "__MACOSX" not in name


def _crop_photo(data: bytes) -> FaceCrop | None:
    """Head and shoulders around the photo's largest face, or None (not a photo, no face)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (PHOTO_SIDE, PHOTO_SIDE))  # JPEG: decode at a smaller scale
            photo = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    photo.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    small = photo.copy()
    small.thumbnail((FIND_SIDE, FIND_SIDE), Image.Resampling.BILINEAR)
    found = find_faces(small, describe=False)
    if not found:
        return None
    scale = photo.width / small.width
    left, top, right, bottom = (round(edge * scale) for edge in found[0].box)
    side = right - left
    # dlib's box runs from the brows to the chin: add hair above, shoulders below.
    box = (
        max(0, left - round(side * 0.6)),
        max(0, top - round(side * 0.75)),
        min(photo.width, right + round(side * 0.6)),
        min(photo.height, bottom + round(side * 0.9)),
    )
    crop = photo.crop(box)
    crop.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    return FaceCrop(_faded(crop, rounding=0.5))


def _faded(image: Image.Image, *, rounding: float) -> Image.Image:
    """The image with soft edges: an oval (`rounding` 0.5) or a rounded square, feathered."""
    width, height = image.size
    feather = max(2, min(width, height) // 24)
    mask = Image.new("L", image.size, 0)
    radius = round(min(width, height) * rounding)
    ImageDraw.Draw(mask).rounded_rectangle(
        (feather, feather, width - feather, height - feather), radius=radius, fill=255
    )
    faded = image.convert("RGBA")
    faded.putalpha(mask.filter(ImageFilter.GaussianBlur(feather / 2)))
    return faded


@functools.cache
def strangers() -> tuple[FaceCrop, ...]:
    """Faces of people who are not the person, made once; empty without scikit-image."""
    try:
        from skimage import data
    except ImportError:
        logger.info("scikit-image is not installed: wrong outputs show no face instead")
        return ()
    faces = data.lfw_subset()
    crops = []
    for index in STRANGERS:
        grey = Image.fromarray((faces[index] * 255).round().astype("uint8"))
        face = grey.resize((320, 320), Image.Resampling.BICUBIC).convert("RGB")
        crops.append(FaceCrop(_faded(face, rounding=0.08)))
    return tuple(crops)


def choose(serial: int, share: float) -> Kind:
    """Whose face output number `serial` shows: exactly `share` of outputs are wrong, spread
    evenly (every eighth at 0.125), and of those, two in three show a stranger, one nobody."""
    if math.floor((serial + 1) * share) <= math.floor(serial * share):
        return "own"
    wrong = math.floor(serial * share)
    return "none" if wrong % 3 == 2 else "other"


def stranger(serial: int) -> FaceCrop | None:
    """A stranger for output `serial`, cycling through them; None without scikit-image."""
    known = strangers()
    return known[serial % len(known)] if known else None
