"""Staff grant credits to people from the user list; the ledger keeps who did it and why."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.credits import credit_balance, credits_grant
from accounts.models import CreditMovement, User
from tests.conftest import make_staff

USERS = "/admin/accounts/user/"


@pytest.fixture
def staff(db: None) -> User:
    """A staff member (not a superuser) who may see people and the ledger, and grant credits."""
    return make_staff(
        "staff@example.com",
        "accounts.view_user",
        "accounts.grant_credits",
        "accounts.view_creditmovement",
        "accounts.add_creditmovement",
    )


@pytest.fixture
def console(staff: User) -> Client:
    """A staff member's browser, in English."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(staff)
    return client


def grant(client: Client, *users: User, **form: str) -> Any:
    data = {"action": "grant_credits", "_selected_action": [user.pk for user in users], **form}
    return client.post(USERS, data, follow=True)


@pytest.mark.django_db
def test_it_asks_how_many_credits_and_why_before_granting(
    console: Client, alice: User, bob: User
) -> None:
    response = grant(console, alice, bob)

    assert response.status_code == 200
    page = response.content.decode()
    assert "alice@example.com" in page
    assert "bob@example.com" in page
    assert 'name="amount"' in page
    assert 'name="reason"' in page
    assert not CreditMovement.objects.exists()


@pytest.mark.django_db
def test_it_grants_credits_to_each_selected_person_by_the_staff_member(
    console: Client, staff: User, alice: User, bob: User, charlie: User
) -> None:
    response = grant(console, alice, bob, apply="yes", amount="3", reason="apology")

    assert "2 users received 3 credits each." in response.content.decode()
    grants = CreditMovement.objects.order_by("user__email")
    assert [(g.user, g.kind, g.amount, g.reason, g.created_by) for g in grants] == [
        (alice, CreditMovement.Kind.GRANT, 3, "apology", staff),
        (bob, CreditMovement.Kind.GRANT, 3, "apology", staff),
    ]
    assert (credit_balance(alice), credit_balance(bob), credit_balance(charlie)) == (3, 3, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "reason"), [("0", "apology"), ("-2", "apology"), ("", "apology"), ("2", "")]
)
def test_it_grants_nothing_without_a_positive_amount_and_a_reason(
    console: Client, alice: User, amount: str, reason: str
) -> None:
    response = grant(console, alice, apply="yes", amount=amount, reason=reason)

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not CreditMovement.objects.exists()


@pytest.mark.django_db
def test_it_keeps_people_who_are_not_staff_out(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = grant(client, alice, apply="yes", amount="100", reason="free money")

    assert "/admin/login/" in response.redirect_chain[-1][0]
    assert credit_balance(alice) == 0


@pytest.mark.django_db
def test_it_records_a_ledger_line_added_by_hand_as_a_grant_by_the_staff_member(
    console: Client, staff: User, alice: User
) -> None:
    response = console.post(
        "/admin/accounts/creditmovement/add/",
        {"user": alice.pk, "amount": 2, "reason": "goodwill", "kind": "spend"},
    )

    assert response.status_code == 302
    line = CreditMovement.objects.get()
    assert (line.kind, line.amount, line.created_by) == (CreditMovement.Kind.GRANT, 2, staff)


@pytest.mark.django_db
def test_it_lets_nobody_change_or_delete_a_ledger_line(
    console: Client, staff: User, alice: User
) -> None:
    credits_grant(user=alice, amount=1, reason="welcome")
    line = CreditMovement.objects.get()
    url = f"/admin/accounts/creditmovement/{line.pk}/"

    assert 'name="_save"' not in console.get(f"{url}change/").content.decode()
    assert console.post(f"{url}change/", {"amount": 50}).status_code == 403
    assert console.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert CreditMovement.objects.get().amount == 1
