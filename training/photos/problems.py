"""Why photos are refused, in words a person understands: every sentence, and the exceptions.

One list for the translators and for the photo pipeline's modules (`cleaning` for one photo,
`photo_sets` for a set or a ZIP, `zip_writing` for the training ZIP). Messages stay lazy,
placeholders included, until a page or the API renders them in the reader's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from training.photos import zip_reading

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

logger = logging.getLogger(__name__)


if TYPE_CHECKING:
    from django_stubs_ext import StrPromise
logger = logging.getLogger(__name__)
MB = 1024 * 1024
NOT_A_PHOTO = _("%(name)s: this file is not a photo (JPEG, PNG, HEIC or WebP).")
DAMAGED = _("%(name)s: this photo is damaged or incomplete.")
FILE_TOO_BIG = _("%(name)s: this file is larger than %(mb)s MB.")
TOO_MANY_PIXELS = _(
    "%(name)s: this photo has more than %(megapixels)s million pixels. Save a smaller copy "
    "(4000 pixels on the long side are plenty) and add that one instead."
)
TOO_SMALL = _("%(name)s: this photo is too small; it must be at least %(side)s x %(side)s pixels.")
NO_FACE = _("%(name)s: no face found; use a photo where your face is clearly visible.")
SEVERAL_FACES = _("%(name)s: more than one person in this photo; use photos of you alone.")
OTHER_PERSON = _(
    "%(name)s: this seems to be a different person from your other photos; use photos of you alone."
)
DIFFERENT_PEOPLE = _(
    "The photos seem to show different people: upload photos of one person only, "
    "and of that person alone."
)
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


def refusal(name: str | None, text: StrPromise, **params: Any) -> PhotoProblem:
    return PhotoProblem(photo_name=name, message=message(text, name=name, **params))


def _listed(problems: list[PhotoProblem]) -> list[PhotoProblem]:
    """The first MAX_PROBLEMS_LISTED problems, and a sentence counting the others."""
    if len(problems) <= MAX_PROBLEMS_LISTED:
        return problems
    unlisted = len(problems) - MAX_PROBLEMS_LISTED
    return [*problems[:MAX_PROBLEMS_LISTED], refusal(None, MORE_PROBLEMS, count=unlisted)]


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
# The limit each refusal quotes, by code: one shared list of parameters once had the
# uncompressed total quote PHOTO_MAX_MB ("more than 20 MB" under a 100 MB limit).
ZIP_LIMITS: dict[str, Callable[[], dict[str, Any]]] = {
    "zip_too_big": lambda: {"mb": settings.MAX_ZIP_MB},
    "too_many_entries": lambda: {"maximum": settings.PHOTOS_MAX},
    "directory_too_big": lambda: {"maximum": settings.PHOTOS_MAX},
    "too_big_uncompressed": lambda: {"mb": settings.PHOTOS_TOTAL_MAX_MB},
    "entry_too_big": lambda: {"mb": settings.PHOTO_MAX_MB},
}


def zip_problem(problem: zip_reading.ZipProblem) -> PhotoProblem:
    """The sentence for one ZIP refusal, with the limit that refusal is about."""
    limits = ZIP_LIMITS.get(problem.code, dict)()
    return refusal(problem.entry, ZIP_MESSAGES[problem.code], count=problem.count, **limits)
