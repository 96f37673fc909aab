"""Deleting an order erases its files and its model at once and keeps an anonymous record; a
purge that storage made fail half-way is finished by cron."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.conftest import break_storage, make_user
from training.lifecycle import order_retry
from training.metrics import usage_per_user
from training.models import Headshot, Order, Prediction, Status
from training.orders import purge_order


def delivered_order(user: Any) -> Order:
    order = Order.objects.create(
        user=user, name="Mi perfil", package="professional", subject_type="woman",
        status=Status.READY, cost=1.25,
    )  # fmt: skip
    prediction = Prediction.objects.create(order=order, prompt_index=0, prompt="p")
    name = default_storage.save(f"headshots/{order.uuid}/a.png", ContentFile(b"png"))
    Headshot.objects.create(
        order=order, prediction=prediction, output_index=0, image=name, content_type="image/png"
    )
    return order


@pytest.mark.django_db(transaction=True)
def test_a_purge_that_failed_half_way_is_finished_by_cron(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    fran = make_user("fran@example.com")
    order = delivered_order(fran)
    stored = [str(h.image.name) for h in order.headshots.all()]
    working_storage = settings.STORAGES
    client.force_login(fran)
    break_storage(settings, tmp_path)  # storage is down when the purge runs

    client.post(reverse("training:order_delete", kwargs={"order_uuid": order.uuid}))

    waiting = Order.objects.get(pk=order.pk)
    assert waiting.user == fran  # not erased yet...
    assert client.get(order.get_absolute_url()).status_code == 404  # ...but gone for her
    settings.STORAGES = working_storage
    assert all(default_storage.exists(name) for name in stored)
    call_command("cleanup_temp_files", stdout=StringIO())
    assert Order.objects.get(pk=order.pk).user == fran  # its purge task may still be on its way

    Order.objects.filter(pk=order.pk).update(deleted_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("cleanup_temp_files", stdout=out)

    assert "order purges resumed: 1." in out.getvalue()
    kept = Order.objects.get(pk=order.pk)
    assert (kept.user, kept.name, kept.status, float(kept.cost)) == (None, "", Status.READY, 1.25)
    assert not any(default_storage.exists(name) for name in stored)
    assert not kept.headshots.exists()


@pytest.mark.django_db
def test_a_deleted_order_still_running_is_erased_only_once_it_ends() -> None:
    gus = make_user("gus@example.com")
    order = delivered_order(gus)
    # Its cancel lost a race with a webhook: deleted, yet still making headshots.
    Order.objects.filter(pk=order.pk).update(
        status=Status.GENERATING, deleted_at=timezone.now() - timedelta(hours=1)
    )

    purge_order(order_id=order.pk)
    assert Order.objects.get(pk=order.pk).user == gus  # not erased under its last headshots

    Order.objects.filter(pk=order.pk).update(status=Status.READY)
    call_command("cleanup_temp_files", stdout=StringIO())
    assert Order.objects.get(pk=order.pk).user is None
    assert not Headshot.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_staff_cannot_retry_a_deleted_order() -> None:
    order = delivered_order(make_user("hal@example.com"))
    Order.objects.filter(pk=order.pk).update(
        status=Status.FAILED, deleted_at=timezone.now(), replicate_version_id="v1"
    )

    assert order_retry(Order.objects.get(pk=order.pk)) is None
    assert Order.objects.get(pk=order.pk).status == Status.FAILED


@pytest.mark.django_db
def test_the_admin_never_deletes_a_user_row(client: Client) -> None:
    """Deleting the row would leave the person's orders and files: the erasure does that."""
    client.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    ivy = make_user("ivy@example.com")

    page = client.get(f"/admin/accounts/user/{ivy.pk}/delete/")
    answer = client.post(f"/admin/accounts/user/{ivy.pk}/delete/", {"post": "yes"})

    assert page.status_code == 403
    assert answer.status_code == 403
    assert User.objects.filter(pk=ivy.pk).exists()


@pytest.mark.django_db
def test_erased_orders_are_nobody_s_on_the_dashboard() -> None:
    delivered_order(make_user("jo@example.com"))
    erased = delivered_order(make_user("kim@example.com"))
    Order.objects.filter(pk=erased.pk).update(user=None, name="")

    usage = usage_per_user(timezone.now() - timedelta(days=7))

    assert [row.email for row in usage] == ["jo@example.com"]
