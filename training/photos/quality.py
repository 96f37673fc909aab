"""Photo quality: one face, big enough, sharp, not a copy of another photo of the set.

It measures a Pillow image and returns numbers; `cleaning.py`
turns them into refusals and warnings a person reads. The thresholds live here, beside the
measurements they interpret, and are calibrated by `tests/training/test_quality.py` on real
photos (skimage's astronaut) against Gaussian-blurred, shrunken and duplicated versions of them.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from training.photos.pixels import opencv

if TYPE_CHECKING:
    import cv2
    import numpy as np

# Face detection is run on a small copy: a Haar cascade's cost grows with the pixel count, and a
# face large enough to train on is still dozens of pixels wide at this size.
DETECTION_SIDE = 400
# Detections smaller than this share of the largest face are ignored: they are nearly always the
# cascade's false positives in hair or background texture, or a stranger far behind, who does
# not spoil a training photo the way a second person next to the subject does.
SECONDARY_FACE_RATIO = 0.4
# A face narrower than this share of the photo's shorter side trains poorly (warning only).
SMALL_FACE_FRACTION = 0.15
# Sharpness is measured on a copy of fixed size so that the threshold does not depend on the
# resolution of the upload. Sharp photos measure 120 to 900 at this size; a Gaussian blur of
# sigma 2 on that copy (a visibly soft photo) brings the same photos under 20. See the
# calibration in test_quality.py.
SHARPNESS_SIDE = 640
BLUR_THRESHOLD = 60.0
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

    @property
    def small_face(self) -> bool:
        return self.faces == 1 and self.face_fraction < SMALL_FACE_FRACTION

    @property
    def blurred(self) -> bool:
        return self.sharpness < BLUR_THRESHOLD


def assess(image: Image.Image) -> PhotoQuality:
    """Measure faces, sharpness and fingerprint of an image, on one grayscale copy.

    Each measure works on the smallest copy it needs, each made from the one before: the
    sharpness copy from the photo, the detection copy from the sharpness copy, and the
    fingerprint's 9x8 thumbnail from the detection copy.
    """
    import numpy as np  # loaded on first use, as OpenCV is (pixels.opencv)

    gray = image if image.mode == "L" else image.convert("L")
    for_sharpness = _shrunk(gray, SHARPNESS_SIDE)
    for_faces = _shrunk(for_sharpness, DETECTION_SIDE)
    faces, face_fraction = _faces(np.asarray(for_faces, dtype=np.uint8))
    return PhotoQuality(
        faces=faces,
        face_fraction=face_fraction,
        sharpness=_sharpness(np.asarray(for_sharpness, dtype=np.uint8)),
        fingerprint=fingerprint(for_faces),
    )


# Loaded classifiers not in use at the moment. One classifier must not be shared by threads: its
# detectMultiScale keeps per-call state in the object and fails with an assertion when two
# photos are checked at the same time. Lending them out from this queue keeps that rule while
# loading each one once per process (15 ms of XML), not once per thread of every photo set.
_idle_cascades: queue.SimpleQueue[cv2.CascadeClassifier] = queue.SimpleQueue()


@contextlib.contextmanager
def _cascade() -> Iterator[cv2.CascadeClassifier]:
    """The frontal-face cascade, for this thread alone until the `with` block ends."""
    try:
        cascade = _idle_cascades.get_nowait()
    except queue.Empty:
        cascade = _load_cascade()
    try:
        yield cascade
    finally:
        _idle_cascades.put(cascade)


def _load_cascade() -> cv2.CascadeClassifier:
    cv2 = opencv()
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV could not load its face cascade from {path}")
    return cascade


def _shrunk(gray: Image.Image, side: int) -> Image.Image:
    """A copy whose long side is at most `side` (the image itself when it is that small)."""
    if max(gray.size) <= side:
        return gray
    copy = gray.copy()
    copy.thumbnail((side, side), Image.Resampling.BILINEAR)
    return copy


def _faces(small: np.ndarray) -> tuple[int, float]:
    """Count the people facing the camera; return that and the largest face's relative width."""
    shorter = min(small.shape)
    # Faces under 1/16 of the shorter side are too small to train on: not looking for them is
    # also what keeps the detection fast.
    min_side = max(20, shorter // 16)
    with _cascade() as cascade:
        found = cascade.detectMultiScale(
            small, scaleFactor=1.15, minNeighbors=8, minSize=(min_side, min_side)
        )
    widths = sorted((int(w) for (_x, _y, w, _h) in found), reverse=True)
    if not widths:
        return 0, 0.0
    people = [w for w in widths if w >= widths[0] * SECONDARY_FACE_RATIO]
    return len(people), widths[0] / shorter


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
