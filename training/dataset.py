"""Check and prepare an order's photos, then pack them into the training ZIP.

The server-side truth, whatever the browser did: every upload is sniffed from its bytes, scanned
for malware before any decoder sees it (when clamd is configured), decoded with bomb limits,
turned upright, stripped of every piece of metadata (GPS above all), converted to sRGB, shrunk to
the training size (that pixel work is `photos.py`'s) and re-encoded as JPEG. The quality checks
of `quality.py` then refuse photos without exactly one face and near-duplicates, and warn about
small faces and blur.

    with prepare_photo_set(files) as photo_set:       # raises PhotoSetRefused
        size = write_training_zip(photo_set, storage=default_storage, name="training-sets/x.zip")

Everything temporary lives in one folder per set under FILE_UPLOAD_TEMP_DIR, removed when the
`with` block is left, whatever happened (a ZIP sent to the API is unpacked and goes through
`prepare_photo_set` too). `clean_photo` is the per-photo step on its own, as the tests and
`bench/dataset.py` measure it.

A clamd that is configured but not answering refuses the whole set with a set-level
`PhotoProblem` and `PhotoSetRefused.retryable` set: the person can only try again later.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageFile

from headshots.storage import save_whole
from headshots.uploads import upload_temp_folder
from training import photos, quality, scanning, zips

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

logger = logging.getLogger(__name__)
MB = 1024 * 1024

# Pillow and OpenCV are set up for untrusted photos by TrainingConfig.ready()
# (`photos.configure_image_libraries`): no process-wide setting changes on import.
MAX_PIXELS = photos.MAX_PIXELS

JPEG_QUALITY = 90
# What decoding untrusted bytes may raise, besides our own refusals (pillow-heif raises
# RuntimeError/ValueError, Pillow's plugins OSError, SyntaxError, EOFError or struct.error).
DECODING_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error)
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1"}

NOT_A_PHOTO = _("%(name)s: this file is not a photo (JPEG, PNG, HEIC or WebP).")
DAMAGED = _("%(name)s: this photo is damaged or incomplete.")
FILE_TOO_BIG = _("%(name)s: this file is larger than %(mb)s MB.")
TOO_MANY_PIXELS = _("%(name)s: this photo has more than %(megapixels)s million pixels.")
TOO_SMALL = _("%(name)s: this photo is too small; it must be at least %(side)s x %(side)s pixels.")
NO_FACE = _("%(name)s: no face found; use a photo where your face is clearly visible.")
SEVERAL_FACES = _("%(name)s: more than one person in this photo; use photos of you alone.")
DUPLICATE = _("%(name)s: this photo is nearly the same as %(other)s; use different photos.")
INFECTED = _("%(name)s: the virus scanner flagged this file.")
SMALL_FACE = _("%(name)s: your face is small in this photo; a closer photo trains better.")
BLURRED = _("%(name)s: this photo looks blurred; a sharper photo trains better.")
TOO_FEW = _("Upload at least %(minimum)s photos (you sent %(count)s).")
TOO_MANY = _("Upload at most %(maximum)s photos (you sent %(count)s).")
TOTAL_TOO_BIG = _("The photos add up to more than %(mb)s MB; send fewer or smaller photos.")
ZIP_TOO_BIG = _("The prepared photos add up to more than %(mb)s MB; send fewer photos.")
SCANNER_DOWN = _("The virus scanner is not answering, try again later.")
TOO_MANY_PIXELS_IN_ALL = _(
    "Together, the photos are too large to process: more than %(megapixels)s million pixels. "
    "Send fewer photos, or smaller ones: %(side)s pixels on the long side are enough."
)
MORE_PROBLEMS = _(
    "Some files cannot be used, and %(count)s more problems are not listed: "
    "fix these first, then try again."
)
# A refusal lists this many problems and counts the rest: its answer (a page, or the API's
# JSON) stays a few kilobytes whatever was uploaded.
MAX_PROBLEMS_LISTED = 20


def _interpolate(text: StrPromise | str, params: dict[str, Any]) -> str:
    return str(text) % params


# Photos are cleaned in worker threads, which do not have the reader's language: messages stay
# lazy, placeholders included, until the page renders them.
_lazy_interpolate = lazy(_interpolate, str)


def message(text: StrPromise, **params: Any) -> StrPromise:
    """A translatable sentence with its placeholders, translated only when it is shown."""
    return cast("StrPromise", _lazy_interpolate(text, params))


@dataclass(frozen=True)
class PhotoProblem:
    """Why a photo (or, with photo_name None, the whole set) was refused, for the person."""

    photo_name: str | None
    message: StrPromise


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


@dataclass
class PhotoSet:
    """The cleaned photos of one order, in upload order, alive inside `prepare_photo_set`."""

    photos: list[CleanedPhoto]
    input_bytes: int
    directory: Path


class PhotoRefused(Exception):
    """One photo cannot be used; `problem` says why in words a person understands."""

    def __init__(self, problem: PhotoProblem) -> None:
        super().__init__(str(problem.message))
        self.problem = problem


class PhotoSetRefused(Exception):
    """The set cannot be used; `problems` lists every reason found, photo by photo."""

    def __init__(self, problems: list[PhotoProblem], *, retryable: bool = False) -> None:
        problems = _listed(problems)
        super().__init__("; ".join(str(problem.message) for problem in problems))
        self.problems = problems
        # True when nothing is wrong with the photos and the same upload may succeed later.
        self.retryable = retryable


class TrainingSetNotStored(Exception):
    """The storage failed while the ZIP was written; nothing of it was left behind."""


def _refusal(name: str | None, text: StrPromise, **params: Any) -> PhotoProblem:
    return PhotoProblem(photo_name=name, message=message(text, name=name, **params))


def _listed(problems: list[PhotoProblem]) -> list[PhotoProblem]:
    """The first MAX_PROBLEMS_LISTED problems, and a sentence counting the others."""
    if len(problems) <= MAX_PROBLEMS_LISTED:
        return problems
    unlisted = len(problems) - MAX_PROBLEMS_LISTED
    return [*problems[:MAX_PROBLEMS_LISTED], _refusal(None, MORE_PROBLEMS, count=unlisted)]


# --- One photo --------------------------------------------------------------------------------


def clean_photo(
    source: IO[bytes] | str | os.PathLike[str], *, name: str, out_dir: Path
) -> CleanedPhoto:
    """Check, scan, decode and clean one photo into a new JPEG in `out_dir`.

    Raises PhotoRefused (with the reason) or scanning.ScannerUnavailable. Set-level checks
    (count, total size, pixels in all, duplicates) are the caller's.
    """
    with _opened(source) as stream:
        inspect_photo(stream, name=name)
        return _develop(stream, name=name, out_dir=out_dir)


def inspect_photo(stream: IO[bytes], *, name: str) -> int:
    """Check the file's size, scan it and read its header; return how many pixels decoding
    it will make (what it costs), so that a set can be refused before anything is decoded.

    Raises PhotoRefused or scanning.ScannerUnavailable.
    """
    _check_file_size(stream, name)
    _scan(stream, name)
    with _header(stream, name) as opened:
        return photos.decoded_pixels(opened, settings.TRAINING_IMAGE_SIDE)


def _develop(stream: IO[bytes], *, name: str, out_dir: Path) -> CleanedPhoto:
    """Decode, judge and save an inspected photo."""
    with _header(stream, name) as opened:
        image = photos.normalised(opened, settings.TRAINING_IMAGE_SIDE)
    measured = quality.assess(image)
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
def _opened(source: IO[bytes] | str | os.PathLike[str]) -> Iterator[IO[bytes]]:
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
        raise PhotoRefused(_refusal(name, FILE_TOO_BIG, mb=settings.PHOTO_MAX_MB))


def _scan(stream: IO[bytes], name: str) -> None:
    """Let clamd read the bytes before any decoder does, when it is configured."""
    if not settings.CLAMD_URL:
        return
    try:
        scanning.scan(stream, url=settings.CLAMD_URL)
    except scanning.InfectedFile as infected:
        logger.warning("clamd found %s in an upload named %r", infected.signature, name)
        raise PhotoRefused(_refusal(name, INFECTED)) from infected
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
        raise PhotoRefused(_refusal(name, NOT_A_PHOTO))
    try:
        with Image.open(stream, formats=[kind]) as opened:
            _check_dimensions(opened, name)
            yield opened
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRefused(
            _refusal(name, TOO_MANY_PIXELS, megapixels=MAX_PIXELS // 10**6)
        ) from error
    except DECODING_ERRORS as error:  # truncated, corrupt, or lying about its format
        logger.info("Refused %r as damaged: %s", name, error)
        raise PhotoRefused(_refusal(name, DAMAGED)) from error


def _check_dimensions(opened: Image.Image, name: str) -> None:
    """Refuse bombs and tiny photos from the header alone, before any pixel is decoded."""
    width, height = opened.size
    if width * height > MAX_PIXELS:
        raise PhotoRefused(_refusal(name, TOO_MANY_PIXELS, megapixels=MAX_PIXELS // 10**6))
    if min(width, height) < settings.PHOTO_MIN_SIDE:
        raise PhotoRefused(_refusal(name, TOO_SMALL, side=settings.PHOTO_MIN_SIDE))


def _judge(measured: quality.PhotoQuality, name: str) -> list[StrPromise]:
    """Refuse a photo without exactly one face; return warnings for what merely trains worse."""
    if measured.faces == 0:
        raise PhotoRefused(_refusal(name, NO_FACE))
    if measured.faces > 1:
        raise PhotoRefused(_refusal(name, SEVERAL_FACES))
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


# --- The set ----------------------------------------------------------------------------------


@contextlib.contextmanager
def prepare_photo_set(files: Sequence[UploadedFile]) -> Iterator[PhotoSet]:
    """Clean an order's uploads into a PhotoSet, or raise PhotoSetRefused with every problem.

    Whatever happens inside or outside, the set's temporary folder is gone when this exits.
    """
    _refuse_oversized(files)
    directory = _new_directory()
    try:
        photos = _clean_all(files, directory)
        yield PhotoSet(photos=photos, input_bytes=_input_bytes(files), directory=directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _input_bytes(files: Sequence[UploadedFile]) -> int:
    return sum(upload.size or 0 for upload in files)


def _refuse_oversized(files: Sequence[UploadedFile]) -> None:
    """Refuse, before decoding anything, a set too large to be worth the work."""
    problems = [
        _refusal(upload.name or "?", FILE_TOO_BIG, mb=settings.PHOTO_MAX_MB)
        for upload in files
        if (upload.size or 0) > settings.PHOTO_MAX_MB * MB
    ]
    if len(files) > settings.PHOTOS_MAX:
        problems.insert(0, _refusal(None, TOO_MANY, maximum=settings.PHOTOS_MAX, count=len(files)))
    if _input_bytes(files) > settings.PHOTOS_TOTAL_MAX_MB * MB:
        problems.insert(0, _refusal(None, TOTAL_TOO_BIG, mb=settings.PHOTOS_TOTAL_MAX_MB))
    if problems:
        raise PhotoSetRefused(problems)


def _new_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="photo-set-", dir=upload_temp_folder()))


def _clean_all(files: Sequence[UploadedFile], directory: Path) -> list[CleanedPhoto]:
    """Clean every photo in a few threads (Pillow and OpenCV release the GIL), keeping order.

    Every photo is first inspected (scanned, its header read), and the set refused if
    decoding it all would take more pixels than PHOTOS_TOTAL_MAX_MEGAPIXELS: a 6 KB PNG may
    declare 49 megapixels, and twenty of them cost half a minute and gigabytes to decode.
    """
    problems: list[PhotoProblem] = []
    if len(files) < settings.PHOTOS_MIN:
        problems.append(_refusal(None, TOO_FEW, minimum=settings.PHOTOS_MIN, count=len(files)))
    with ThreadPoolExecutor(settings.PHOTO_WORKERS, thread_name_prefix="photo") as pool:
        try:
            inspected = list(pool.map(_inspect_upload, files))
        except scanning.ScannerUnavailable:
            logger.exception("clamd is configured but did not answer; refusing the photo set")
            raise PhotoSetRefused([_refusal(None, SCANNER_DOWN)], retryable=True) from None
        problems += [outcome for outcome in inspected if isinstance(outcome, PhotoProblem)]
        pixels = sum(outcome for outcome in inspected if isinstance(outcome, int))
        if pixels > settings.PHOTOS_TOTAL_MAX_MEGAPIXELS * 10**6:
            problems.append(_too_many_pixels_in_all())
            raise PhotoSetRefused(problems)
        usable = [
            f for f, outcome in zip(files, inspected, strict=True) if isinstance(outcome, int)
        ]
        outcomes = list(pool.map(partial(_develop_upload, out_dir=directory), usable))
    photos = [outcome for outcome in outcomes if isinstance(outcome, CleanedPhoto)]
    problems += [outcome for outcome in outcomes if isinstance(outcome, PhotoProblem)]
    problems += _refuse_duplicates(photos)
    if problems:
        raise PhotoSetRefused(problems)
    return photos


def _too_many_pixels_in_all() -> PhotoProblem:
    return _refusal(
        None,
        TOO_MANY_PIXELS_IN_ALL,
        megapixels=settings.PHOTOS_TOTAL_MAX_MEGAPIXELS,
        side=settings.TRAINING_IMAGE_SIDE,
    )


@contextlib.contextmanager
def _upload_stream(upload: UploadedFile) -> Iterator[IO[bytes]]:
    """The upload's bytes, from its temporary file when Django streamed it to disk."""
    if hasattr(upload, "temporary_file_path"):
        source: IO[bytes] | str = upload.temporary_file_path()
    else:
        source = upload.file  # type: ignore[assignment]  # an in-memory upload's BytesIO
    with _opened(source) as stream:
        yield stream


def _inspect_upload(upload: UploadedFile) -> int | PhotoProblem:
    """The pixels one upload will decode to, or why it is refused."""
    try:
        with _upload_stream(upload) as stream:
            return inspect_photo(stream, name=upload.name or "?")
    except PhotoRefused as refused:
        return refused.problem


def _develop_upload(upload: UploadedFile, *, out_dir: Path) -> CleanedPhoto | PhotoProblem:
    """One inspected upload, cleaned (not scanned again)."""
    try:
        with _upload_stream(upload) as stream:
            return _develop(stream, name=upload.name or "?", out_dir=out_dir)
    except PhotoRefused as refused:
        return refused.problem


def _refuse_duplicates(photos: list[CleanedPhoto]) -> list[PhotoProblem]:
    """Refuse every photo that is nearly the same as an earlier one of the set."""
    problems = []
    earlier: list[CleanedPhoto] = []
    for photo in photos:
        index = quality.duplicate_of(
            photo.quality.fingerprint, [p.quality.fingerprint for p in earlier]
        )
        if index is None:
            earlier.append(photo)
        else:
            other = earlier[index].source_name
            problems.append(_refusal(photo.source_name, DUPLICATE, other=other))
    return problems


# --- The ZIP ----------------------------------------------------------------------------------


def write_training_zip(
    photo_set: PhotoSet, *, storage: Storage = default_storage, name: str
) -> int:
    """Pack the photos as image_1.jpg … image_N.jpg into `name` on `storage`; return its size.

    The ZIP is written to the set's temporary folder one photo at a time (stored, not
    deflated: JPEGs do not shrink), so no more than a buffer of it is ever in memory.
    Raises PhotoSetRefused if it exceeds MAX_ZIP_MB, TrainingSetNotStored if the storage fails.
    """
    path = photo_set.directory / "training-set.zip"
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
            for number, photo in enumerate(photo_set.photos, start=1):
                archive.write(photo.path, f"image_{number}.jpg")
        size = path.stat().st_size
        if size > settings.MAX_ZIP_MB * MB:
            raise PhotoSetRefused([_refusal(None, ZIP_TOO_BIG, mb=settings.MAX_ZIP_MB)])
        _store(path, storage=storage, name=name)
        return size
    finally:
        path.unlink(missing_ok=True)


def _store(path: Path, *, storage: Storage, name: str) -> None:
    """Save the file under exactly `name`; on any failure make sure no object is left there."""
    try:
        if storage.exists(name):  # never overwrite, nor later delete, someone else's object
            raise TrainingSetNotStored(f"{name} already exists in the storage")
        with path.open("rb") as stream:
            saved = save_whole(storage, name, stream)  # a full disk leaves no partial ZIP
    except TrainingSetNotStored:
        raise
    except Exception as error:  # any storage backend, any failure: clean up, then say so
        _delete_quietly(storage, name)
        raise TrainingSetNotStored(f"Could not store {name}: {error}") from error
    if saved != name:  # the storage renamed it: the order would point at nothing
        _delete_quietly(storage, saved)
        raise TrainingSetNotStored(f"The storage saved {name} as {saved}")


def _delete_quietly(storage: Storage, name: str) -> None:
    """Remove what a failed save may have left; a storage that is down may refuse this too."""
    try:
        storage.delete(name)
    except Exception:
        logger.exception("Could not delete %s after a failed save; remove it by hand", name)


# --- A ZIP of photos (the train-model API) ----------------------------------------------------

ZIP_MESSAGES = {
    "zip_too_big": _("The ZIP is larger than %(mb)s MB."),
    "not_a_zip": _("This file is not a ZIP archive, or it is damaged."),
    "too_many_entries": _(
        "The ZIP holds %(count)s files; an order takes at most %(maximum)s photos."
    ),
    "directory_too_big": _(
        "The ZIP's list of files is larger than a ZIP of %(maximum)s photos needs; "
        "zip only the photos."
    ),
    "unreadable": _(
        "%(name)s: this file in the ZIP cannot be read: it is damaged, or compressed in a way "
        "we do not support. Make the ZIP again with your computer's own “Compress” command."
    ),
    "too_big_uncompressed": _("The photos in the ZIP add up to more than %(mb)s MB."),
    "unsafe_path": _("%(name)s: a path that leaves the archive's folder is not allowed."),
    "symlink": _("%(name)s: links are not allowed in the ZIP."),
    "encrypted": _("%(name)s: encrypted entries are not allowed."),
    "nested_archive": _("%(name)s: archives inside the ZIP are not allowed."),
    "entry_too_big": _("%(name)s: this file is larger than %(mb)s MB."),
    "bomb": _("%(name)s: this entry expands far more than a photo can (a ZIP bomb?)."),
}


@contextlib.contextmanager
def validate_zip_file(path: Path) -> Iterator[PhotoSet]:
    """The spec's validateZipFile: the archive checked from its directory, then every photo
    checked and cleaned like the form's. Raises PhotoSetRefused; leaves no temporary file."""
    limits = zips.ZipLimits(
        max_zip_bytes=settings.MAX_ZIP_MB * MB,
        max_entries=settings.PHOTOS_MAX,
        max_entry_bytes=settings.PHOTO_MAX_MB * MB,
        max_total_bytes=settings.PHOTOS_TOTAL_MAX_MB * MB,
        # Room for folders and a macOS `._` twin of every photo, and for long names; no more:
        # zipfile parses the whole directory as soon as it opens the ZIP.
        max_directory_entries=2 * settings.PHOTOS_MAX + 32,
        max_directory_bytes=(2 * settings.PHOTOS_MAX + 32) * 2048,
    )
    directory = _new_directory()
    try:
        try:
            entries = zips.photo_entries(path, limits)
            extracted = zips.extract(path, entries, directory, limits.max_entry_bytes)
        except zips.ZipRefused as refused:
            raise PhotoSetRefused([zip_problem(problem) for problem in refused.problems]) from None
        except (zipfile.BadZipFile, OSError, EOFError):
            raise PhotoSetRefused([zip_problem(zips.ZipProblem("not_a_zip"))]) from None
        with prepare_photo_set(cast(Sequence[UploadedFile], extracted)) as photo_set:
            yield photo_set
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# The limit each refusal quotes, by code: one shared list of parameters once had the
# uncompressed total quote PHOTO_MAX_MB ("more than 20 MB" under a 100 MB limit).
ZIP_LIMITS: dict[str, Callable[[], dict[str, Any]]] = {
    "zip_too_big": lambda: {"mb": settings.MAX_ZIP_MB},
    "too_many_entries": lambda: {"maximum": settings.PHOTOS_MAX},
    "directory_too_big": lambda: {"maximum": settings.PHOTOS_MAX},
    "too_big_uncompressed": lambda: {"mb": settings.PHOTOS_TOTAL_MAX_MB},
    "entry_too_big": lambda: {"mb": settings.PHOTO_MAX_MB},
}


def zip_problem(problem: zips.ZipProblem) -> PhotoProblem:
    """The sentence for one ZIP refusal, with the limit that refusal is about."""
    limits = ZIP_LIMITS.get(problem.code, dict)()
    return _refusal(problem.entry, ZIP_MESSAGES[problem.code], count=problem.count, **limits)
