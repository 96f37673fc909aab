"""`POST /webhooks/stripe/` and the success page: credits granted exactly once, whatever
arrives twice, out of order or at the same moment; forged, stale and replayed events refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from django.core import mail

from accounts.models import CreditMovement, User
from payments.models import Purchase, PurchaseState, StripeEvent
from stripe_emulator.events import Delivery, event_json, sign
from tests.conftest import run_at_once, wait_for
from tests.payments.conftest import balance, come_back, pay, purchase_bought, signed_in


def purchases(user: User) -> list[tuple[str, int, str]]:
    movements = CreditMovement.objects.filter(user=user, kind=CreditMovement.Kind.PURCHASE)
    return list(movements.values_list("kind", "amount", "reference"))


def post_raw(emulator: Any, body: bytes, signature: str) -> requests.Response:
    url = emulator.state.config.webhook_url
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_a_paid_checkout_grants_the_packs_credits_once(stripe_emulator: Any, alice: User) -> None:
    client = signed_in(alice)
    purchase = purchase_bought(client, "three")

    pay(purchase.checkout_url)

    wait_for(lambda: balance(alice) == 3)
    wait_for(stripe_emulator.events_idle)
    purchase.refresh_from_db()
    assert purchase.state == PurchaseState.PAID
    assert purchase.stripe_payment_intent_id.startswith("pi_test_")
    assert purchases(alice) == [("purchase", 3, purchase.stripe_session_id)]
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.APPLIED


def test_the_buyer_gets_one_confirmation_in_their_language(stripe_emulator: Any, bob: User) -> None:
    purchase = purchase_bought(signed_in(bob), "three")
    pay(purchase.checkout_url)

    wait_for(lambda: len(mail.outbox) == 1)
    wait_for(stripe_emulator.events_idle)
    [message] = mail.outbox
    assert message.to == ["bob@example.com"]
    assert message.subject == "Payment received: 3 sessions"
    assert "€49.00 for 3 sessions: 3 credits were added" in message.body
    assert "You now have 3 credits." in message.body


def test_a_spanish_buyer_gets_it_in_spanish(stripe_emulator: Any, alice: User) -> None:
    purchase = purchase_bought(signed_in(alice), "three")
    pay(purchase.checkout_url)

    wait_for(lambda: len(mail.outbox) == 1)
    wait_for(stripe_emulator.events_idle)
    [message] = mail.outbox
    assert message.subject == "Pago recibido: 3 sesiones"
    assert "49,00 € por 3 sesiones: hemos sumado 3 créditos a tu cuenta." in message.body
    assert "Ahora tienes 3 créditos." in message.body


def test_the_success_page_grants_when_it_comes_first_and_the_webhook_adds_nothing(
    stripe_emulator: Any, alice: User
) -> None:
    stripe_emulator.set_faults(hold_events=True)
    client = signed_in(alice)
    purchase = purchase_bought(client)

    page = come_back(client, pay(purchase.checkout_url)).content.decode()
    [event] = stripe_emulator.release_events()
    answer = stripe_emulator.post_event(event)

    assert "Pagado, ¡gracias! 1 sesión ha sumado 1 crédito a tu cuenta." in page
    assert "Tienes 1 crédito." in page
    assert answer == 200
    assert balance(alice) == 1
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.IGNORED
    assert len(mail.outbox) == 1


def test_a_reloaded_success_page_grants_nothing_more(stripe_emulator: Any, alice: User) -> None:
    client = signed_in(alice)
    purchase = purchase_bought(client)
    success = pay(purchase.checkout_url)
    wait_for(lambda: balance(alice) == 1)

    for _ in range(3):
        come_back(client, success)

    wait_for(stripe_emulator.events_idle)
    assert balance(alice) == 1


def test_duplicated_events_grant_once(stripe_emulator: Any, alice: User) -> None:
    stripe_emulator.set_faults(events_twice=True)
    purchase = purchase_bought(signed_in(alice))

    pay(purchase.checkout_url)

    wait_for(lambda: len(stripe_emulator.sender.log) == 2)
    wait_for(stripe_emulator.events_idle)
    assert [answer for _id, _type, answer in stripe_emulator.sender.log] == [200, 200]
    assert balance(alice) == 1
    assert StripeEvent.objects.count() == 1


def test_a_delayed_payment_grants_once_whichever_event_comes_first(
    stripe_emulator: Any, alice: User
) -> None:
    stripe_emulator.set_faults(async_payments=True, events_reversed=True)
    purchase = purchase_bought(signed_in(alice))

    pay(purchase.checkout_url)
    assert balance(alice) == 0
    stripe_emulator.settle_payments()

    wait_for(lambda: len(stripe_emulator.sender.log) == 2)
    wait_for(stripe_emulator.events_idle)
    kinds = [kind for _id, kind, _answer in stripe_emulator.sender.log]
    assert kinds == ["checkout.session.async_payment_succeeded", "checkout.session.completed"]
    assert balance(alice) == 1
    outcomes = dict(StripeEvent.objects.values_list("type", "outcome"))
    assert outcomes["checkout.session.async_payment_succeeded"] == "applied"
    assert outcomes["checkout.session.completed"] == "ignored"


def test_an_unpaid_completion_waits_for_the_money(stripe_emulator: Any, alice: User) -> None:
    stripe_emulator.set_faults(async_payments=True, hold_events=True)
    client = signed_in(alice)
    purchase = purchase_bought(client)
    success = pay(purchase.checkout_url)
    [completed] = stripe_emulator.release_events()

    stripe_emulator.post_event(completed)
    waiting = come_back(client, success).content.decode()
    assert balance(alice) == 0
    assert "Estamos esperando a que el servicio de pago confirme tu pago" in waiting

    stripe_emulator.settle_payments()
    [succeeded] = stripe_emulator.release_events()
    stripe_emulator.post_event(succeeded)
    assert balance(alice) == 1


def test_every_way_in_at_once_grants_once(stripe_emulator: Any, alice: User) -> None:
    """Eight webhook deliveries (both events, each four times) and two success pages, released
    together against the live server on PostgreSQL: one grant, one e-mail."""
    stripe_emulator.set_faults(async_payments=True, hold_events=True)
    purchase = purchase_bought(signed_in(alice))
    success = pay(purchase.checkout_url)
    stripe_emulator.settle_payments()
    completed, succeeded = stripe_emulator.release_events()
    # The async session's `completed` is unpaid; a paid copy of it, as a card payment sends.
    paid = json.loads(completed.body)
    paid["data"]["object"]["payment_status"] = "paid"
    paid_completed = Delivery(paid, json.dumps(paid).encode())
    deliveries = [paid_completed, succeeded] * 4
    cookies = {"sessionid": signed_in(alice).cookies["sessionid"].value}

    def attempt(index: int) -> Any:
        if index < len(deliveries):
            return stripe_emulator.post_event(deliveries[index])
        return requests.get(success, cookies=cookies, timeout=20).status_code

    counter = iter(range(10))
    answers = run_at_once(lambda: attempt(next(counter)), times=10)

    assert answers == [200] * 10
    assert purchases(alice) == [("purchase", 1, purchase.stripe_session_id)]
    assert balance(alice) == 1
    assert StripeEvent.objects.count() == 2
    # The e-mail is sent on commit inside the request (tasks run at once in tests): every
    # request has answered, so every e-mail there will be has been sent.
    assert len(mail.outbox) == 1


def test_a_forged_event_is_refused_and_changes_nothing(stripe_emulator: Any, alice: User) -> None:
    stripe_emulator.set_faults(hold_events=True)
    purchase = purchase_bought(signed_in(alice))
    pay(purchase.checkout_url)
    [event] = stripe_emulator.release_events()

    forged = post_raw(stripe_emulator, event.body, sign(secret="whsec_guess", body=event.body))
    unsigned = post_raw(stripe_emulator, event.body, "")
    garbled = post_raw(stripe_emulator, event.body, "t=abc,v1=zz")
    tampered_body = event.body.replace(b'"payment_status": "paid"', b'"payment_status": "paid" ')
    tampered = post_raw(
        stripe_emulator, tampered_body, sign(secret="whsec_guess", body=tampered_body)
    )

    assert [forged.status_code, unsigned.status_code, garbled.status_code] == [400, 400, 400]
    assert tampered.status_code == 400
    assert balance(alice) == 0
    assert not StripeEvent.objects.exists()
    assert Purchase.objects.get().state == PurchaseState.OPEN


def test_a_stale_event_is_refused(stripe_emulator: Any, alice: User) -> None:
    stripe_emulator.set_faults(hold_events=True)
    purchase = purchase_bought(signed_in(alice))
    pay(purchase.checkout_url)
    [event] = stripe_emulator.release_events()

    answer = stripe_emulator.post_event(event, timestamp=int(time.time()) - 301)

    assert answer == 400
    assert balance(alice) == 0
    assert not StripeEvent.objects.exists()


def test_a_replayed_event_changes_nothing(stripe_emulator: Any, alice: User) -> None:
    stripe_emulator.set_faults(hold_events=True)
    purchase = purchase_bought(signed_in(alice))
    pay(purchase.checkout_url)
    [event] = stripe_emulator.release_events()
    stripe_emulator.post_event(event)

    again = post_raw(
        stripe_emulator, event.body, sign(secret=stripe_emulator.webhook_secret, body=event.body)
    )

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert balance(alice) == 1
    assert StripeEvent.objects.count() == 1


def test_an_event_for_a_session_we_never_made_is_kept_for_staff_and_grants_nothing(
    stripe_emulator: Any, alice: User
) -> None:
    strange = event_json(
        "checkout.session.completed",
        {"id": "cs_test_unknown", "payment_status": "paid", "payment_intent": "pi_test_x",
         "metadata": {"user": str(alice.pk), "pack": "three"}},
    )  # fmt: skip

    answer = stripe_emulator.post_event(Delivery(strange, json.dumps(strange).encode()))

    assert answer == 200
    assert balance(alice) == 0
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.UNMATCHED


@pytest.mark.parametrize("kind", ["customer.created", "invoice.paid", "payment_intent.created"])
def test_events_we_do_not_use_are_answered_and_ignored(stripe_emulator: Any, kind: str) -> None:
    event = event_json(kind, {"id": "obj_1"})

    answer = stripe_emulator.post_event(Delivery(event, json.dumps(event).encode()))

    assert answer == 200
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.IGNORED


def test_a_signed_body_that_is_not_an_event_is_refused(stripe_emulator: Any) -> None:
    body = b"[1, 2, 3]"

    answer = post_raw(stripe_emulator, body, sign(secret=stripe_emulator.webhook_secret, body=body))

    assert answer.status_code == 400
    assert not StripeEvent.objects.exists()


def test_the_webhook_takes_only_posts(stripe_emulator: Any) -> None:
    answer = requests.get(stripe_emulator.state.config.webhook_url, timeout=10)

    assert answer.status_code == 405


def test_an_expired_session_closes_its_purchase(stripe_emulator: Any, alice: User) -> None:
    purchase = purchase_bought(signed_in(alice))

    expire = requests.post(
        f"{stripe_emulator.url}/v1/checkout/sessions/{purchase.stripe_session_id}/expire",
        headers={"Authorization": f"Bearer {stripe_emulator.api_key}"},
        timeout=10,
    )

    assert expire.status_code == 200
    wait_for(lambda: Purchase.objects.get().state == PurchaseState.EXPIRED)
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.APPLIED


def test_a_refund_of_a_payment_we_never_took_is_kept_for_staff(stripe_emulator: Any) -> None:
    charge = {"id": "ch_test_x", "payment_intent": "pi_test_x", "amount": 100,
              "amount_refunded": 100}  # fmt: skip
    event = event_json("charge.refunded", charge)

    answer = stripe_emulator.post_event(Delivery(event, json.dumps(event).encode()))

    assert answer == 200
    assert StripeEvent.objects.get().outcome == StripeEvent.Outcome.UNMATCHED
