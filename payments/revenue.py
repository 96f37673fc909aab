"""The staff dashboard's money figures: revenue per day and per pack, beside Replicate spend.

Revenue counts purchases by the day they were paid (in the site's time zone), refunds
subtracted from the purchase they refund; Replicate spend counts orders by the day they were
made. Amounts stay in their currency (packs sell in EUR by default, Replicate bills in USD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from payments.models import Purchase, PurchaseState
from payments.packs import format_price
from training.models import Order

REVENUE_DAYS = 30
COUNTED = (PurchaseState.PAID, PurchaseState.REFUNDED)


@dataclass
class RevenueRow:
    """One day, or one pack: purchases, their money and (for a day) the Replicate side."""

    label: str
    currency: str = "eur"
    purchases: int = 0
    credits: int = 0
    gross_cents: int = 0
    refunded_cents: int = 0
    orders: int = 0
    spend: Decimal = field(default_factory=Decimal)

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunded_cents

    @property
    def gross(self) -> str:
        return format_price(self.gross_cents, self.currency)

    @property
    def refunded(self) -> str:
        return format_price(self.refunded_cents, self.currency)

    @property
    def net(self) -> str:
        return format_price(self.net_cents, self.currency)


@dataclass
class RevenueFigures:
    days: int
    by_day: list[RevenueRow]
    by_pack: list[RevenueRow]


def revenue_figures(days: int = REVENUE_DAYS) -> RevenueFigures:
    """Revenue of the last `days` days by day (newest first, with that day's spend) and by pack."""
    since = timezone.localtime() - timedelta(days=days)
    paid = Purchase.objects.filter(state__in=COUNTED, paid_at__gte=since)
    totals = {
        "purchases": Count("pk"),
        "credits": Sum("credits"),
        "gross": Sum("amount_cents"),
        "refunded": Sum("refunded_cents"),
    }
    per_day = paid.annotate(day=TruncDate("paid_at")).values("day", "currency").annotate(**totals)
    rows: dict[tuple[date, str], RevenueRow] = {}
    for item in per_day:
        rows[(item["day"], item["currency"])] = _row(item["day"].isoformat(), item)
    _add_spend(rows, since)
    per_pack = paid.values("pack_slug", "currency").annotate(**totals).order_by("pack_slug")
    return RevenueFigures(
        days=days,
        by_day=[rows[key] for key in sorted(rows, reverse=True)],
        by_pack=[_row(item["pack_slug"], item) for item in per_pack],
    )


def _row(label: str, item: Any) -> RevenueRow:
    return RevenueRow(
        label=label,
        currency=str(item["currency"]),
        purchases=int(item["purchases"] or 0),
        credits=int(item["credits"] or 0),
        gross_cents=int(item["gross"] or 0),
        refunded_cents=int(item["refunded"] or 0),
    )


def _add_spend(rows: dict[tuple[date, str], RevenueRow], since: object) -> None:
    """Each day's orders and Replicate spend, on that day's row (a day without sales too)."""
    orders = (
        Order.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(orders=Count("pk"), spend=Sum("cost"))
    )
    for item in orders:
        day_rows = [row for (day, _c), row in rows.items() if day == item["day"]]
        if not day_rows:
            rows[(item["day"], "eur")] = day_rows_new = RevenueRow(label=item["day"].isoformat())
            day_rows = [day_rows_new]
        day_rows[0].orders = item["orders"]
        day_rows[0].spend = item["spend"] or Decimal(0)
