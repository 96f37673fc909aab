"""Sign-in by an e-mailed code: the good path, and every way it can go wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
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
def test_it_signs_up_an_unknown_address_through_the_sign_in_form(client: Client) -> None:
    request_code(client, "nobody@example.com")

    nobody = User.objects.get(email="nobody@example.com")
    assert not EmailAddress.objects.get(user=nobody).verified  # nobody has proved the mailbox yet
    assert [message.to for message in mail.outbox] == [["nobody@example.com"]]
    response = client.post(reverse("account_confirm_login_code"), {"code": code_from_last_mail()})

    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == nobody
    assert EmailAddress.objects.get(user=nobody).verified
    assert not nobody.has_usable_password()


@pytest.mark.django_db
def test_it_answers_the_same_whether_or_not_an_address_has_an_account(
    client: Client, alice: User
) -> None:
    request_code(client, "alice@example.com")
    known = client.get(reverse("account_confirm_login_code")).content.decode()
    stranger = Client()
    request_code(stranger, "nobody@example.com")
    unknown = stranger.get(reverse("account_confirm_login_code")).content.decode()

    def without_tokens(page: str) -> str:
        page = page.replace("alice@example.com", "@").replace("nobody@example.com", "@")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert without_tokens(known) == without_tokens(unknown)
    # Both mailboxes get a code, neither a "no account" letter.
    assert [bool(CODE_LINE.search(str(message.body))) for message in mail.outbox] == [True, True]


@pytest.mark.django_db
def test_it_makes_no_account_for_a_refused_code_request(client: Client) -> None:
    for _ in range(3):
        request_code(Client(), "flood@example.com")
    User.objects.filter(email="flood@example.com").delete()

    response = client.post(reverse("account_request_login_code"), {"email": "flood@example.com"})

    assert "Demasiados intentos" in response.content.decode()
    assert not User.objects.filter(email="flood@example.com").exists()


@pytest.mark.django_db
def test_it_makes_no_second_account_for_a_disabled_one(client: Client) -> None:
    User.objects.create_user(email="gone@example.com", is_active=False)

    request_code(client, "Gone@Example.com")

    assert User.objects.filter(email__iexact="gone@example.com").count() == 1
    assert not client.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.django_db
def test_it_does_not_lead_to_a_near_identical_second_form(client: Client) -> None:
    page = client.get(reverse("account_request_login_code")).content.decode()

    assert "Otras opciones de inicio de sesión" not in page
    assert reverse("account_signup") not in page  # "Entrar" is the sign-up too


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
        "Headshots · Confirma tu correo electrónico",
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


@pytest.mark.django_db
def test_it_speaks_to_the_person_as_tu_in_the_code_page_and_email(
    client: Client, alice: User
) -> None:
    request_code(client, "alice@example.com")

    page = client.get(reverse("account_confirm_login_code")).content.decode()
    message = mail.outbox[0]
    assert message.subject == "Headshots · Tu código para entrar"
    assert "Escríbelo en la página que tienes abierta" in str(message.body)
    assert "Te hemos enviado un código" in page
    assert "introdúzcalo" not in page.lower()
    assert 'form="logout-from-stage" class="small"' in page  # "Cancelar" looks secondary


@pytest.mark.django_db
def test_it_speaks_as_tu_on_the_sign_up_pages(client: Client) -> None:
    form = client.get(reverse("account_signup")).content.decode()
    response = client.post(reverse("account_signup"), {"email": "dora@example.com"}, follow=True)

    code_page = response.content.decode()
    assert "Crea tu cuenta" in form
    assert "Te hemos enviado un código a <strong>dora@example.com</strong>" in code_page
    assert "introduzca" not in code_page.lower()
    assert 'form="logout-from-stage" class="small"' in code_page
