"""The order form's errors where the eye is: refused photos held so that one click goes on
without them, refusals that do not eat the order budget, quotas said before any upload, and
messages that name what to do."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.conftest import REDIS_URL, break_storage
from tests.training.conftest import face_jpeg, leftovers
from training.cleanup import cleanup_temp_files, stored_names
from training.models import Order, Status

ORDER_URL = f"{reverse('training:order_new')}?package=professional"
JSON = {"Accept": "application/json"}


def photos(good: int, bad: int = 0) -> list[SimpleUploadedFile]:
    selfies = [
        SimpleUploadedFile(f"selfie{i}.jpg", face_jpeg(i % 6, long_side=900), "image/jpeg")
        for i in range(good)
    ]
    invoices = [
        SimpleUploadedFile(f"invoice{i}.jpg", b"%PDF-1.7\n%not a photo\n", "image/jpeg")
        for i in range(bad)
    ]
    return [*selfies, *invoices]


def post(client: Client, files: list[SimpleUploadedFile], **fields: str) -> Any:
    data: dict[str, Any] = {"name": "Perfil", "subject_type": "woman", "consent": "on", **fields}
    if files:
        data["photos"] = files
    return client.post(ORDER_URL, data, headers=JSON)


def held_names(user: User) -> list[str]:
    return list(stored_names(default_storage, f"held-photos/{user.pk}"))


@pytest.fixture
def signed_in(client: Client, alice: User, photo_temp_dir: Path) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def shared_cache(settings: Any) -> Iterator[None]:
    """Rate limits count in Redis, as in production."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_it_goes_on_without_the_refused_photos_in_one_click(
    signed_in: Client, alice: User, photo_temp_dir: Path
) -> None:
    refused = post(signed_in, photos(good=4, bad=2))
    assert refused.status_code == 422
    assert [photo["name"] for photo in refused.json()["photos"]] == ["invoice0.jpg", "invoice1.jpg"]
    held = refused.json()["held"]
    assert held["count"] == 4

    made = post(signed_in, [], held=held["token"])

    assert made.status_code == 201, made.content
    order = Order.objects.get(user=alice)
    assert made.json()["url"] == order.get_absolute_url()
    assert order.image_count == 4
    assert leftovers(photo_temp_dir) == []  # the held photos went with their use
    assert held_names(alice) == []


@pytest.mark.django_db
def test_it_offers_to_go_on_in_the_page_without_javascript(signed_in: Client) -> None:
    response = signed_in.post(
        ORDER_URL,
        {"name": "Perfil", "subject_type": "man", "consent": "on", "photos": photos(good=5, bad=1)},
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert 'name="held"' in page
    assert "Seguir con las 5 fotos aceptadas" in page
    assert "Hemos rechazado algunas fotos" in page  # by the submit button too


@pytest.mark.django_db
def test_storage_down_while_holding_the_photos_still_shows_the_refusal(
    signed_in: Client, settings: Any, tmp_path: Path
) -> None:
    break_storage(settings, tmp_path)

    response = post(signed_in, photos(good=5, bad=1))

    assert response.status_code == 422  # not a 500: the reasons, without the shortcut
    assert response.json()["held"] is None
    assert [p["name"] for p in response.json()["photos"]] == ["invoice0.jpg"]
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_it_forgets_held_photos_after_an_hour_and_the_cleanup_removes_them(
    signed_in: Client, alice: User
) -> None:
    token = post(signed_in, photos(good=4, bad=1)).json()["held"]["token"]
    two_hours_ago = time.time() - 2 * 3600
    for name in held_names(alice):
        os.utime(default_storage.path(name), (two_hours_ago, two_hours_ago))

    late = post(signed_in, [], held=token)

    assert late.status_code == 422
    assert not Order.objects.exists()
    assert held_names(alice) == []  # refused at use, and gone


@pytest.mark.django_db
def test_the_cleanup_removes_held_photos_nobody_used(
    signed_in: Client, alice: User, settings: Any
) -> None:
    post(signed_in, photos(good=4, bad=1))
    settings.TEMP_RETENTION_HOURS = 1
    long_ago = time.time() - 2 * 3600
    for name in held_names(alice):
        os.utime(default_storage.path(name), (long_ago, long_ago))

    cleanup_temp_files(storage=default_storage)

    assert held_names(alice) == []


@pytest.mark.django_db
def test_it_holds_nothing_when_too_few_photos_would_remain(
    signed_in: Client, alice: User, photo_temp_dir: Path
) -> None:
    response = post(signed_in, photos(good=3, bad=1))

    assert response.status_code == 422
    assert response.json()["held"] is None
    assert leftovers(photo_temp_dir) == []
    assert held_names(alice) == []


@pytest.mark.django_db
def test_it_never_lets_someone_else_use_the_held_photos(
    signed_in: Client, alice: User, bob: User
) -> None:
    token = post(signed_in, photos(good=4, bad=1)).json()["held"]["token"]
    stranger = Client()
    stranger.force_login(bob)

    response = post(stranger, [], held=token)

    assert response.status_code == 422
    assert "Ya no guardamos esas fotos" in response.json()["errors"]["__all__"][0]["message"]
    assert not Order.objects.exists()
    assert len(held_names(alice)) == 5  # alice's set is still hers to use (4 photos, the list)


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["0" * 32, "../../etc", ""])
def test_it_answers_a_made_up_token_with_a_sentence(signed_in: Client, token: str) -> None:
    response = post(signed_in, [], held=token)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors  # "choose them again" or "add your photos": never a 500
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_it_uses_a_held_set_only_once(signed_in: Client) -> None:
    token = post(signed_in, photos(good=4, bad=1)).json()["held"]["token"]
    assert post(signed_in, [], held=token).status_code == 201

    again = post(signed_in, [], held=token)

    assert again.status_code == 422
    assert Order.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("shared_cache")
def test_it_does_not_count_refused_submissions_against_the_order_limit(
    signed_in: Client, settings: Any
) -> None:
    settings.RATE_LIMIT_ORDERS = "1/h"
    for _ in range(3):
        assert post(signed_in, photos(good=1, bad=1)).status_code == 422

    assert post(signed_in, photos(good=4)).status_code == 201
    Order.objects.update(status=Status.FAILED)  # out of the cooldown's and the active cap's way
    assert post(signed_in, photos(good=4)).status_code == 429


@pytest.mark.django_db
@pytest.mark.usefixtures("shared_cache")
def test_it_limits_refused_submissions_with_an_abuse_limit_of_their_own(
    signed_in: Client, settings: Any
) -> None:
    settings.RATE_LIMIT_ORDER_ATTEMPTS = "2/h"
    for _ in range(2):
        assert post(signed_in, photos(good=1, bad=1)).status_code == 422

    response = post(signed_in, photos(good=4))

    assert response.status_code == 429
    assert "60 minutos" in response.json()["errors"]["__all__"][0]


@pytest.mark.django_db
def test_it_says_the_cooldown_before_any_upload(signed_in: Client, alice: User) -> None:
    Order.objects.create(
        user=alice, name="Antes", package="professional", subject_type="man", status=Status.READY
    )

    page = signed_in.get(ORDER_URL).content.decode()

    assert "Vuelve a intentarlo dentro de 10 minutos" in page
    assert 'id="order-submit" disabled' in page
    assert "data-blocked" in page


@pytest.mark.django_db
def test_it_shows_the_quotas_before_any_upload(signed_in: Client) -> None:
    page = signed_in.get(ORDER_URL).content.decode()

    assert "Hasta 2 pedidos en curso a la vez, con 10 minutos entre uno y otro" in page
    assert "0 de tus 500 MB" in page
    assert 'id="order-submit">' in page  # nothing stops this order


@pytest.mark.django_db
def test_it_names_the_field_a_missing_choice_belongs_to(signed_in: Client) -> None:
    response = post(signed_in, photos(good=4), subject_type="")

    errors = response.json()["errors"]
    assert errors["subject_type"][0]["message"] == (
        "Di quién sale en las fotos: elige «Hombre» o «Mujer»."
    )


@pytest.mark.django_db
def test_it_holds_the_photos_in_the_shared_s3_storage_for_any_web_process(
    signed_in: Client, alice: User, s3_storage: str, photo_temp_dir: Path
) -> None:
    held = post(signed_in, photos(good=4, bad=1)).json()["held"]
    assert len(held_names(alice)) == 5  # in the bucket, not on this machine's disk

    made = post(signed_in, [], held=held["token"])

    assert made.status_code == 201, made.content
    assert Order.objects.get(user=alice).image_count == 4
    assert held_names(alice) == []
    assert leftovers(photo_temp_dir) == []


@pytest.mark.django_db
def test_it_leaves_the_cooldown_out_of_the_limits_when_there_is_none(
    signed_in: Client, settings: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 0

    page = signed_in.get(ORDER_URL).content.decode()

    assert "Hasta 2 pedidos en curso a la vez; usas 0 de tus 500 MB de espacio." in page
    assert "minutos entre uno y otro" not in page
