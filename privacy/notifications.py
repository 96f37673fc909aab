"""The privacy e-mails: headshots about to be deleted, an export ready, an account deleted."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse

from lib.emails import send_templated_email
from training.models import Order


def notify_headshots_expiring(order: Order, *, due_at: datetime) -> None:
    """The one reminder before an order's headshots go, with the gallery and "keep them"."""
    if order.user is None:
        return
    keep_path = reverse("headshots_keep", kwargs={"order_uuid": order.uuid})
    send_templated_email(
        to=order.user.email,
        template="headshots-expiring",
        context={
            "order": order,
            "due_at": due_at,
            "order_url": f"{settings.SITE_URL}{order.get_absolute_url()}",
            "keep_url": f"{settings.SITE_URL}{keep_path}",
            "retention_days": settings.HEADSHOT_RETENTION_DAYS,
        },
        language=order.user.language,
    )


def notify_export_ready(*, email: str, language: str, expires_at: datetime) -> None:
    """The person's data is ready: the link is on the account page (signed in, theirs only)."""
    send_templated_email(
        to=email,
        template="export-ready",
        context={
            "account_url": f"{settings.SITE_URL}{reverse('privacy_account')}",
            "expires_at": expires_at,
        },
        language=language,
    )


def notify_account_deleted(*, email: str, language: str) -> None:
    """Sent to the address that was deleted, once everything is gone."""
    send_templated_email(to=email, template="account-deleted", context={}, language=language)
