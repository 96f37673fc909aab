"""The buy button: one purchase per attempt, the price from our packs, Stripe down handled."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from django.test import Client

from accounts.models import User
from payments.models import Purchase, PurchaseState
from tests.conftest import run_at_once, wait_for
from tests.payments.conftest import ORDER_FORM, balance, buy, come_back, pay, signed_in


@pytest.fixture
def alice_client(stripe_emulator: Any, alice: User) -> Client:
    return signed_in(alice)


def test_it_sends_the_person_to_stripes_page_for_the_pack(
    stripe_emulator: Any, alice: User, alice_client: Client
) -> None:
    answer = buy(alice_client, "three")

    purchase = Purchase.objects.get()
    assert answer.status_code == 303
    assert answer["Location"] == purchase.checkout_url
    assert purchase.checkout_url.startswith(f"{stripe_emulator.url}/checkout/cs_test_")
    assert (purchase.user, purchase.email, purchase.state) == (alice, alice.email, "open")
    assert (purchase.credits, purchase.amount_cents, purchase.currency) == (3, 4900, "eur")
    assert (purchase.pack_name_es, purchase.pack_name_en) == ("3 sesiones", "3 sessions")
    assert stripe_emulator.state.sessions[purchase.stripe_session_id]["amount_total"] == 4900


def test_the_price_comes_from_the_pack_never_from_the_request(
    stripe_emulator: Any, alice_client: Client
) -> None:
    buy(alice_client, "one", price_cents="1", amount="1", credits="100")

    purchase = Purchase.objects.get()
    assert (purchase.amount_cents, purchase.credits) == (1900, 1)
    assert stripe_emulator.state.sessions[purchase.stripe_session_id]["amount_total"] == 1900


def test_a_double_click_makes_one_purchase_and_one_session(
    stripe_emulator: Any, alice_client: Client
) -> None:
    attempt = str(uuid4())

    first = buy(alice_client, attempt=attempt)
    second = buy(alice_client, attempt=attempt)

    assert first["Location"] == second["Location"]
    assert Purchase.objects.count() == 1
    assert len(stripe_emulator.state.sessions) == 1


def test_two_tabs_make_two_purchases(stripe_emulator: Any, alice_client: Client) -> None:
    buy(alice_client)
    buy(alice_client)

    assert Purchase.objects.count() == 2
    assert len(stripe_emulator.state.sessions) == 2


@pytest.mark.parametrize(
    ("pack", "attempt"),
    [
        ("ten", "0b6f8e7e-4d2c-4f43-9a51-9a0f5f1e2a10"),
        ("", "7d1c1f55-0f0e-4a5e-8b4e-3c2b1a0f9e8d"),
        ("one", "not-a-uuid"),
    ],
)
def test_it_refuses_a_pack_not_on_sale_or_a_bad_attempt_with_a_sentence(
    stripe_emulator: Any, alice_client: Client, pack: str, attempt: str
) -> None:
    answer = alice_client.post(
        "/payments/checkout/", {"pack": pack, "attempt": attempt, "next": ORDER_FORM}, follow=True
    )

    assert answer.redirect_chain[0] == (ORDER_FORM, 302)
    assert "Ese paquete no está a la venta" in answer.content.decode()
    assert not Purchase.objects.exists()
    assert not stripe_emulator.state.sessions


def test_it_never_sends_the_person_back_to_another_site(
    stripe_emulator: Any, alice_client: Client
) -> None:
    answer = alice_client.post(
        "/payments/checkout/", {"pack": "ten", "next": "https://evil.example/"}
    )

    assert answer["Location"] == "/studio/"


def test_stripe_down_is_a_clear_sentence_and_nothing_is_granted(
    stripe_emulator: Any, alice: User, alice_client: Client
) -> None:
    stripe_emulator.set_faults(server_errors=2)  # the call and the library's retry
    attempt = str(uuid4())

    answer = buy(alice_client, attempt=attempt)
    page = alice_client.get(answer["Location"]).content.decode()

    assert answer["Location"] == ORDER_FORM
    assert "No hemos podido contactar con el servicio de pago" in page
    assert Purchase.objects.get().state == PurchaseState.UNAVAILABLE
    assert balance(alice) == 0
    # The same attempt, once Stripe is back, makes its session (same idempotency key).
    assert buy(alice_client, attempt=attempt)["Location"].startswith(stripe_emulator.url)
    assert Purchase.objects.get().state == PurchaseState.OPEN


def test_stripe_unreachable_is_handled_the_same(
    stripe_emulator: Any, settings: Any, alice: User, alice_client: Client
) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_TIMEOUT_SECONDS = 2

    answer = buy(alice_client)

    assert answer["Location"] == ORDER_FORM
    assert Purchase.objects.get().state == PurchaseState.UNAVAILABLE
    assert balance(alice) == 0


def test_someone_elses_attempt_is_refused(
    stripe_emulator: Any, alice_client: Client, bob: User
) -> None:
    attempt = str(uuid4())
    buy(alice_client, attempt=attempt)

    answer = buy(signed_in(bob), attempt=attempt)

    assert answer["Location"] == ORDER_FORM
    assert Purchase.objects.get().email == "alice@example.com"


def test_signed_out_people_are_sent_to_sign_in(stripe_emulator: Any) -> None:
    answer = Client().post("/payments/checkout/", {"pack": "one", "attempt": str(uuid4())})

    assert answer.status_code == 302
    assert "/accounts/login" in answer["Location"]
    assert not Purchase.objects.exists()


def test_the_way_back_pages_are_only_the_buyers(
    stripe_emulator: Any, alice_client: Client, bob: User
) -> None:
    buy(alice_client)
    purchase = Purchase.objects.get()

    for page in ("done", "canceled"):
        assert signed_in(bob).get(f"/payments/{purchase.uuid}/{page}/").status_code == 404


def test_coming_back_without_paying_closes_the_session(
    stripe_emulator: Any, alice: User, alice_client: Client
) -> None:
    buy(alice_client)
    purchase = Purchase.objects.get()

    page = alice_client.get(f"/payments/{purchase.uuid}/canceled/").content.decode()

    purchase.refresh_from_db()
    assert "No has pagado y no se ha cobrado nada" in page
    assert purchase.state == PurchaseState.EXPIRED
    assert stripe_emulator.state.sessions[purchase.stripe_session_id]["status"] == "expired"
    assert balance(alice) == 0


def test_an_attempt_already_paid_is_not_sold_again(
    stripe_emulator: Any, alice: User, alice_client: Client
) -> None:
    attempt = str(uuid4())
    purchase_url = buy(alice_client, attempt=attempt)["Location"]
    pay(purchase_url)
    wait_for(lambda: balance(alice) == 1)

    answer = alice_client.get(buy(alice_client, attempt=attempt)["Location"])

    assert "Esa compra ya está cerrada" in answer.content.decode()
    assert len(stripe_emulator.state.sessions) == 1


def test_coming_back_while_stripe_is_down_says_it_waits_and_a_reload_grants(
    stripe_emulator: Any, alice: User, alice_client: Client
) -> None:
    stripe_emulator.set_faults(hold_events=True)  # and the webhook is late
    purchase_url = buy(alice_client)["Location"]
    success = pay(purchase_url)
    stripe_emulator.set_faults(server_errors=2)

    waiting = come_back(alice_client, success).content.decode()
    assert "Estamos esperando a que el servicio de pago confirme tu pago" in waiting
    assert balance(alice) == 0

    reloaded = come_back(alice_client, success).content.decode()
    assert "Pagado, ¡gracias!" in reloaded
    assert balance(alice) == 1


def test_going_back_while_stripe_is_down_leaves_the_session_to_expire_by_itself(
    stripe_emulator: Any, alice: User, alice_client: Client
) -> None:
    buy(alice_client)
    purchase = Purchase.objects.get()
    stripe_emulator.set_faults(server_errors=2)

    page = alice_client.get(f"/payments/{purchase.uuid}/canceled/").content.decode()

    assert "No has pagado y no se ha cobrado nada" in page
    assert Purchase.objects.get().state == PurchaseState.OPEN


def test_a_double_click_at_the_same_instant_makes_one_purchase(
    stripe_emulator: Any, alice: User
) -> None:
    attempt = str(uuid4())

    answers = run_at_once(lambda: buy(signed_in(alice), attempt=attempt)["Location"], times=4)

    assert len(set(answers)) == 1
    assert answers[0].startswith(f"{stripe_emulator.url}/checkout/")
    assert Purchase.objects.count() == 1
    assert len(stripe_emulator.state.sessions) == 1
