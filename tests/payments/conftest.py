"""Payments over real HTTP: the official `stripe` library → the Stripe emulator → signed events
→ the live server's `/webhooks/stripe/`, on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import requests
from django.test import Client

from accounts.credits import credit_balance
from accounts.models import User
from payments.models import Purchase
from payments.packs import parse_packs
from stripe_emulator.server import StripeEmulator

TEST_PACKS = (
    '[{"slug": "one", "name_es": "1 sesión", "name_en": "1 session", "credits": 1,'
    ' "price_cents": 1900},'
    ' {"slug": "three", "name_es": "3 sesiones", "name_en": "3 sessions", "credits": 3,'
    ' "price_cents": 4900}]'
)
ORDER_FORM = "/studio/new/?package=professional"


@pytest.fixture
def stripe_emulator(settings: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """The Stripe emulator on a free port, the app pointed at it, its events to the live server."""
    emulator = StripeEmulator(
        webhook_secret=f"whsec_{secrets.token_hex(16)}",
        webhook_url=f"{live_server.url}/webhooks/stripe/",
    )
    emulator.start()
    settings.STRIPE_API_BASE = emulator.url
    settings.STRIPE_SECRET_KEY = emulator.api_key
    settings.STRIPE_WEBHOOK_SECRET = emulator.webhook_secret
    settings.CREDIT_PACKS = parse_packs(TEST_PACKS)
    settings.PAYMENTS_ENABLED = True
    settings.TRAINING_CREDIT_COST = 1
    settings.SITE_URL = live_server.url
    yield emulator
    emulator.stop()


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
