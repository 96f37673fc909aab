"""The dashboard's revenue: per day and per pack, refunds taken off, beside Replicate spend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import User
from payments.models import Purchase, PurchaseState
from payments.revenue import revenue_figures
from tests.conftest import make_staff
from training.models import Order


def purchase(user: User, pack: str, cents: int, state: str, days_ago: int, **extra: Any) -> None:
    paid_at = timezone.now() - timedelta(days=days_ago) if state != PurchaseState.OPEN else None
    Purchase.objects.create(
        user=user, email=user.email, pack_slug=pack, pack_name_es=pack, pack_name_en=pack,
        credits=1 if pack == "one" else 3, amount_cents=cents, currency="eur", state=state,
        paid_at=paid_at, **extra,
    )  # fmt: skip


def order(user: User, cost: str, days_ago: int) -> None:
    made = Order.objects.create(user=user, name="o", package="professional", subject_type="woman")
    created = timezone.now() - timedelta(days=days_ago)
    Order.objects.filter(pk=made.pk).update(cost=Decimal(cost), created_at=created)


@pytest.fixture
def sales(alice: User, bob: User) -> None:
    make_sales(alice, bob)


def make_sales(alice: User, bob: User) -> None:
    purchase(alice, "one", 1900, PurchaseState.PAID, days_ago=0)
    purchase(bob, "three", 4900, PurchaseState.PAID, days_ago=0)
    purchase(bob, "one", 1900, PurchaseState.REFUNDED, days_ago=1, refunded_cents=1900)
    purchase(alice, "three", 4900, PurchaseState.PAID, days_ago=1)
    purchase(alice, "three", 4900, PurchaseState.OPEN, days_ago=0)  # never paid: not revenue
    purchase(alice, "one", 1900, PurchaseState.PAID, days_ago=45)  # outside the window
    order(alice, "1.2500", days_ago=0)
    order(bob, "0.7500", days_ago=0)
    order(bob, "2.0000", days_ago=3)  # a day without sales still shows its spend


@freeze_time("2026-06-15 12:00:00", tick=True)  # days are local: none straddles a midnight
def test_it_counts_revenue_per_day_with_refunds_off_and_spend_beside(
    alice: User, bob: User
) -> None:
    make_sales(alice, bob)
    by_day = revenue_figures().by_day
    today, yesterday, three_days_ago = (
        (timezone.localdate() - timedelta(days=n)).isoformat() for n in (0, 1, 3)
    )

    rows = {row.label: row for row in by_day}
    assert [row.label for row in by_day] == [today, yesterday, three_days_ago]
    assert (rows[today].purchases, rows[today].gross_cents, rows[today].net_cents) == (
        2,
        6800,
        6800,
    )
    assert (rows[yesterday].purchases, rows[yesterday].refunded_cents) == (2, 1900)
    assert rows[yesterday].net_cents == 4900
    assert (rows[today].orders, rows[today].spend) == (2, Decimal("2.0000"))
    assert (rows[three_days_ago].purchases, rows[three_days_ago].spend) == (0, Decimal("2.0000"))


def test_it_counts_revenue_per_pack(sales: None) -> None:
    packs = {row.label: row for row in revenue_figures().by_pack}

    assert (packs["one"].purchases, packs["one"].credits, packs["one"].net_cents) == (2, 2, 1900)
    assert (packs["three"].purchases, packs["three"].gross_cents) == (2, 9800)


def test_the_dashboard_shows_the_figures_to_staff_who_see_orders(sales: None) -> None:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(make_staff("boss@example.com", "training.view_order"))

    page = client.get("/admin/dashboard/").content.decode()

    assert 'id="revenue"' in page
    assert '<td class="net">€68.00</td><td>2</td><td class="spend">$2.00</td>' in page
    assert '<tr data-pack="three"><td>three</td><td>2</td><td>6</td><td>€98.00</td>' in page


def test_people_who_are_not_staff_see_no_revenue(sales: None, alice: User) -> None:
    client = Client()
    client.force_login(alice)

    assert client.get("/admin/dashboard/").status_code == 302
