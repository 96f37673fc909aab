"""Granting credits and verifying addresses need their permissions: looking is not enough."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.credits import credit_balance
from accounts.models import CreditMovement, User
from tests.conftest import make_staff

USERS = "/admin/accounts/user/"
ADDRESSES = "/admin/account/emailaddress/"
LEDGER_ADD = "/admin/accounts/creditmovement/add/"


def browser(*permissions: str) -> Client:
    """The browser, in English, of a new staff member holding exactly these permissions."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(make_staff(f"staff-{uuid.uuid4().hex[:8]}@example.com", *permissions))
    return client


def grant(client: Client, *users: User) -> Any:
    data = {
        "action": "grant_credits", "_selected_action": [user.pk for user in users], "index": "0",
        "apply": "yes", "amount": "1000", "reason": "free money",
    }  # fmt: skip
    return client.post(USERS, data, follow=True)


@pytest.mark.django_db
def test_it_neither_offers_nor_runs_grant_credits_for_a_view_only_staff_member(
    alice: User, bob: User
) -> None:
    viewer = browser("accounts.view_user")

    listing = viewer.get(USERS)
    response = grant(viewer, alice, bob)

    assert "alice@example.com" in listing.content.decode()
    assert 'value="grant_credits"' not in listing.content.decode()
    assert response.status_code == 200
    assert 'name="amount"' not in response.content.decode()  # nor the intermediate form
    assert (credit_balance(alice), credit_balance(bob)) == (0, 0)
    assert not CreditMovement.objects.exists()


@pytest.mark.django_db
def test_it_grants_credits_with_the_grant_credits_permission(alice: User) -> None:
    granter = browser("accounts.view_user", "accounts.grant_credits")

    assert 'value="grant_credits"' in granter.get(USERS).content.decode()
    assert "1 user received 1000 credits." in grant(granter, alice).content.decode()
    assert credit_balance(alice) == 1000


@pytest.mark.django_db
def test_it_adds_a_ledger_line_by_hand_only_for_staff_who_may_grant_credits(alice: User) -> None:
    line = {"user": alice.pk, "amount": 5, "reason": "goodwill"}
    adder = browser("accounts.view_creditmovement", "accounts.add_creditmovement")

    assert adder.get(LEDGER_ADD).status_code == 403
    assert adder.post(LEDGER_ADD, line).status_code == 403
    assert credit_balance(alice) == 0

    granter = browser("accounts.add_creditmovement", "accounts.grant_credits")
    assert granter.post(LEDGER_ADD, line).status_code == 302
    assert credit_balance(alice) == 5


@pytest.fixture
def unverified(alice: User) -> EmailAddress:
    return EmailAddress.objects.create(user=alice, email="alice@work.example", verified=False)


def verify(client: Client, address: EmailAddress) -> Any:
    data = {"action": "make_verified", "_selected_action": [address.pk], "index": "0"}
    return client.post(ADDRESSES, data, follow=True)


@pytest.mark.django_db
def test_it_lets_only_staff_who_may_change_addresses_mark_them_verified(
    unverified: EmailAddress,
) -> None:
    viewer = browser("account.view_emailaddress")

    assert 'value="make_verified"' not in viewer.get(ADDRESSES).content.decode()
    verify(viewer, unverified)
    assert not EmailAddress.objects.get(pk=unverified.pk).verified

    editor = browser("account.view_emailaddress", "account.change_emailaddress")
    assert 'value="make_verified"' in editor.get(ADDRESSES).content.decode()
    verify(editor, unverified)
    assert EmailAddress.objects.get(pk=unverified.pk).verified


def user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The user's change form as the admin would post it back, with these fields changed."""
    data: dict[str, Any] = {
        "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
        "language": user.language, "is_active": "on",
        "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }  # fmt: skip
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.django_db
def test_it_lets_no_staff_member_but_a_superuser_hand_out_rights(alice: User) -> None:
    editor_client = browser("accounts.view_user", "accounts.change_user")
    some_permissions = list(Permission.objects.values_list("pk", flat=True)[:5])
    admins = Group.objects.create(name="Admins")
    rights = {
        "is_staff": "on", "is_superuser": "on",
        "groups": [admins.pk], "user_permissions": some_permissions,
    }  # fmt: skip

    page = editor_client.get(f"{USERS}{alice.pk}/change/").content.decode()
    response = editor_client.post(
        f"{USERS}{alice.pk}/change/", user_form(alice, first_name="Alicia", **rights)
    )

    assert 'name="is_superuser"' not in page
    assert 'name="user_permissions"' not in page
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.first_name == "Alicia"  # the rest of the form still works
    assert (alice.is_staff, alice.is_superuser) == (False, False)
    assert (alice.groups.count(), alice.user_permissions.count()) == (0, 0)


@pytest.mark.django_db
def test_it_lets_a_superuser_hand_out_rights(staff: User, alice: User) -> None:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(staff)

    response = client.post(
        f"{USERS}{alice.pk}/change/", user_form(alice, is_staff="on", is_superuser="on")
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.is_staff, alice.is_superuser) == (True, True)


@pytest.mark.django_db
def test_it_keeps_staff_accounts_out_of_reach_of_a_staff_member_who_may_change_users(
    staff: User,
) -> None:
    editor = browser("accounts.view_user", "accounts.change_user")
    takeover = user_form(staff, email="mallory@example.com")

    assert editor.post(f"{USERS}{staff.pk}/change/", takeover).status_code == 403
    assert (
        editor.post(
            f"{USERS}{staff.pk}/password/", {"password1": "x" * 20, "password2": "x" * 20}
        ).status_code
        == 403
    )
    staff.refresh_from_db()
    assert staff.email == "staff@example.com"
    assert not staff.check_password("x" * 20)


@pytest.mark.django_db
def test_it_adds_no_address_for_a_staff_member_who_may_only_add_addresses(staff: User) -> None:
    adder = browser("account.view_emailaddress", "account.add_emailaddress")
    address = {"user": staff.pk, "email": "mallory@example.com", "verified": "on", "primary": "on"}

    assert adder.get(f"{ADDRESSES}add/").status_code == 403
    assert adder.post(f"{ADDRESSES}add/", address).status_code == 403
    assert not EmailAddress.objects.filter(email="mallory@example.com").exists()


@pytest.mark.django_db
def test_it_keeps_staff_addresses_out_of_reach_of_a_staff_member_who_may_change_them(
    staff: User, alice: User
) -> None:
    """An address receives login codes: one added to, or rewritten on, a staff account would
    hand over its rights. Only a superuser touches those; other accounts stay editable."""
    editor = browser("account.view_emailaddress", "account.add_emailaddress",
                     "account.change_emailaddress", "account.delete_emailaddress")  # fmt: skip
    added = editor.post(
        f"{ADDRESSES}add/", {"user": staff.pk, "email": "mallory@example.com", "verified": "on"}
    )
    assert added.status_code == 200  # the form again, the account refused
    assert not EmailAddress.objects.filter(email="mallory@example.com").exists()

    own = EmailAddress.objects.get(user=staff)
    rewrite = {"user": staff.pk, "email": "mallory@example.com", "verified": "on"}
    assert refused(editor.post(f"{ADDRESSES}{own.pk}/change/", rewrite))
    assert refused(editor.post(f"{ADDRESSES}{own.pk}/delete/", {"post": "yes"}))
    bulk = {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"}
    editor.post(ADDRESSES, bulk)
    own.refresh_from_db()  # still there, unchanged
    assert own.email == "staff@example.com"

    person = {"user": alice.pk, "email": "alice@work.example", "verified": "on"}
    assert editor.post(f"{ADDRESSES}add/", person).status_code == 302
    assert EmailAddress.objects.get(email="alice@work.example").user == alice


def refused(response: Any) -> bool:
    """403, or the admin's "does not exist" (back to its index): not the success redirect."""
    return bool(response.status_code == 403 or response.get("Location") == "/admin/")
