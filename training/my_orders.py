"""A person's orders as their pages list them: newest first, each with its first preview.

Shared by the orders page and the signed-in home page, so that both show the same orders
(deleted ones never) and the same counts (only the headshots the person is shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from accounts.models import User
from training.links import file_link
from training.models import Headshot, Order


@dataclass(frozen=True)
class OrderRow:
    """One order in a list: the order (its shown headshots prefetched) and a preview link."""

    order: Order
    thumbnail_url: str  # "" while the order has no headshot to show

    @property
    def headshot_count(self) -> int:
        return len(self.order.headshots.all())


def order_rows(user: User, *, limit: int | None = None) -> list[OrderRow]:
    """The person's orders, newest first (at most `limit`), with one query for the headshots."""
    orders = (
        Order.objects.filter(user=user, deleted_at__isnull=True)
        .order_by("-created_at")
        .prefetch_related(Prefetch("headshots", queryset=Headshot.objects.shown()))
    )
    if limit is not None:
        orders = orders[:limit]
    return [OrderRow(order, _thumbnail_link(order)) for order in orders]


def _thumbnail_link(order: Order) -> str:
    """A signed link to the order's first preview, or "" (uses the prefetched headshots)."""
    first = next(iter(order.headshots.all()), None)
    if first is None:
        return ""
    return file_link(order_uuid=order.uuid, headshot_id=first.pk, variant="preview")
