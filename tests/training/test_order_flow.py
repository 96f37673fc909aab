"""Ordering through the page: the good path ends in a queued order with its ZIP in storage; every
refusal leaves nothing behind (no row, no object, no temporary file)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.credits import credit_balance, credits_grant
from accounts.models import CreditMovement, User
from tests.training.conftest import encode, face_jpeg, leftovers, no_face_image
from training.followups import FollowUp, Next
from training.models import Order, Stage, Status, TrainingEvent
from training.orders import order_create
from training.packages import PROFESSIONAL

ORDER_URL = f"{reverse('training:order_new')}?package=professional"


def selfies(count: int) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"selfie{i + 1}.jpg", face_jpeg(i % 6, long_side=2000), "image/jpeg")
        for i in range(count)
    ]


def stored_names(storage: Any, folder: str = "training-sets") -> list[str]:
    try:
        return list(storage.listdir(folder)[1])
    except FileNotFoundError:
        return []


@pytest.fixture
def signed_in(client: Client, alice: User, photo_temp_dir: Path) -> Client:
    client.force_login(alice)
    return client


@pytest.mark.django_db
def test_it_queues_an_order_with_its_zip_and_spends_the_credit(
    signed_in: Client, alice: User, settings: Any, photo_temp_dir: Path
) -> None:
    settings.TRAINING_CREDIT_COST = 1
    credits_grant(user=alice, amount=1, reason="test")

    response = signed_in.post(
        ORDER_URL, {"name": " Perfil  LinkedIn ", "subject_type": "woman", "photos": selfies(5)}
    )

    order = Order.objects.get(user=alice)
    assert response.status_code == 302
    assert response["Location"] == f"/studio/models/{order.uuid}/"
    assert (order.status, order.name, order.subject_type) == (
        Status.QUEUED,
        "Perfil LinkedIn",
        "woman",
    )
    assert order.image_count == 5
    assert order.training_zip.name == f"training-sets/{order.uuid}.zip"
    assert order.zip_size == default_storage.size(order.training_zip.name) > 0
    with default_storage.open(order.training_zip.name) as stored:
        names = zipfile.ZipFile(io.BytesIO(stored.read())).namelist()
    assert names == [f"image_{i}.jpg" for i in range(1, 6)]
    event = TrainingEvent.objects.get(order=order)
    assert (event.stage, event.status, event.metadata["image_count"]) == (
        Stage.UPLOAD,
        "success",
        5,
    )
    assert credit_balance(alice) == 0
    assert leftovers(photo_temp_dir) == []
    page = signed_in.get(response["Location"]).content.decode()
    assert "Hemos recibido 5 fotos" in page


@pytest.mark.django_db
def test_it_returns_the_submission_as_a_follow_up_like_every_stage(
    alice: User, photo_temp_dir: Path
) -> None:
    created = order_create(
        user=alice, package=PROFESSIONAL, name="Perfil", subject_type="man", photos=selfies(4)
    )

    assert created.followups == [FollowUp(Next.SUBMIT_TRAINING, created.order.pk)]


@pytest.mark.django_db
def test_it_stores_the_zip_in_a_private_s3_bucket(
    signed_in: Client, alice: User, s3_storage: str, s3_server: str
) -> None:
    import boto3

    signed_in.post(ORDER_URL, {"name": "S3", "subject_type": "man", "photos": selfies(4)})

    order = Order.objects.get(user=alice)
    s3 = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    head = s3.head_object(Bucket=s3_storage, Key=order.training_zip.name)
    assert head["ContentLength"] == order.zip_size
    grants = s3.get_object_acl(Bucket=s3_storage, Key=order.training_zip.name)["Grants"]
    assert all("AllUsers" not in str(grant.get("Grantee")) for grant in grants)


@pytest.mark.django_db
def test_it_names_each_refused_photo_and_writes_nothing(
    signed_in: Client, alice: User, photo_temp_dir: Path, settings: Any
) -> None:
    photos = [
        *selfies(4),
        SimpleUploadedFile("invoice.jpg", b"%PDF-1.7\n%fake pdf\n", "image/jpeg"),
        SimpleUploadedFile("coffee.jpg", encode(no_face_image()), "image/jpeg"),
    ]

    response = signed_in.post(ORDER_URL, {"name": "Yo", "subject_type": "man", "photos": photos})

    assert response.status_code == 422
    errors = response.context["form"].errors["photos"]
    assert any("invoice.jpg" in error for error in errors)
    assert any("coffee.jpg" in error for error in errors)
    assert response.context["form"]["name"].value() == "Yo"
    assert not Order.objects.exists()
    assert not CreditMovement.objects.exists()
    assert stored_names(default_storage) == []
    assert leftovers(photo_temp_dir) == []


@pytest.mark.django_db
def test_it_answers_the_script_with_each_refused_photo(signed_in: Client) -> None:
    photos = [
        *selfies(4),
        SimpleUploadedFile("page.jpg", b"<html><script>x</script>", "image/jpeg"),
    ]

    response = signed_in.post(
        ORDER_URL,
        {"name": "Yo", "subject_type": "man", "photos": photos},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 422
    assert [photo["name"] for photo in response.json()["photos"]] == ["page.jpg"]


@pytest.mark.django_db
def test_it_refuses_too_few_photos(signed_in: Client) -> None:
    response = signed_in.post(
        ORDER_URL, {"name": "Yo", "subject_type": "man", "photos": selfies(2)}
    )

    assert response.status_code == 422
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_it_leaves_neither_row_nor_object_when_storage_fails(
    signed_in: Client, unwritable_storage: None, photo_temp_dir: Path
) -> None:
    response = signed_in.post(
        ORDER_URL, {"name": "Yo", "subject_type": "man", "photos": selfies(4)}
    )

    assert response.status_code == 422
    assert "No se ha cobrado nada" in response.content.decode()
    assert not Order.objects.exists()
    assert leftovers(photo_temp_dir) == []
