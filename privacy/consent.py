"""The consent a person gives before any photo of theirs is analysed.

The text names what happens to the photos (checked for faces and likeness, sent to Replicate
outside the EU, deleted on the privacy page's schedule). Its version is recorded with the order,
so that a later change of wording never rewrites what someone agreed to: change the text, then
bump CONSENT_VERSION.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CONSENT_VERSION = "2026-12"

CONSENT_TEXT = _(
    "I agree that my photos are checked (faces and likeness), sent to Replicate (a processor "
    "in the United States, outside the EU) to train a private model of me, and deleted on the "
    "schedule of the privacy page."
)
CONSENT_REQUIRED = _(
    "We need your consent before we look at your photos. Nothing was analysed, stored or charged."
)


@dataclass(frozen=True)
class Consent:
    """What the person agreed to, and when: stored with the order."""

    version: str
    given_at: datetime


def consent_now() -> Consent:
    """The consent given with this request, in the current wording."""
    return Consent(version=CONSENT_VERSION, given_at=timezone.now())


def consent_text() -> str | Promise:
    return CONSENT_TEXT
