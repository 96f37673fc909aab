"""The pixels of an accepted upload: upright, sRGB, RGB, training size, no metadata left.

`cleaning.py` opens the upload with its limits and refusals, then hands the opened Pillow image
here. OpenCV is imported when first needed (`opencv`), with its thread count set.

The order of the steps is chosen for speed without changing the result:

- shrink-on-load: a JPEG is decoded at the smallest 1/2, 1/4 or 1/8 scale that still covers
  the training size (a 4000x3000 photo at 2000x1500 for 1536);
- the EXIF orientation is read before anything else but applied last, to the shrunk copy:
  turning and mirroring commute with the resize, and a 1536-pixel image turns in a
  fraction of the time of the decoded one (tests/training/test_dataset.py compares all eight
  orientations with `ImageOps.exif_transpose` followed by the resize);
- no conversion or copy when the pixels are already RGB without a profile.
"""

from __future__ import annotations

import os
import threading
import warnings
from functools import cache
from types import ModuleType

from django.conf import settings
from PIL import ExifTags, Image, ImageFile
from pillow_heif import register_heif_opener

from lib.colour import to_srgb

# Pillow's guard against decompression bombs is a process-wide setting. Lowering it for the
# whole process is deliberate: nothing in this application has a reason to decode an image of
# more than 50 megapixels (phone photos are 12-48, generated headshots 1-4), and a global
# limit also protects any other code that opens an uploaded image.
MAX_PIXELS = 50_000_000
# cv2.INTER_CUBIC, OpenCV's code for the interpolation `_shrunk` uses (see there why).
RESIZE = 2


def configure_image_libraries(*, photo_workers: int) -> None:
    """Set Pillow up for untrusted photos, once per process (TrainingConfig.ready).

    These are process-wide settings, so they are made when the app starts rather than as a
    side effect of whichever module happens to be imported first. OpenCV is set up by `opencv`
    when a photo first needs it.
    """
    register_heif_opener()  # HEIC photos from phones
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    # Between 50 and 100 MP Pillow only warns; the filter makes that warning an error too.
    # `cleaning._check_dimensions` refuses such images from their header anyway (fast).
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    # A truncated photo must be refused, not half-grey: never let Pillow fill in missing data.
    ImageFile.LOAD_TRUNCATED_IMAGES = False


# cv2's package bootstrap swaps itself in sys.modules: a second thread importing it meanwhile
# gets a half-made module ("module 'cv2' has no attribute 'data'"), so one thread imports it.
_OPENCV_IMPORT = threading.Lock()


@cache
def opencv() -> ModuleType:
    """OpenCV (and numpy under it), imported when a photo first needs it: a third of a second
    of CPU that most processes (a page, a cron command, a webhook) never need.

    Photos are cleaned PHOTO_WORKERS at a time, which already keeps the cores busy: OpenCV's
    own threads (face detection, resize) on top of that only contend for them.
    """
    with _OPENCV_IMPORT:
        import cv2

    cv2.setNumThreads(max(1, (os.process_cpu_count() or 1) // settings.PHOTO_WORKERS))
    return cv2


# What ImageOps.exif_transpose does for each EXIF orientation; 1 (or none, or junk) is upright.
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def normalised(opened: ImageFile.ImageFile, side: int) -> Image.Image:
    """Upright, sRGB, RGB, with a long side of at most `side`, and with no metadata at all.

    Decodes the opened image (decoding errors are the caller's to handle) and returns a new
    image: the opened one is left to be closed.
    """
    if opened.format == "JPEG":
        # `fit` gives the same long side whichever way the photo is stored.
        opened.draft("RGB", fit(opened.size, side))
    icc_profile = opened.info.get("icc_profile")
    opened.load()
    turn = _upright_turn(opened)
    image = _shrunk(to_srgb(opened, icc_profile)[0], side)
    if turn is not None:
        image = image.transpose(turn)
    elif image is opened:  # closing the file would empty it: keep a copy
        image = opened.copy()
    # EXIF (GPS), XMP, comments, ICC: the encoder writes some of these from `info` by itself.
    image.info = {}
    return image


def decoded_pixels(opened: ImageFile.ImageFile, side: int) -> int:
    """How many pixels `normalised` will decode, from the header alone: a JPEG at its
    shrink-on-load size (a 48-megapixel JPEG costs 3), every other format in full.

    Sets the JPEG's draft as `normalised` does: the image is for measuring, not decoding.
    """
    if opened.format == "JPEG":
        opened.draft("RGB", fit(opened.size, side))
    return opened.width * opened.height


def fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size after shrinking the long side to `side`, never enlarging."""
    scale = min(1.0, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _upright_turn(opened: Image.Image) -> Image.Transpose | None:
    """The transposition that stands the loaded photo upright, read as exif_transpose does."""
    return _TURNS.get(opened.getexif().get(ExifTags.Base.Orientation, 1))


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    """The real resize, never enlarging, by OpenCV's bicubic interpolation (RESIZE).

    After a JPEG's shrink-on-load the factor left is under 2, where bicubic interpolation
    keeps edges and hair as sharp as area averaging without visible aliasing. It is also the
    cheapest resize measured on a 2000x1500 photo going to 1536 (4 ms; area averaging 32 ms,
    an eighth of a photo's CPU in bench/dataset.py; Pillow's bilinear 28 ms, box 21 ms), and
    OpenCV runs it without the GIL. Larger factors (formats without shrink-on-load) keep area
    averaging.
    """
    size = fit(image.size, side)
    if size == image.size:
        return image
    cv2 = opencv()
    import numpy as np  # loaded with OpenCV

    # Only JPEG shrinks on load: a 48 MP HEIC or PNG arrives whole, and bicubic interpolation
    # over a factor of 5 would alias (moiré in fabric and hair); area averaging does not.
    large = max(image.size) > 2 * max(size)
    interpolation = cv2.INTER_AREA if large else RESIZE
    return Image.fromarray(cv2.resize(np.asarray(image), size, interpolation=interpolation))
