"""Photo quality: one face, big enough, sharp, not a copy of another photo of the set.

It measures a Pillow image and returns numbers; `cleaning.py`
turns them into refusals and warnings a person reads. The thresholds live here, beside the
measurements they interpret, and are calibrated by `tests/training/test_quality.py` on real
photos (skimage's astronaut) against Gaussian-blurred, shrunken and duplicated versions of them.

Faces are found by dlib's HOG detector (`lib.faces`), which replaced OpenCV's Haar cascade: the
cascade refused clear faces turned by 20 degrees at 10 to 18 % of the photo's width (16 of 50
such test scenes; dlib found all but 5, and those were the 8 % faces and two tilted ones). When
asked, the kept face is also described (128 numbers, `lib.faces.describe`), on the same photo,
in the same worker thread, for the one-person check of the set (`one_person.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from lib import faces
from lib.faces import Descriptor
from training.photos.pixels import opencv

if TYPE_CHECKING:
    import numpy as np

# Detections smaller than this share of the largest face are ignored: a stranger far behind
# does not spoil a training photo the way a second person next to the subject does.
SECONDARY_FACE_RATIO = 0.4
# A face narrower than this share of the photo's shorter side trains poorly (warning only).
# dlib's boxes are 10-20 % narrower than the Haar cascade's, for which 0.15 was chosen: the
# astronaut's face measures 0.176 of her photo (Haar 0.190), the small-face scene 0.105 (0.131).
SMALL_FACE_FRACTION = 0.13
# Sharpness is measured on a copy of fixed size so that the threshold does not depend on the
# resolution of the upload. Sharp photos measure 120 to 900 at this size; a Gaussian blur of
# sigma 2 on that copy (a visibly soft photo) brings the same photos under 20. See the
# calibration in test_quality.py. Face detection starts from this copy too.
SHARPNESS_SIDE = 640
BLUR_THRESHOLD = 60.0
# The fingerprint's 9x8 thumbnail is made from a copy of this size.
FINGERPRINT_SIDE = 400
# dHash (64 bits): re-encoded, resized or colour-shifted copies of one photo differ in 0-6 bits;
# different crops, mirror images and rotations of the same scene differ in 20 or more.
DUPLICATE_DISTANCE = 10


@dataclass(frozen=True)
class PhotoQuality:
    """What the checks measured on one photo."""

    faces: int
    face_fraction: float  # width of the largest face over the photo's shorter side
    sharpness: float  # variance of the Laplacian on a SHARPNESS_SIDE copy
    fingerprint: int  # 64-bit difference hash
    # Whose face it is (lib.faces), when asked for and the photo holds exactly one face.
    descriptor: Descriptor | None = None

    @property
    def small_face(self) -> bool:
        return self.faces == 1 and self.face_fraction < SMALL_FACE_FRACTION

    @property
    def blurred(self) -> bool:
        return self.sharpness < BLUR_THRESHOLD


def assess(image: Image.Image, *, describe: bool = False) -> PhotoQuality:
    """Measure faces, sharpness and fingerprint of an image, and describe its face if asked.

    Each measure works on the smallest copy it needs, each made from the one before: the
    sharpness copy from the photo, the detection and fingerprint copies from the sharpness
    copy. The descriptor reads the colour photo (a face chip cut from an 800-pixel copy).
    """
    import numpy as np  # loaded on first use, as OpenCV is (pixels.opencv)

    gray = image if image.mode == "L" else image.convert("L")
    for_sharpness = _shrunk(gray, SHARPNESS_SIDE)
    people = _people(faces.find_faces(image, describe=False, grey=for_sharpness))
    descriptor = None
    if describe and len(people) == 1:
        descriptor = faces.describe(image, people[0].box)
    return PhotoQuality(
        faces=len(people),
        face_fraction=people[0].width / min(image.size) if people else 0.0,
        sharpness=_sharpness(np.asarray(for_sharpness, dtype=np.uint8)),
        fingerprint=fingerprint(_shrunk(for_sharpness, FINGERPRINT_SIDE)),
        descriptor=descriptor,
    )


def _people(found: list[faces.Face]) -> list[faces.Face]:
    """The faces that count as people in the photo: the largest, and those near its size."""
    if not found:
        return []
    return [face for face in found if face.width >= found[0].width * SECONDARY_FACE_RATIO]


def _shrunk(gray: Image.Image, side: int) -> Image.Image:
    """A copy whose long side is at most `side` (the image itself when it is that small)."""
    if max(gray.size) <= side:
        return gray
    copy = gray.copy()
    copy.thumbnail((side, side), Image.Resampling.BILINEAR)
    return copy


def _sharpness(small: np.ndarray) -> float:
    """Variance of the Laplacian: edges make it large, blur flattens it."""
    cv2 = opencv()
    return float(cv2.Laplacian(small, cv2.CV_64F).var())


def fingerprint(image: Image.Image) -> int:
    """Difference hash: one bit per neighbouring pixel pair of a 9x8 grayscale thumbnail."""
    gray = image if image.mode == "L" else image.convert("L")
    thumb = gray.resize((9, 8), Image.Resampling.BILINEAR)
    import numpy as np

    pixels = np.asarray(thumb, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def distance(first: int, second: int) -> int:
    """Hamming distance between two fingerprints."""
    return (first ^ second).bit_count()


def duplicate_of(candidate: int, earlier: Sequence[int]) -> int | None:
    """The index of the first earlier fingerprint close enough to be the same photo, if any."""
    for index, other in enumerate(earlier):
        if distance(candidate, other) <= DUPLICATE_DISTANCE:
            return index
    return None
