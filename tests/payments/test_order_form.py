"""The order form offers the packs when credits are too few, and only then."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.credits import credits_grant
from accounts.models import User
from payments.packs import parse_packs
from tests.conftest import TEST_PACKS
from tests.payments.conftest import ORDER_FORM, signed_in


@pytest.fixture
def shop(settings: Any) -> None:
    settings.CREDIT_PACKS = parse_packs(TEST_PACKS)
    settings.PAYMENTS_ENABLED = True
    settings.TRAINING_CREDIT_COST = 1


def test_it_offers_the_packs_with_their_prices_to_someone_without_credits(
    shop: None, alice: User, bob: User
) -> None:
    spanish = signed_in(alice).get(ORDER_FORM).content.decode()
    english = signed_in(bob).get(ORDER_FORM, headers={"Accept-Language": "en"}).content.decode()

    assert 'id="credit-packs"' in spanish
    assert "3 sesiones" in spanish
    assert "3 créditos" in spanish
    assert "Comprar por 49,00 €" in spanish
    assert "Comprar por 19,00 €" in spanish
    assert "Buy for €49.00" in english
    assert "3 sessions" in english


def test_each_buy_button_carries_its_own_attempt(shop: None, alice: User) -> None:
    client = signed_in(alice)

    first = client.get(ORDER_FORM).content.decode()
    second = client.get(ORDER_FORM).content.decode()

    def attempts(page: str) -> list[str]:
        return [part.split('"')[0] for part in page.split('name="attempt" value="')[1:]]

    assert len(set(attempts(first))) == 2
    assert not set(attempts(first)) & set(attempts(second))


def test_it_offers_nothing_to_someone_with_enough_credits(shop: None, alice: User) -> None:
    credits_grant(user=alice, amount=1, reason="gift")

    assert 'id="credit-packs"' not in signed_in(alice).get(ORDER_FORM).content.decode()


@pytest.mark.parametrize(
    "change",
    [{"TRAINING_CREDIT_COST": 0}, {"PAYMENTS_ENABLED": False}, {"CREDIT_PACKS": ()}],
)
def test_it_offers_nothing_when_orders_are_free_or_nothing_is_on_sale(
    shop: None, settings: Any, alice: User, change: dict[str, Any]
) -> None:
    for name, value in change.items():
        setattr(settings, name, value)

    assert 'id="credit-packs"' not in signed_in(alice).get(ORDER_FORM).content.decode()


def test_a_refused_order_shows_the_packs_beside_the_refusal(shop: None, alice: User) -> None:
    client: Client = signed_in(alice)

    page = client.post(ORDER_FORM, {"name": "LinkedIn", "subject_type": "woman"}).content.decode()

    assert 'id="credit-packs"' in page
    assert "Comprar por 19,00 €" in page
