"""Consent before any photo is analysed: the form and the API refuse without it, and record it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from accounts.credits import credit_balance, credits_grant
from accounts.models import User
from privacy.consent import CONSENT_VERSION
from tests.training.conftest import leftovers
from tests.training.test_api import good_zip, token_of, train, upload
from tests.training.test_order_flow import ORDER_URL, selfies, stored_names
from training.models import Order


@pytest.fixture
def paid(alice: User, settings: Any) -> User:
    settings.TRAINING_CREDIT_COST = 1
    credits_grant(user=alice, amount=1, reason="test")
    return alice


@pytest.mark.django_db
def test_it_refuses_the_form_without_consent_and_keeps_nothing(
    client: Client, paid: User, photo_temp_dir: Path
) -> None:
    client.force_login(paid)

    response = client.post(ORDER_URL, {"name": "Yo", "subject_type": "man", "photos": selfies(4)})

    assert response.status_code == 422
    assert response.context["form"].errors["consent"] == [
        "Necesitamos tu consentimiento antes de mirar tus fotos. "
        "No hemos analizado, guardado ni cobrado nada."
    ]
    assert not Order.objects.exists()
    assert credit_balance(paid) == 1
    assert stored_names(default_storage) == []
    assert leftovers(photo_temp_dir) == []


@pytest.mark.django_db
def test_it_answers_the_forms_script_in_json_naming_the_consent(
    client: Client, paid: User, photo_temp_dir: Path
) -> None:
    client.force_login(paid)
    data = {"name": "Yo", "subject_type": "man", "consent": "", "photos": selfies(4)}

    response = client.post(ORDER_URL, data, headers={"Accept": "application/json"})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"consent"}
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_form_records_the_consent_with_the_order(
    client: Client, paid: User, photo_temp_dir: Path
) -> None:
    client.force_login(paid)
    before = timezone.now()

    data = {"name": "Yo", "subject_type": "man", "consent": "on", "photos": selfies(4)}
    response = client.post(ORDER_URL, data)

    order = Order.objects.get(user=paid)
    assert response.status_code == 302
    assert order.consent_version == CONSENT_VERSION
    assert order.consented_at is not None
    assert before <= order.consented_at <= timezone.now() + timedelta(seconds=1)


@pytest.mark.django_db
def test_the_form_shows_the_consent_in_the_persons_language(client: Client, bob: User) -> None:
    client.force_login(bob)

    english = client.get(ORDER_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.cookies.clear()
    client.force_login(bob)
    spanish = client.get(ORDER_URL, HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "sent to Replicate (a processor in the United States, outside the EU)" in english
    assert 'href="/privacy/"' in english
    assert "se envíen a Replicate" in spanish
    assert 'href="/privacidad/"' in spanish


@pytest.mark.django_db
@pytest.mark.parametrize("consent", [None, False, "", "no", 1, "true"])
def test_the_api_refuses_without_consent_and_charges_nothing(
    client: Client, paid: User, tmp_path: Path, settings: Any, consent: object
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    secret = token_of(paid)
    zip_url = upload(client, secret, good_zip(tmp_path))

    response = train(client, secret, zip_url, consent=consent)

    assert response.status_code == 400
    problems = {problem["file"]: problem["message"] for problem in response.json()["problems"]}
    assert problems["consent"].startswith("We need your consent before we look at your photos.")
    assert not Order.objects.exists()
    assert credit_balance(paid) == 1
    assert stored_names(default_storage) == []


@pytest.mark.django_db
def test_the_api_records_the_consent_with_the_order(
    client: Client, paid: User, tmp_path: Path, settings: Any
) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    secret = token_of(paid)

    response = train(client, secret, upload(client, secret, good_zip(tmp_path)))

    order = Order.objects.get(uuid=response.json()["id"])
    assert (order.consent_version, order.consented_at is not None) == (CONSENT_VERSION, True)
