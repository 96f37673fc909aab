"""The credit ledger: a derived balance, spends that cannot overdraw, refunds that happen once."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client

from accounts.credits import (
    NotEnoughCredits,
    credit_balance,
    credits_grant,
    credits_refund_order,
    credits_spend_for_order,
)
from accounts.models import CreditMovement, User
from tests.conftest import run_twice_at_once


@pytest.mark.django_db
def test_it_derives_the_balance_from_grants_spends_and_refunds(alice: User) -> None:
    order = uuid.uuid4()
    credits_grant(user=alice, amount=5, reason="welcome")
    credits_spend_for_order(user=alice, cost=3, order_uuid=order)
    assert credit_balance(alice) == 2

    assert credits_refund_order(user=alice, order_uuid=order, reason="training failed")
    assert not credits_refund_order(user=alice, order_uuid=order, reason="again")
    assert credit_balance(alice) == 5


@pytest.mark.django_db
def test_it_refuses_to_spend_more_than_the_balance(alice: User) -> None:
    credits_grant(user=alice, amount=1, reason="welcome")

    with pytest.raises(NotEnoughCredits):
        credits_spend_for_order(user=alice, cost=2, order_uuid=uuid.uuid4())
    assert credit_balance(alice) == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_simultaneous_spends_take_the_last_credit(alice: User) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers anyway")
    credits_grant(user=alice, amount=1, reason="welcome")

    def spend() -> str:
        try:
            credits_spend_for_order(user=alice, cost=1, order_uuid=uuid.uuid4())
        except NotEnoughCredits:
            return "refused"
        return "spent"

    assert run_twice_at_once(spend) == ["refused", "spent"]
    assert credit_balance(alice) == 0


@pytest.mark.django_db
def test_it_lets_staff_grant_credits_in_the_admin(client: Client, staff: User, alice: User) -> None:
    client.force_login(staff)

    response = client.post(
        "/admin/accounts/creditmovement/add/",
        {"user": alice.pk, "amount": 10, "reason": "launch promo", "kind": "spend"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    movement = CreditMovement.objects.get(user=alice)
    assert (movement.kind, movement.amount, movement.created_by) == ("grant", 10, staff)
    assert credit_balance(alice) == 10


@pytest.mark.django_db
def test_it_keeps_ledger_lines_as_written(client: Client, staff: User, alice: User) -> None:
    credits_grant(user=alice, amount=2, reason="welcome")
    movement = CreditMovement.objects.get(user=alice)
    client.force_login(staff)

    client.post(f"/admin/accounts/creditmovement/{movement.pk}/change/", {"amount": 999})
    client.post(f"/admin/accounts/creditmovement/{movement.pk}/delete/", {"post": "yes"})

    assert CreditMovement.objects.get(pk=movement.pk).amount == 2
