"""The package picker and the refusals that come before any photo is looked at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.credits import credit_balance
from accounts.models import User
from training.models import Order
from training.packages import CATALOGUE


def dummy_photos(count: int = 4) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"p{i}.jpg", b"\xff\xd8\xff", "image/jpeg") for i in range(count)]


@pytest.mark.django_db
def test_it_asks_for_sign_in(client: Client) -> None:
    response = client.get(reverse("training:studio"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_request_login_code"))


@pytest.mark.django_db
def test_it_shows_exactly_two_cards_with_only_one_orderable(client: Client, alice: User) -> None:
    client.force_login(alice)

    page = client.get(reverse("training:studio")).content.decode()

    assert page.count('class="package-card') == 2
    assert "Foto Profesional" in page
    assert "Próximamente" in page
    assert f"{reverse('training:order_new')}?package=professional" in page
    assert "?package=coming-soon" not in page
    assert [package.slug for package in CATALOGUE["replicate"]] == ["professional", "coming-soon"]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["coming-soon", "astria-pack", "", "professional%00"])
def test_it_refuses_inactive_or_unknown_packages_even_by_url(
    client: Client, alice: User, slug: str
) -> None:
    client.force_login(alice)
    url = f"{reverse('training:order_new')}?package={slug}"

    for response in (client.get(url), client.post(url, {"name": "x", "subject_type": "man"})):
        assert response.status_code == 302
        assert response["Location"] == reverse("training:studio")
    page = client.get(reverse("training:studio")).content.decode()
    assert "Ese paquete no se puede pedir" in page
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_it_shows_the_form_with_advice_in_spanish(client: Client, alice: User) -> None:
    client.force_login(alice)

    page = client.get(f"{reverse('training:order_new')}?package=professional").content.decode()

    assert "Hombre" in page
    assert "Mujer" in page
    assert "unisex" not in page.lower()
    assert "Lo ideal son de 10 a 15 fotos." in page


@pytest.mark.django_db
@pytest.mark.parametrize("subject_type", ["unisex", "person", "", "MAN"])
def test_it_refuses_any_subject_but_man_or_woman(
    client: Client, alice: User, subject_type: str
) -> None:
    client.force_login(alice)
    url = f"{reverse('training:order_new')}?package=professional"

    response = client.post(
        url,
        {
            "name": "LinkedIn",
            "subject_type": subject_type,
            "consent": "on",
            "photos": dummy_photos(),
        },
    )

    assert response.status_code == 422
    assert "subject_type" in response.context["form"].errors
    assert response.context["form"]["name"].value() == "LinkedIn"  # the rest is kept
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["", "   ", "a" * 51, "<script>", "name_with_underscore", "ok/../x"]
)
def test_it_refuses_bad_names(client: Client, alice: User, name: str) -> None:
    client.force_login(alice)
    url = f"{reverse('training:order_new')}?package=professional"

    response = client.post(
        url, {"name": name, "subject_type": "man", "consent": "on", "photos": dummy_photos()}
    )

    assert response.status_code == 422
    assert "name" in response.context["form"].errors
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_it_answers_json_errors_to_the_forms_script(client: Client, alice: User) -> None:
    client.force_login(alice)
    url = f"{reverse('training:order_new')}?package=professional"

    response = client.post(
        url,
        {"name": "", "subject_type": "unisex", "consent": "on"},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"name", "subject_type", "photos"}
    assert errors["subject_type"][0]["message"] == "Elige «Hombre» o «Mujer»."


@pytest.mark.django_db
def test_it_refuses_an_order_without_enough_credits(
    client: Client, alice: User, settings: Any, tmp_path: Path
) -> None:
    settings.TRAINING_CREDIT_COST = 2
    client.force_login(alice)
    url = f"{reverse('training:order_new')}?package=professional"

    response = client.post(
        url, {"name": "Yo", "subject_type": "woman", "consent": "on", "photos": dummy_photos()}
    )

    assert response.status_code == 422
    assert "Este pedido cuesta 2 créditos y tienes 0" in response.content.decode()
    assert not Order.objects.exists()
    assert credit_balance(alice) == 0
    assert list((tmp_path / "media").rglob("*")) == []


@pytest.mark.django_db
def test_it_refuses_an_oversized_request_before_reading_it(client: Client, alice: User) -> None:
    client.force_login(alice)
    url = f"{reverse('training:order_new')}?package=professional"

    response = client.generic(
        "POST", url, data=b"x" * 10, content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(101 * 1024 * 1024 + 1),
    )  # fmt: skip

    assert response.status_code == 413
    assert "Tus fotos suman más de 100 MB" in response.content.decode()


@pytest.mark.django_db
def test_it_hides_other_peoples_orders(client: Client, alice: User, bob: User) -> None:
    order = Order.objects.create(
        user=alice, name="Mine", package="professional", subject_type="woman"
    )
    client.force_login(bob)

    assert client.get(order.get_absolute_url()).status_code == 404
    assert "Mine" not in client.get(reverse("training:order_list")).content.decode()
    client.force_login(alice)
    assert client.get(order.get_absolute_url()).status_code == 200
