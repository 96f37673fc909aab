"""Sign-in by an e-mailed code: the good path, and every way it can go wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User

CODE_LINE = re.compile(r"^\s*([A-Z0-9]{3,4}-?[A-Z0-9]{3,4})\s*$", re.MULTILINE)


def code_from_last_mail() -> str:
    """The code in the newest mail that carries one."""
    for message in reversed(mail.outbox):
        if match := CODE_LINE.search(str(message.body)):
            return match.group(1)
    raise AssertionError("no mail with a code")


def request_code(client: Client, email: str) -> None:
    response = client.post(reverse("account_request_login_code"), {"email": email})
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("account_confirm_login_code")


@pytest.mark.django_db
def test_it_signs_in_with_the_code_from_the_email(client: Client, alice: User) -> None:
    request_code(client, "alice@example.com")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    response = client.post(reverse("account_confirm_login_code"), {"code": code_from_last_mail()})

    assert response.status_code == 302
    page = client.get(reverse("home"))
    assert page.context["user"] == alice
    assert "alice@example.com" in page.content.decode()


@pytest.mark.django_db
def test_it_shows_a_clear_message_for_a_wrong_code(client: Client, alice: User) -> None:
    request_code(client, "alice@example.com")

    response = client.post(reverse("account_confirm_login_code"), {"code": "ZZZZZZ"})

    assert response.status_code == 200
    assert "Código incorrecto." in response.content.decode()
    assert not client.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.django_db
def test_it_gives_up_the_code_after_three_wrong_tries(client: Client, alice: User) -> None:
    request_code(client, "alice@example.com")
    right_code = code_from_last_mail()
    for _ in range(3):
        client.post(reverse("account_confirm_login_code"), {"code": "ZZZZZZ"})

    response = client.post(reverse("account_confirm_login_code"), {"code": right_code}, follow=True)

    assert not response.context["user"].is_authenticated
    assert response.status_code == 200  # back on a page with a message, never a 500


@pytest.mark.django_db
def test_it_does_not_reveal_whether_an_email_has_an_account(client: Client) -> None:
    request_code(client, "nobody@example.com")

    page = client.get(reverse("account_confirm_login_code"))
    assert "nobody@example.com" in page.content.decode()
    # The stranger's mailbox, not the page, says there is no account and how to make one.
    assert len(mail.outbox) == 1
    assert reverse("account_signup") in mail.outbox[0].body


@pytest.mark.django_db
def test_it_refuses_too_many_code_requests_with_a_message(client: Client, alice: User) -> None:
    for _ in range(3):
        request_code(Client(), "alice@example.com")  # a new browser each time, as an attacker would

    response = client.post(reverse("account_request_login_code"), {"email": "alice@example.com"})

    assert response.status_code == 200
    assert "Demasiados intentos" in response.content.decode()
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_it_rejects_a_malformed_email_on_the_page(client: Client) -> None:
    response = client.post(reverse("account_request_login_code"), {"email": "not-an-email"})

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_signs_up_a_new_person_with_a_code_and_no_password(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = client.post(reverse("account_signup"), {"email": "dora@example.com"})
    assert response.status_code == 302

    code = code_from_last_mail()
    with django_capture_on_commit_callbacks(execute=True):  # the welcome waits for the code
        response = client.post(response["Location"], {"code": code})

    dora = User.objects.get(email="dora@example.com")
    assert not dora.has_usable_password()
    assert dora.language == "es"
    assert client.get(reverse("home")).context["user"] == dora
    subjects = [message.subject for message in mail.outbox]
    assert sorted(subjects) == [
        "Headshots · Por favor, confirme su dirección de correo electrónico",
        "Te damos la bienvenida a Headshots",
    ]


@pytest.mark.django_db
def test_it_signs_out(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert not client.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.django_db
def test_it_does_not_sign_out_on_a_get(client: Client, alice: User) -> None:
    client.force_login(alice)

    client.get(reverse("account_logout"))

    assert client.get(reverse("home")).context["user"] == alice
