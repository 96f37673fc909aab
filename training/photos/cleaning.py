"""One photo, checked and cleaned: the server-side truth, whatever the browser did.

Every upload is sniffed from its bytes, scanned for malware before any decoder sees it (when
clamd is configured), decoded with bomb limits, turned upright, stripped of every piece of
metadata (GPS above all), converted to sRGB, shrunk to the training size (the pixel work is
`pixels.py`'s) and re-encoded as JPEG. `quality.py` then refuses photos without exactly one face
and warns about small faces and blur; with FACE_ANALYSIS_ENABLED it also describes the face, for
the set's one-person check (`one_person.py`). `clean_photo` is this step on its own, as the tests
and `bench/dataset.py` measure it; `photo_sets.py` runs it over a whole set.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.conf import settings
from PIL import Image, ImageFile

from training.photos import pixels, quality, scanning
from training.photos.problems import (
    BLURRED,
    DAMAGED,
    FILE_TOO_BIG,
    INFECTED,
    MB,
    NO_FACE,
    NOT_A_PHOTO,
    SEVERAL_FACES,
    SMALL_FACE,
    TOO_MANY_PIXELS,
    TOO_SMALL,
    PhotoRefused,
    message,
    refusal,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

logger = logging.getLogger(__name__)


# Pillow and OpenCV are set up for untrusted photos by TrainingConfig.ready()
# (`photos.configure_image_libraries`): no process-wide setting changes on import.
MAX_PIXELS = pixels.MAX_PIXELS
JPEG_QUALITY = 90
# What decoding untrusted bytes may raise, besides our own refusals (pillow-heif raises
# RuntimeError/ValueError, Pillow's plugins OSError, SyntaxError, EOFError or struct.error).
DECODING_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error)
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1"}


@dataclass
class CleanedPhoto:
    """A photo that passed: a metadata-free JPEG in the set's temporary folder."""

    source_name: str
    path: Path
    width: int
    height: int
    size_bytes: int
    quality: quality.PhotoQuality
    warnings: list[StrPromise] = field(default_factory=list)


def clean_photo(
    source: IO[bytes] | str | os.PathLike[str], *, name: str, out_dir: Path
) -> CleanedPhoto:
    """Check, scan, decode and clean one photo into a new JPEG in `out_dir`.

    Raises PhotoRefused (with the reason) or scanning.ScannerUnavailable. Set-level checks
    (count, total size, pixels in all, duplicates) are the caller's.
    """
    with opened(source) as stream:
        inspect_photo(stream, name=name)
        return develop(stream, name=name, out_dir=out_dir)


def inspect_photo(stream: IO[bytes], *, name: str) -> int:
    """Check the file's size, scan it and read its header; return how many pixels decoding
    it will make (what it costs), so that a set can be refused before anything is decoded.

    Raises PhotoRefused or scanning.ScannerUnavailable.
    """
    _check_file_size(stream, name)
    _scan(stream, name)
    with _header(stream, name) as opened:
        return pixels.decoded_pixels(opened, settings.TRAINING_IMAGE_SIDE)


def develop(stream: IO[bytes], *, name: str, out_dir: Path) -> CleanedPhoto:
    """Decode, judge and save an inspected photo."""
    with _header(stream, name) as opened:
        image = pixels.normalised(opened, settings.TRAINING_IMAGE_SIDE)
    measured = quality.assess(image, describe=settings.FACE_ANALYSIS_ENABLED)
    photo_warnings = _judge(measured, name)
    path, size = _save(image, out_dir)
    return CleanedPhoto(
        source_name=name,
        path=path,
        width=image.width,
        height=image.height,
        size_bytes=size,
        quality=measured,
        warnings=photo_warnings,
    )


@contextlib.contextmanager
def opened(source: IO[bytes] | str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a path, or rewind a file object that the caller keeps owning."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            yield stream
    else:
        source.seek(0)
        yield source


def _check_file_size(stream: IO[bytes], name: str) -> None:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > settings.PHOTO_MAX_MB * MB:
        raise PhotoRefused(refusal(name, FILE_TOO_BIG, mb=settings.PHOTO_MAX_MB))


def _scan(stream: IO[bytes], name: str) -> None:
    """Let clamd read the bytes before any decoder does, when it is configured."""
    if not settings.CLAMD_URL:
        return
    try:
        scanning.scan(stream, url=settings.CLAMD_URL)
    except scanning.InfectedFile as infected:
        logger.warning("clamd found %s in an upload named %r", infected.signature, name)
        raise PhotoRefused(refusal(name, INFECTED)) from infected
    finally:
        stream.seek(0)


def sniff(head: bytes) -> str | None:
    """The Pillow format the leading bytes announce, among the ones we accept; else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "HEIF"
    return None


@contextlib.contextmanager
def _header(stream: IO[bytes], name: str) -> Iterator[ImageFile.ImageFile]:
    """The photo opened from its header, with only the sniffed format's decoder allowed and
    its dimensions checked; decoding errors inside the block become refusals."""
    stream.seek(0)
    kind = sniff(stream.read(16))
    stream.seek(0)
    if kind is None:
        raise PhotoRefused(refusal(name, NOT_A_PHOTO))
    try:
        with Image.open(stream, formats=[kind]) as opened:
            _check_dimensions(opened, name)
            yield opened
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRefused(
            refusal(name, TOO_MANY_PIXELS, megapixels=MAX_PIXELS // 10**6)
        ) from error
    except DECODING_ERRORS as error:  # truncated, corrupt, or lying about its format
        logger.info("Refused %r as damaged: %s", name, error)
        raise PhotoRefused(refusal(name, DAMAGED)) from error


def _check_dimensions(opened: Image.Image, name: str) -> None:
    """Refuse bombs and tiny photos from the header alone, before any pixel is decoded."""
    width, height = opened.size
    if width * height > MAX_PIXELS:
        raise PhotoRefused(refusal(name, TOO_MANY_PIXELS, megapixels=MAX_PIXELS // 10**6))
    if min(width, height) < settings.PHOTO_MIN_SIDE:
        raise PhotoRefused(refusal(name, TOO_SMALL, side=settings.PHOTO_MIN_SIDE))


def _judge(measured: quality.PhotoQuality, name: str) -> list[StrPromise]:
    """Refuse a photo without exactly one face; return warnings for what merely trains worse."""
    if measured.faces == 0:
        raise PhotoRefused(refusal(name, NO_FACE))
    if measured.faces > 1:
        raise PhotoRefused(refusal(name, SEVERAL_FACES))
    found: list[StrPromise] = []
    if measured.small_face:
        found.append(message(SMALL_FACE, name=name))
    if measured.blurred:
        found.append(message(BLURRED, name=name))
    return found


def _save(image: Image.Image, out_dir: Path) -> tuple[Path, int]:
    """Encode as a bare JPEG: no EXIF, no ICC profile, no comment."""
    handle, name = tempfile.mkstemp(suffix=".jpg", dir=out_dir)
    with os.fdopen(handle, "wb") as out:
        image.save(out, "JPEG", quality=JPEG_QUALITY, exif=b"", icc_profile=None)
        return Path(name), out.tell()
