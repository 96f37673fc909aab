"""Helpers of the payments tests: buy, pay on the hosted page, come back (the emulator fixture,
`stripe_emulator`, is in tests/conftest.py for the browser tests too)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import requests
from django.test import Client

from accounts.credits import credit_balance
from accounts.models import User
from payments.models import Purchase

ORDER_FORM = "/studio/new/?package=professional"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def buy(client: Client, pack: str = "one", *, attempt: str | None = None, **extra: str) -> Any:
    """Press a pack's buy button on the order form: the answer (a redirect to Stripe's page)."""
    data = {"pack": pack, "attempt": attempt or str(uuid4()), "next": ORDER_FORM, **extra}
    return client.post("/payments/checkout/", data)


def pay(checkout_url: str) -> str:
    """Press "Pagar" on the hosted page; the success URL Stripe sends the person back to."""
    answer = requests.post(f"{checkout_url}/pay", allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["Location"])


def come_back(client: Client, success_url: str) -> Any:
    """Follow the success URL in the person's own browser session."""
    path = success_url.split("://", 1)[1].split("/", 1)[1]
    return client.get(f"/{path}")


def purchase_bought(client: Client, pack: str = "one") -> Purchase:
    """A purchase with an open session (the buy button pressed, not yet paid)."""
    answer = buy(client, pack)
    assert answer.status_code == 303, answer.content[:300]
    return Purchase.objects.get(checkout_url=answer["Location"])


def purchases_movements(user: User) -> list[tuple[str, int, str]]:
    return [
        (movement.kind, movement.amount, movement.reference)
        for movement in user.credit_movements.order_by("pk")
    ]


def balance(user: User) -> int:
    return credit_balance(user)
