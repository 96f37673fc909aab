"""Quotas and rate limits: each refusal is a sentence with its number, nothing is written, and
two simultaneous orders from one person cannot both pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from privacy.consent import consent_now
from tests.conftest import REDIS_URL, make_user, run_twice_at_once
from tests.training.conftest import face_jpeg
from training.models import Headshot, Order, Prediction, Status
from training.orders import OrderRefused, order_create
from training.packages import PROFESSIONAL

ORDER_URL = f"{reverse('training:order_new')}?package=professional"


def selfies() -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"s{i}.jpg", face_jpeg(i, long_side=900), "image/jpeg") for i in range(4)
    ]


def existing_order(user: User, status: Status, **fields: Any) -> Order:
    return Order.objects.create(
        user=user, name="Old", package="professional", subject_type="man", status=status, **fields
    )


def refusal_for(user: User) -> str:
    with pytest.raises(OrderRefused) as refused:
        order_create(
            user=user,
            package=PROFESSIONAL,
            name="New",
            subject_type="man",
            photos=selfies(),
            consent=consent_now(),
        )
    return str(refused.value.problems[0][1])


@pytest.fixture(autouse=True)
def _photo_temp(settings: Any, tmp_path: Path) -> None:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")


@pytest.mark.django_db
def test_it_enforces_a_cooldown_between_orders(alice: User, settings: Any) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 30
    existing_order(alice, Status.READY)

    assert refusal_for(alice) == (
        "Puedes empezar un pedido nuevo 30 minutos después del anterior. "
        "Vuelve a intentarlo dentro de 30 minutos."
    )
    assert Order.objects.count() == 1
    assert not default_storage.exists("training-sets")


@pytest.mark.django_db
def test_it_does_not_count_a_failed_order_in_the_cooldown(alice: User, settings: Any) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 30
    existing_order(alice, Status.FAILED)

    created = order_create(
        user=alice,
        package=PROFESSIONAL,
        name="New",
        subject_type="man",
        photos=selfies(),
        consent=consent_now(),
    )

    assert created.order.status == Status.QUEUED


@pytest.mark.django_db
def test_it_caps_orders_in_progress(alice: User, settings: Any) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 0
    settings.MAX_ACTIVE_ORDERS_PER_USER = 2
    existing_order(alice, Status.TRAINING)
    existing_order(alice, Status.GENERATING)

    assert "Ya tienes 2 pedidos en curso" in refusal_for(alice)


@pytest.mark.django_db
def test_it_enforces_the_storage_quota(alice: User, settings: Any) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 0
    settings.STORAGE_QUOTA_MB = 1
    old = existing_order(alice, Status.READY)
    prediction = Prediction.objects.create(order=old, prompt_index=0, prompt="p")
    Headshot.objects.create(
        order=old, prediction=prediction, output_index=0, image="headshots/x.webp",
        content_type="image/webp", size_bytes=900 * 1024,
    )  # fmt: skip

    message = refusal_for(alice)

    assert "tus 1 MB de almacenamiento (1 MB usados)" in message
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_simultaneous_orders_through(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers anyway")
    settings.TRAINING_COOLDOWN_MINUTES = 0
    settings.MAX_ACTIVE_ORDERS_PER_USER = 1
    erin = make_user("erin@example.com")
    photo_sets = [selfies(), selfies()]  # made beforehand, so both orders start together

    def order() -> str:
        try:
            order_create(
                user=erin,
                package=PROFESSIONAL,
                name="Twin",
                subject_type="man",
                photos=photo_sets.pop(),
                consent=consent_now(),
            )
        except OrderRefused:
            return "refused"
        return "created"

    assert run_twice_at_once(order) == ["created", "refused"]
    assert Order.objects.filter(user=erin).count() == 1
    zips = default_storage.listdir("training-sets")[1]
    assert len(zips) == 1  # the refused order's ZIP was removed


@pytest.mark.django_db
def test_it_rate_limits_orders_with_a_page_that_says_when(
    client: Client, alice: User, settings: Any
) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    from django.core.cache import cache

    cache.clear()
    settings.RATE_LIMIT_ORDER_ATTEMPTS = "2/h"  # refused submissions answer to this limit
    client.force_login(alice)
    for _ in range(2):
        assert client.post(ORDER_URL, {"name": "", "subject_type": "man"}).status_code == 422

    response = client.post(ORDER_URL, {"name": "", "subject_type": "man"})

    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "Vuelve a intentarlo dentro de 60 minutos" in response.content.decode()
    as_json = client.post(ORDER_URL, {"name": ""}, headers={"Accept": "application/json"})
    assert as_json.status_code == 429
    assert "60 minutos" in as_json.json()["errors"]["__all__"][0]
    assert client.get(ORDER_URL).status_code == 200  # reading the form is not limited
    cache.clear()


@pytest.mark.django_db
def test_it_rate_limits_downloads_in_english_for_english_speakers(
    client: Client, bob: User, settings: Any
) -> None:
    settings.RATE_LIMIT_DOWNLOADS = "1/h"  # an hour's window: a minute's could roll over mid-test
    order = existing_order(bob, Status.READY)
    client.force_login(bob)
    client.post(reverse("switch_language"), {"language": "en", "next": "/"})
    url = reverse("training:order_download", kwargs={"order_uuid": order.uuid})

    client.get(url)
    response = client.get(url)

    assert response.status_code == 429
    assert "Please try again in 60 minutes." in response.content.decode()


@pytest.mark.django_db
def test_it_rate_limits_orders_per_address_across_people(
    client: Client, alice: User, bob: User, settings: Any
) -> None:
    settings.RATE_LIMIT_ORDER_ATTEMPTS = "100/h"
    settings.RATE_LIMIT_ORDER_ATTEMPTS_PER_IP = "2/h"
    client.force_login(alice)
    client.post(ORDER_URL, {"name": ""})
    client.post(ORDER_URL, {"name": ""})
    client.force_login(bob)  # another person, the same address

    assert client.post(ORDER_URL, {"name": ""}).status_code == 429


@pytest.mark.django_db
def test_it_rate_limits_cancellations_and_deletions(
    client: Client, alice: User, settings: Any
) -> None:
    settings.RATE_LIMIT_CHANGES = "2/h"  # an hour's window: a minute's could roll over mid-test
    orders = [existing_order(alice, Status.READY) for _ in range(3)]
    client.force_login(alice)
    client.post(reverse("training:order_cancel", kwargs={"order_uuid": orders[0].uuid}))
    client.post(reverse("training:order_cancel", kwargs={"order_uuid": orders[1].uuid}))

    response = client.post(reverse("training:order_delete", kwargs={"order_uuid": orders[2].uuid}))

    assert response.status_code == 429
    assert Order.objects.get(pk=orders[2].pk).deleted_at is None


def order_through_the_form(client: Client) -> Any:
    return client.post(
        ORDER_URL, {"name": "Perfil", "subject_type": "man", "consent": "on", "photos": selfies()}
    )


def only_order(user: User) -> Order:
    return Order.objects.get(user=user)


@pytest.mark.django_db
def test_it_counts_a_canceled_order_in_the_cooldown(
    client: Client, alice: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 30
    client.force_login(alice)
    assert order_through_the_form(client).status_code == 302
    order = only_order(alice)
    client.post(reverse("training:order_cancel", kwargs={"order_uuid": order.uuid}))
    assert only_order(alice).status == Status.CANCELED

    again = order_through_the_form(client)

    assert again.status_code == 422
    assert "Vuelve a intentarlo dentro de 30 minutos" in again.content.decode()
    assert Order.objects.filter(user=alice).count() == 1


@pytest.mark.django_db
def test_it_counts_a_deleted_order_in_the_cooldown_after_its_purge(
    client: Client, alice: User, bob: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 30
    client.force_login(alice)
    assert order_through_the_form(client).status_code == 302
    order = only_order(alice)
    with django_capture_on_commit_callbacks(execute=True):  # the purge runs
        client.post(reverse("training:order_delete", kwargs={"order_uuid": order.uuid}))
    assert not Order.objects.filter(user=alice).exists()

    again = order_through_the_form(client)
    client.force_login(bob)  # someone else is not held back by alice's deleted order
    bobs = order_through_the_form(client)

    assert again.status_code == 422
    assert "Vuelve a intentarlo dentro de 30 minutos" in again.content.decode()
    assert not Order.objects.filter(user=alice).exists()
    assert bobs.status_code == 302


@pytest.mark.django_db
def test_it_does_not_count_a_deleted_failed_order_in_the_cooldown(
    client: Client, alice: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 30
    order = existing_order(alice, Status.FAILED)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("training:order_delete", kwargs={"order_uuid": order.uuid}))

    assert order_through_the_form(client).status_code == 302


@pytest.mark.django_db
def test_it_counts_a_deleted_order_still_in_progress_among_orders_at_once(
    alice: User, settings: Any
) -> None:
    settings.TRAINING_COOLDOWN_MINUTES = 0
    settings.MAX_ACTIVE_ORDERS_PER_USER = 1
    # Its cancel lost a race with a webhook: hidden from the person, but still training.
    existing_order(alice, Status.TRAINING, deleted_at=timezone.now())

    assert "Ya tienes 1 pedido en curso" in refusal_for(alice)
