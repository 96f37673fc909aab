"""Signed, expiring links to a person's images, so a copied URL stops working after a while.

With S3 the view then redirects to a presigned URL that expires too; with local files the view
streams the file itself (the media folder is never served raw). The token names the image and
its variant, so it cannot be reused for another file, and it expires after
IMAGE_URL_TTL_SECONDS.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "headshots.file-link"


def file_link(*, order_uuid: object, headshot_id: int, variant: str, download: bool = False) -> str:
    """The URL of one image of an order, with a fresh token."""
    token = signing.TimestampSigner(salt=SALT).sign(f"{headshot_id}:{variant}")
    url = reverse(
        "training:headshot_file",
        kwargs={"order_uuid": order_uuid, "headshot_id": headshot_id, "variant": variant},
    )
    return f"{url}?t={token}" + ("&download=1" if download else "")


def link_is_valid(token: str, *, headshot_id: int, variant: str) -> bool:
    """The token was made by us, for this image and variant, less than the TTL ago."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=settings.IMAGE_URL_TTL_SECONDS
        )
    except signing.BadSignature:  # also SignatureExpired
        return False
    return value == f"{headshot_id}:{variant}"


STAFF_SALT = "headshots.staff-file-link"


def staff_file_link(*, headshot_id: int, variant: str) -> str:
    """The admin's link to a person's image: signed and expiring like the person's own, with
    its own salt, so neither kind of token opens the other's view."""
    token = signing.TimestampSigner(salt=STAFF_SALT).sign(f"{headshot_id}:{variant}")
    url = reverse("admin:training_headshot_file", args=(headshot_id, variant))
    return f"{url}?t={token}"


def staff_link_is_valid(token: str, *, headshot_id: int, variant: str) -> bool:
    try:
        value = signing.TimestampSigner(salt=STAFF_SALT).unsign(
            token, max_age=settings.IMAGE_URL_TTL_SECONDS
        )
    except signing.BadSignature:
        return False
    return value == f"{headshot_id}:{variant}"
