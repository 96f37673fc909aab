"""The privacy page's facts, read from the settings the code itself obeys.

The page is generated from these, never written by hand, so that it cannot drift from what the
retention rules, the processors and the consent actually are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language

from privacy.consent import CONSENT_TEXT, CONSENT_VERSION

PAGE_NAMES = {"es": "privacy", "en": "privacy_en"}


@dataclass(frozen=True)
class Processor:
    """Someone who handles personal data for us, and where."""

    name: str
    purpose: str
    where: str


def privacy_path(language: str | None = None) -> str:
    """The privacy page in a language (the active one by default): /privacidad/ or /privacy/."""
    code = (language or get_language() or settings.LANGUAGE_CODE)[:2]
    return reverse(PAGE_NAMES.get(code, PAGE_NAMES["es"]))


def processors() -> list[Processor]:
    """Replicate, the storage provider and the e-mail provider, as configured."""
    return [
        Processor("Replicate, Inc.", "training", "United States (outside the EU)"),
        Processor(settings.PRIVACY_STORAGE_PROVIDER, "storage", ""),
        Processor(settings.PRIVACY_EMAIL_PROVIDER, "email", ""),
    ]


def failed_face_data_kept() -> timedelta:
    """How long a failed order keeps its face data: as long as its photos, for a staff retry
    (TEMP_RETENTION_HOURS), or FACE_DATA_RETENTION_DAYS when that is longer."""
    return max(
        timedelta(hours=settings.TEMP_RETENTION_HOURS),
        timedelta(days=settings.FACE_DATA_RETENTION_DAYS),
    )


def policy_facts() -> dict[str, object]:
    """Everything the page states, straight from the settings."""
    return {
        "operator": settings.PRIVACY_OPERATOR_NAME,
        "contact": settings.PRIVACY_CONTACT_EMAIL,
        "address": settings.PRIVACY_OPERATOR_ADDRESS,
        "processors": processors(),
        "temp_hours": settings.TEMP_RETENTION_HOURS,
        "face_days": settings.FACE_DATA_RETENTION_DAYS,
        "face_failed_hours": int(failed_face_data_kept().total_seconds() // 3600),
        "headshot_days": settings.HEADSHOT_RETENTION_DAYS,
        "reminder_days": settings.HEADSHOT_REMINDER_DAYS,
        "export_hours": settings.DATA_EXPORT_TTL_HOURS,
        "unconfirmed_days": settings.UNCONFIRMED_ACCOUNT_DAYS,
        "consent_text": CONSENT_TEXT,
        "consent_version": CONSENT_VERSION,
    }
