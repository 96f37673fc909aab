"""The welcome e-mail waits until the person proves the address is theirs, and comes once.

Before, any sign-up (even one answered with a 429) mailed a welcome to whatever address was
typed: anyone could make the site write to anyone.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import user_signed_up
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.welcome import user_welcome_if_first_verified
from tests.accounts.test_sign_in import code_from_last_mail
from tests.conftest import make_user

WELCOME = "Te damos la bienvenida a Headshots"
CONFIRM = "Headshots · Confirma tu correo electrónico"
pytestmark = pytest.mark.django_db(transaction=True)  # real commits: the welcome is on_commit


def subjects() -> list[str]:
    return [str(message.subject) for message in mail.outbox]


def sign_up(client: Client, email: str) -> str:
    """Post the sign-up form; return the page that asks for the code."""
    response = client.post(reverse("account_signup"), {"email": email})
    assert response.status_code == 302, response.content.decode()[:300]
    return str(response["Location"])


def test_it_sends_no_welcome_at_sign_up(client: Client) -> None:
    sign_up(client, "dora@example.com")

    assert subjects() == [CONFIRM]  # the code, nothing else
    assert mail.outbox[0].to == ["dora@example.com"]


def test_it_welcomes_once_the_code_is_entered(client: Client) -> None:
    code_page = sign_up(client, "dora@example.com")

    response = client.post(code_page, {"code": code_from_last_mail()})

    assert response.status_code == 302
    assert subjects() == [CONFIRM, WELCOME]
    assert mail.outbox[1].to == ["dora@example.com"]


def test_it_sends_nothing_for_a_refused_sign_up(client: Client) -> None:
    sign_up(client, "victim@example.com")
    mail.outbox.clear()

    again = Client().post(reverse("account_signup"), {"email": "victim@example.com"})

    assert again.status_code == 429
    assert mail.outbox == []


def test_it_sends_no_welcome_for_a_wrong_code(client: Client) -> None:
    code_page = sign_up(client, "dora@example.com")

    client.post(code_page, {"code": "ZZZZZZ"})

    assert WELCOME not in subjects()
    assert not EmailAddress.objects.filter(email="dora@example.com", verified=True).exists()


def test_it_does_not_welcome_again_at_the_next_sign_in(client: Client) -> None:
    code_page = sign_up(client, "dora@example.com")
    client.post(code_page, {"code": code_from_last_mail()})
    client.post(reverse("account_logout"))

    browser = Client()
    browser.post(reverse("account_request_login_code"), {"email": "dora@example.com"})
    response = browser.post(reverse("account_confirm_login_code"), {"code": code_from_last_mail()})

    assert response.status_code == 302
    assert browser.get(reverse("home")).context["user"].email == "dora@example.com"
    assert subjects().count(WELCOME) == 1


def test_it_welcomes_an_unverified_account_when_a_sign_in_code_verifies_it() -> None:
    User.objects.create_user(email="erin@example.com")
    EmailAddress.objects.create(email="erin@example.com", user=User.objects.get(), primary=True)
    browser = Client()

    browser.post(reverse("account_request_login_code"), {"email": "erin@example.com"})
    browser.post(reverse("account_confirm_login_code"), {"code": code_from_last_mail()})

    assert subjects().count(WELCOME) == 1
    assert EmailAddress.objects.get(email="erin@example.com").verified


def test_it_welcomes_a_newcomer_from_the_sign_in_form_only_once_the_code_is_entered() -> None:
    browser = Client()
    browser.post(reverse("account_request_login_code"), {"email": "nina@example.com"})
    assert WELCOME not in subjects()  # asking for a code proves nothing

    browser.post(reverse("account_confirm_login_code"), {"code": code_from_last_mail()})

    assert subjects().count(WELCOME) == 1
    assert mail.outbox[-1].to == ["nina@example.com"]


def test_it_welcomes_a_google_sign_up_whose_address_google_verified() -> None:
    gina = make_user("gina@example.com")  # what a Google sign-up leaves behind

    user_signed_up.send(sender=User, request=None, user=gina)

    assert subjects() == [WELCOME]


def test_it_does_not_welcome_for_a_second_verified_address(alice: User) -> None:
    EmailAddress.objects.create(user=alice, email="alice@work.example.com", verified=True)

    assert not user_welcome_if_first_verified(user_id=alice.pk)
    assert mail.outbox == []
