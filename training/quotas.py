"""Per-person quotas, checked when an order is created: a cooldown between trainings, a cap on
orders in progress, and a storage quota (photo sets, ZIPs and headshots).

Each refusal is a sentence with its number. The order's transaction checks them again after
locking the person's row, so two simultaneous submissions cannot both pass.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from training.models import IN_PROGRESS_STATUSES, Headshot, HeadshotModel, Status

MB = 1024 * 1024


class QuotaExceeded(Exception):
    """An order the person's quotas do not allow now; the message says why, with the number."""

    def __init__(self, message: str, *, quota: str) -> None:
        super().__init__(message)
        self.quota = quota  # "cooldown", "active_orders" or "storage"


def check_quotas(*, user: User, new_bytes: int = 0) -> None:
    """Raise QuotaExceeded when the cooldown, the active orders or the storage would be exceeded."""
    check_cooldown(user)
    check_active_orders(user)
    check_storage(user, new_bytes)


def check_cooldown(user: User) -> None:
    minutes = settings.TRAINING_COOLDOWN_MINUTES
    if not minutes:
        return
    last = (
        HeadshotModel.objects.filter(user=user, deleted_at__isnull=True)
        .exclude(status__in=[Status.FAILED, Status.CANCELED])
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return
    wait = last + timedelta(minutes=minutes) - timezone.now()
    if wait.total_seconds() > 0:
        left = math.ceil(wait.total_seconds() / 60)
        raise QuotaExceeded(
            ngettext(
                "You can start a new order %(minutes)d minute after the last one. "
                "Please try again in %(left)d minute.",
                "You can start a new order %(minutes)d minutes after the last one. "
                "Please try again in %(left)d minutes.",
                left,
            )
            % {"minutes": minutes, "left": left},
            quota="cooldown",
        )


def check_active_orders(user: User) -> None:
    limit = settings.MAX_ACTIVE_ORDERS_PER_USER
    active = HeadshotModel.objects.filter(
        user=user, status__in=IN_PROGRESS_STATUSES, deleted_at__isnull=True
    ).count()
    if active >= limit:
        raise QuotaExceeded(
            ngettext(
                "You already have %(count)d order in progress, the most at once. Wait until it "
                "finishes.",
                "You already have %(count)d orders in progress, the most at once. Wait until "
                "one finishes.",
                active,
            )
            % {"count": active},
            quota="active_orders",
        )


def storage_used(user: User) -> int:
    """Bytes this person holds: training ZIPs still stored, and headshots."""
    zips = (
        HeadshotModel.objects.filter(user=user)
        .exclude(training_zip="")
        .aggregate(total=Sum("zip_size"))["total"]
    )
    images = Headshot.objects.filter(order__user=user).aggregate(total=Sum("size_bytes"))["total"]
    return int(zips or 0) + int(images or 0)


def check_storage(user: User, new_bytes: int) -> None:
    quota = settings.STORAGE_QUOTA_MB * MB
    used = storage_used(user)
    if used + new_bytes > quota:
        raise QuotaExceeded(
            _(
                "Your files would take more than your %(quota)d MB of storage (%(used)d MB used). "
                "Delete an old order to make room."
            )
            % {"quota": settings.STORAGE_QUOTA_MB, "used": math.ceil(used / MB)},
            quota="storage",
        )
