"""The Stripe emulator answers the official library as Stripe does: sessions, idempotency,
refunds, errors, and events signed so that the library's own verification accepts them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe

from payments import stripe_api
from stripe_emulator.events import sign
from tests.payments.conftest import pay


def session(key: str = "checkout-1", amount: int = 1900) -> stripe_api.CheckoutSession:
    arguments: dict[str, Any] = {
        "idempotency_key": key,
        "product_name": "1 sesión",
        "amount_cents": amount,
        "currency": "eur",
        "email": "alice@example.com",
        "success_url": "http://127.0.0.1/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1/back",
        "metadata": {"purchase": "p1"},
    }
    return stripe_api.checkout_session_create(**arguments)


def test_it_creates_and_retrieves_a_checkout_session(stripe_emulator: Any) -> None:
    created = session()

    read = stripe_api.checkout_session_retrieve(created.id)

    assert created.id.startswith("cs_test_")
    assert created.url == f"{stripe_emulator.url}/checkout/{created.id}"
    assert (read.status, read.payment_status) == ("open", "unpaid")
    assert read.metadata == {"purchase": "p1"}


def test_it_answers_the_same_session_to_the_same_idempotency_key(stripe_emulator: Any) -> None:
    assert session("checkout-same").id == session("checkout-same").id
    assert session("checkout-other").id != session("checkout-same").id


def test_it_refuses_other_parameters_under_a_used_idempotency_key(stripe_emulator: Any) -> None:
    session("checkout-used")

    with pytest.raises(stripe_api.StripeRefused, match="same parameters"):
        session("checkout-used", amount=100)


def test_it_refuses_an_unknown_session_and_a_wrong_key(stripe_emulator: Any, settings: Any) -> None:
    with pytest.raises(stripe_api.StripeRefused, match=r"No such checkout\.session"):
        stripe_api.checkout_session_retrieve("cs_test_nothing")

    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(stripe_api.StripeRefused, match="Invalid API Key"):
        session("checkout-wrong-key")


def test_it_expires_an_open_session_only(stripe_emulator: Any) -> None:
    created = session()

    assert stripe_api.checkout_session_expire(created.id).status == "expired"
    with pytest.raises(stripe_api.StripeRefused, match="status of open"):
        stripe_api.checkout_session_expire(created.id)


def test_a_paid_session_has_a_payment_that_refunds_once(stripe_emulator: Any) -> None:
    stripe_emulator.set_faults(hold_events=True)
    created = session()
    pay(created.url)
    paid = stripe_api.checkout_session_retrieve(created.id)

    refund = stripe_api.refund_create(payment_intent=paid.payment_intent, idempotency_key="r1")

    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert refund.startswith("re_test_")
    with pytest.raises(stripe_api.StripeRefused, match="already been refunded"):
        stripe_api.refund_create(payment_intent=paid.payment_intent, idempotency_key="r2")


def test_it_fails_as_stripe_fails_in_an_outage(stripe_emulator: Any) -> None:
    stripe_emulator.set_faults(server_errors=2)  # the call and the library's one retry

    with pytest.raises(stripe_api.StripeUnavailable):
        session()


def test_its_events_pass_the_librarys_own_signature_check(stripe_emulator: Any) -> None:
    stripe_emulator.set_faults(hold_events=True)
    created = session()
    pay(created.url)
    [delivery] = stripe_emulator.release_events()
    header = sign(secret=stripe_emulator.webhook_secret, body=delivery.body)

    event = stripe.Webhook.construct_event(delivery.body, header, stripe_emulator.webhook_secret)

    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["id"] == created.id
    assert json.loads(delivery.body)["data"]["object"]["payment_status"] == "paid"
    an_hour_ago = int(time.time()) - 3600
    stale = sign(secret=stripe_emulator.webhook_secret, body=delivery.body, timestamp=an_hour_ago)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body, stale, stripe_emulator.webhook_secret)


def test_its_hosted_page_shows_the_price_and_both_buttons(stripe_emulator: Any) -> None:
    import requests

    page = requests.get(session().url, timeout=10).text

    assert "19.00 EUR" in page
    assert ">Pagar</button>" in page
    assert ">Cancelar</button>" in page
