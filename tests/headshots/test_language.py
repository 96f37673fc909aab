"""Spanish by default, English on request; a signed-in choice also sets their e-mails language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tasks import send_welcome_email
from tests.accounts.test_sign_in import code_from_last_mail


@pytest.mark.django_db
def test_it_speaks_spanish_by_default(client: Client) -> None:
    page = client.get(reverse("home")).content.decode()

    assert '<html lang="es">' in page
    assert "Retratos profesionales a partir de tus selfis" in page


@pytest.mark.django_db
def test_it_switches_to_english_and_back(client: Client) -> None:
    response = client.post(reverse("switch_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302

    english = client.get(reverse("home")).content.decode()
    assert "Professional headshots from your selfies" in english

    client.post(reverse("switch_language"), {"language": "es", "next": "/"})
    assert "Retratos profesionales" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_it_ignores_an_unknown_language(client: Client) -> None:
    response = client.post(reverse("switch_language"), {"language": "xx", "next": "/"})

    assert response.status_code == 302
    assert "Retratos profesionales" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_it_remembers_a_signed_in_persons_language_for_emails(client: Client, alice: User) -> None:
    client.force_login(alice)

    client.post(reverse("switch_language"), {"language": "en", "next": "/"})

    alice.refresh_from_db()
    assert alice.language == "en"
    send_welcome_email.enqueue(alice.pk)
    assert mail.outbox[-1].subject == "Welcome to Headshots"


@pytest.mark.django_db
def test_it_writes_each_email_in_its_recipients_language(alice: User, bob: User) -> None:
    send_welcome_email.enqueue(alice.pk)
    send_welcome_email.enqueue(bob.pk)

    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects == {
        "alice@example.com": "Te damos la bienvenida a Headshots",
        "bob@example.com": "Welcome to Headshots",
    }


@pytest.mark.django_db
def test_it_signs_up_in_the_language_of_the_page(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    client.post(reverse("switch_language"), {"language": "en", "next": "/"})

    response = client.post(reverse("account_signup"), {"email": "erin@example.com"})
    with django_capture_on_commit_callbacks(execute=True):  # the welcome waits for the code
        client.post(response["Location"], {"code": code_from_last_mail()})

    assert User.objects.get(email="erin@example.com").language == "en"
    assert "Welcome to Headshots" in [message.subject for message in mail.outbox]
