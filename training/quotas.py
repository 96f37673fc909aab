"""Per-person quotas, checked when an order is created: a cooldown between trainings, a cap on
orders in progress, and a storage quota (photo sets, ZIPs and headshots).

Each refusal is a sentence with its number. The order's transaction checks them again after
locking the person's row, so two simultaneous submissions cannot both pass.

Cancelling or deleting an order does not give its place in the cooldown back: a canceled order
may have trained already (Replicate bills it), and a deleted one would otherwise make
"order, delete, order" a way around the wait. Only a failed order, our fault, does not count.
A deleted order's row is soon purged, so its start is remembered in the shared cache until its
cooldown is over.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from training.models import IN_PROGRESS_STATUSES, Headshot, Order, Status

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
    last = last_order_start(user)
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


def last_order_start(user: User) -> datetime | None:
    """When the person's latest order that counts for the cooldown started: any order but a
    failed one, canceled and deleted ones included, and purged ones as the cache remembers."""
    in_rows = (
        Order.objects.filter(user=user)
        .exclude(status=Status.FAILED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    purged: datetime | None = cache.get(cooldown_cache_key(user.pk))
    return max((when for when in (in_rows, purged) if when is not None), default=None)


def cooldown_cache_key(user_id: int) -> str:
    return f"order-cooldown-since:{user_id}"


def remember_for_cooldown(order: Order) -> None:
    """Keep a deleted order's start for the cooldown after its row is purged."""
    seconds = settings.TRAINING_COOLDOWN_MINUTES * 60
    left = (order.created_at + timedelta(seconds=seconds) - timezone.now()).total_seconds()
    if order.status == Status.FAILED or left <= 0 or order.user_id is None:
        return
    known: datetime | None = cache.get(cooldown_cache_key(order.user_id))
    if known is None or known < order.created_at:
        cache.set(cooldown_cache_key(order.user_id), order.created_at, timeout=math.ceil(left))


def check_active_orders(user: User) -> None:
    limit = settings.MAX_ACTIVE_ORDERS_PER_USER
    # A deleted order still in progress (its cancel lost a race) still uses Replicate: it counts.
    active = Order.objects.filter(user=user, status__in=IN_PROGRESS_STATUSES).count()
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
        Order.objects.filter(user=user)
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


def quota_notice(user: User) -> str | None:
    """What stops this person ordering right now (cooldown, orders in progress, storage), said
    on the form before they choose and upload photos; None when nothing does."""
    try:
        check_quotas(user=user)
    except QuotaExceeded as refusal:
        return str(refusal)
    return None
