"""Staff find people by e-mail in the admin; nobody else gets in."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User


@pytest.mark.django_db
def test_it_lists_and_searches_users_for_staff(
    client: Client, staff: User, alice: User, bob: User
) -> None:
    client.force_login(staff)

    response = client.get("/admin/accounts/user/", {"q": "alice"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "alice@example.com" in page
    assert "bob@example.com" not in page


@pytest.mark.django_db
def test_it_lets_staff_create_a_user_from_an_email(client: Client, staff: User) -> None:
    client.force_login(staff)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Frank@Example.com",
            "usable_password": "false",
            "password1": "",
            "password2": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.filter(email__iexact="frank@example.com").exists()


@pytest.mark.django_db
def test_it_keeps_people_who_are_not_staff_out(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
