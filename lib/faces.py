"""Faces with dlib: where they are in a photo, and a 128-number descriptor of whose face it is.

dlib's HOG detector finds frontal faces far smaller than the old Haar cascade did, and its ResNet
descriptor puts two photos of one person within about 0.6 of each other (Euclidean distance),
two people usually beyond it. The weights ship inside the `face-recognition-models` package; we
find its folder without importing it (its `__init__` needs `pkg_resources`, which current
setuptools no longer has), so nothing is downloaded, and load them once per process.

Detection runs on a grey copy shrunk to `DETECT_SIDE` (about 20 ms); the descriptor reads a
150-pixel face chip cut at the scale of a copy of at most `DESCRIBE_SIDE` (about 115 ms per face,
whatever the photo's size). Callers pass RGB pixels; the boxes come back in the caller's pixels.

dlib's objects are not safe to share between threads: two photos described at once by the one
network came out up to 0.59 away from the same photos described one at a time (a different
person, by our threshold). Each model is therefore used under its own lock; the detector and
the network have separate locks so that one photo can be detected while another is described.
A second set of models per thread measured no faster on 2 cores and costs ~55 MB and 0.9 s each.
And dlib holds the GIL while it works, so the descriptor (about 100 ms) runs in a process of its
own (`face_process.py`: `_describe_here` runs there, loading the landmarks and the network once).
Detection stays in the calling process (about 18 ms, with a detector of a few megabytes): on
2 cores the one face process was the bottleneck when it did both, while a short hold of the GIL
costs the photo threads little, since their decoding, resizing and encoding release it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from lib import face_process

if TYPE_CHECKING:
    import numpy as np

# Detection looks first on a 640-pixel copy as it is, which finds faces of a ninth of the long
# side and more (any selfie) in about 25 ms; only when that finds none does it look again on a
# 512-pixel copy upsampled once (faces down to a thirteenth, about 65 ms).
QUICK_SIDE = 640
DETECT_SIDE = 512
DESCRIBE_SIDE = 800
# dlib's own threshold for "the same person"; settings.LIKENESS_THRESHOLD is the one in use,
# docs/operations.md ("Face analysis") says how it was checked.
SAME_PERSON = 0.6
# dlib's detector scores every candidate; clear faces in our trials scored 0.85 to 1.5, while the
# false finds (a badge on a jacket, a pattern) scored below 0.2. dlib's default cut is 0.
DETECTION_SCORE = 0.4

# The same pixels always give the same boxes and descriptor, and the same photo comes back: sent
# again for a second order, tried again after a refusal, an output scored again on a retry (and
# the test suite's few synthetic faces, thousands of times). The last answers are kept by a
# digest of the pixels (about 0.3 ms for a face's part, against 100 ms for its descriptor), first
# in, first out; a descriptor is face data, so answers older than an hour are dropped whenever
# the process next looks at a face.
REMEMBERED_ANSWERS = 1024
REMEMBERED_SECONDS = 3600.0

Box = tuple[int, int, int, int]  # left, top, right, bottom
Descriptor = tuple[float, ...]


@dataclass(frozen=True)
class Face:
    """One face found in a photo: its box in the photo's pixels and, if asked, its descriptor."""

    box: Box
    descriptor: Descriptor | None = None

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


class _Models:
    """dlib's landmark predictor and descriptor network, loaded once per (face) process."""

    def __init__(self) -> None:
        import dlib

        folder = models_folder()
        self.landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.network = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat")
        )
        self.dlib = dlib


_loading = threading.Lock()
_detecting = threading.Lock()
_describing = threading.Lock()
_remembering = threading.Lock()
_answers: OrderedDict[bytes, tuple[float, object]] = OrderedDict()


def forget_answers() -> None:
    """Forget every remembered answer: for benchmarks and tests that must see the work done."""
    with _remembering:
        _answers.clear()


def _recalled[Answer](pixels: np.ndarray, detail: object, work: Callable[[], Answer]) -> Answer:
    """`work()`'s answer for these pixels (and `detail`), computed once while it is remembered."""
    digest = hashlib.blake2b(repr((pixels.shape, pixels.dtype.str, detail)).encode())
    digest.update(pixels.data if pixels.flags.c_contiguous else pixels.tobytes())
    key = digest.digest()
    with _remembering:
        _drop_old_answers(time.monotonic())
        if key in _answers:
            return _answers[key][1]  # type: ignore[return-value]
    answer = work()
    with _remembering:
        _answers.pop(key, None)  # a twin computed meanwhile: this one goes last, newest
        _answers[key] = (time.monotonic(), answer)
        while len(_answers) > REMEMBERED_ANSWERS:
            _answers.popitem(last=False)
    return answer


def _drop_old_answers(now: float) -> None:
    """Drop the answers older than REMEMBERED_SECONDS (the oldest come first); under the lock."""
    while _answers and now - next(iter(_answers.values()))[0] >= REMEMBERED_SECONDS:
        _answers.popitem(last=False)


@cache
def _models() -> _Models:
    with _loading:
        return _Models()


@cache
def _detector() -> Any:
    """dlib's HOG face detector, loaded once per process (it is small, and needs no weights)."""
    with _loading:
        import dlib

        return dlib.get_frontal_face_detector()


def models_folder() -> Path:
    """The weights' folder inside the installed `face_recognition_models` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def find_faces(
    image: Image.Image, *, describe: bool = True, grey: Image.Image | None = None
) -> list[Face]:
    """Every frontal face in the photo, largest first, each with its descriptor if asked.

    `grey` is a grey copy of the same photo (any size) when the caller already has one, as
    the photo checks do: detection then starts from it instead of converting the photo again.
    """

    rgb = image if image.mode == "RGB" else image.convert("RGB")
    source = grey if grey is not None else rgb.convert("L")
    boxes = _detect(source, QUICK_SIDE, upsample=0, size=rgb.size)
    if not boxes:  # no face of a selfie's size: look again for small ones, at 4 times the cost
        boxes = _detect(source, DETECT_SIDE, upsample=1, size=rgb.size)
    if not describe or not boxes:
        return [Face(box) for box in boxes]
    return [Face(box, _descriptor(rgb, box)) for box in boxes]


def describe(image: Image.Image, box: Box) -> Descriptor:
    """The descriptor of the face at `box` (a box `find_faces` returned for this photo): for
    callers that first look at how many faces there are and describe only the one they keep."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return _descriptor(rgb, box)


def _detect(grey: Image.Image, side: int, *, upsample: int, size: tuple[int, int]) -> list[Box]:
    """dlib's detector on a copy of at most `side` pixels, boxes in the photo's pixels (`size`),
    largest first."""
    import numpy as np

    small = np.asarray(_shrunk(grey, min(1.0, side / max(grey.size))))
    rectangles = _recalled(
        small, ("detect", upsample), lambda: tuple(_detect_here(small, upsample))
    )
    factor = size[0] / small.shape[1]
    return sorted(
        (_scaled_box(rectangle, factor, size) for rectangle in rectangles),
        key=lambda box: -(box[2] - box[0]),
    )


def _shrunk(image: Image.Image, scale: float) -> Image.Image:
    if scale >= 1.0:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _scaled_box(rectangle: Box, factor: float, size: tuple[int, int]) -> Box:
    """A box of the detector's copy, back in the photo's pixels and inside it."""
    left = max(0, round(rectangle[0] * factor))
    top = max(0, round(rectangle[1] * factor))
    right = min(size[0], round(rectangle[2] * factor))
    bottom = min(size[1], round(rectangle[3] * factor))
    return (left, top, right, bottom)


def _detect_here(small: np.ndarray, upsample: int) -> list[Box]:
    """dlib's detector on a grey copy, in this process."""
    with _detecting:
        found, _scores, _kinds = _detector().run(small, upsample, DETECTION_SCORE)
    return [(box.left(), box.top(), box.right(), box.bottom()) for box in found]


def _describe_here(pixels: np.ndarray, inside: Box) -> Descriptor:
    """The landmarks and the descriptor of the face at `inside`, in this process."""
    models = _models()
    rectangle = models.dlib.rectangle(*inside)
    with _describing:
        shape = models.landmarks(pixels, rectangle)
        numbers = models.network.compute_face_descriptor(pixels, shape)
    return tuple(float(value) for value in numbers)


def _descriptor(rgb: Image.Image, box: Box) -> Descriptor:
    """The face's descriptor, read from a copy of the photo shrunk to DESCRIBE_SIDE.

    Only the part of that copy around the face (one face-width on each side; dlib's chip takes
    a quarter) is made, from the same source pixels with the same sampling as the whole copy:
    the same descriptor, for 1 ms instead of 18 on a 1536-pixel photo.
    """
    import numpy as np

    scale = min(1.0, DESCRIBE_SIDE / max(rgb.size))
    full = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    sx, sy = full[0] / rgb.width, full[1] / rgb.height
    margin = box[2] - box[0]
    left, top = max(0, int((box[0] - margin) * sx)), max(0, int((box[1] - margin) * sy))
    right = min(full[0], int((box[2] + margin) * sx) + 1)
    bottom = min(full[1], int((box[3] + margin) * sy) + 1)
    part = rgb.resize(
        (right - left, bottom - top),
        Image.Resampling.BILINEAR,
        box=(left / sx, top / sy, right / sx, bottom / sy),
        reducing_gap=2.0 if scale < 1.0 else None,
    )
    pixels = np.asarray(part)
    inside = (
        round(box[0] * sx) - left, round(box[1] * sy) - top,
        round(box[2] * sx) - left, round(box[3] * sy) - top,
    )  # fmt: skip
    return _recalled(
        pixels, ("describe", inside), lambda: face_process.run(_describe_here, pixels, inside)
    )


def distance(first: Sequence[float], second: Sequence[float]) -> float:
    """Euclidean distance between two descriptors: below `SAME_PERSON` is the same face."""
    return float(sum((a - b) ** 2 for a, b in zip(first, second, strict=True)) ** 0.5)


def medoid(descriptors: Sequence[Sequence[float]]) -> int:
    """The index of the descriptor closest, in total, to all the others: the set's centre, which
    one odd photo cannot drag the way it would drag an average."""
    if not descriptors:
        raise ValueError("no descriptors")
    totals = [sum(distance(one, other) for other in descriptors) for one in descriptors]
    return totals.index(min(totals))
