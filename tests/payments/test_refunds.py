"""Refunds: staff ask Stripe from the admin; Stripe's `charge.refunded` takes the credits back,
once, never below zero (what was spent is owed, and staff are told)."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from django.core import mail
from django.test import Client

from accounts.credits import credits_spend_for_order
from accounts.models import CreditMovement, User
from payments.models import Purchase, PurchaseState, StripeEvent
from payments.stripe_api import refund_create
from stripe_emulator.events import Delivery, event_json
from tests.conftest import make_staff, make_user, wait_for
from tests.payments.conftest import balance, pay, purchase_bought, signed_in

PURCHASES = "/admin/payments/purchase/"


@pytest.fixture
def cashier(transactional_db: None) -> Client:
    """A staff member (not a superuser) who sees purchases and may refund them, in English."""
    client = Client(headers={"Accept-Language": "en"})
    staff = make_staff("cashier@example.com", "payments.view_purchase", "payments.refund_purchase")
    client.force_login(staff)
    return client


def paid_purchase(emulator: Any, user: User, pack: str = "one") -> Purchase:
    purchase = purchase_bought(signed_in(user), pack)
    pay(purchase.checkout_url)
    wait_for(lambda: Purchase.objects.get(pk=purchase.pk).state == PurchaseState.PAID)
    wait_for(emulator.events_idle)
    mail.outbox.clear()
    return Purchase.objects.get(pk=purchase.pk)


def refund(client: Client, *purchases: Purchase) -> Any:
    data = {"action": "refund_purchases", "_selected_action": [p.pk for p in purchases]}
    return client.post(PURCHASES, data, follow=True)


def removals(user: User) -> list[tuple[int, str]]:
    movements = CreditMovement.objects.filter(user=user, kind=CreditMovement.Kind.REMOVAL)
    return list(movements.values_list("amount", "reference"))


def test_a_refund_from_the_admin_takes_the_credits_back(
    stripe_emulator: Any, cashier: Client, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice, "three")

    page = refund(cashier, purchase).content.decode()

    wait_for(lambda: Purchase.objects.get(pk=purchase.pk).state == PurchaseState.REFUNDED)
    purchase.refresh_from_db()
    assert "its credits are removed when Stripe confirms it" in page
    assert (purchase.refunded_cents, purchase.credits_removed, purchase.credits_owed) == (
        4900,
        3,
        0,
    )
    assert balance(alice) == 0
    assert removals(alice) == [(3, purchase.stripe_session_id)]
    assert not mail.outbox  # no debt, nobody to tell


def test_spent_credits_are_owed_not_taken_below_zero_and_staff_are_told(
    stripe_emulator: Any, cashier: Client, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice, "three")
    credits_spend_for_order(user=alice, cost=2, order_uuid=uuid4())
    make_user("clerk@example.com", is_staff=True)  # staff who may not see purchases: not told

    refund(cashier, purchase)

    wait_for(lambda: len(mail.outbox) == 1)
    purchase.refresh_from_db()
    assert (purchase.credits_removed, purchase.credits_owed) == (1, 2)
    assert balance(alice) == 0
    [message] = mail.outbox
    assert message.to == ["cashier@example.com"]
    assert message.subject == "Una devolución ha dejado una deuda: alice@example.com"
    assert "se han retirado 1 y se deben 2" in message.body


def test_partial_refunds_take_back_their_share_each_time(stripe_emulator: Any, alice: User) -> None:
    purchase = paid_purchase(stripe_emulator, alice, "three")  # 3 credits for 49,00 €

    def refunded(total: int, event_id: str) -> int:
        charge = {"id": "ch_test_p", "payment_intent": purchase.stripe_payment_intent_id,
                  "amount": 4900, "amount_refunded": total}  # fmt: skip
        event = {**event_json("charge.refunded", charge), "id": event_id}
        return int(stripe_emulator.post_event(Delivery(event, json.dumps(event).encode())))

    assert refunded(1700, "evt_first") == 200  # a third: one credit
    assert balance(alice) == 2
    assert refunded(4900, "evt_rest") == 200  # the rest: two more
    assert refunded(4900, "evt_rest_again") == 200  # the same total again: nothing more
    assert refunded(1700, "evt_first_late") == 200  # older news: nothing

    purchase.refresh_from_db()
    assert balance(alice) == 0
    assert (purchase.refunded_cents, purchase.credits_removed, purchase.credits_owed) == (
        4900, 3, 0
    )  # fmt: skip
    assert [amount for amount, _reference in removals(alice)] == [2, 1]


def test_a_second_click_before_stripe_answers_makes_no_second_refund(
    stripe_emulator: Any, cashier: Client, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice)
    stripe_emulator.set_faults(hold_events=True)

    refund(cashier, purchase)
    refund(cashier, purchase)  # same idempotency key: Stripe answers the same refund

    assert len(stripe_emulator.state.refunds) == 1
    [event] = stripe_emulator.release_events()
    assert stripe_emulator.post_event(event) == 200
    assert stripe_emulator.post_event(event) == 200  # and a repeated event removes nothing more
    assert removals(alice) == [(1, purchase.stripe_session_id)]


def test_a_refund_made_in_stripes_dashboard_also_takes_the_credits_back(
    stripe_emulator: Any, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice)

    refund_create(payment_intent=purchase.stripe_payment_intent_id, idempotency_key="dashboard")

    wait_for(lambda: balance(alice) == 0)
    assert StripeEvent.objects.filter(type="charge.refunded", outcome="applied").count() == 1


def test_it_refunds_only_paid_purchases(stripe_emulator: Any, cashier: Client, alice: User) -> None:
    open_purchase = purchase_bought(signed_in(alice))

    page = refund(cashier, open_purchase).content.decode()

    assert "is not a paid purchase: not refunded" in page
    assert not stripe_emulator.state.refunds


def test_a_refund_stripe_refuses_is_reported_and_changes_nothing(
    stripe_emulator: Any, cashier: Client, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice)
    stripe_emulator.set_faults(server_errors=2)

    page = refund(cashier, purchase).content.decode()

    assert "Stripe did not refund" in page
    assert Purchase.objects.get(pk=purchase.pk).state == PurchaseState.PAID
    assert balance(alice) == 1


def test_staff_without_the_refund_permission_cannot_refund(
    stripe_emulator: Any, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice)
    viewer = Client(headers={"Accept-Language": "en"})
    viewer.force_login(make_staff("viewer@example.com", "payments.view_purchase"))

    refund(viewer, purchase)

    assert not stripe_emulator.state.refunds
    assert balance(alice) == 1


def test_the_admin_links_stripe_ids_to_stripes_dashboard_and_edits_nothing(
    stripe_emulator: Any, cashier: Client, alice: User
) -> None:
    purchase = paid_purchase(stripe_emulator, alice)

    listing = cashier.get(PURCHASES).content.decode()
    change = f"{PURCHASES}{purchase.pk}/change/"

    session_link = (
        f"https://dashboard.stripe.com/test/checkout/sessions/{purchase.stripe_session_id}"
    )
    assert session_link in listing
    payment = f"https://dashboard.stripe.com/test/payments/{purchase.stripe_payment_intent_id}"
    assert payment in listing
    assert cashier.post(change, {"credits": "100"}).status_code == 403
    assert Purchase.objects.get(pk=purchase.pk).credits == 1


def test_people_who_are_not_staff_see_no_purchases(stripe_emulator: Any, alice: User) -> None:
    answer = signed_in(alice).get(PURCHASES)

    assert answer.status_code == 302
    assert "/admin/login/" in answer["Location"]
