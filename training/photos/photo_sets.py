"""An order's photos as one set: from the form's uploads, or from a ZIP sent to the API.

    with prepare_photo_set(files) as photo_set:       # raises PhotoSetRefused
        size = write_training_zip(photo_set, storage=default_storage, name="training-sets/x.zip")

Everything temporary lives in one folder per set under FILE_UPLOAD_TEMP_DIR, removed when the
`with` block is left, whatever happened (a ZIP is unpacked there and goes through
`prepare_photo_set` too). Set-level checks live here: count, total size, pixels in all,
near-duplicates, and one person in every photo (`one_person.py`). A clamd that is configured
but not answering refuses the whole set with a set-level `PhotoProblem` and
`PhotoSetRefused.retryable` set: the person can only try later.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from lib.uploads import upload_temp_folder
from training.photos import one_person, quality, scanning, zip_reading
from training.photos.cleaning import CleanedPhoto, develop, inspect_photo, opened
from training.photos.problems import (
    DUPLICATE,
    FILE_TOO_BIG,
    MB,
    SCANNER_DOWN,
    TOO_FEW,
    TOO_MANY,
    TOO_MANY_PIXELS_IN_ALL,
    TOTAL_TOO_BIG,
    PhotoProblem,
    PhotoRefused,
    PhotoSetRefused,
    refusal,
    zip_problem,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


@dataclass
class PhotoSet:
    """The cleaned photos of one order, in upload order, alive inside `prepare_photo_set`."""

    photos: list[CleanedPhoto]
    input_bytes: int
    directory: Path

    @property
    def face_embeddings(self) -> list[list[float]]:
        """One face descriptor per photo (none when FACE_ANALYSIS_ENABLED is off), to keep on
        the order after the photos are gone."""
        return one_person.face_embeddings(self.photos)


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
        refusal(upload.name or "?", FILE_TOO_BIG, mb=settings.PHOTO_MAX_MB)
        for upload in files
        if (upload.size or 0) > settings.PHOTO_MAX_MB * MB
    ]
    if len(files) > settings.PHOTOS_MAX:
        problems.insert(0, refusal(None, TOO_MANY, maximum=settings.PHOTOS_MAX, count=len(files)))
    if _input_bytes(files) > settings.PHOTOS_TOTAL_MAX_MB * MB:
        problems.insert(0, refusal(None, TOTAL_TOO_BIG, mb=settings.PHOTOS_TOTAL_MAX_MB))
    if problems:
        raise PhotoSetRefused(problems)


def _new_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="photo-set-", dir=upload_temp_folder()))


def _clean_all(files: Sequence[UploadedFile], directory: Path) -> list[CleanedPhoto]:
    """Clean every photo in a few threads (Pillow, OpenCV and dlib release the GIL), keeping
    order.

    Every photo is first inspected (scanned, its header read), and the set refused if
    decoding it all would take more pixels than PHOTOS_TOTAL_MAX_MEGAPIXELS: a 6 KB PNG may
    declare 49 megapixels, and twenty of them cost half a minute and gigabytes to decode.
    """
    problems: list[PhotoProblem] = []
    if len(files) < settings.PHOTOS_MIN:
        problems.append(refusal(None, TOO_FEW, minimum=settings.PHOTOS_MIN, count=len(files)))
    with ThreadPoolExecutor(settings.PHOTO_WORKERS, thread_name_prefix="photo") as pool:
        try:
            inspected = list(pool.map(_inspect_upload, files))
        except scanning.ScannerUnavailable:
            logger.exception("clamd is configured but did not answer; refusing the photo set")
            raise PhotoSetRefused([refusal(None, SCANNER_DOWN)], retryable=True) from None
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
    distinct, duplicates = _refuse_duplicates(photos)
    problems += duplicates
    if settings.FACE_ANALYSIS_ENABLED:
        problems += one_person.refuse_other_people(distinct)
    if problems:
        raise PhotoSetRefused(problems)
    return photos


def _too_many_pixels_in_all() -> PhotoProblem:
    return refusal(
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
    with opened(source) as stream:
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
            return develop(stream, name=upload.name or "?", out_dir=out_dir)
    except PhotoRefused as refused:
        return refused.problem


def _refuse_duplicates(
    photos: list[CleanedPhoto],
) -> tuple[list[CleanedPhoto], list[PhotoProblem]]:
    """Refuse every photo that is nearly the same as an earlier one of the set; return the
    others too (a copy must not count twice towards whose face the set shows)."""
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
            problems.append(refusal(photo.source_name, DUPLICATE, other=other))
    return earlier, problems


@contextlib.contextmanager
def validate_zip_file(path: Path) -> Iterator[PhotoSet]:
    """The spec's validateZipFile: the archive checked from its directory, then every photo
    checked and cleaned like the form's. Raises PhotoSetRefused; leaves no temporary file."""
    limits = zip_reading.ZipLimits(
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
            entries = zip_reading.photo_entries(path, limits)
            extracted = zip_reading.extract(path, entries, directory, limits.max_entry_bytes)
        except zip_reading.ZipRefused as refused:
            raise PhotoSetRefused([zip_problem(problem) for problem in refused.problems]) from None
        except (zipfile.BadZipFile, OSError, EOFError):
            raise PhotoSetRefused([zip_problem(zip_reading.ZipProblem("not_a_zip"))]) from None
        with prepare_photo_set(cast(Sequence[UploadedFile], extracted)) as photo_set:
            yield photo_set
    finally:
        shutil.rmtree(directory, ignore_errors=True)
