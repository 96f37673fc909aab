"""A headshot in the format the person asks for: the print-ready JPEG (stored by the worker),
a PNG of the original, or the LinkedIn square; and the JPEGs that go into the order's ZIP.

The JPEG is stored when the headshot is (`completion.store_output`), so the usual download is
a stored file. The PNG and the square are made on request from the original (about 0.1 s for
1024x1024, measured, against a second to store both for every headshot that nobody may ask
for); a headshot stored before print-ready JPEGs existed gets its JPEG made on request too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.utils.translation import gettext_noop as _

from lib import print_ready
from training.models import Headshot, download_stems

FORMATS = ("jpg", "png", "linkedin")
DEFAULT_FORMAT = "jpg"
UNKNOWN_FORMAT = _("Choose a download format: jpg, png or linkedin.")


class UnknownFormat(ValueError):
    """The format asked for is not one we make."""


@dataclass(frozen=True)
class Download:
    """What to send: a stored file (`stored_name`) or bytes made now (`content`)."""

    filename: str
    content_type: str
    stored_name: str = ""
    content: bytes = b""


def headshot_download(*, headshot: Headshot, file_format: str) -> Download:
    """The headshot as `file_format` (one of FORMATS); UnknownFormat otherwise."""
    if file_format not in FORMATS:
        raise UnknownFormat(file_format)
    stem = headshot.download_stem
    if file_format == "jpg" and headshot.jpeg:
        return Download(f"{stem}.jpg", "image/jpeg", stored_name=str(headshot.jpeg.name))
    maker, filename, content_type = {
        "jpg": (print_ready.print_jpeg, f"{stem}.jpg", "image/jpeg"),
        "png": (print_ready.clean_png, f"{stem}.png", "image/png"),
        "linkedin": (_square_for(headshot), f"{stem}-linkedin.jpg", "image/jpeg"),
    }[file_format]
    return Download(filename, content_type, content=maker(_original(headshot)))


def zip_entries(headshots: list[Headshot]) -> list[tuple[str, str | Callable[[], bytes]]]:
    """(name in the ZIP, stored JPEG or a maker of it) for each headshot: print-ready JPEGs.
    The headshots are one order's; their names are read in one query."""
    if not headshots:
        return []
    stems = download_stems(headshots[0].order_id)
    entries: list[tuple[str, str | Callable[[], bytes]]] = []
    for headshot in headshots:
        name = f"{stems[headshot.pk]}.jpg"
        if headshot.jpeg:
            entries.append((name, str(headshot.jpeg.name)))
        else:  # stored before print-ready JPEGs: made while the ZIP streams
            entries.append((name, _jpeg_maker(headshot)))
    return entries


def _square_for(headshot: Headshot) -> Callable[[print_ready.Image.Image], bytes]:
    box = headshot.face_box if len(headshot.face_box or []) == 4 else None
    return lambda image: print_ready.linkedin_square(image, box)


def _jpeg_maker(headshot: Headshot) -> Callable[[], bytes]:
    return lambda: print_ready.print_jpeg(_original(headshot))


def _original(headshot: Headshot) -> print_ready.Image.Image:
    with default_storage.open(str(headshot.image.name), "rb") as stored:
        return print_ready.decoded(stored.read())
