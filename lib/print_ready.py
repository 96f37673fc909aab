"""The files a person takes away: a print-ready JPEG, a clean PNG and a LinkedIn square.

Replicate gives us a lossless PNG (docs/prompts.md says why); every file made from it here is
re-encoded from its pixels with nothing carried over but the colour profile. Pillow writes some
metadata from `image.info` by itself (XMP, EXIF in some formats), so every encoder below gets a
copy whose `info` is emptied and is told the profile explicitly.

- JPEG: full resolution, sRGB (pixels tagged with another profile are converted, and then carry
  an sRGB profile; untagged pixels are sRGB by convention and stay untagged), quality 93 with
  full-resolution colour (no chroma subsampling): a print shop sees no artefacts.
- PNG: the original pixels, with the original profile.
- LinkedIn: a square centred on the face, the face about a third of its width (head and
  shoulders, as LinkedIn shows a profile photo), at least `LINKEDIN_SIDE` pixels across.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image

from lib import faces
from lib.colour import srgb, to_srgb

JPEG_QUALITY = 93
# zlib level 1: 1024x1024 in about 80 ms against 450 ms at Pillow's default 6, for files about
# a tenth larger; the PNG is made when it is asked for, in the request.
PNG_COMPRESS_LEVEL = 1
LINKEDIN_SIDE = 800
FACE_SHARE = 1 / 3  # of the square's width
PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")

Box = Sequence[int]  # left, top, right, bottom


def decoded(content: bytes) -> Image.Image:
    """The image's pixels, loaded (the caller's bytes may go), its profile in `info`."""
    with Image.open(io.BytesIO(content)) as opened:
        opened.load()
        image = opened.copy()
        profile = opened.info.get("icc_profile")
    image.info = {"icc_profile": profile} if profile else {}
    return image


def print_jpeg(image: Image.Image) -> bytes:
    """The full-resolution print-ready JPEG."""
    pixels, profile = srgb_pixels(image)
    return _jpeg(pixels, profile)


def clean_png(image: Image.Image) -> bytes:
    """The original pixels as a PNG with the original colour profile and nothing else."""
    pixels = image if image.mode in PNG_MODES else image.convert("RGB")
    return _encoded(
        pixels, "PNG", compress_level=PNG_COMPRESS_LEVEL, icc_profile=image.info.get("icc_profile")
    )


def linkedin_square(image: Image.Image, face_box: Box | None = None) -> bytes:
    """A JPEG square centred on the face (`face_box`, else the largest face found, else the
    middle of the image), at least LINKEDIN_SIDE pixels across."""
    pixels, profile = srgb_pixels(image)
    box = face_box or largest_face(pixels)
    square = pixels.crop(square_around(pixels.size, box))
    if (
        square.width < LINKEDIN_SIDE
    ):  # a small image, or a small face: enlarge rather than crop less
        square = square.resize((LINKEDIN_SIDE, LINKEDIN_SIDE), Image.Resampling.LANCZOS)
    return _jpeg(square, profile)


def largest_face(image: Image.Image) -> Box | None:
    found = faces.find_faces(image, describe=False)
    return found[0].box if found else None


def square_around(size: tuple[int, int], face_box: Box | None) -> tuple[int, int, int, int]:
    """The crop: a face a third of the square's width, centred, the square kept inside."""
    width, height = size
    short = min(width, height)
    if not face_box:
        left, top = (width - short) // 2, (height - short) // 2
        return left, top, left + short, top + short
    face_left, face_top, face_right, face_bottom = face_box
    face_side = max(face_right - face_left, face_bottom - face_top, 1)
    side = min(short, round(face_side / FACE_SHARE))
    centre_x, centre_y = (face_left + face_right) / 2, (face_top + face_bottom) / 2
    left = min(max(0, round(centre_x - side / 2)), width - side)
    top = min(max(0, round(centre_y - side / 2)), height - side)
    return left, top, left + side, top + side


def srgb_pixels(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """RGB pixels in sRGB (transparency flattened on white), and the profile to embed: sRGB's
    when the pixels came with a profile, none when they were untagged (sRGB by convention)."""
    pixels, converted = to_srgb(image, image.info.get("icc_profile"))
    return pixels, (srgb().tobytes() if converted else None)


def _jpeg(image: Image.Image, profile: bytes | None) -> bytes:
    return _encoded(image, "JPEG", quality=JPEG_QUALITY, subsampling=0, icc_profile=profile)


def _encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    """Encode a copy with an empty `info`, so that only `options` reach the file."""
    bare = image.copy()
    bare.info = {}
    if not options.get("icc_profile"):
        options.pop("icc_profile", None)
    buffer = io.BytesIO()
    bare.save(buffer, image_format, **options)
    return buffer.getvalue()
