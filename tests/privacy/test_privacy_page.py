"""The privacy page: generated from the settings, in Spanish and English, linked everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from lib.emails import send_templated_email
from training.models import Order, Status
from training.notifications import notify_order_failed


@pytest.mark.django_db
def test_it_states_what_the_settings_say(client: Client, settings: Any) -> None:
    settings.PRIVACY_OPERATOR_NAME = "Fotos Ana SL"
    settings.PRIVACY_CONTACT_EMAIL = "dpo@fotos-ana.example"
    settings.PRIVACY_STORAGE_PROVIDER = "Cloudflare R2"
    settings.PRIVACY_EMAIL_PROVIDER = "Resend"
    settings.HEADSHOT_RETENTION_DAYS = 60
    settings.TEMP_RETENTION_HOURS = 12

    page = client.get("/privacy/").content.decode()

    for fact in ("Fotos Ana SL", "dpo@fotos-ana.example", "Cloudflare R2", "Resend", "Replicate"):
        assert fact in page
    assert "kept 60 days after delivery" in page
    assert "never kept more than 12 hours" in page
    assert "deleted as soon as your headshots are delivered" in page


@pytest.mark.django_db
def test_it_says_how_long_face_data_is_kept_when_a_setting_keeps_it(
    client: Client, settings: Any
) -> None:
    settings.FACE_DATA_RETENTION_DAYS = 14

    page = client.get("/privacy/").content.decode()

    assert "deleted 14 days after your headshots are delivered" in page


@pytest.mark.django_db
def test_each_address_speaks_its_language_whatever_the_visitor(client: Client) -> None:
    spanish = client.get("/privacidad/", HTTP_ACCEPT_LANGUAGE="en")
    english = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="es")

    assert spanish.status_code == english.status_code == 200
    assert "Privacidad" in spanish.content.decode()
    assert "What we keep, and for how long" in english.content.decode()
    assert client.post("/privacy/").status_code == 405


@pytest.mark.django_db
def test_the_footer_links_to_it(client: Client) -> None:
    assert 'href="/privacidad/"' in client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'href="/privacy/"' in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_every_email_links_to_it_in_the_persons_language(
    alice: User, bob: User, settings: Any
) -> None:
    settings.SITE_URL = "https://headshots.example"
    for user in (alice, bob):
        order = Order.objects.create(
            user=user, name="P", package="professional", subject_type="man", status=Status.FAILED
        )
        notify_order_failed(order)
    send_templated_email(to="carol@example.com", template="welcome", context={}, language="es")

    spanish, english, welcome = mail.outbox
    assert "https://headshots.example/privacidad/" in spanish.body
    assert "https://headshots.example/privacy/" in english.body
    assert "https://headshots.example/privacy/" in str(english.alternatives[0].content)  # type: ignore[attr-defined]
    assert "https://headshots.example/privacidad/" in welcome.body
